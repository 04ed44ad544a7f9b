package testdriver

import "time"

// Option configures a Driver.
type Option func(*options)

type options struct {
	pebble          bool
	appID           string
	wallClock       time.Time
	continueOnDe    bool
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

// WithApplicationID sets the application id (default "test-driver"):
// processors see it, and changelog topics are named after it
// ("<id>-<store>-changelog").
func WithApplicationID(id string) Option { return func(o *options) { o.appID = id } }

// WithWallClock sets the driver's initial wall-clock time (default: now).
// Input topics start their record timestamps at it.
func WithWallClock(t time.Time) Option { return func(o *options) { o.wallClock = t } }

// WithContinueOnDeserializationError drops records the source serdes cannot
// read, counting them, instead of failing; the runtime's
// ContinueOnDeserializationError.
func WithContinueOnDeserializationError() Option {
	return func(o *options) { o.continueOnDe = true }
}

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
