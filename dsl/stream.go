package dsl

import (
	"slices"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// KStream is an unbounded stream of records, as Kafka Streams' KStream. It
// is a value: operations return new streams and leave this one usable, so a
// stream can feed several operations.
type KStream[K, V any] struct {
	b    *Builder
	node string
	ks   serde.Serde[K]
	vs   serde.Serde[V]
	// rekeyed is set once an operation may have changed the key since the
	// last topic: a stateful operation then needs a repartition topic.
	rekeyed bool
	// topics are the topics the stream is read from within its task, while
	// it keeps their keys, for the co-partitioning of joins.
	topics []string
}

// KeyValue is a key and a value, as returned by FlatMap functions.
type KeyValue[K, V any] struct {
	Key   K
	Value V
}

// KV returns a KeyValue.
func KV[K, V any](key K, value V) KeyValue[K, V] { return KeyValue[K, V]{Key: key, Value: value} }

// Stream reads topic as a stream with the given serdes. Named names the
// source node.
func Stream[K, V any](b *Builder, topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...Consumed[K, V]) KStream[K, V] {
	return Streams(b, []string{topic}, keySerde, valueSerde, opts...)
}

// Streams reads several topics as one stream. Their records are processed
// by the same task per partition number, so the topics must have the same
// number of partitions.
func Streams[K, V any](b *Builder, topics []string, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...Consumed[K, V]) KStream[K, V] {
	c := merge(opts)
	name := b.name(c.name, "KSTREAM-SOURCE")
	b.only(name, "Stream", c, setName)
	b.topo.AddSource(name, keySerde, valueSerde, topics...)
	return KStream[K, V]{b: b, node: name, ks: keySerde, vs: valueSerde, topics: slices.Clone(topics)}
}

// Name is the name of the node that produces the stream.
func (s KStream[K, V]) Name() string { return s.node }

// Filter keeps the records for which pred returns true. Records with a null
// value are kept without calling pred.
func (s KStream[K, V]) Filter(pred func(key K, value V) bool, opts ...Option) KStream[K, V] {
	return s.filter(pred, false, opts)
}

// FilterNot drops the records for which pred returns true. Records with a
// null value are kept without calling pred.
func (s KStream[K, V]) FilterNot(pred func(key K, value V) bool, opts ...Option) KStream[K, V] {
	return s.filter(pred, true, opts)
}

func (s KStream[K, V]) filter(pred func(K, V) bool, not bool, opts []Option) KStream[K, V] {
	op := "Filter"
	if not {
		op = "FilterNot"
	}
	name := s.b.named(opts, "KSTREAM-FILTER", op)
	s.b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, K, V] {
		return &filterProc[K, V]{pred: pred, not: not}
	}), s.node)
	return s.with(name)
}

// with returns s produced by node name, types unchanged.
func (s KStream[K, V]) with(name string) KStream[K, V] {
	s.node = name
	return s
}

// MapValues replaces each value with f(value), keeping the key: no
// repartition follows.
func (s KStream[K, V]) MapValues[VR any](f func(value V) VR, opts ...Option) KStream[K, VR] {
	name := s.b.named(opts, "KSTREAM-MAPVALUES", "MapValues")
	s.b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, K, VR] {
		return &mapValuesProc[K, V, VR]{f: f}
	}), s.node)
	return newValues[K, V, VR](s, name)
}

// FlatMapValues replaces each record by one record per value f returns,
// keeping the key.
func (s KStream[K, V]) FlatMapValues[VR any](f func(value V) []VR, opts ...Option) KStream[K, VR] {
	name := s.b.named(opts, "KSTREAM-FLATMAPVALUES", "FlatMapValues")
	s.b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, K, VR] {
		return &flatMapValuesProc[K, V, VR]{f: f}
	}), s.node)
	return newValues[K, V, VR](s, name)
}

// Map replaces each record by the key and value f returns. The key may have
// changed, so a stateful operation downstream reads through a repartition
// topic.
func (s KStream[K, V]) Map[KR, VR any](f func(key K, value V) (KR, VR), opts ...Option) KStream[KR, VR] {
	name := s.b.named(opts, "KSTREAM-MAP", "Map")
	s.b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, KR, VR] {
		return &mapProc[K, V, KR, VR]{f: f}
	}), s.node)
	return newStream[KR, VR](s.b, name, nil, nil, true)
}

// FlatMap replaces each record by the records f returns; keys may change.
func (s KStream[K, V]) FlatMap[KR, VR any](f func(key K, value V) []KeyValue[KR, VR], opts ...Option) KStream[KR, VR] {
	name := s.b.named(opts, "KSTREAM-FLATMAP", "FlatMap")
	s.b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, KR, VR] {
		return &flatMapProc[K, V, KR, VR]{f: f}
	}), s.node)
	return newStream[KR, VR](s.b, name, nil, nil, true)
}

// SelectKey sets each record's key to f(key, value), keeping the value.
func (s KStream[K, V]) SelectKey[KR any](f func(key K, value V) KR, opts ...Option) KStream[KR, V] {
	name := s.b.named(opts, "KSTREAM-KEY-SELECT", "SelectKey")
	s.b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, KR, V] {
		return &selectKeyProc[K, V, KR]{f: f}
	}), s.node)
	return newStream[KR, V](s.b, name, nil, s.vs, true)
}

// Peek calls action for each record and forwards it unchanged. action is not
// called for records with a null value.
func (s KStream[K, V]) Peek(action func(key K, value V), opts ...Option) KStream[K, V] {
	name := s.b.named(opts, "KSTREAM-PEEK", "Peek")
	s.b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, K, V] {
		return &peekProc[K, V]{f: action}
	}), s.node)
	return s.with(name)
}

// Foreach calls action for each record and ends the stream. action is not
// called for records with a null value.
func (s KStream[K, V]) Foreach(action func(key K, value V), opts ...Option) {
	name := s.b.named(opts, "KSTREAM-FOREACH", "Foreach")
	s.b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, K, V] {
		return &peekProc[K, V]{f: action, terminal: true}
	}), s.node)
}

// Merge interleaves the records of s and other into one stream.
func (s KStream[K, V]) Merge(other KStream[K, V], opts ...Option) KStream[K, V] {
	name := s.b.named(opts, "KSTREAM-MERGE", "Merge")
	s.b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, K, V] {
		return &passThrough[K, V]{}
	}), s.node, other.node)
	out := s.with(name)
	out.rekeyed = s.rekeyed || other.rekeyed
	out.topics = union(s.topics, other.topics)
	if out.ks == nil {
		out.ks = other.ks
	}
	if out.vs == nil {
		out.vs = other.vs
	}
	return out
}

// Process runs a custom processor on each record. It may change keys, so a
// stateful operation downstream reads through a repartition topic.
// WithStores connects stores added with Builder.AddStateStore.
func (s KStream[K, V]) Process[KR, VR any](supplier processor.Supplier[K, V, KR, VR], opts ...Processed) KStream[KR, VR] {
	c := merge(opts)
	name := s.b.name(c.name, "KSTREAM-PROCESSOR")
	s.b.only(name, "Process", c, setName|setStores)
	s.b.topo.AddProcessor(name, supplier, s.node)
	s.connectStores(name, c.stores)
	return newStream[KR, VR](s.b, name, nil, nil, true)
}

// ProcessValues runs a custom processor that must forward records with the
// key it received; no repartition follows.
func (s KStream[K, V]) ProcessValues[VR any](supplier processor.Supplier[K, V, K, VR], opts ...Processed) KStream[K, VR] {
	c := merge(opts)
	name := s.b.name(c.name, "KSTREAM-PROCESSVALUES")
	s.b.only(name, "ProcessValues", c, setName|setStores)
	s.b.topo.AddProcessor(name, supplier, s.node)
	s.connectStores(name, c.stores)
	return newValues[K, V, VR](s, name)
}

// connectStores connects node to stores; Build reports stores that were
// never added.
func (s KStream[K, V]) connectStores(node string, stores []string) {
	s.b.topo.ConnectProcessorAndStateStores(node, stores...)
}

// newValues is s after a value-only operation: the key serde and repartition
// need carry over, the value serde is the built-in one, if any.
func newValues[K, V, VR any](s KStream[K, V], name string) KStream[K, VR] {
	out := newStream[K, VR](s.b, name, s.ks, nil, s.rekeyed)
	out.topics = s.topics
	return out
}

// union returns the topics of a and b, each once, sorted.
func union(a, b []string) []string {
	u := slices.Concat(a, b)
	slices.Sort(u)
	return slices.Compact(u)
}

// newStream is a stream produced by node name with the serdes it carries,
// or where one is nil the built-in one for its type, if any.
func newStream[K, V any](b *Builder, name string, ks serde.Serde[K], vs serde.Serde[V], rekeyed bool) KStream[K, V] {
	k, _ := pickSerde(nil, ks)
	v, _ := pickSerde(nil, vs)
	return KStream[K, V]{b: b, node: name, ks: k, vs: v, rekeyed: rekeyed}
}

// supply adapts a constructor to processor.Supplier.
func supply[KIn, VIn, KOut, VOut any](f func() processor.Processor[KIn, VIn, KOut, VOut]) processor.Supplier[KIn, VIn, KOut, VOut] {
	return processor.SupplierFunc[KIn, VIn, KOut, VOut](f)
}
