package topology

import (
	"fmt"
	"reflect"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// Topology is a graph of sources, processors, sinks and stores. Add methods
// record mistakes instead of failing, and Build reports them all; a Topology
// is not safe for concurrent use while it is being built, and must not be
// changed after Build.
type Topology struct {
	g *engine.Graph
}

// New returns an empty topology.
func New() *Topology { return &Topology{g: engine.NewGraph()} }

// EngineGraph returns the graph behind the topology, for Samsa's runtime
// and test driver, which reach it through engine.GraphOf. Its argument's
// type is in an internal package, so code outside Samsa cannot call it.
func (t *Topology) EngineGraph(engine.Access) *engine.Graph { return t.g }

// NewName returns prefix followed by a dash and the next value of the
// topology's counter, in ten digits: names generated as Kafka Streams
// generates them (KSTREAM-FILTER-0000000003). The same sequence of calls
// gives the same names, so generated names are stable across runs of one
// program; they change when an operation is added before them.
func (t *Topology) NewName(prefix string) string {
	return fmt.Sprintf("%s-%010d", prefix, t.g.NextIndex())
}

// AddError records a mistake found by code that builds the topology, such
// as the DSL, for Build to return with its own. err should say where the
// mistake is and start with the name of the package that found it.
func (t *Topology) AddError(err error) *Topology {
	if err != nil {
		t.g.Fail(err)
	}
	return t
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// AddSource adds a source node named name that reads topics, with the serdes
// that read their keys and values.
func (t *Topology) AddSource[K, V any](name string, keySerde serde.Serde[K], valueSerde serde.Serde[V], topics ...string) *Topology {
	n := &engine.Node{
		Name:     name,
		Kind:     engine.KindSource,
		Topics:   topics,
		OutKey:   typeOf[K](),
		OutValue: typeOf[V](),
		Build:    engine.SourceBuild(keySerde, valueSerde),
		Check:    serdeCheck("source", name, fmt.Sprintf("topics %q", topics), keySerde == nil, valueSerde == nil),
	}
	t.g.Add(n)
	return t
}

// AddProcessor adds a processor node named name, made by supplier for each
// task, that receives the records of parents.
func (t *Topology) AddProcessor[KIn, VIn, KOut, VOut any](name string, supplier processor.Supplier[KIn, VIn, KOut, VOut], parents ...string) *Topology {
	n := &engine.Node{
		Name:     name,
		Kind:     engine.KindProcessor,
		InKey:    typeOf[KIn](),
		InValue:  typeOf[VIn](),
		OutKey:   typeOf[KOut](),
		OutValue: typeOf[VOut](),
		Build:    engine.ProcessorBuild(supplier),
	}
	if supplier == nil {
		n.Check = func() error { return fmt.Errorf("processor %q has no supplier", name) }
	}
	t.g.Add(n, parents...)
	return t
}

// AddSink adds a sink node named name that writes the records of parents to
// topic.
func (t *Topology) AddSink[K, V any](name, topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V], parents ...string) *Topology {
	return t.addSink(name, topic, nil, keySerde, valueSerde, parents)
}

// AddDynamicSink adds a sink node that writes each record to the topic
// extract returns for it.
func (t *Topology) AddDynamicSink[K, V any](name string, extract func(rec processor.Record[K, V]) string, keySerde serde.Serde[K], valueSerde serde.Serde[V], parents ...string) *Topology {
	return t.addSink(name, "", engine.TopicExtractor[K, V](extract), keySerde, valueSerde, parents)
}

func (t *Topology) addSink[K, V any](name, topic string, extract engine.TopicExtractor[K, V], ks serde.Serde[K], vs serde.Serde[V], parents []string) *Topology {
	where := fmt.Sprintf("topic %q", topic)
	if topic == "" {
		where = "a topic chosen per record"
	}
	check := serdeCheck("sink", name, where, ks == nil, vs == nil)
	if topic == "" && extract == nil {
		check = func() error { return fmt.Errorf("sink %q has neither a topic nor a topic extractor", name) }
	}
	n := &engine.Node{
		Name:    name,
		Kind:    engine.KindSink,
		Topic:   topic,
		InKey:   typeOf[K](),
		InValue: typeOf[V](),
		Build:   engine.SinkBuild(topic, extract, ks, vs),
		Check:   check,
	}
	t.g.Add(n, parents...)
	return t
}

func serdeCheck(kind, name, where string, noKey, noValue bool) func() error {
	if !noKey && !noValue {
		return nil
	}
	part := "key"
	if noValue {
		part = "value"
		if noKey {
			part = "key and value"
		}
	}
	return func() error {
		return fmt.Errorf("%w: %s %q (%s) has no %s serde", ErrMissingSerde, kind, name, where, part)
	}
}

// AddStateStore adds a store and connects it to the named processors.
func (t *Topology) AddStateStore(builder state.StoreBuilder, processors ...string) *Topology {
	t.g.AddStore(builder, processors...)
	return t
}

// ConnectProcessorAndStateStores gives processor access to stores added
// before or after it.
func (t *Topology) ConnectProcessorAndStateStores(processor string, stores ...string) *Topology {
	for _, s := range stores {
		t.g.ConnectStore(s, processor)
	}
	return t
}

// Build checks the topology and splits it into sub-topologies. It returns
// every mistake found, joined, each starting with the name of the package
// that found it ("topology: ", or "dsl: " for one the DSL recorded);
// calling it again after success is a no-op.
func (t *Topology) Build() error { return t.g.Build() }
