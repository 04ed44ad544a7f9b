package processor

import "fmt"

// Error is an error raised while a task processed a record or ran a
// punctuator. It locates the failure; Err is the cause.
type Error struct {
	Task TaskID
	// Node is the processor, source or sink that failed, when known.
	Node      string
	Topic     string
	Partition int32
	// Offset is -1 in a punctuator.
	Offset int64
	Err    error
}

func (e *Error) Error() string {
	where := fmt.Sprintf("task %s", e.Task)
	if e.Topic != "" {
		where += fmt.Sprintf(", topic %q partition %d offset %d", e.Topic, e.Partition, e.Offset)
	}
	if e.Node != "" {
		where += fmt.Sprintf(", node %q", e.Node)
	}
	return "processor: " + where + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }
