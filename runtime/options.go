package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/samsa-go/samsa/processor"
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

// MarshalText returns the name Kafka Streams gives g, as String does.
func (g Guarantee) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText sets g from its Kafka Streams name, at_least_once or
// exactly_once_v2 (exactly_once, Kafka's older name, is read as
// exactly_once_v2), in any case. With MarshalText it lets flag.TextVar and
// encoding/json read a Guarantee.
func (g *Guarantee) UnmarshalText(text []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(text))) {
	case "at_least_once":
		*g = AtLeastOnce
	case "exactly_once_v2", "exactly_once":
		*g = ExactlyOnceV2
	default:
		return fmt.Errorf("runtime: unknown processing guarantee %q: want at_least_once or exactly_once_v2", text)
	}
	return nil
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
	restoreListener StateRestoreListener
	deserialization processor.ErrorHandler
	processing      processor.ErrorHandler
	production      processor.ErrorHandler
	deadLetter      string
	deliveryTimeout time.Duration
	shutdownTimeout time.Duration
	uncommittedMax  int64
	blockCache      int64
	rowCache        int64
	standbys        int
	appServer       string
	acceptableLag   int64
	maxWarmups      int
	probingInterval time.Duration
	stateFS         vfs.FS
	instanceID      string
	registerer      prometheus.Registerer
	httpAddr        string
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
		// delivery.timeout.ms's default.
		deliveryTimeout: 2 * time.Minute,
		shutdownTimeout: 10 * time.Second,
		uncommittedMax:  16 << 20,
		blockCache:      64 << 20,
		rowCache:        64 << 20,
		acceptableLag:   defaultAcceptableLag,
		maxWarmups:      defaultMaxWarmups,
		probingInterval: defaultProbingInterval,
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
// exactly-once; must be positive. A thread that has caught up with its
// input commits what it has at once, when a poll comes back empty: waiting
// would only hold back outputs. A poll that is empty while some partition
// fetched was behind its end (its high watermark, or last stable offset
// under exactly-once) waits for the fetch on its way instead, unless polls
// stay empty for 100ms.
func CommitInterval(d time.Duration) Option {
	return func(c *config) { c.commitInterval, c.commitSet = d, true }
}

// UncommittedMaxBytes bounds the memory a stream thread's store writes hold
// between two commits (statestore.uncommitted.max.bytes of Kafka's
// KIP-892): past n bytes, summed over the transaction buffers of the
// thread's tasks, the thread commits without waiting for CommitInterval,
// so that a long interval over many keys does not grow the heap. Default
// 16 MiB; -1 means no bound; 0 and below -1 are errors. KIP-892 proposes
// 64 MiB; Go's collector lets the heap grow to about twice what is live,
// which doubles what the buffers hold, and at 16 MiB a word count over a
// million keys with a 30s interval commits about twice a second, no slower
// than at a 100ms interval.
func UncommittedMaxBytes(n int64) Option { return func(c *config) { c.uncommittedMax = n } }

// BlockCacheBytes is the size of the block cache that the Pebble
// databases of every task of the app share: the blocks, Bloom filters and
// indexes of the stores' tables that reads keep in memory. Each database's
// memtables (8 MiB each, one or two per task) come on top. Kafka Streams
// gives each RocksDB store a 50 MB block cache of its own (changed with
// rocksdb.config.setter); one cache for all tasks keeps memory from
// growing with their number. Default 64 MiB; must be positive.
func BlockCacheBytes(n int64) Option { return func(c *config) { c.blockCache = n } }

// RowCacheBytes is the memory that the transaction buffers of every
// persistent store of the app share for copies of the rows their commits
// wrote, which answer later reads of those keys without asking Pebble (see
// state.RowCache). Each buffer keeps 1 MiB of them on its own and grows
// past that with bytes of the row cache, up to 32 MiB a store; word count
// over a million keys, whose reads all go to different keys, read most
// of them from Pebble without it. The rows live outside Go's heap, and
// take memory only as stores fill them. Default 64 MiB; 0 turns it off;
// negative is an error.
func RowCacheBytes(n int64) Option { return func(c *config) { c.rowCache = n } }

// StateFS puts the Pebble databases of the tasks and of the global stores
// on fs, Pebble's filesystem interface, instead of straight on the
// operating system's: fs wraps vfs.Default to measure, throttle or fail
// the databases' I/O (a chaos test's full disk), as rocksdb.config.setter
// can give RocksDB an Env. The state directory itself (its lock, and the
// task directories the runtime makes, lists and wipes) is the operating
// system's, so fs must serve its paths: an in-memory vfs.NewMem would keep
// what a wipe removes. Nil, the default, means vfs.Default.
func StateFS(fs vfs.FS) Option { return func(c *config) { c.stateFS = fs } }

// ProcessingGuarantee sets the guarantee (processing.guarantee). Default
// AtLeastOnce; a value other than AtLeastOnce and ExactlyOnceV2 is an error.
func ProcessingGuarantee(g Guarantee) Option { return func(c *config) { c.guarantee = g } }

// ExactlyOnce is ProcessingGuarantee(ExactlyOnceV2).
func ExactlyOnce() Option { return ProcessingGuarantee(ExactlyOnceV2) }

// Logger receives the app's logs and franz-go's. Default: slog.Default().
// Lines of level Info and above are rate-limited per message: a failure
// that repeats logs ten lines in ten seconds at most, the next one
// counting those suppressed.
func Logger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// KgoOpts are passed to every Kafka client the app makes, after its own
// options (TLS, SASL, client id...). A stream thread fetches 256 KiB per
// partition and 4 MiB per request (kgo.FetchMaxPartitionBytes and
// kgo.FetchMaxBytes; Kafka's defaults are 1 MiB and 50 MiB), which bounds
// the records fetched ahead of processing; these options change that.
//
// The app's producer compresses its batches, those of repartition and
// changelog topics too, with franz-go's default, snappy, where Kafka's
// producer default (compression.type) is none. Uncompressed batches cost
// less CPU (a word count, which produces two records per word, took 8 to
// 16% less per record against a broker in another process) but hold more
// memory in the producer's buffers (at a million keys its peak RSS rose
// by 5 to 10%) and more bytes on the wire and on the brokers' disks; lz4
// took more CPU than snappy. kgo.ProducerBatchCompression chooses, for
// every topic the app produces to.
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

// InstanceID makes the app's stream threads static members of the group
// (group.instance.id, KIP-345): thread i (from 1) joins as "<id>-<i>", as
// in Kafka Streams. A static member that closes does not leave the group,
// and one that comes back with the same id within the session timeout
// takes its assignment back without a rebalance, so a restarted pod keeps
// its tasks and the state on its disk, and the other pods keep theirs
// throughout. Give each instance its own id, stable across its restarts
// (a StatefulSet's pod name), and a SessionTimeout longer than a restart:
// a static member that died holds its tasks, unprocessed, until then. The
// process id the assignor sees derives from the application and instance
// ids, so it is the same across restarts too. Default: none (dynamic
// members); at most 249 bytes of ASCII letters, digits, '.', '_' and '-'.
func InstanceID(id string) Option { return func(c *config) { c.instanceID = id } }

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

// MaxTaskIdle is how long a task reading several topics waits, when its
// partition of one of them has no records fetched, before it processes the
// others out of timestamp order (max.task.idle.ms). Default 0: it processes
// what it has. A task always takes the record with the lowest timestamp
// among its partitions' first fetched records; MaxTaskIdle decides how long
// an empty partition holds the others back. An empty partition counts as
// caught up: unlike Kafka Streams at 0, which waits for a partition the
// consumer knows has unfetched records, Samsa does not track the lag.
func MaxTaskIdle(d time.Duration) Option { return func(c *config) { c.maxTaskIdle = d } }

// DeserializationHandler decides about records whose key or value the
// source serdes cannot read (default.deserialization.exception.handler).
// Default processor.LogAndFail: the app stops with the error, naming the
// record; processor.LogAndContinue drops the record, counts it under
// processor.DropDeserializationError and goes on. See processor.ErrorHandler.
func DeserializationHandler(h processor.ErrorHandler) Option {
	return func(c *config) { c.deserialization = h }
}

// ProcessingHandler decides about records a node returned an error or
// panicked on, and about failing punctuators (processing.exception.handler,
// KIP-1033). Default processor.LogAndFail: the app goes to ERROR with an
// error naming the node, task, topic, partition and offset, and commits
// nothing past the record. A panic in user code never ends the process: it
// reaches the handler as a *processor.PanicError with its stack.
func ProcessingHandler(h processor.ErrorHandler) Option {
	return func(c *config) { c.processing = h }
}

// ProductionHandler decides about records that cannot be sent: a sink's
// serde failed, or the brokers refused the record or did not acknowledge it
// within DeliveryTimeout, franz-go retrying retriable errors until then
// (production.exception.handler). Default processor.LogAndFail. Errors no
// handler can make good fail the app whatever it says, as in Kafka
// Streams: authorization, a fenced producer, and a changelog record the
// brokers refused, which would leave a store ahead of its changelog.
func ProductionHandler(h processor.ErrorHandler) Option {
	return func(c *config) { c.production = h }
}

// DeadLetterQueue sends every record a handler drops to topic
// (errors.dead.letter.queue.topic.name, KIP-1034): the input record with
// its key, value, timestamp and headers as read, plus headers that name the
// error, the input's topic, partition and offset, the node and the task
// (processor.DeadLetterException, ...). A record the brokers refused is
// sent as it was produced. Under exactly-once the dead-letter record is in
// the transaction that commits the offsets skipping the record. The topic
// must exist when the app starts. Default: no dead-letter topic.
func DeadLetterQueue(topic string) Option { return func(c *config) { c.deadLetter = topic } }

// DeliveryTimeout bounds how long a produced record may take to be
// acknowledged, retries of retriable errors included, before it goes to
// the ProductionHandler (delivery.timeout.ms). Default 2 minutes; must be
// positive.
func DeliveryTimeout(d time.Duration) Option { return func(c *config) { c.deliveryTimeout = d } }

// ShutdownTimeout bounds how long the app takes to close once Run's
// context is cancelled or Close is called, as Kafka Streams'
// close(Duration): the last commit, the end of the transactions, leaving
// the group. Close's context shortens it with a sooner deadline. What is
// not done by then is abandoned: a member that did not leave is dropped by
// the group at its session timeout, a transaction that did not end is
// aborted by the brokers at its timeout, and nothing of it reached the
// stores. Default 10s; must be positive.
func ShutdownTimeout(d time.Duration) Option { return func(c *config) { c.shutdownTimeout = d } }

// ReplicationFactor of the internal topics (replication.factor). Default
// -1, the broker's; 0 means the broker's too; below -1 is an error.
func ReplicationFactor(n int16) Option { return func(c *config) { c.replication = n } }

// Environment variables read by FromEnv.
const (
	EnvBrokers              = "SAMSA_BROKERS"
	EnvApplicationID        = "SAMSA_APPLICATION_ID"
	EnvStateDir             = "SAMSA_STATE_DIR"
	EnvThreads              = "SAMSA_THREADS"
	EnvGuarantee            = "SAMSA_PROCESSING_GUARANTEE"
	EnvCommitMillis         = "SAMSA_COMMIT_INTERVAL_MS"
	EnvSessionTimeoutMillis = "SAMSA_SESSION_TIMEOUT_MS"
	EnvInstanceID           = "SAMSA_INSTANCE_ID"
	EnvHTTPAddr             = "SAMSA_HTTP_ADDR"
)

// FromEnv reads the configuration of a pod from environment variables:
//
//	SAMSA_BROKERS               Brokers, comma-separated host:port
//	SAMSA_APPLICATION_ID        ApplicationID
//	SAMSA_STATE_DIR             StateDir
//	SAMSA_THREADS               Threads
//	SAMSA_PROCESSING_GUARANTEE  ProcessingGuarantee: at_least_once or exactly_once_v2
//	SAMSA_COMMIT_INTERVAL_MS    CommitInterval, in milliseconds
//	SAMSA_SESSION_TIMEOUT_MS    SessionTimeout, in milliseconds
//	SAMSA_INSTANCE_ID           InstanceID (static membership)
//	SAMSA_HTTP_ADDR             HTTP: health and metrics server address, host:port
//
// An unset or empty variable leaves the default (or an earlier option)
// alone. A variable that does not parse is an error naming the variable and
// its value; FromEnv reports all of them at once.
func FromEnv() ([]Option, error) {
	var opts []Option
	var errs []error
	bad := func(name, v, want string) {
		errs = append(errs, fmt.Errorf("runtime: %s=%q %s", name, v, want))
	}
	millis := func(name, v string, opt func(time.Duration) Option) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 1 || n > math.MaxInt64/int64(time.Millisecond) {
			bad(name, v, "is not a positive number of milliseconds")
			return
		}
		opts = append(opts, opt(time.Duration(n)*time.Millisecond))
	}
	if v := os.Getenv(EnvBrokers); v != "" {
		if addrs := splitBrokers(v); len(addrs) > 0 {
			opts = append(opts, Brokers(addrs...))
		} else {
			bad(EnvBrokers, v, "lists no brokers")
		}
	}
	if v := os.Getenv(EnvApplicationID); v != "" {
		if err := checkAppID(v); err != nil {
			bad(EnvApplicationID, v, "is not an application id: "+err.Error())
		} else {
			opts = append(opts, ApplicationID(v))
		}
	}
	if v := os.Getenv(EnvStateDir); v != "" {
		opts = append(opts, StateDir(v))
	}
	if v := os.Getenv(EnvThreads); v != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 1 {
			bad(EnvThreads, v, "is not a positive number of threads")
		} else {
			opts = append(opts, Threads(n))
		}
	}
	if v := os.Getenv(EnvGuarantee); v != "" {
		var g Guarantee
		if err := g.UnmarshalText([]byte(v)); err != nil {
			bad(EnvGuarantee, v, "is neither at_least_once nor exactly_once_v2")
		} else {
			opts = append(opts, ProcessingGuarantee(g))
		}
	}
	if v := os.Getenv(EnvCommitMillis); v != "" {
		millis(EnvCommitMillis, v, CommitInterval)
	}
	if v := os.Getenv(EnvSessionTimeoutMillis); v != "" {
		millis(EnvSessionTimeoutMillis, v, SessionTimeout)
	}
	if v := os.Getenv(EnvInstanceID); v != "" {
		if err := checkInstanceID(v); err != nil {
			bad(EnvInstanceID, v, "is not an instance id: "+err.Error())
		} else {
			opts = append(opts, InstanceID(v))
		}
	}
	if v := os.Getenv(EnvHTTPAddr); v != "" {
		if err := checkHTTPAddr(v); err != nil {
			bad(EnvHTTPAddr, v, "is not a listen address: "+err.Error())
		} else {
			opts = append(opts, HTTP(v))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return opts, nil
}

// splitBrokers splits a comma-separated broker list, dropping blanks.
func splitBrokers(v string) []string {
	var addrs []string
	for a := range strings.SplitSeq(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs
}
