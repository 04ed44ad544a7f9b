package topology

import "github.com/samsa-go/samsa/internal/engine"

// Errors Build wraps; test them with errors.Is. Each is one value wherever
// it is found: the runtime reports topics that turn out not to be
// co-partitioned on the broker with ErrNotCopartitioned too.
var (
	// ErrEmpty: the topology has no nodes.
	ErrEmpty = engine.ErrEmpty
	// ErrDuplicateName: two nodes or two stores share a name, or two
	// sources read one topic.
	ErrDuplicateName = engine.ErrDuplicateName
	// ErrUnknownNode: a node names a parent, or a store a node, that does
	// not exist.
	ErrUnknownNode = engine.ErrUnknownNode
	// ErrUnknownStore: a processor uses a store that was never added.
	ErrUnknownStore = engine.ErrUnknownStore
	// ErrMissingSerde: a source, sink or store has no serde for its keys or
	// values.
	ErrMissingSerde = engine.ErrMissingSerde
	// ErrNotCopartitioned: topics read together have, or are declared with,
	// different partition counts.
	ErrNotCopartitioned = engine.ErrNotCopartitioned
	// ErrCycle: a sub-topology reads a topic it writes.
	ErrCycle = engine.ErrCycle
	// ErrTypeMismatch: a node forwards records of other types than its child
	// takes, or a serde of the wrong type was given.
	ErrTypeMismatch = engine.ErrTypeMismatch
	// ErrGlobalStore: a global store is logged, reads other than one
	// topic of its own, is connected to processors other than its own, or
	// has nodes added below its own (see AddGlobalStore).
	ErrGlobalStore = engine.ErrGlobalStore
)
