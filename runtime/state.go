package runtime

// State is the lifecycle state of an App, as Kafka Streams' KafkaStreams.State.
type State int32

const (
	Created State = iota
	Rebalancing
	Running
	PendingShutdown
	NotRunning
	Error
)

func (s State) String() string {
	switch s {
	case Created:
		return "CREATED"
	case Rebalancing:
		return "REBALANCING"
	case Running:
		return "RUNNING"
	case PendingShutdown:
		return "PENDING_SHUTDOWN"
	case NotRunning:
		return "NOT_RUNNING"
	case Error:
		return "ERROR"
	}
	return "UNKNOWN"
}

// StateListener is called on every state change, from the goroutine that
// made it; it must not block.
type StateListener func(old, new State)
