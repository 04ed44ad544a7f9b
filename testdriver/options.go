package testdriver

import (
	"log/slog"
	"time"

	"github.com/samsa-go/samsa/processor"
)

// Option configures a Driver.
type Option func(*options)

type options struct {
	pebble          bool
	stateDir        string
	appID           string
	wallClock       time.Time
	deserialization processor.ErrorHandler
	processing      processor.ErrorHandler
	production      processor.ErrorHandler
	deadLetter      string
	logger          *slog.Logger
	partitions      int32
	topicPartitions map[string]int32
	commitEvery     int
	commitInterval  time.Duration
	maxTaskIdle     time.Duration
}

func defaults() options {
	return options{appID: "test-driver", wallClock: time.Now(), partitions: 1, commitEvery: 1}
}

// WithPebbleStores runs persistent stores on Pebble over an in-memory
// filesystem instead of the in-memory store.
func WithPebbleStores() Option { return func(o *options) { o.pebble = true } }

// WithStateDir runs persistent stores on Pebble in dir, on the operating
// system's filesystem (as Kafka's state.dir), instead of in memory: for
// tests and benchmarks that look at what the stores leave on disk. Each
// task's database is in <dir>/<application id>/<task id>, and holds every
// commit once the driver is closed (before, it may lag: see the package
// doc). The directory is the caller's to remove.
func WithStateDir(dir string) Option {
	return func(o *options) { o.pebble, o.stateDir = true, dir }
}

// WithApplicationID sets the application id (default "test-driver"):
// processors see it, and changelog topics are named after it
// ("<id>-<store>-changelog").
func WithApplicationID(id string) Option { return func(o *options) { o.appID = id } }

// WithWallClock sets the driver's initial wall-clock time (default: now).
// Input topics start their record timestamps at it.
func WithWallClock(t time.Time) Option { return func(o *options) { o.wallClock = t } }

// WithDeserializationHandler decides about records the source serdes
// cannot read (default processor.LogAndFail: the pipe returns the error);
// the runtime's DeserializationHandler.
func WithDeserializationHandler(h processor.ErrorHandler) Option {
	return func(o *options) { o.deserialization = h }
}

// WithProcessingHandler decides about records a node returns an error or
// panics on, and failing punctuators (default processor.LogAndFail); the
// runtime's ProcessingHandler.
func WithProcessingHandler(h processor.ErrorHandler) Option {
	return func(o *options) { o.processing = h }
}

// WithProductionHandler decides about records a sink cannot serialize
// (default processor.LogAndFail); the runtime's ProductionHandler, which
// also sees records the brokers refuse. The driver's topics refuse none.
func WithProductionHandler(h processor.ErrorHandler) Option {
	return func(o *options) { o.production = h }
}

// WithDeadLetterQueue sends every record a handler drops to topic, as read
// from its source topic, with headers naming the error; the runtime's
// DeadLetterQueue. Read them with OutputTopic(d, topic, ...): like other
// outputs, they are readable once the commit after them happened.
func WithDeadLetterQueue(topic string) Option { return func(o *options) { o.deadLetter = topic } }

// WithLogger receives the lines the tasks log about dropped records
// (default: none).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithPartitions gives the listed topics n partitions each, or, with no
// topics listed, every topic the driver does not otherwise know the count of
// (default 1). Repartition topics and task counts follow from the counts of
// the source topics, as in the runtime; changelog topics have a partition
// per task.
func WithPartitions(n int, topics ...string) Option {
	return func(o *options) {
		if len(topics) == 0 {
			o.partitions = int32(n)
			return
		}
		if o.topicPartitions == nil {
			o.topicPartitions = map[string]int32{}
		}
		for _, t := range topics {
			o.topicPartitions[t] = int32(n)
		}
	}
}

// WithCommitEvery makes the driver commit after every n records piped
// (default 1: after each, as Kafka's TopologyTestDriver does, so that caches
// fold what one input record causes). n = 0 commits only when Commit is
// called or the wall clock moves (see WithCommitInterval). Between commits,
// outputs and changelog records are not readable yet, caches hold their
// writes, and a Crash drops all of it.
func WithCommitEvery(n int) Option { return func(o *options) { o.commitEvery = n } }

// WithCommitInterval makes an advance of the wall clock commit only once d
// has passed on it since the last commit, as the runtime's CommitInterval
// (commit.interval.ms). Default 0: every advance commits.
func WithCommitInterval(d time.Duration) Option { return func(o *options) { o.commitInterval = d } }

// WithMaxTaskIdle is the runtime's MaxTaskIdle (max.task.idle.ms): a task
// reading several topics whose input for one of them is empty waits up to d
// of wall-clock time (moved with AdvanceWallClockTime) before it processes
// the others, so that it sees their records in timestamp order. Default 0:
// it processes what it has.
func WithMaxTaskIdle(d time.Duration) Option { return func(o *options) { o.maxTaskIdle = d } }
