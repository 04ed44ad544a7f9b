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
	if g == ExactlyOnceV2 {
		return "exactly_once_v2"
	}
	return "at_least_once"
}

// Option configures an App.
type Option func(*config)

type config struct {
	appID           string
	brokers         []string
	threads         int
	stateDir        string
	commitInterval  time.Duration
	commitSet       bool
	guarantee       Guarantee
	logger          *slog.Logger
	kgoOpts         []kgo.Opt
	timeout         time.Duration
	sessionTimeout  time.Duration
	cleanupDelay    time.Duration
	replication     int16
	inMemory        bool
	txnTimeout      time.Duration
	maxTaskIdle     time.Duration
	continueOnDe    bool
	restoreListener StateRestoreListener
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
// internal topics and the state directory (application.id). Required.
func ApplicationID(id string) Option { return func(c *config) { c.appID = id } }

// Brokers are the bootstrap brokers (bootstrap.servers). Required.
func Brokers(addrs ...string) Option { return func(c *config) { c.brokers = addrs } }

// Threads is the number of stream threads, each one group member
// (num.stream.threads). Default 1.
func Threads(n int) Option { return func(c *config) { c.threads = n } }

// StateDir is the root of the state directories (state.dir). Default
// "<os temp dir>/samsa".
func StateDir(dir string) Option { return func(c *config) { c.stateDir = dir } }

// CommitInterval is how often tasks commit while records keep coming
// (commit.interval.ms). Default 30s under at-least-once, 100ms under
// exactly-once. A thread whose poll comes back empty commits what it has
// at once: it has caught up, and waiting would only hold back outputs.
func CommitInterval(d time.Duration) Option {
	return func(c *config) { c.commitInterval, c.commitSet = d, true }
}

// ProcessingGuarantee sets the guarantee (processing.guarantee). Default
// AtLeastOnce.
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
// Default 30s.
func StartupTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// SessionTimeout is the group session timeout (session.timeout.ms).
// Default 45s.
func SessionTimeout(d time.Duration) Option { return func(c *config) { c.sessionTimeout = d } }

// StateCleanupDelay is how long the directory of a task this instance no
// longer owns is kept (state.cleanup.delay.ms). Default 10 minutes.
func StateCleanupDelay(d time.Duration) Option { return func(c *config) { c.cleanupDelay = d } }

// TransactionTimeout bounds how long a transaction of a crashed instance
// can hold back read_committed consumers (transaction.timeout.ms). Default
// 10s, as Kafka Streams under exactly-once.
func TransactionTimeout(d time.Duration) Option { return func(c *config) { c.txnTimeout = d } }

// MaxTaskIdle is how long a task reading several topics waits, when its
// partition of one of them has no records fetched, before it processes the
// others out of timestamp order (max.task.idle.ms). Default 0: it processes
// what it has. A task always takes the record with the lowest timestamp
// among its partitions' first fetched records; MaxTaskIdle decides how long
// an empty partition holds the others back. An empty partition counts as
// caught up: unlike Kafka Streams at 0, which waits for a partition the
// consumer knows has unfetched records, Samsa does not track the lag.
func MaxTaskIdle(d time.Duration) Option { return func(c *config) { c.maxTaskIdle = d } }

// ContinueOnDeserializationError drops, counts and logs records whose key
// or value the source serdes cannot read, instead of failing the task:
// default.deserialization.exception.handler set to Kafka Streams'
// LogAndContinueExceptionHandler. Default: such a record fails the app.
func ContinueOnDeserializationError() Option { return func(c *config) { c.continueOnDe = true } }

// ReplicationFactor of the internal topics (replication.factor). Default:
// the broker's.
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

func (c *config) validate() error {
	switch {
	case c.appID == "":
		return fmt.Errorf("runtime: no application id: pass runtime.ApplicationID or set %s", EnvApplicationID)
	case strings.ContainsAny(c.appID, " /\\:"):
		return fmt.Errorf("runtime: application id %q may not contain spaces, slashes or colons", c.appID)
	case len(c.brokers) == 0:
		return fmt.Errorf("runtime: no brokers: pass runtime.Brokers or set %s", EnvBrokers)
	case c.threads < 1:
		return fmt.Errorf("runtime: %d threads: need at least one", c.threads)
	case c.commitInterval <= 0:
		return fmt.Errorf("runtime: commit interval %v must be positive", c.commitInterval)
	case c.maxTaskIdle < 0:
		return fmt.Errorf("runtime: max task idle %v must not be negative", c.maxTaskIdle)
	}
	return nil
}
