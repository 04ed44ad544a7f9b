package dsl

import (
	"fmt"

	"github.com/samsa-go/samsa/serde"
)

// Option configures one DSL operation. Operations read the options that
// apply to them: Named names the operation's node, Materialized its store,
// the serde options the bytes it crosses.
type Option interface{ apply(*config) }

type config struct {
	name        string
	store       string
	keySerde    any
	valueSerde  any
	caching     int
	noLogging   bool
	inMemory    bool
	partitions  int32
	repartition string
	stores      []string
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

func configure(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// Named names the processor node of an operation, as Kafka Streams' Named.
// For Split it is the prefix of the branch names.
func Named(name string) Option { return optionFunc(func(c *config) { c.name = name }) }

// MaterializedOption names and configures the store of a stateful operation
// or a table, as Kafka Streams' Materialized. Its methods return modified
// copies.
type MaterializedOption struct{ c config }

// Materialized names the store of a stateful operation or table.
func Materialized(store string) MaterializedOption {
	return MaterializedOption{c: config{store: store}}
}

func (m MaterializedOption) apply(c *config) {
	c.store = m.c.store
	if m.c.keySerde != nil {
		c.keySerde = m.c.keySerde
	}
	if m.c.valueSerde != nil {
		c.valueSerde = m.c.valueSerde
	}
	c.caching, c.noLogging, c.inMemory = m.c.caching, m.c.noLogging, m.c.inMemory
}

// WithKeySerde sets the serde of the store's keys.
func (m MaterializedOption) WithKeySerde[K any](s serde.Serde[K]) MaterializedOption {
	m.c.keySerde = s
	return m
}

// WithValueSerde sets the serde of the store's values.
func (m MaterializedOption) WithValueSerde[V any](s serde.Serde[V]) MaterializedOption {
	m.c.valueSerde = s
	return m
}

// WithCachingEnabled folds repeated updates of a key in a cache of up to
// maxBytes until the next commit, so downstream, the changelog and the store
// see only the latest value per key and commit (or per eviction, when the
// cache is full), with the time of the write it kept and no headers. Off by
// default: every update is forwarded. The test driver flushes after each
// input record, so there only the updates one record causes are folded.
func (m MaterializedOption) WithCachingEnabled(maxBytes int) MaterializedOption {
	m.c.caching = maxBytes
	return m
}

// WithLoggingDisabled turns off the store's changelog topic: the store is
// not restored after a failure.
func (m MaterializedOption) WithLoggingDisabled() MaterializedOption {
	m.c.noLogging = true
	return m
}

// InMemory keeps the store in memory instead of Pebble; it is rebuilt from
// its changelog on restart.
func (m MaterializedOption) InMemory() MaterializedOption {
	m.c.inMemory = true
	return m
}

type serdeOption struct{ key, value any }

func (o serdeOption) apply(c *config) {
	if o.key != nil {
		c.keySerde = o.key
	}
	if o.value != nil {
		c.valueSerde = o.value
	}
}

// ConsumedWith gives the serdes that read a source topic's keys and values.
func ConsumedWith[K, V any](keySerde serde.Serde[K], valueSerde serde.Serde[V]) Option {
	return serdeOption{key: keySerde, value: valueSerde}
}

// ProducedWith gives the serdes that write a sink topic's keys and values.
func ProducedWith[K, V any](keySerde serde.Serde[K], valueSerde serde.Serde[V]) Option {
	return serdeOption{key: keySerde, value: valueSerde}
}

// GroupedWith gives the serdes of a grouped stream's keys and values, used
// for its repartition topic and, unless Materialized says otherwise, its
// store.
func GroupedWith[K, V any](keySerde serde.Serde[K], valueSerde serde.Serde[V]) Option {
	return serdeOption{key: keySerde, value: valueSerde}
}

// KeySerde gives the serde of the keys an operation writes.
func KeySerde[K any](s serde.Serde[K]) Option { return serdeOption{key: s} }

// ValueSerde gives the serde of the values an operation writes.
func ValueSerde[V any](s serde.Serde[V]) Option { return serdeOption{value: s} }

// Repartitioned names the repartition topic of a GroupBy, GroupByKey or
// Repartition: the topic is "<application id>-<name>-repartition".
func Repartitioned(name string) Option {
	return optionFunc(func(c *config) { c.repartition = name })
}

// WithNumberOfPartitions sets the partition count of a repartition topic;
// by default it has as many partitions as the topics upstream of it.
func WithNumberOfPartitions(n int32) Option {
	return optionFunc(func(c *config) { c.partitions = n })
}

// WithStores connects named stores, added with Builder.AddStateStore, to a
// Process or ProcessValues node.
func WithStores(stores ...string) Option {
	return optionFunc(func(c *config) { c.stores = append(c.stores, stores...) })
}

// pickSerde resolves the serde for a T: an explicit option first, then the
// one the stream carried, then the built-in one for T. It returns nil when
// there is none; an explicit serde of the wrong type is an error.
func pickSerde[T any](explicit any, carried serde.Serde[T]) (serde.Serde[T], error) {
	if explicit != nil {
		s, ok := explicit.(serde.Serde[T])
		if !ok {
			return nil, fmt.Errorf("a serde of type %T was given where a serde.Serde[%T] is needed", explicit, *new(T))
		}
		return s, nil
	}
	if carried != nil {
		return carried, nil
	}
	if s, ok := serde.Default[T](); ok {
		return s, nil
	}
	return nil, nil
}
