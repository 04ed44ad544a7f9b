package topology

import (
	"fmt"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// AddGlobalStore adds a global store, as Kafka Streams'
// Topology#addGlobalStore: the store builder makes, with the source named
// sourceName reading every partition of topic with keySerde and valueSerde,
// and the processor named processorName, made by stateUpdateSupplier, which
// receives each record and keeps the store up to date.
//
// Every instance of the application keeps the whole store, and fills it
// from the topic before any of its tasks processes a record; it keeps
// reading the topic while it runs. The store is not logged: the topic is
// its changelog, so build it with logging disabled, and a restart rebuilds
// it by reprocessing the topic through the processor, from where a
// persistent store's local checkpoint left off.
//
// A crash loses nothing the topic holds, but the updates applied since the
// last checkpoint (every commit interval) are applied again after it, as in
// Kafka Streams: keep the processor idempotent, as a table's puts are.
//
// Every processor of the topology can read the store, read-only, without
// being connected to it: state.GetReadOnlyKeyValueStore gives it (the
// writable state.GetKeyValueStore fails, naming the store). It reads what
// the global store's processor wrote, while that goes on writing on a
// goroutine of its own; a cached store's writes show once flushed, after
// each fetch. Only the store's own processor writes the store; it cannot
// forward records (it has no children) nor schedule punctuators. The source
// and processor make a sub-topology of their own in Describe, which
// generates no tasks.
//
// Build reports a logged store, a topic that another source reads, a store
// connected to other processors, and nodes added below the global store's;
// they match ErrGlobalStore or, for the topic, ErrDuplicateName.
func (t *Topology) AddGlobalStore[K, V, KOut, VOut any](builder state.StoreBuilder, sourceName string, keySerde serde.Serde[K], valueSerde serde.Serde[V], topic, processorName string, stateUpdateSupplier processor.Supplier[K, V, KOut, VOut]) *Topology {
	store := "<nil>"
	if builder != nil {
		store = builder.Name()
	}
	src := &engine.Node{
		Name:     sourceName,
		Kind:     engine.KindSource,
		Topics:   []string{topic},
		OutKey:   typeOf[K](),
		OutValue: typeOf[V](),
		Build:    engine.SourceBuild(keySerde, valueSerde),
		Check:    serdeCheck("source", sourceName, fmt.Sprintf("topic %q of global store %q", topic, store), keySerde == nil, valueSerde == nil),
	}
	proc := &engine.Node{
		Name:     processorName,
		Kind:     engine.KindProcessor,
		InKey:    typeOf[K](),
		InValue:  typeOf[V](),
		OutKey:   typeOf[KOut](),
		OutValue: typeOf[VOut](),
		Build:    engine.ProcessorBuild(stateUpdateSupplier),
	}
	if stateUpdateSupplier == nil {
		proc.Check = func() error {
			return fmt.Errorf("%w: processor %q of global store %q has no supplier", ErrGlobalStore, processorName, store)
		}
	}
	t.g.AddGlobalStore(builder, src, proc)
	return t
}
