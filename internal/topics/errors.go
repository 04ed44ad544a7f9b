package topics

import (
	"errors"

	"github.com/samsa-go/samsa/internal/engine"
)

// Sentinels of the errors Setup returns; match them with errors.Is. The
// runtime exports them (runtime.ErrBrokersUnreachable, ...). Messages carry
// no package prefix: users see them through the runtime, which adds its own.
var (
	// ErrUnreachable: no broker answered within Options.Timeout.
	ErrUnreachable = errors.New("brokers unreachable")
	// ErrMissingSource: an external source topic does not exist.
	ErrMissingSource = errors.New("source topic does not exist")
	// ErrNotCopartitioned: topics read together have different partition
	// counts.
	// It is the topology's sentinel: Build finds the mistakes it can see
	// in the graph, Setup those that need the brokers' partition counts.
	ErrNotCopartitioned = engine.ErrNotCopartitioned
	// ErrUnresolved: the partition count of a repartition topic could not be
	// worked out from the topics upstream of it.
	ErrUnresolved = errors.New("partition count unresolved")
	// ErrPartitionMismatch: an existing internal topic has another partition
	// count than the application needs.
	ErrPartitionMismatch = errors.New("internal topic has the wrong partition count")
)

// topicError carries its own message, and matches a sentinel and, if set,
// the cause it reports.
type topicError struct {
	kind  error
	msg   string
	cause error
}

func (e *topicError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *topicError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
