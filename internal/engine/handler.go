package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"strconv"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// Failures and their handlers. Each failure of a record is put to one
// handler (Config), where it happens:
//
//   - a source serde's error, in the source (deserialization handler);
//   - a sink serde's error, in the sink (production handler), so that the
//     record's other branches go on under Continue, as in Kafka Streams;
//   - an error a node returned, when it reaches the task, and a panic, when
//     the task recovers it (processing handler): the record's processing
//     stops there under either answer;
//   - an error or a panic of a punctuator or of a cache's flush (processing
//     handler, with no record).
//
// Errors that are not the record's fault go to no handler and fail the
// task: the host's (a Collector's), and faults of storage (a closed store,
// corruption, an I/O error), which a Continue would turn into silent loss.

// failed marks an error that must reach no handler (again): a handler
// already answered Fail, or the error is the host's. It is made only on the
// error path.
type failed struct{ err error }

func (e *failed) Error() string { return e.err.Error() }
func (e *failed) Unwrap() error { return e.err }

// unhandled reports whether err goes to no handler.
func unhandled(err error) bool {
	var f *failed
	return errors.As(err, &f) || storageFault(err)
}

// storageFault reports whether err is a fault of a store's storage rather
// than of the record being processed.
func storageFault(err error) bool { return errors.Is(err, state.ErrClosed) || IsStoreFault(err) }

// StoreFault is a failure of the storage of task Task's stores: data that
// fails its checksum, a write the disk refused, a fatal condition of
// Pebble's. No handler sees it, and the task's state cannot be trusted: the
// host closes the task, wipes its state and restores it from the
// changelogs (the runtime does so once, then fails). Err is the failure as
// the task reported it.
type StoreFault struct {
	Task processor.TaskID
	Err  error
}

func (e *StoreFault) Error() string { return e.Err.Error() }
func (e *StoreFault) Unwrap() error { return e.Err }

// IsStoreFault reports whether err is a fault of storage, which wiping the
// state and restoring it may repair: not a closed store, which is the
// caller's mistake.
func IsStoreFault(err error) bool {
	var errno syscall.Errno
	var pathErr *fs.PathError
	// Pebble marks corruption rather than wrapping it: its own errors
	// package sees the mark, the standard one does not.
	return errors.Is(err, state.ErrStorage) || pebble.IsCorruptionError(err) ||
		errors.As(err, &errno) || errors.As(err, &pathErr)
}

// faulted wraps err in a *StoreFault of the task if it is a fault of
// storage.
func (t *Task) faulted(err error) error {
	if err == nil {
		return nil
	}
	return t.faultedErr(err)
}

// faultedErr is faulted for an error: apart, so that the error path's
// variables, which escape, cost nothing when there is no error.
func (t *Task) faultedErr(err error) error {
	var sf *StoreFault
	if errors.As(err, &sf) || !IsStoreFault(err) {
		return err
	}
	return &StoreFault{Task: t.ID, Err: err}
}

// recoverFault, deferred where the task writes to storage outside of any
// node, turns a fault of storage in *err into a *StoreFault, and a panic
// of Pebble's fatal path (see state.ErrStorage) into one too; other panics
// go on.
func (t *Task) recoverFault(err *error) {
	v := recover()
	if v == nil {
		if *err != nil {
			*err = t.faultedErr(*err)
		}
		return
	}
	if e, ok := v.(error); ok && IsStoreFault(e) {
		*err = &StoreFault{Task: t.ID, Err: fmt.Errorf("engine: task %s: %w", t.ID, e)}
		return
	}
	panic(v)
}

// handle puts the failure pe to h and carries out its answer: it returns
// nil when the record is dropped (counted under reason, sent to the
// dead-letter topic) and processing goes on, else the error that fails the
// task. A nil h is processor.LogAndFail.
func (t *Task) handle(h processor.ErrorHandler, reason string, pe *processor.Error) error {
	if h == nil {
		return &failed{pe}
	}
	resp, err := t.ask(h, pe)
	if err != nil {
		return &failed{&processor.Error{Task: pe.Task, Node: pe.Node, Topic: pe.Topic, Partition: pe.Partition, Offset: pe.Offset,
			Err: fmt.Errorf("the error handler failed on %w: %w", pe.Err, err)}}
	}
	if resp != processor.Continue {
		return &failed{pe}
	}
	t.drop(reason, pe.Node, pe.Err)
	if t.cfg.DeadLetterTopic != "" && t.raw != nil {
		if err := t.deadLetter(pe); err != nil {
			return &failed{&processor.Error{Task: pe.Task, Node: pe.Node, Topic: pe.Topic, Partition: pe.Partition, Offset: pe.Offset,
				Err: fmt.Errorf("send to dead-letter topic %q: %w", t.cfg.DeadLetterTopic, err)}}
		}
	}
	return nil
}

// ask calls h, recovering a panic of its own.
func (t *Task) ask(h processor.ErrorHandler, pe *processor.Error) (resp processor.HandlerResponse, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &processor.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	ctx := processor.ErrorContext{Task: t.ID, Node: pe.Node, Topic: pe.Topic, Partition: pe.Partition, Offset: pe.Offset}
	if r := t.raw; r != nil {
		ctx.Timestamp, ctx.Key, ctx.Value, ctx.Headers = r.Timestamp, r.Key, r.Value, r.Headers
	}
	return h(ctx, pe.Err), nil
}

// deadLetter sends the record being processed, as it was read, to the
// dead-letter topic, with headers that say why (KIP-1034).
func (t *Task) deadLetter(pe *processor.Error) error {
	r := t.raw
	headers := DeadLetterHeaders(r.Headers, pe.Err, r.Topic, r.Partition, r.Offset, pe.Node, t.ID)
	return t.cfg.Collector.Send(t.cfg.DeadLetterTopic, r.Key, r.Value, r.Timestamp, headers)
}

// DeadLetterHeaders returns the headers of a dead-letter record: the
// record's own, then those that name err and where it happened (see
// processor.DeadLetterException).
func DeadLetterHeaders(own []processor.Header, err error, topic string, partition int32, offset int64, node string, task processor.TaskID) []processor.Header {
	headers := make([]processor.Header, 0, len(own)+8)
	headers = append(headers, own...)
	add := func(k, v string) { headers = append(headers, processor.Header{Key: k, Value: []byte(v)}) }
	add(processor.DeadLetterException, exceptionName(err))
	add(processor.DeadLetterMessage, err.Error())
	var pv *processor.PanicError
	if errors.As(err, &pv) {
		add(processor.DeadLetterStacktrace, string(pv.Stack))
	}
	add(processor.DeadLetterTopic, topic)
	add(processor.DeadLetterPartition, strconv.FormatInt(int64(partition), 10))
	add(processor.DeadLetterOffset, strconv.FormatInt(offset, 10))
	add(processor.DeadLetterNode, node)
	add(processor.DeadLetterTask, task.String())
	return headers
}

// exceptionName names the kind of err, as Kafka names an exception by its
// class: the Go type of the serde's or the node's error, or the type of a
// panic's value.
func exceptionName(err error) string {
	var pv *processor.PanicError
	if errors.As(err, &pv) {
		return fmt.Sprintf("panic(%T)", pv.Value)
	}
	var se *serdeError
	if errors.As(err, &se) {
		err = se.err
	}
	return fmt.Sprintf("%T", err)
}

// failedAt locates err, raised by node on the record being processed (or
// outside of any), as handlers and users see it.
func (t *Task) failedAt(node string, err error) *processor.Error {
	pe := &processor.Error{Task: t.ID, Node: node, Offset: -1, Err: err}
	if r := t.raw; r != nil {
		pe.Topic, pe.Partition, pe.Offset = r.Topic, r.Partition, r.Offset
	}
	return pe
}

// recordFailed handles err, which processing the record returned: it goes
// to the processing handler unless it is unhandled. It returns nil when the
// record is dropped.
func (t *Task) recordFailed(err error) error {
	node := t.nodeName()
	var ne *nodeError
	if errors.As(err, &ne) {
		node, err = ne.node, ne.err
	}
	var pe *processor.Error
	if !errors.As(err, &pe) {
		pe = t.failedAt(node, err)
	}
	if unhandled(err) {
		return &failed{pe}
	}
	return t.handle(t.cfg.ProcessingHandler, processor.DropProcessingError, pe)
}

// recovered turns a panic of value v, recovered at the task's boundary,
// into a processing failure and puts it to the handler: it returns
// errRecovered when the handler dropped it, else the error that fails the
// task. It leaves the task's own state as between records: a panic unwinds
// past the code that would have reset it. Panics that carry a storage
// fault go to no handler.
func (t *Task) recovered(v any) error {
	stack := debug.Stack()
	node := t.nodeName()
	var pe *processor.Error
	if err, ok := v.(error); ok && storageFault(err) {
		pe = t.failedAt(node, err)
		t.reset()
		return &failed{pe}
	}
	pe = t.failedAt(node, &processor.PanicError{Value: v, Stack: stack})
	err := t.handle(t.cfg.ProcessingHandler, processor.DropProcessingError, pe)
	t.reset()
	if err == nil {
		return errRecovered
	}
	return err
}

// reset clears what the task keeps about the record or punctuation in
// progress.
func (t *Task) reset() {
	t.raw, t.at, t.node = nil, 0, ""
}

// nodeName is the name of the node running, or "".
func (t *Task) nodeName() string {
	if t.at != 0 {
		return t.graph.Nodes[t.at-1].Name
	}
	return t.node
}
