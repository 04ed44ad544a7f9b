package runtime

import (
	"errors"
	"fmt"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/internal/statedir"
	"github.com/samsa-go/samsa/internal/topics"
	"github.com/samsa-go/samsa/state"
)

// Errors New and Run return wrap these; match them with errors.Is. Their
// messages say what was wrong and where (which topic, which directory); the
// sentinels say what kind of mistake it was.
var (
	// ErrNotCreated is returned by Run on an App that already ran.
	ErrNotCreated = errors.New("runtime: app already started")

	// ErrBrokersUnreachable: no broker answered within StartupTimeout.
	ErrBrokersUnreachable = topics.ErrUnreachable

	// ErrMissingSourceTopic: a topic the topology reads, other than its
	// own repartition topics, does not exist on the brokers (Kafka
	// Streams' MissingSourceTopicException). The runtime never creates
	// source topics.
	ErrMissingSourceTopic = topics.ErrMissingSource

	// ErrNotCopartitioned: topics read together, by one sub-topology or
	// by a join, have different partition counts. It is the same value as
	// topology.ErrNotCopartitioned: Build finds what the graph shows, Run
	// what needs the brokers' partition counts.
	ErrNotCopartitioned = topics.ErrNotCopartitioned

	// ErrPartitionMismatch: an existing repartition or changelog topic has
	// another partition count than the application needs, as after its
	// source topics were given more partitions. Reset the application, or
	// recreate the topic.
	ErrPartitionMismatch = topics.ErrPartitionMismatch

	// ErrStateDirLocked: another instance, in this process or another,
	// holds the state directory StateDir/ApplicationID. Errors that wrap
	// it are *StateDirLockedError.
	ErrStateDirLocked = statedir.ErrLocked

	// ErrInvalidConfig: New was given an option that is missing or out of
	// range. Errors that wrap it are *ConfigError.
	ErrInvalidConfig = errors.New("runtime: invalid configuration")
)

// ConfigError is an option New rejected: which option, the value it was
// given, and why. It matches ErrInvalidConfig and, where a franz-go check
// refused the value, that error too.
type ConfigError struct {
	// Option is the name of the option function, "Brokers".
	Option string
	// Value is the value as the option was given it, formatted as Go
	// source ("127.0.0.1:99999" quoted, durations as 10s).
	Value string
	// Reason says what is wrong with the value.
	Reason string
	// Err is the franz-go error behind Reason, if any.
	Err error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("runtime: %s(%s): %s", e.Option, e.Value, e.Reason)
}

func (e *ConfigError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidConfig}
	}
	return []error{ErrInvalidConfig, e.Err}
}

// StateDirLockedError reports the state directory Run could not lock and
// the process holding it (PID is 0 when it could not be read). It matches
// ErrStateDirLocked.
type StateDirLockedError = statedir.LockedError

// MissingSourceTopicError reports a source topic deleted, or deleted and
// recreated, while the app ran. It matches ErrMissingSourceTopic.
type MissingSourceTopicError struct {
	Topic string
	// Recreated says the topic exists again, under another topic id: its
	// records and offsets are not those the app read and committed.
	Recreated    bool
	OldID, NewID string
}

func (e *MissingSourceTopicError) Error() string {
	if e.Recreated {
		return fmt.Sprintf("runtime: source topic %q was deleted and recreated while the app ran (topic id %s, now %s); reset the application to read it anew", e.Topic, e.OldID, e.NewID)
	}
	return fmt.Sprintf("runtime: source topic %q was deleted while the app ran", e.Topic)
}

func (e *MissingSourceTopicError) Unwrap() error { return ErrMissingSourceTopic }

// Errors of interactive queries (QueryKeyValue, QueryWindow, QuerySession
// and the HTTP query layer) wrap one of these, as Kafka Streams' subclasses
// of InvalidStateStoreException. All but ErrUnknownStore are retriable: the
// answer is elsewhere or later.
var (
	// ErrNotRunning: the app has not started, or is shutting down or
	// closed (StreamsNotStartedException).
	ErrNotRunning = errors.New("runtime: the app is not running")
	// ErrRebalancing: the group is moving tasks, or the task that holds
	// the key is still restoring its stores (StreamsRebalancingException).
	ErrRebalancing = errors.New("runtime: the app is rebalancing")
	// ErrStoreMoved: the task of the store that holds the key is not
	// active on this instance, or left it during the query
	// (StateStoreMigratedException); App.MetadataForKey says which
	// instance runs it.
	ErrStoreMoved = errors.New("runtime: the store has moved to another instance")
	// ErrUnknownStore: the topology has no store by that name
	// (UnknownStateStoreException). It is state.ErrUnknownStore.
	ErrUnknownStore = state.ErrUnknownStore
)

// relabel gives err the runtime's prefix in place of an internal package's
// (engine.Relabel). It runs once per failure, on the error Run returns.
func relabel(err error) error { return engine.Relabel("runtime", err) }
