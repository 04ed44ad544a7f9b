package runtime

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Guarantee is the processing guarantee, as Kafka Streams'
// processing.guarantee.
type Guarantee int

const (
	// AtLeastOnce commits input offsets after the outputs and changelog
	// records of the processed records were acknowledged: after a failure,
	// records since the last commit are processed again.
	AtLeastOnce Guarantee = iota
	// ExactlyOnceV2 commits outputs, changelog records and input offsets in
	// one Kafka transaction per stream thread and commit interval.
	ExactlyOnceV2
)

func (g Guarantee) String() string {
	switch g {
	case AtLeastOnce:
		return "at_least_once"
	case ExactlyOnceV2:
		return "exactly_once_v2"
	}
	return "Guarantee(" + strconv.Itoa(int(g)) + ")"
}

// Option configures an App.
type Option func(*config)

type config struct {
	appID          string
	brokers        []string
	threads        int
	stateDir       string
	commitInterval time.Duration
	commitSet      bool
	guarantee      Guarantee
	logger         *slog.Logger
	kgoOpts        []kgo.Opt
	timeout        time.Duration
	sessionTimeout time.Duration
	cleanupDelay   time.Duration
	replication    int16
	inMemory       bool
	txnTimeout     time.Duration
}

func defaults() config {
	return config{
		threads:        1,
		stateDir:       defaultStateDir(),
		commitInterval: 30 * time.Second,
		timeout:        30 * time.Second,
		sessionTimeout: 45 * time.Second,
		cleanupDelay:   10 * time.Minute,
		replication:    -1,
		txnTimeout:     10 * time.Second,
	}
}

func defaultStateDir() string { return os.TempDir() + "/samsa" }

// ApplicationID names the application: the consumer group, the prefix of
// internal topics and the state directory (application.id). Required: ASCII
// letters, digits, '.', '_' and '-', at most 249 bytes, as a topic name.
func ApplicationID(id string) Option { return func(c *config) { c.appID = id } }

// Brokers are the bootstrap brokers (bootstrap.servers). Required: each
// host:port with a port in 1-65535, an IPv6 address in brackets
// ("[::1]:9092").
func Brokers(addrs ...string) Option { return func(c *config) { c.brokers = addrs } }

// Threads is the number of stream threads, each one group member
// (num.stream.threads). Default 1; at least 1.
func Threads(n int) Option { return func(c *config) { c.threads = n } }

// StateDir is the root of the state directories (state.dir). Default
// "<os temp dir>/samsa"; not empty.
func StateDir(dir string) Option { return func(c *config) { c.stateDir = dir } }

// CommitInterval is how often tasks commit while records keep coming
// (commit.interval.ms). Default 30s under at-least-once, 100ms under
// exactly-once; must be positive. A thread whose poll comes back empty
// commits what it has at once: it has caught up, and waiting would only
// hold back outputs.
func CommitInterval(d time.Duration) Option {
	return func(c *config) { c.commitInterval, c.commitSet = d, true }
}

// ProcessingGuarantee sets the guarantee (processing.guarantee). Default
// AtLeastOnce; a value other than AtLeastOnce and ExactlyOnceV2 is an error.
func ProcessingGuarantee(g Guarantee) Option { return func(c *config) { c.guarantee = g } }

// ExactlyOnce is ProcessingGuarantee(ExactlyOnceV2).
func ExactlyOnce() Option { return ProcessingGuarantee(ExactlyOnceV2) }

// Logger receives the app's logs and franz-go's. Default: slog.Default().
func Logger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// KgoOpts are passed to every Kafka client the app makes, after its own
// options (TLS, SASL, client id...).
func KgoOpts(opts ...kgo.Opt) Option {
	return func(c *config) { c.kgoOpts = append(c.kgoOpts, opts...) }
}

// StartupTimeout bounds how long Run waits for the brokers when it starts.
// Default 30s; must be positive.
func StartupTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// SessionTimeout is the group session timeout (session.timeout.ms).
// Default 45s; from 100ms to math.MaxInt32 milliseconds, and not shorter
// than franz-go's heartbeat interval (3s unless set with KgoOpts). The
// brokers bound it further (group.min.session.timeout.ms, 6s by default).
func SessionTimeout(d time.Duration) Option { return func(c *config) { c.sessionTimeout = d } }

// StateCleanupDelay is how long the directory of a task this instance no
// longer owns is kept (state.cleanup.delay.ms). Default 10 minutes; zero
// removes it at the next cleanup pass; negative is an error.
func StateCleanupDelay(d time.Duration) Option { return func(c *config) { c.cleanupDelay = d } }

// TransactionTimeout bounds how long a transaction of a crashed instance
// can hold back read_committed consumers (transaction.timeout.ms). Default
// 10s, as Kafka Streams under exactly-once; from 1ms to math.MaxInt32
// milliseconds. The brokers bound it further (transaction.max.timeout.ms,
// 15 minutes by default).
func TransactionTimeout(d time.Duration) Option { return func(c *config) { c.txnTimeout = d } }

// ReplicationFactor of the internal topics (replication.factor). Default
// -1, the broker's; 0 means the broker's too; below -1 is an error.
func ReplicationFactor(n int16) Option { return func(c *config) { c.replication = n } }

// Environment variables read by FromEnv.
const (
	EnvBrokers       = "SAMSA_BROKERS"
	EnvApplicationID = "SAMSA_APPLICATION_ID"
	EnvStateDir      = "SAMSA_STATE_DIR"
	EnvThreads       = "SAMSA_THREADS"
	EnvGuarantee     = "SAMSA_PROCESSING_GUARANTEE"
	EnvCommitMillis  = "SAMSA_COMMIT_INTERVAL_MS"
)

// FromEnv reads the configuration of a pod from environment variables:
// SAMSA_BROKERS (comma-separated), SAMSA_APPLICATION_ID, SAMSA_STATE_DIR,
// SAMSA_THREADS, SAMSA_PROCESSING_GUARANTEE (at_least_once or
// exactly_once_v2) and SAMSA_COMMIT_INTERVAL_MS. Unset variables leave the
// defaults (or earlier options) alone; a malformed one is an error naming
// it.
func FromEnv() ([]Option, error) {
	var opts []Option
	if v := os.Getenv(EnvBrokers); v != "" {
		var addrs []string
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
		opts = append(opts, Brokers(addrs...))
	}
	if v := os.Getenv(EnvApplicationID); v != "" {
		opts = append(opts, ApplicationID(v))
	}
	if v := os.Getenv(EnvStateDir); v != "" {
		opts = append(opts, StateDir(v))
	}
	if v := os.Getenv(EnvThreads); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("runtime: %s=%q is not a positive number of threads", EnvThreads, v)
		}
		opts = append(opts, Threads(n))
	}
	if v := os.Getenv(EnvGuarantee); v != "" {
		switch strings.ToLower(v) {
		case "at_least_once":
			opts = append(opts, ProcessingGuarantee(AtLeastOnce))
		case "exactly_once_v2", "exactly_once":
			opts = append(opts, ProcessingGuarantee(ExactlyOnceV2))
		default:
			return nil, fmt.Errorf("runtime: %s=%q is neither at_least_once nor exactly_once_v2", EnvGuarantee, v)
		}
	}
	if v := os.Getenv(EnvCommitMillis); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("runtime: %s=%q is not a positive number of milliseconds", EnvCommitMillis, v)
		}
		opts = append(opts, CommitInterval(time.Duration(n)*time.Millisecond))
	}
	return opts, nil
}
