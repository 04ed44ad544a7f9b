package dsl

import (
	"bytes"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

// KGroupedTable is a table whose rows are grouped by a new key, ready to
// aggregate, as Kafka Streams' KGroupedTable. Unlike a grouped stream's
// records, a row can leave its group: when it changes, the aggregation
// subtracts its old value from the group it was in and adds its new value
// to the group it is in now.
type KGroupedTable[K, V any] struct {
	b    *Builder
	node string
	ks   serde.Serde[K]
	vs   serde.Serde[V]
	// c holds the Grouped settings: serdes and the repartition topic's
	// name.
	c options
}

// GroupBy groups the table's rows by the key and value selector returns
// for each, through a repartition topic, as Kafka Streams' KTable#groupBy.
// Every change of a row goes through the topic as its old pair, to be
// subtracted, and its new pair, to be added: one record when both fall in
// the same group, two (old first) when the row moves, each to its group's
// partition. So the table is asked for old values. GroupedWith gives the
// serdes of the topic, which KR and VR need unless they have built-in
// ones; Grouped's WithName names the topic, Named the node that selects.
//
// The topic's values are changes in a format of Samsa's own (Kafka
// Streams' is different): a kind byte, then the value bytes as the value
// serde writes them.
//
//	0x01 new value           [0x01][new]
//	0x02 old value           [0x02][old]
//	0x03 new and old value   [0x03][length of new, 4 bytes big-endian][new][old]
//
// A reader meeting another kind byte fails rather than misreads.
func (t KTable[K, V]) GroupBy[KR, VR any](selector func(key K, value V) (KR, VR), opts ...Grouped[KR, VR]) KGroupedTable[KR, VR] {
	c := merge(opts)
	name := t.b.name(c.name, "KTABLE-SELECT")
	t.b.only(name, "KTable.GroupBy", c, setName|setRepartition|setKeySerde|setValueSerde)
	ks, err := pickSerde[KR](c.keySerde, nil)
	if err != nil {
		t.b.fail("%q: key %w", name, err)
	}
	vs, err := pickSerde[VR](c.valueSerde, nil)
	if err != nil {
		t.b.fail("%q: value %w", name, err)
	}
	t.m.enableSendingOldValues()
	t.b.topo.AddProcessor(name, supply(func() processor.Processor[K, change[V], KR, change[VR]] {
		return &tableSelectProc[K, V, KR, VR]{f: selector, ks: ks}
	}), t.node)
	return KGroupedTable[KR, VR]{b: t.b, node: name, ks: ks, vs: vs, c: c}
}

// Count counts the rows per group. A group whose rows all left it stays,
// with a count of 0, as in Kafka Streams. Named names the counting node,
// MaterializedAs its store.
func (g KGroupedTable[K, V]) Count(opts ...Materialized[K, int64]) KTable[K, int64] {
	return tableAggregate(g, "KTABLE-AGGREGATE", "KGroupedTable.Count",
		func() int64 { return 0 },
		func(_ K, _ V, n int64) int64 { return n + 1 },
		func(_ K, _ V, n int64) int64 { return n - 1 },
		serde.Int64, opts)
}

// Reduce combines the values of each group's rows: adder adds a row's new
// value to the group's aggregate, subtractor takes a row's old value out
// of it. The first value of a group is taken as it is.
func (g KGroupedTable[K, V]) Reduce(adder, subtractor func(agg, value V) V, opts ...Materialized[K, V]) KTable[K, V] {
	return tableAggregateWith(g, "KTABLE-REDUCE", "KGroupedTable.Reduce", func(r rows[K, V]) processor.Processor[K, change[V], K, change[V]] {
		return &tableReduceProc[K, V]{rows: r, add: adder, sub: subtractor}
	}, g.vs, opts)
}

// Aggregate folds the values of each group's rows into an aggregate that
// starts at init(): adder adds a row's new value, subtractor takes a
// row's old value out. Materialized gives the aggregate's serde, unless it
// has a built-in one.
func (g KGroupedTable[K, V]) Aggregate[VA any](init func() VA, adder, subtractor func(key K, value V, agg VA) VA, opts ...Materialized[K, VA]) KTable[K, VA] {
	return tableAggregate(g, "KTABLE-AGGREGATE", "KGroupedTable.Aggregate", init, adder, subtractor, nil, opts)
}

func tableAggregate[K, V, VA any](g KGroupedTable[K, V], prefix, op string, init func() VA, add, sub func(K, V, VA) VA, vs serde.Serde[VA], opts []Materialized[K, VA]) KTable[K, VA] {
	return tableAggregateWith(g, prefix, op, func(r rows[K, VA]) processor.Processor[K, change[V], K, change[VA]] {
		return &tableAggregateProc[K, V, VA]{rows: r, init: init, add: add, sub: sub}
	}, vs, opts)
}

// tableAggregateWith adds the repartition topic, the aggregating node and
// its store, numbered unnamed as Kafka Streams numbers them: store, sink,
// source, node.
func tableAggregateWith[K, V, VA any](g KGroupedTable[K, V], prefix, op string, newProc func(rows[K, VA]) processor.Processor[K, change[V], K, change[VA]], vs serde.Serde[VA], opts []Materialized[K, VA]) KTable[K, VA] {
	b := g.b
	c := merge(opts)
	store := c.store
	if store == "" {
		store = b.generate(prefix + "-STATE-STORE")
	}
	sink := b.generate("KSTREAM-SINK")
	source := b.generate("KSTREAM-SOURCE")
	name := b.name(c.name, prefix)
	b.only(name, op, c, setName|materializedSettings)
	topic := g.c.repartition
	if topic == "" {
		topic = store
	}
	topic += "-repartition"
	if g.c.repartition != "" || c.store != "" {
		sink, source = topic+"-sink", topic+"-source"
	}
	var cs serde.Serde[change[V]]
	if g.vs != nil {
		cs = changeSerde[V]{g.vs}
	}
	if g.ks == nil || g.vs == nil {
		b.fail("%w: %s %q has no %s serde for repartition topic %q: pass them with dsl.GroupedWith", errMissingSerde, op, name, missing(g.ks == nil, g.vs == nil), topic)
	}
	b.topo.AddSink(sink, topic, g.ks, cs, g.node)
	b.topo.AddRepartitionTopic(topology.RepartitionTopic{Name: topic})
	b.topo.AddSource(source, g.ks, cs, topic)
	k, _ := pickSerde(c.keySerde, g.ks)
	v, _ := pickSerde(c.valueSerde, vs)
	t := newTable(b, name, store, k, v, []string{topic})
	m := t.m
	b.topo.AddProcessor(name, supply(func() processor.Processor[K, change[V], K, change[VA]] {
		return newProc(rows[K, VA]{store: store, sendOld: m.sendOld})
	}), source)
	addStore(b, c, store, name, g.ks, vs)
	// A change handed again is taken out and put in again, an
	// at-least-once duplicate; the row it wrote the first time is there
	// for it, so it is forwarded again.
	replayable(b, store, m, name)
	return t
}

// missing names the serdes that are missing: "key", "value" or "key and
// value".
func missing(key, value bool) string {
	switch {
	case key && value:
		return "key and value"
	case key:
		return "key"
	}
	return "value"
}

// tableSelectProc maps each change of a row to its group, as Kafka
// Streams' KTableRepartitionMap: the old pair to subtract and the new pair
// to add, in one change when they share a group (compared as the key
// serde writes them, which is what partitions them).
type tableSelectProc[K, V, KR, VR any] struct {
	base[KR, change[VR]]
	f          func(K, V) (KR, VR)
	ks         serde.Serde[KR]
	kbuf, kold []byte
}

func (p *tableSelectProc[K, V, KR, VR]) Process(rec processor.Record[K, change[V]]) error {
	in := rec.Value
	out := processor.Record[KR, change[VR]]{Timestamp: rec.Timestamp, Headers: rec.Headers}
	if in.HasOld && in.HasNew {
		ok, nk, ov, nv, err := p.sameGroup(rec.Key, in)
		if err != nil {
			return err
		}
		if ok {
			out.Key, out.Value = nk, change[VR]{New: nv, Old: ov, HasNew: true, HasOld: true}
			return p.ctx.Forward(out)
		}
	}
	if in.HasOld {
		k, v := p.f(rec.Key, in.Old)
		out.Key, out.Value = k, change[VR]{Old: v, HasOld: true}
		if err := p.ctx.Forward(out); err != nil {
			return err
		}
	}
	if in.HasNew {
		k, v := p.f(rec.Key, in.New)
		out.Key, out.Value = k, change[VR]{New: v, HasNew: true}
		return p.ctx.Forward(out)
	}
	return nil
}

// sameGroup maps both values of a change and reports whether they fall in
// the same group.
func (p *tableSelectProc[K, V, KR, VR]) sameGroup(key K, in change[V]) (same bool, k KR, old, nv VR, err error) {
	ok, old := p.f(key, in.Old)
	k, nv = p.f(key, in.New)
	if p.kold, err = p.ks.Serialize(p.kold[:0], "", ok); err != nil {
		return false, k, old, nv, err
	}
	if p.kbuf, err = p.ks.Serialize(p.kbuf[:0], "", k); err != nil {
		return false, k, old, nv, err
	}
	return bytes.Equal(p.kold, p.kbuf), k, old, nv, nil
}

// tableAggregateProc is Kafka Streams' KTableAggregate: the old value
// comes out of the group's aggregate, then the new one goes in.
type tableAggregateProc[K, V, VA any] struct {
	rows[K, VA]
	init     func() VA
	add, sub func(K, V, VA) VA
}

func (p *tableAggregateProc[K, V, VA]) Init(ctx processor.Context[K, change[VA]]) error {
	return p.rows.init(ctx)
}

func (p *tableAggregateProc[K, V, VA]) Close() error { return nil }

func (p *tableAggregateProc[K, V, VA]) Process(rec processor.Record[K, change[V]]) error {
	stored, found, err := p.kv.Get(rec.Key)
	if err != nil {
		return err
	}
	agg, has, ts := stored.Value, found, rec.Timestamp
	if rec.Value.HasOld && found {
		agg = p.sub(rec.Key, rec.Value.Old, agg)
		ts = max(ts, stored.Timestamp)
	}
	if rec.Value.HasNew {
		if !has {
			agg, has = p.init(), true
		}
		agg = p.add(rec.Key, rec.Value.New, agg)
		if found {
			ts = max(ts, stored.Timestamp)
		}
	}
	if !has {
		// An old value for a group with no aggregate: nothing to take it
		// out of.
		return nil
	}
	return p.write(rec.Key, change[VA]{New: agg, Old: stored.Value, HasNew: true, HasOld: found}, ts, rec.Headers)
}

// tableReduceProc is Kafka Streams' KTableReduce.
type tableReduceProc[K, V any] struct {
	rows[K, V]
	add, sub func(V, V) V
}

func (p *tableReduceProc[K, V]) Init(ctx processor.Context[K, change[V]]) error {
	return p.rows.init(ctx)
}

func (p *tableReduceProc[K, V]) Close() error { return nil }

func (p *tableReduceProc[K, V]) Process(rec processor.Record[K, change[V]]) error {
	stored, found, err := p.kv.Get(rec.Key)
	if err != nil {
		return err
	}
	agg, has, ts := stored.Value, found, rec.Timestamp
	if rec.Value.HasOld && found {
		agg = p.sub(agg, rec.Value.Old)
		ts = max(ts, stored.Timestamp)
	}
	if rec.Value.HasNew {
		if has {
			agg = p.add(agg, rec.Value.New)
			ts = max(ts, stored.Timestamp)
		} else {
			agg, has = rec.Value.New, true
		}
	}
	if !has {
		return nil
	}
	return p.write(rec.Key, change[V]{New: agg, Old: stored.Value, HasNew: true, HasOld: found}, ts, rec.Headers)
}
