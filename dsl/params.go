package dsl

import (
	"time"

	"github.com/samsa-go/samsa/serde"
)

// The parameter objects of the operations that cross bytes or own a store,
// as Kafka Streams' Consumed, Produced, Grouped, Materialized and
// Repartitioned. Each is typed by the keys and values of the stream it is
// passed to, so a serde of the wrong type, or a Materialized passed to To,
// does not compile. Their zero values are valid and change nothing; their
// methods return modified copies. Named can be passed alongside any of them.

// Consumed configures a source, as Kafka Streams' Consumed. Stream and
// Streams take their serdes as arguments; Consumed holds what else a source
// can be told, today only its name.
type Consumed[K, V any] struct{ o options }

// WithName names the source node, as Named does.
func (c Consumed[K, V]) WithName(name string) Consumed[K, V] {
	c.o.name = name
	c.o = c.o.with(setName)
	return c
}

// Produced configures a sink, as Kafka Streams' Produced: the serdes that
// write its keys and values, where the stream does not carry them or should
// write with others, and its name.
type Produced[K, V any] struct{ o options }

// ProducedWith gives the serdes that write a sink topic's keys and values.
// A nil serde leaves the one the stream carries.
func ProducedWith[K, V any](keySerde serde.Serde[K], valueSerde serde.Serde[V]) Produced[K, V] {
	return Produced[K, V]{}.WithKeySerde(keySerde).WithValueSerde(valueSerde)
}

// WithKeySerde sets the serde of the keys.
func (p Produced[K, V]) WithKeySerde(s serde.Serde[K]) Produced[K, V] {
	p.o = setKey(p.o, s)
	return p
}

// WithValueSerde sets the serde of the values.
func (p Produced[K, V]) WithValueSerde(s serde.Serde[V]) Produced[K, V] {
	p.o = setValue(p.o, s)
	return p
}

// WithName names the sink node, as Named does.
func (p Produced[K, V]) WithName(name string) Produced[K, V] {
	p.o.name = name
	p.o = p.o.with(setName)
	return p
}

// Grouped configures GroupBy and GroupByKey, as Kafka Streams' Grouped: the
// serdes of the grouped keys and values, used for the repartition topic
// and, unless Materialized gives others, the aggregation's store, and the
// name of the repartition topic.
type Grouped[K, V any] struct{ o options }

// GroupedWith gives the serdes of a grouped stream's keys and values. A nil
// serde leaves the one the stream carries.
func GroupedWith[K, V any](keySerde serde.Serde[K], valueSerde serde.Serde[V]) Grouped[K, V] {
	return Grouped[K, V]{}.WithKeySerde(keySerde).WithValueSerde(valueSerde)
}

// WithKeySerde sets the serde of the keys.
func (g Grouped[K, V]) WithKeySerde(s serde.Serde[K]) Grouped[K, V] {
	g.o = setKey(g.o, s)
	return g
}

// WithValueSerde sets the serde of the values.
func (g Grouped[K, V]) WithValueSerde(s serde.Serde[V]) Grouped[K, V] {
	g.o = setValue(g.o, s)
	return g
}

// WithName names the repartition topic, if one is needed:
// "<application id>-<name>-repartition", and its nodes after it. By default
// the topic is named after the aggregation's store.
func (g Grouped[K, V]) WithName(name string) Grouped[K, V] {
	g.o.repartition = name
	g.o = g.o.with(setRepartition)
	return g
}

// Materialized names and configures the key-value store of a table or an
// aggregation, as Kafka Streams' Materialized. Without a store name the
// store gets a generated one.
type Materialized[K, V any] struct{ o options }

// MaterializedAs names the store. Its type arguments are the store's key
// and value types: Go does not infer them from where the result goes.
func MaterializedAs[K, V any](store string) Materialized[K, V] {
	m := Materialized[K, V]{}
	m.o.store = store
	m.o = m.o.with(setStore)
	return m
}

// MaterializedWith gives the serdes of the store's keys and values. A nil
// serde leaves the one the stream or table carries.
func MaterializedWith[K, V any](keySerde serde.Serde[K], valueSerde serde.Serde[V]) Materialized[K, V] {
	return Materialized[K, V]{}.WithKeySerde(keySerde).WithValueSerde(valueSerde)
}

// WithKeySerde sets the serde of the store's keys.
func (m Materialized[K, V]) WithKeySerde(s serde.Serde[K]) Materialized[K, V] {
	m.o = setKey(m.o, s)
	return m
}

// WithValueSerde sets the serde of the store's values.
func (m Materialized[K, V]) WithValueSerde(s serde.Serde[V]) Materialized[K, V] {
	m.o = setValue(m.o, s)
	return m
}

// WithCachingEnabled folds repeated updates of a key in a cache of up to
// maxBytes until the next commit, so downstream, the changelog and the store
// see only the latest value per key and commit (or per eviction, when the
// cache is full), with the time of the write it kept and no headers. Off by
// default: every update is forwarded. The test driver flushes after each
// input record, so there only the updates one record causes are folded.
func (m Materialized[K, V]) WithCachingEnabled(maxBytes int) Materialized[K, V] {
	m.o.caching = maxBytes
	m.o = m.o.with(setCaching)
	return m
}

// WithLoggingDisabled turns off the store's changelog topic: the store is
// not restored after a failure.
func (m Materialized[K, V]) WithLoggingDisabled() Materialized[K, V] {
	m.o = m.o.with(setNoLogging)
	return m
}

// WithRetention sets how long a windowed aggregation's window or session
// store keeps a window after the largest window start (session end) it
// saw, for queries of windows already closed. By default it is the window
// size plus the grace period (sliding windows: twice the time difference
// plus the grace period, and a millisecond; sessions: the inactivity gap
// plus the grace period, and a millisecond), and it must not be shorter
// than that, less the millisecond, as Kafka Streams checks. Only windowed
// aggregations take it.
func (m Materialized[K, V]) WithRetention(d time.Duration) Materialized[K, V] {
	m.o.retention = d
	m.o = m.o.with(setRetention)
	return m
}

// InMemory keeps the store in memory instead of Pebble; it is rebuilt from
// its changelog on restart.
func (m Materialized[K, V]) InMemory() Materialized[K, V] {
	m.o = m.o.with(setInMemory)
	return m
}

// Repartitioned configures Repartition, as Kafka Streams' Repartitioned:
// the serdes of the repartition topic, its name and its partition count.
type Repartitioned[K, V any] struct{ o options }

// RepartitionedWith gives the serdes of the repartition topic's keys and
// values. A nil serde leaves the one the stream carries.
func RepartitionedWith[K, V any](keySerde serde.Serde[K], valueSerde serde.Serde[V]) Repartitioned[K, V] {
	return Repartitioned[K, V]{}.WithKeySerde(keySerde).WithValueSerde(valueSerde)
}

// WithKeySerde sets the serde of the keys.
func (r Repartitioned[K, V]) WithKeySerde(s serde.Serde[K]) Repartitioned[K, V] {
	r.o = setKey(r.o, s)
	return r
}

// WithValueSerde sets the serde of the values.
func (r Repartitioned[K, V]) WithValueSerde(s serde.Serde[V]) Repartitioned[K, V] {
	r.o = setValue(r.o, s)
	return r
}

// WithName names the topic "<application id>-<name>-repartition", and its
// nodes after it; Named does the same.
func (r Repartitioned[K, V]) WithName(name string) Repartitioned[K, V] {
	r.o.repartition = name
	r.o = r.o.with(setRepartition)
	return r
}

// WithNumberOfPartitions sets the topic's partition count; by default it has
// as many partitions as the topics upstream of it.
func (r Repartitioned[K, V]) WithNumberOfPartitions(n int32) Repartitioned[K, V] {
	r.o.partitions = n
	r.o = r.o.with(setPartitions)
	return r
}

// Processed configures Process and ProcessValues: the stores their
// processor uses. Named can be passed with it.
type Processed struct{ o options }

// WithStores connects named stores, added with Builder.AddStateStore, to a
// Process or ProcessValues node.
func WithStores(stores ...string) Processed {
	p := Processed{}
	p.o.stores = append([]string(nil), stores...)
	p.o = p.o.with(setStores)
	return p
}

// setKey and setValue record a serde; a nil one is no setting, so that the
// stream's serde stays.
func setKey[K any](o options, s serde.Serde[K]) options {
	if s == nil {
		return o
	}
	o.keySerde = s
	return o.with(setKeySerde)
}

func setValue[V any](o options, s serde.Serde[V]) options {
	if s == nil {
		return o
	}
	o.valueSerde = s
	return o.with(setValueSerde)
}
