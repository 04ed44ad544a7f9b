package runtime

import "github.com/samsa-go/samsa/processor"

// StateRestoreListener is told how restores progress, as Kafka Streams'
// StateRestoreListener: a task's logged stores are restored from their
// changelogs before it processes, when it is assigned to this instance or
// rewound; the global stores are bootstrapped from their topics before the
// stream threads start (as task -1_-1, with the global store's topic as
// Topic). Its methods are called one at a time, in order, by the thread
// that restores (OnBatchRestored from the goroutine that applies its
// fetches, the others from the one that polls them); they must return
// quickly and must not call the App's blocking methods (hand the work to
// another goroutine).
type StateRestoreListener interface {
	// OnRestoreStart is called once per changelog partition to restore,
	// before the first record is read.
	OnRestoreStart(p RestoreProgress)
	// OnBatchRestored is called after each batch of records applied to
	// the store.
	OnBatchRestored(p RestoreProgress)
	// OnRestoreEnd is called once the store reached the changelog's end.
	OnRestoreEnd(p RestoreProgress)
}

// RestoreProgress is where the restore of one store of one task stands.
type RestoreProgress struct {
	Task      processor.TaskID
	Store     string
	Topic     string // the changelog topic, or a global store's own topic
	Partition int32
	// Start and End are the offsets the restore reads from and up to
	// (exclusive). Offset is the last offset read, Start-1 before any.
	Start, End, Offset int64
	// Restored counts the records applied so far; Batch those of the last
	// batch (OnBatchRestored only).
	Restored, Batch int64
}

// RestoreListener sets the listener told of the progress of restores
// (KafkaStreams.setGlobalStateRestoreListener). Default: none.
func RestoreListener(l StateRestoreListener) Option { return func(c *config) { c.restoreListener = l } }
