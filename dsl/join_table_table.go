package dsl

import (
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// Join joins the table with other on their keys, as Kafka Streams'
// KTable#join: the result has a row for each key both tables have,
// joiner's result, with the later of the two rows' timestamps. An update
// on either side updates the result, a delete on either side deletes it.
// The tables must be co-partitioned, as for KStream.JoinTable.
//
// Named names the join: its node and, after it, the nodes of each side
// ("<name>-join-this", "<name>-join-other"). Materialized keeps the result
// in a store that can be queried and then forwards only deletes of rows it
// held; without one the result is read from both sides when a join
// downstream needs it.
func (t KTable[K, V]) Join[VO, VR any](other KTable[K, VO], joiner func(value V, other VO) VR, opts ...Materialized[K, VR]) KTable[K, VR] {
	return tableTableJoin(t, other, innerJoin, func(v V, _ bool, o VO, _ bool) VR { return joiner(v, o) }, "KTable.Join", opts)
}

// LeftJoin is Join keeping every row of this table: joiner is called with
// found false and the zero VO for a key other lacks. So a delete in other
// updates the result to joiner(value, zero, false); a delete in this
// table deletes it. The table is asked for old values, as in Kafka
// Streams, to tell a delete of a row from a delete of nothing.
func (t KTable[K, V]) LeftJoin[VO, VR any](other KTable[K, VO], joiner func(value V, other VO, found bool) VR, opts ...Materialized[K, VR]) KTable[K, VR] {
	return tableTableJoin(t, other, leftJoin, func(v V, _ bool, o VO, ok bool) VR { return joiner(v, o, ok) }, "KTable.LeftJoin", opts)
}

// OuterJoin is Join keeping every row of either table: joiner is called
// with found (or otherFound) false and a zero value for the side that
// lacks the key. The result deletes a key when both sides have. Both
// tables are asked for old values.
func (t KTable[K, V]) OuterJoin[VO, VR any](other KTable[K, VO], joiner func(value V, found bool, other VO, otherFound bool) VR, opts ...Materialized[K, VR]) KTable[K, VR] {
	return tableTableJoin(t, other, outerJoin, joiner, "KTable.OuterJoin", opts)
}

// joinKind is which rows a table-table join keeps.
type joinKind uint8

const (
	innerJoin joinKind = iota
	leftJoin
	outerJoin
)

// keeps reports whether a join of kind keeps a result whose left side is
// present as hasLeft and right side as hasRight.
func (k joinKind) keeps(hasLeft, hasRight bool) bool {
	switch k {
	case innerJoin:
		return hasLeft && hasRight
	case leftJoin:
		return hasLeft
	}
	return hasLeft || hasRight
}

// tableTableJoin adds the join's nodes as Kafka Streams does: one per side,
// each joining its side's changes with the other side's rows, and a
// merging node that is the result, numbered merge, this, other.
func tableTableJoin[K, V, VO, VR any](t KTable[K, V], other KTable[K, VO], kind joinKind, joiner func(V, bool, VO, bool) VR, op string, opts []Materialized[K, VR]) KTable[K, VR] {
	b := t.b
	c := merge(opts)
	store := t.materialization(c, "KTABLE-MERGE")
	name := b.name(c.name, "KTABLE-MERGE")
	b.only(name, op, c, setName|materializedSettings)
	thisName, otherName := b.generate("KTABLE-JOINTHIS"), b.generate("KTABLE-JOINOTHER")
	if c.name != "" {
		thisName, otherName = c.name+"-join-this", c.name+"-join-other"
	}
	if kind != innerJoin {
		t.m.enableSendingOldValues()
	}
	if kind == outerJoin {
		other.m.enableSendingOldValues()
	}
	vs, _ := pickSerde[VR](nil, nil)
	out := newTable(b, name, store, t.ks, vs, copartition(b, t.topics, other.topics))
	if store != "" {
		out.ks, _ = pickSerde(c.keySerde, t.ks)
		out.vs, _ = pickSerde(c.valueSerde, vs)
	}
	m := out.m
	// The sides compute old values from their parents' when the result has
	// no store to read them from.
	m.parentOld = []func(){t.m.enableSendingOldValues, other.m.enableSendingOldValues}
	sideOld := func() bool { return m.sendOld && m.store == "" }

	thisGetter, thisStores := t.m.valueGetter()
	otherGetter, otherStores := other.m.valueGetter()
	b.topo.AddProcessor(thisName, supply(func() processor.Processor[K, change[V], K, change[VR]] {
		return &tableJoinSideProc[K, V, VO, VR]{
			getter: otherGetter(), sendOld: sideOld(),
			keepsThisAbsent: kind == outerJoin, keepsOtherAbsent: kind != innerJoin,
			joiner: joiner,
		}
	}), t.node)
	b.topo.ConnectProcessorAndStateStores(thisName, otherStores...)
	b.topo.AddProcessor(otherName, supply(func() processor.Processor[K, change[VO], K, change[VR]] {
		return &tableJoinSideProc[K, VO, V, VR]{
			getter: thisGetter(), sendOld: sideOld(),
			keepsThisAbsent: kind != innerJoin, keepsOtherAbsent: kind == outerJoin,
			joiner: func(o VO, ok bool, v V, vok bool) VR { return joiner(v, vok, o, ok) },
		}
	}), other.node)
	b.topo.ConnectProcessorAndStateStores(otherName, thisStores...)
	b.topo.AddProcessor(name, supply(func() processor.Processor[K, change[VR], K, change[VR]] {
		return &tableMergeProc[K, VR]{rows: rows[K, VR]{store: m.store, sendOld: m.sendOld}}
	}), thisName, otherName)
	if store != "" {
		addStore(b, c, store, name, t.ks, vs)
		return out
	}
	m.lookup = func() (func() valueGetter[K, VR], []string) {
		return func() valueGetter[K, VR] {
			return &tableJoinGetter[K, V, VO, VR]{this: thisGetter(), other: otherGetter(), kind: kind, joiner: joiner}
		}, union(thisStores, otherStores)
	}
	return out
}

// tableJoinSideProc joins the changes of one side (this, values A) with
// the rows of the other (values B), as Kafka Streams' KTableKTable*Join
// processors do. keepsThisAbsent and keepsOtherAbsent say whether the
// join keeps a result lacking this side or the other; joiner takes this
// side's value first.
type tableJoinSideProc[K, A, B, VR any] struct {
	base[K, change[VR]]
	getter                            valueGetter[K, B]
	sendOld                           bool
	keepsThisAbsent, keepsOtherAbsent bool
	joiner                            func(A, bool, B, bool) VR
}

func (p *tableJoinSideProc[K, A, B, VR]) Init(ctx processor.Context[K, change[VR]]) error {
	p.ctx = ctx
	return p.getter.init(ctx)
}

func (p *tableJoinSideProc[K, A, B, VR]) Process(rec processor.Record[K, change[A]]) error {
	in := rec.Value
	row, found, err := p.getter.get(rec.Key)
	if err != nil {
		return err
	}
	ts := rec.Timestamp
	switch {
	case found:
		ts = max(ts, row.Timestamp)
	case !p.keepsOtherAbsent:
		return nil
	case !in.HasNew && !in.HasOld:
		// A delete of a row this side did not hold, with nothing on the
		// other side: no result changes.
		return nil
	}
	var c change[VR]
	if in.HasNew || (p.keepsThisAbsent && found) {
		c.New, c.HasNew = p.joiner(in.New, in.HasNew, row.Value, found), true
	}
	if p.sendOld && (in.HasOld || (p.keepsThisAbsent && found)) {
		c.Old, c.HasOld = p.joiner(in.Old, in.HasOld, row.Value, found), true
	}
	return p.ctx.Forward(processor.Record[K, change[VR]]{Key: rec.Key, Value: c, Timestamp: ts, Headers: rec.Headers})
}

// tableMergeProc is the result of a table-table join: the changes of both
// sides, kept in a store when the join is materialized.
type tableMergeProc[K, VR any] struct {
	rows[K, VR]
}

func (p *tableMergeProc[K, VR]) Init(ctx processor.Context[K, change[VR]]) error {
	if p.store != "" {
		return p.init(ctx)
	}
	p.ctx = ctx
	return nil
}

func (p *tableMergeProc[K, VR]) Close() error { return nil }

func (p *tableMergeProc[K, VR]) Process(rec processor.Record[K, change[VR]]) error {
	if p.store == "" {
		return p.ctx.Forward(rec)
	}
	if rec.Value.HasNew {
		return p.put(rec.Key, rec.Value.New, rec.Timestamp, rec.Headers)
	}
	return p.delete(rec.Key, rec.Timestamp, rec.Headers)
}

// tableJoinGetter reads the rows of a join without a store from both
// sides.
type tableJoinGetter[K, V, VO, VR any] struct {
	this   valueGetter[K, V]
	other  valueGetter[K, VO]
	kind   joinKind
	joiner func(V, bool, VO, bool) VR
}

func (g *tableJoinGetter[K, V, VO, VR]) init(sg processor.StoreGetter) error {
	if err := g.this.init(sg); err != nil {
		return err
	}
	return g.other.init(sg)
}

func (g *tableJoinGetter[K, V, VO, VR]) get(key K) (state.ValueAndTimestamp[VR], bool, error) {
	var none state.ValueAndTimestamp[VR]
	l, lok, err := g.this.get(key)
	if err != nil || (!lok && g.kind != outerJoin) {
		return none, false, err
	}
	r, rok, err := g.other.get(key)
	if err != nil || !g.kind.keeps(lok, rok) {
		return none, false, err
	}
	return state.ValueAndTimestamp[VR]{Value: g.joiner(l.Value, lok, r.Value, rok), Timestamp: max(l.Timestamp, r.Timestamp)}, true, nil
}
