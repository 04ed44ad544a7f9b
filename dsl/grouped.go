package dsl

import (
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// KGroupedStream is a stream grouped by key, ready to aggregate, as Kafka
// Streams' KGroupedStream.
type KGroupedStream[K, V any] struct {
	s KStream[K, V]
	// c holds the Grouped settings: serdes and the repartition topic's
	// name.
	c options
}

// GroupByKey groups the stream by its current key. If the key may have
// changed since the stream left a topic, the aggregation reads through a
// repartition topic. GroupedWith gives the serdes it needs; Grouped's
// WithName, or Named, names the topic.
func (s KStream[K, V]) GroupByKey(opts ...Grouped[K, V]) KGroupedStream[K, V] {
	c := merge(opts)
	s.b.only(s.node, "GroupByKey of", c, setName|setRepartition|setKeySerde|setValueSerde)
	if c.set&setRepartition == 0 && c.name != "" {
		c.repartition = c.name
	}
	return KGroupedStream[K, V]{s: s, c: c}
}

// GroupBy groups the stream by the key f selects, through a repartition
// topic. Records with a null value are dropped. Named names the node that
// selects the key, Grouped's WithName the repartition topic.
func (s KStream[K, V]) GroupBy[KR any](f func(key K, value V) KR, opts ...Grouped[KR, V]) KGroupedStream[KR, V] {
	c := merge(opts)
	name := s.b.generate("KSTREAM-KEY-SELECT")
	if c.name != "" {
		name = c.name
	}
	s.b.only(name, "GroupBy", c, setName|setRepartition|setKeySerde|setValueSerde)
	s.b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, KR, V] {
		return &selectKeyProc[K, V, KR]{f: f}
	}), s.node)
	return KGroupedStream[KR, V]{s: KStream[KR, V]{b: s.b, node: name, vs: s.vs, rekeyed: true}, c: c}
}

// Count counts the records per key. Records with a null key or value are
// dropped and counted. Named names the counting node, MaterializedAs its
// store.
func (g KGroupedStream[K, V]) Count(opts ...Materialized[K, int64]) KTable[K, int64] {
	return aggregate(g, "KSTREAM-AGGREGATE", "Count", func() int64 { return 0 }, func(_ K, _ V, n int64) int64 { return n + 1 }, serde.Int64, opts)
}

// Reduce combines the values per key with reducer; the first value of a key
// is taken as it is.
func (g KGroupedStream[K, V]) Reduce(reducer func(agg, value V) V, opts ...Materialized[K, V]) KTable[K, V] {
	return aggregateWith(g, "KSTREAM-REDUCE", "Reduce", func(r rows[K, V]) processor.Processor[K, V, K, change[V]] {
		return &reduceProc[K, V]{aggBase: aggBase[K, V, V]{rows: r}, f: reducer}
	}, g.valueSerde(), opts)
}

// Aggregate folds the values per key into an aggregate that starts at
// init(). Materialized gives the aggregate's serde, unless it has a built-in
// one.
func (g KGroupedStream[K, V]) Aggregate[VR any](init func() VR, aggregator func(key K, value V, agg VR) VR, opts ...Materialized[K, VR]) KTable[K, VR] {
	return aggregate(g, "KSTREAM-AGGREGATE", "Aggregate", init, aggregator, nil, opts)
}

func (g KGroupedStream[K, V]) valueSerde() serde.Serde[V] {
	vs, _ := pickSerde(g.c.valueSerde, g.s.vs)
	return vs
}

func aggregate[K, V, VR any](g KGroupedStream[K, V], prefix, op string, init func() VR, f func(K, V, VR) VR, vs serde.Serde[VR], opts []Materialized[K, VR]) KTable[K, VR] {
	return aggregateWith(g, prefix, op, func(r rows[K, VR]) processor.Processor[K, V, K, change[VR]] {
		return &aggregateProc[K, V, VR]{aggBase: aggBase[K, V, VR]{rows: r}, init: init, f: f}
	}, vs, opts)
}

// aggregateWith adds the repartition topic if needed, the aggregating node
// and its store. Unnamed, nodes are numbered as Kafka Streams numbers them:
// store, node, then the repartition nodes.
func aggregateWith[K, V, VR any](g KGroupedStream[K, V], prefix, op string, newProc func(rows[K, VR]) processor.Processor[K, V, K, change[VR]], vs serde.Serde[VR], opts []Materialized[K, VR]) KTable[K, VR] {
	b := g.s.b
	c := merge(opts)
	store := c.store
	if store == "" {
		store = b.generate(prefix + "-STATE-STORE")
	}
	name := b.name(c.name, prefix)
	b.only(name, op, c, setName|materializedSettings)
	ks, err := pickSerde(g.c.keySerde, g.s.ks)
	if err != nil {
		b.fail("%q: key %w", name, err)
	}
	if _, err := pickSerde(g.c.valueSerde, g.s.vs); err != nil {
		b.fail("%q: value %w", name, err)
	}
	parent, topics := g.s.node, g.s.topics
	if g.s.rekeyed {
		topic := g.c.repartition
		if topic == "" {
			topic = store
		}
		// Named after a user-named store, the nodes take the topic's name,
		// as in Kafka Streams.
		parent = repartition(b, parent, topic, g.c.repartition != "" || c.store != "", ks, g.valueSerde(), 0)
		topics = []string{topic + "-repartition"}
	}
	k, _ := pickSerde(c.keySerde, ks)
	v, _ := pickSerde(c.valueSerde, vs)
	t := newTable(b, name, store, k, v, topics)
	m := t.m
	b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, K, change[VR]] {
		return newProc(rows[K, VR]{store: store, sendOld: m.sendOld})
	}), parent)
	addStore(b, c, store, name, ks, vs)
	replayable(b, store, m, name)
	return t
}

// replayable tells the engine that the aggregating nodes of store, which
// alone write it, are replayable (engine.StoreSpec.Replayable): handed an
// input again, an aggregation forwards its row anew, updated once more,
// unless a node downstream asks its table for old values, which would
// take the pair for a change the row did not make.
func replayable[K, V any](b *Builder, store string, m *tableMeta[K, V], writers ...string) {
	if spec := engine.GraphOf(b.topo).Store(store); spec != nil {
		spec.Replayable = func() bool { return !m.sendOld }
		spec.Writers = writers
	}
}

// aggBase holds what aggregating processors share: the rows they keep.
type aggBase[K, V, VR any] struct {
	rows[K, VR]
}

func (p *aggBase[K, V, VR]) Init(ctx processor.Context[K, change[VR]]) error { return p.init(ctx) }

func (p *aggBase[K, V, VR]) Close() error { return nil }

// skip drops records aggregations ignore, as Kafka Streams does.
func (p *aggBase[K, V, VR]) skip(rec processor.Record[K, V]) bool {
	switch {
	case rec.NullKey:
		p.ctx.DropRecord(processor.DropNullKey)
	case rec.NullValue:
		p.ctx.DropRecord(processor.DropNullValue)
	default:
		return false
	}
	return true
}

// update stores and forwards the new aggregate with the later of the
// record's timestamp and the old aggregate's (oldTs), as Kafka Streams does.
func (p *aggBase[K, V, VR]) update(rec processor.Record[K, V], c change[VR], oldTs int64) error {
	ts := rec.Timestamp
	if c.HasOld && oldTs > ts {
		ts = oldTs
	}
	return p.write(rec.Key, c, ts, rec.Headers)
}

type aggregateProc[K, V, VR any] struct {
	aggBase[K, V, VR]
	init func() VR
	f    func(K, V, VR) VR
}

func (p *aggregateProc[K, V, VR]) Process(rec processor.Record[K, V]) error {
	if p.skip(rec) {
		return nil
	}
	stored, found, err := p.kv.Get(rec.Key)
	if err != nil {
		return err
	}
	old := stored.Value
	agg := old
	if !found {
		agg = p.init()
	}
	return p.update(rec, change[VR]{New: p.f(rec.Key, rec.Value, agg), Old: old, HasNew: true, HasOld: found}, stored.Timestamp)
}

type reduceProc[K, V any] struct {
	aggBase[K, V, V]
	f func(V, V) V
}

func (p *reduceProc[K, V]) Process(rec processor.Record[K, V]) error {
	if p.skip(rec) {
		return nil
	}
	stored, found, err := p.kv.Get(rec.Key)
	if err != nil {
		return err
	}
	old := stored.Value
	v := rec.Value
	if found {
		v = p.f(old, rec.Value)
	}
	return p.update(rec, change[V]{New: v, Old: old, HasNew: true, HasOld: found}, stored.Timestamp)
}
