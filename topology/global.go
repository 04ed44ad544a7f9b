package topology

import (
	"fmt"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// AddGlobalStore adds a global store and what fills it, as Kafka Streams'
// Topology#addGlobalStore: a source named sourceName that reads every
// partition of topic with the given serdes, and a processor named
// processorName, made by supplier, that writes each record to the store.
// The processor forwards nothing.
//
// Every instance of the application keeps a whole copy of a global store,
// filled from its topic before any task processes and kept up to date
// while the application runs, by a consumer of its own outside the group.
// The topic is the store's changelog: the builder must have logging
// disabled, and the store is rebuilt from the topic when an instance
// starts. Processors of any sub-topology connected to the store
// (ConnectProcessorAndStateStores) read it, and only read it: their
// context hands them its view (for a key-value store a
// state.ReadOnlyKeyValueStore), which the global consumer's writes reach
// while they run. A global store adds no co-partitioning constraint.
func (t *Topology) AddGlobalStore[K, V any](builder state.StoreBuilder, sourceName string, keySerde serde.Serde[K], valueSerde serde.Serde[V], topic, processorName string, supplier processor.Supplier[K, V, struct{}, struct{}]) *Topology {
	t.g.Add(&engine.Node{
		Name:     sourceName,
		Kind:     engine.KindSource,
		Topics:   []string{topic},
		OutKey:   typeOf[K](),
		OutValue: typeOf[V](),
		Build:    engine.SourceBuild(keySerde, valueSerde),
		Check:    serdeCheck("global source", sourceName, fmt.Sprintf("topic %q", topic), keySerde == nil, valueSerde == nil),
		Global:   true,
	})
	n := &engine.Node{
		Name:     processorName,
		Kind:     engine.KindProcessor,
		InKey:    typeOf[K](),
		InValue:  typeOf[V](),
		OutKey:   typeOf[struct{}](),
		OutValue: typeOf[struct{}](),
		Build:    engine.ProcessorBuild(supplier),
		Global:   true,
	}
	if supplier == nil {
		n.Check = func() error { return fmt.Errorf("global processor %q has no supplier", processorName) }
	}
	t.g.Add(n, sourceName)
	if builder != nil {
		t.g.AddGlobalStore(builder, processorName)
	} else {
		t.g.Fail(fmt.Errorf("topology: global store of %q has no builder", processorName))
	}
	return t
}
