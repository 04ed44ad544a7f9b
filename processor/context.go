package processor

import (
	"fmt"
	"time"
)

// Context is what a Processor sees of the task that runs it.
type Context[KOut, VOut any] interface {
	// Forward passes rec to every child of the node, in the order they were
	// connected, and returns the first error a child returned.
	Forward(rec Record[KOut, VOut]) error
	// ForwardTo passes rec to the child named child only. It is an error to
	// name a node that is not a child.
	ForwardTo(child string, rec Record[KOut, VOut]) error
	// Schedule calls fn every interval, on stream time (advanced by record
	// timestamps) or on wall-clock time (advanced by the runtime, or by the
	// test driver's AdvanceWallClockTime). fn receives the time at which it
	// fires, in milliseconds. Cancel the returned Cancellable to stop it.
	Schedule(interval time.Duration, typ PunctuationType, fn Punctuator) (Cancellable, error)
	StoreGetter
	// RecordMetadata describes the input record being processed; ok is false
	// inside a punctuator, where there is none.
	RecordMetadata() (md RecordMetadata, ok bool)
	// StreamTime is the largest record timestamp the task has seen, in
	// milliseconds; -1 before the first record.
	StreamTime() int64
	// WallClockTime is the task's current wall-clock time in milliseconds.
	WallClockTime() int64
	// TaskID names the task running this processor.
	TaskID() TaskID
	// ApplicationID is the application id the topology runs under.
	ApplicationID() string
	// DropRecord counts a record the processor drops on purpose, under
	// reason (DropNullKey, DropNullValue, or a reason of its own). The
	// runtime and the test driver report the counts by reason. Dropping is
	// not forwarding; DropRecord only counts.
	DropRecord(reason string)
}

// StoreGetter gives access to the state stores connected to a node.
type StoreGetter interface {
	// StateStore returns the store named name. It is an error to ask for a
	// store that was not connected to this node when the topology was built.
	StateStore(name string) (StateStore, error)
}

// StateStore is what every state store has in common. Typed access goes
// through package state (for example state.GetKeyValueStore).
type StateStore interface {
	Name() string
	// Persistent reports whether the store keeps its data on disk.
	Persistent() bool
}

// RecordMetadata locates the input record being processed.
type RecordMetadata struct {
	Topic     string
	Partition int32
	Offset    int64
}

// TaskID names a task: one subtopology on one partition number.
type TaskID struct {
	Subtopology int
	Partition   int32
}

// String formats the id as Kafka Streams does: "<subtopology>_<partition>".
func (id TaskID) String() string { return fmt.Sprintf("%d_%d", id.Subtopology, id.Partition) }

// PunctuationType says which clock drives a punctuator.
type PunctuationType int

const (
	// StreamTime punctuators fire as record timestamps advance the task's
	// stream time; they do not fire while no records arrive.
	StreamTime PunctuationType = iota
	// WallClockTime punctuators fire as the wall clock advances.
	WallClockTime
)

func (t PunctuationType) String() string {
	if t == WallClockTime {
		return "wall-clock-time"
	}
	return "stream-time"
}

// Punctuator is called by a schedule with the time it fires at, in
// milliseconds.
type Punctuator func(timestamp int64) error

// Cancellable stops a schedule.
type Cancellable interface{ Cancel() }
