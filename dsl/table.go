package dsl

import (
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// KTable is a changelog stream seen as a table: the latest value per key,
// as Kafka Streams' KTable. A null value deletes its key's row.
type KTable[K, V any] struct {
	b    *Builder
	node string
	ks   serde.Serde[K]
	vs   serde.Serde[V]
	// store is the name of the store holding the table, if it is
	// materialized.
	store string
}

// change is what flows between table nodes: a row's new value and the one
// it replaced, so that downstream tables can retract the old one.
type change[V any] struct {
	New, Old       V
	HasNew, HasOld bool
}

// Table reads topic as a table, materialized in a key-value store
// (MaterializedAs names it). Records with a null key are dropped and
// counted. Named names the node that turns the topic into a table.
func Table[K, V any](b *Builder, topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...Materialized[K, V]) KTable[K, V] {
	c := merge(opts)
	// Kafka Streams numbers the store first, then the two nodes.
	store := c.store
	if store == "" {
		store = b.generate(topic + "-STATE-STORE")
	}
	source := b.generate("KSTREAM-SOURCE")
	name := b.name(c.name, "KTABLE-SOURCE")
	b.only(name, "Table", c, setName|materializedSettings)
	b.topo.AddSource(source, keySerde, valueSerde, topic)
	b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, K, change[V]] {
		return &tableSourceProc[K, V]{store: store}
	}), source)
	ks, vs := keySerde, valueSerde
	addStore(b, c, store, name, ks, vs)
	return KTable[K, V]{b: b, node: name, ks: ks, vs: vs, store: store}
}

// addStore adds the key-value store of a table or aggregation, with the
// options' serdes over the given ones.
func addStore[K, V any](b *Builder, c options, store, node string, ks serde.Serde[K], vs serde.Serde[V]) {
	k, err := pickSerde(c.keySerde, ks)
	if err != nil {
		b.fail("store %q: key %w", store, err)
	}
	v, err := pickSerde(c.valueSerde, vs)
	if err != nil {
		b.fail("store %q: value %w", store, err)
	}
	switch {
	case k == nil && v == nil:
		b.fail("%w: store %q of %q has no key and value serde: pass them with dsl.MaterializedWith", errMissingSerde, store, node)
	case k == nil:
		b.fail("%w: store %q of %q has no key serde: pass one with dsl.MaterializedWith or dsl.GroupedWith", errMissingSerde, store, node)
	case v == nil:
		b.fail("%w: store %q of %q has no value serde: pass one with dsl.MaterializedWith", errMissingSerde, store, node)
	}
	sb := state.TimestampedKeyValueStoreBuilder(store, k, v)
	if c.caching > 0 {
		sb = sb.WithCachingEnabled(c.caching)
	}
	if c.set&setNoLogging != 0 {
		sb = sb.WithLoggingDisabled()
	}
	if c.set&setInMemory != 0 {
		sb = sb.InMemory()
	}
	b.topo.AddStateStore(sb, node)
}

// Name is the name of the node that produces the table.
func (t KTable[K, V]) Name() string { return t.node }

// StoreName is the name of the store that holds the table, or "" when it is
// not materialized.
func (t KTable[K, V]) StoreName() string { return t.store }

// Filter keeps the rows for which pred returns true; a row that does not
// pass is forwarded as a delete, as in Kafka Streams.
func (t KTable[K, V]) Filter(pred func(key K, value V) bool, opts ...Option) KTable[K, V] {
	return t.filter(pred, false, opts)
}

// FilterNot drops the rows for which pred returns true.
func (t KTable[K, V]) FilterNot(pred func(key K, value V) bool, opts ...Option) KTable[K, V] {
	return t.filter(pred, true, opts)
}

func (t KTable[K, V]) filter(pred func(K, V) bool, not bool, opts []Option) KTable[K, V] {
	op := "KTable.Filter"
	if not {
		op = "KTable.FilterNot"
	}
	name := t.b.named(opts, "KTABLE-FILTER", op)
	t.b.topo.AddProcessor(name, supply(func() processor.Processor[K, change[V], K, change[V]] {
		return &tableFilterProc[K, V]{pred: pred, not: not}
	}), t.node)
	return KTable[K, V]{b: t.b, node: name, ks: t.ks, vs: t.vs}
}

// MapValues replaces each row's value with f(value); deletes stay deletes.
func (t KTable[K, V]) MapValues[VR any](f func(value V) VR, opts ...Option) KTable[K, VR] {
	name := t.b.named(opts, "KTABLE-MAPVALUES", "KTable.MapValues")
	t.b.topo.AddProcessor(name, supply(func() processor.Processor[K, change[V], K, change[VR]] {
		return &tableMapValuesProc[K, V, VR]{f: f}
	}), t.node)
	vs, _ := pickSerde[VR](nil, nil)
	return KTable[K, VR]{b: t.b, node: name, ks: t.ks, vs: vs}
}

// ToStream turns the table's updates into a stream; a delete becomes a
// record with a null value.
func (t KTable[K, V]) ToStream(opts ...Option) KStream[K, V] {
	name := t.b.named(opts, "KTABLE-TOSTREAM", "ToStream")
	t.b.topo.AddProcessor(name, supply(func() processor.Processor[K, change[V], K, V] {
		return &toStreamProc[K, V]{}
	}), t.node)
	return KStream[K, V]{b: t.b, node: name, ks: t.ks, vs: t.vs}
}

// forwardFlushed returns the flush listener of a cached table: it forwards
// each update the cache writes down as a change, with the new value's
// timestamp (for a delete, the time of the write the cache kept).
func forwardFlushed[K, V any](fwd processor.Context[K, change[V]]) func(state.Flushed[K, state.ValueAndTimestamp[V]]) error {
	return func(f state.Flushed[K, state.ValueAndTimestamp[V]]) error {
		ts := f.Timestamp
		if f.HasNew {
			ts = f.New.Timestamp
		}
		return fwd.Forward(processor.Record[K, change[V]]{
			Key:       f.Key,
			Value:     change[V]{New: f.New.Value, Old: f.Old.Value, HasNew: f.HasNew, HasOld: f.HasOld},
			Timestamp: ts,
		})
	}
}

type tableSourceProc[K, V any] struct {
	base[K, change[V]]
	store  string
	kv     *state.TimestampedKeyValueStore[K, V]
	cached bool
}

func (p *tableSourceProc[K, V]) Init(ctx processor.Context[K, change[V]]) error {
	p.ctx = ctx
	var err error
	if p.kv, err = state.GetTimestampedKeyValueStore[K, V](ctx, p.store); err != nil {
		return err
	}
	p.cached, err = state.SetCacheFlushListener(ctx, p.store, forwardFlushed(p.ctx))
	return err
}

func (p *tableSourceProc[K, V]) Process(rec processor.Record[K, V]) error {
	if rec.NullKey {
		p.ctx.DropRecord(processor.DropNullKey)
		return nil
	}
	if p.cached {
		// The cache forwards the update when it flushes.
		if rec.NullValue {
			_, _, err := p.kv.Delete(rec.Key)
			return err
		}
		return p.kv.Put(rec.Key, state.ValueAndTimestamp[V]{Value: rec.Value, Timestamp: rec.Timestamp})
	}
	var c change[V]
	var old state.ValueAndTimestamp[V]
	var err error
	if rec.NullValue {
		old, c.HasOld, err = p.kv.Delete(rec.Key)
	} else {
		old, c.HasOld, err = p.kv.Get(rec.Key)
		if err == nil {
			err = p.kv.Put(rec.Key, state.ValueAndTimestamp[V]{Value: rec.Value, Timestamp: rec.Timestamp})
		}
		c.New, c.HasNew = rec.Value, true
	}
	if err != nil {
		return err
	}
	c.Old = old.Value
	return p.ctx.Forward(processor.Record[K, change[V]]{Key: rec.Key, Value: c, Timestamp: rec.Timestamp, Headers: rec.Headers})
}

type tableFilterProc[K, V any] struct {
	base[K, change[V]]
	pred func(K, V) bool
	not  bool
}

func (p *tableFilterProc[K, V]) Process(rec processor.Record[K, change[V]]) error {
	c := rec.Value
	if c.HasNew && p.pred(rec.Key, c.New) == p.not {
		c.HasNew, c.New = false, *new(V)
	}
	if c.HasOld && p.pred(rec.Key, c.Old) == p.not {
		c.HasOld, c.Old = false, *new(V)
	}
	rec.Value = c
	return p.ctx.Forward(rec)
}

type tableMapValuesProc[K, V, VR any] struct {
	base[K, change[VR]]
	f func(V) VR
}

func (p *tableMapValuesProc[K, V, VR]) Process(rec processor.Record[K, change[V]]) error {
	c := change[VR]{HasNew: rec.Value.HasNew, HasOld: rec.Value.HasOld}
	if c.HasNew {
		c.New = p.f(rec.Value.New)
	}
	if c.HasOld {
		c.Old = p.f(rec.Value.Old)
	}
	return p.ctx.Forward(processor.Record[K, change[VR]]{Key: rec.Key, Value: c, Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: rec.NullKey})
}

type toStreamProc[K, V any] struct{ base[K, V] }

func (p *toStreamProc[K, V]) Process(rec processor.Record[K, change[V]]) error {
	return p.ctx.Forward(processor.Record[K, V]{Key: rec.Key, Value: rec.Value.New, NullValue: !rec.Value.HasNew, Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: rec.NullKey})
}
