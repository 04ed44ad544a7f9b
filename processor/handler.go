package processor

import (
	"errors"
	"fmt"
)

// ErrorHandler decides what happens to a record that failed, as Kafka
// Streams' exception handlers do. The runtime and the test driver take one
// for each of three kinds of failure:
//
//   - deserialization: a source serde could not read the record's key or
//     value (default.deserialization.exception.handler). Node is the source.
//   - processing: a node returned an error or panicked while it processed the
//     record, or a punctuator or a cache flush did outside of any record
//     (processing.exception.handler, KIP-1033). A panic reaches the handler
//     as a *PanicError.
//   - production: a sink could not serialize a record, or the brokers refused
//     one or did not acknowledge it within the delivery timeout, retriable
//     errors having been retried until then (production.exception.handler).
//
// Fail, the default of all three, stops the application (the test driver
// returns the error): the record's offset is not committed, so a restarted
// application meets the record again. Continue drops the record, counts it
// under DropDeserializationError, DropProcessingError or DropProductionError,
// sends it to the dead-letter topic if one is configured, and goes on. The
// engine logs the first drop of each reason per task, then at most one line a
// minute with the count.
//
// A handler runs on the goroutine of the task whose record failed; it must
// not block for long. A handler that panics fails the task.
type ErrorHandler func(ctx ErrorContext, err error) HandlerResponse

// HandlerResponse is an ErrorHandler's decision.
type HandlerResponse int

const (
	// Fail stops the task, and with it the application.
	Fail HandlerResponse = iota
	// Continue drops the record and goes on.
	Continue
)

func (r HandlerResponse) String() string {
	switch r {
	case Fail:
		return "FAIL"
	case Continue:
		return "CONTINUE"
	}
	return fmt.Sprintf("HandlerResponse(%d)", int(r))
}

// LogAndFail is the default handler: it fails on every error, as Kafka
// Streams' LogAndFailExceptionHandler. The error is logged when the
// application stops on it.
func LogAndFail(ErrorContext, error) HandlerResponse { return Fail }

// LogAndContinue drops every record that failed, as Kafka Streams'
// LogAndContinueExceptionHandler; the drops are counted and logged by
// reason, at a bounded rate.
func LogAndContinue(ErrorContext, error) HandlerResponse { return Continue }

// ErrorContext locates a failure for an ErrorHandler: Kafka Streams'
// ErrorHandlerContext, with the record's bytes (KIP-1034's source raw key
// and value) in it.
//
// For deserialization and processing failures, Topic, Partition, Offset,
// Timestamp, Key, Value and Headers are those of the input record being
// processed, as read from its source topic; in a punctuator or a cache flush
// there is none, Topic is empty and Offset -1. For a record the brokers
// refused, they are those of the refused record: its topic, partition and
// bytes, with Offset -1 and Node empty. Key and Value are nil for Kafka
// nulls. The slices are valid only during the call: copy what the handler
// keeps.
type ErrorContext struct {
	Task TaskID
	// Node is the node that failed: the source for deserialization, the
	// sink for serialization, the processor that returned the error or
	// panicked. It is empty where the engine cannot tell (a panic in a
	// cache's flush before it forwarded).
	Node      string
	Topic     string
	Partition int32
	Offset    int64
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   []Header
}

// ErrPanic is matched, with errors.Is, by every *PanicError.
var ErrPanic = errors.New("processor: panic")

// PanicError is a panic recovered from user code (a processor, a function
// given to the DSL, a serde, a punctuator): the value it panicked with and
// the stack of the goroutine when it did. Handlers get it as the error of a
// processing failure; the runtime and the test driver return it wrapped in
// an *Error naming the node, task, topic, partition and offset.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns ErrPanic and, when the panic value is an error (a runtime
// error such as a nil dereference, or panic(err)), that error.
func (e *PanicError) Unwrap() []error {
	if err, ok := e.Value.(error); ok {
		return []error{ErrPanic, err}
	}
	return []error{ErrPanic}
}

// Headers of a dead-letter record, beside the original record's own: the
// six Kafka Streams writes (KIP-1034), and the node and task, under the
// names Kafka Streams libraries use for them. Values are UTF-8 text;
// partition and offset in decimal.
const (
	// DeadLetterException is the kind of error: the Go type of the error
	// ("*strconv.NumError"), or "panic(<type of the value>)" for a panic.
	DeadLetterException = "__streams.errors.exception"
	// DeadLetterMessage is the error's message.
	DeadLetterMessage = "__streams.errors.message"
	// DeadLetterStacktrace is the stack of a panic; absent for errors,
	// which carry none.
	DeadLetterStacktrace = "__streams.errors.stacktrace"
	// DeadLetterTopic, DeadLetterPartition and DeadLetterOffset locate the
	// input record.
	DeadLetterTopic     = "__streams.errors.topic"
	DeadLetterPartition = "__streams.errors.partition"
	DeadLetterOffset    = "__streams.errors.offset"
	// DeadLetterNode is the node that failed; DeadLetterTask the task.
	DeadLetterNode = "__streams.errors.processor.node.id"
	DeadLetterTask = "__streams.errors.task.id"
)
