package dsl

import (
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// KTable is a changelog stream seen as a table: the latest value per key,
// as Kafka Streams' KTable. A null value deletes its key's row.
//
// Between table nodes flow changes: a row's new value and, where a node
// downstream needs it, the value it replaced. Which nodes send old values
// is decided while the topology is built, as Kafka Streams' sendOldValues
// is: a re-grouping (GroupBy), a left or outer join and a foreign-key join
// ask for them; ToStream, a sink or an inner join do not, and then no
// table reads a row before writing it only to forward it. A delete is
// forwarded only when the row existed, wherever that is known: at a table
// that keeps its rows in a store (a source table, an aggregation, and any
// table given a Materialized), and at a node that receives old values.
// Elsewhere (Filter and MapValues without a store) a delete passes
// through as it came, and Filter forwards a delete for every row that does
// not pass, as in Kafka Streams.
//
// A table with a store can be queried and is read by joins from its
// store. One without reads its rows, when a join needs them, through the
// nodes upstream of it down to the nearest store (Kafka Streams'
// KTableValueGetter): a filtered table tests the predicate on the row of
// its parent, a mapped one maps it.
type KTable[K, V any] struct {
	b    *Builder
	node string
	ks   serde.Serde[K]
	vs   serde.Serde[V]
	m    *tableMeta[K, V]
	// topics are the topics the table is read from within its task, for
	// the co-partitioning of joins.
	topics []string
}

// tableMeta is what a table's node shares with the operations downstream
// of it while the topology is built. Processors read it when a task makes
// them, after Build, so everything set before Build counts.
type tableMeta[K, V any] struct {
	b    *Builder
	node string
	// store holds the node's rows, a timestamped key-value store; "" when
	// the node keeps none there.
	store string
	// windowStore is the window or session store of a windowed
	// aggregation's table, which keeps its rows there rather than in a
	// key-value store (store is "").
	windowStore string
	// sendOld is set when a node downstream needs old values.
	sendOld bool
	// parentOld asks the tables upstream for old values, for a node
	// without a store that computes its old values from theirs.
	parentOld []func()
	// lookup says how a node without a store reads its rows through the
	// nodes upstream: what makes the reader per task, and the stores it
	// reads. It is called only when a join needs the rows.
	lookup func() (func() valueGetter[K, V], []string)
	// materialize gives a node without a store one, for a node that can
	// neither compute old values nor read its rows otherwise (the result
	// of a foreign-key join).
	materialize func()
}

// enableSendingOldValues makes the node forward old values, asking the
// tables upstream for theirs when it has no store to read them from.
func (m *tableMeta[K, V]) enableSendingOldValues() {
	if m.sendOld {
		return
	}
	m.sendOld = true
	if m.store == "" && m.materialize != nil {
		m.materialize()
	}
	if m.store == "" {
		for _, f := range m.parentOld {
			f()
		}
	}
}

// valueGetter returns how a join reads the node's rows, and the stores
// that reads. A table that cannot be read by key is a Build error.
func (m *tableMeta[K, V]) valueGetter() (func() valueGetter[K, V], []string) {
	if m.store == "" && m.materialize != nil {
		m.materialize()
	}
	if m.store != "" {
		store := m.store
		return func() valueGetter[K, V] { return &storeGetter[K, V]{store: store} }, []string{store}
	}
	if m.lookup != nil {
		return m.lookup()
	}
	m.b.fail("table %q cannot be looked up by key, which a join needs", m.node)
	return func() valueGetter[K, V] { return nil }, nil
}

// newTable returns the table whose changes node forwards and whose rows
// store holds, a timestamped key-value store. A table without one passes
// "" and sets m.lookup if its rows can be read through the nodes
// upstream; otherwise joins of it are Build errors.
func newTable[K, V any](b *Builder, node, store string, ks serde.Serde[K], vs serde.Serde[V], topics []string) KTable[K, V] {
	return KTable[K, V]{b: b, node: node, ks: ks, vs: vs, m: &tableMeta[K, V]{b: b, node: node, store: store}, topics: topics}
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
	t := newTable(b, name, store, keySerde, valueSerde, []string{topic})
	m := t.m
	b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, K, change[V]] {
		return &tableSourceProc[K, V]{rows: rows[K, V]{store: store, sendOld: m.sendOld}}
	}), source)
	addStore(b, c, store, name, keySerde, valueSerde)
	return t
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

// StoreName is the name of the store that holds the table, or "" when it
// keeps no store of its own. A windowed aggregation's table is held in a
// window or session store (see state.GetReadOnlyWindowStore).
func (t KTable[K, V]) StoreName() string {
	if t.m.store == "" {
		return t.m.windowStore
	}
	return t.m.store
}

// materialization returns the store a table operation keeps its rows in
// when its options ask for one (any setting of a Materialized does), or "".
// Unnamed, the store is named after prefix, numbered before the node as
// Kafka Streams numbers it.
func (t KTable[K, V]) materialization(c options, prefix string) string {
	if c.set&materializedSettings == 0 {
		return ""
	}
	if c.store != "" {
		return c.store
	}
	return t.b.generate(prefix + "-STATE-STORE")
}

// Filter keeps the rows for which pred returns true; a row that does not
// pass is forwarded as a delete, as in Kafka Streams. Materialized keeps
// the rows that pass in a store, which can be queried and then forwards
// only deletes of rows it held.
func (t KTable[K, V]) Filter(pred func(key K, value V) bool, opts ...Materialized[K, V]) KTable[K, V] {
	return t.filter(pred, false, opts)
}

// FilterNot drops the rows for which pred returns true; see Filter.
func (t KTable[K, V]) FilterNot(pred func(key K, value V) bool, opts ...Materialized[K, V]) KTable[K, V] {
	return t.filter(pred, true, opts)
}

func (t KTable[K, V]) filter(pred func(K, V) bool, not bool, opts []Materialized[K, V]) KTable[K, V] {
	op := "KTable.Filter"
	if not {
		op = "KTable.FilterNot"
	}
	c := merge(opts)
	store := t.materialization(c, "KTABLE-FILTER")
	name := t.b.name(c.name, "KTABLE-FILTER")
	t.b.only(name, op, c, setName|materializedSettings)
	out := t.derive(name, store, t.vs, c)
	m, parent := out.m, t.m
	t.b.topo.AddProcessor(name, supply(func() processor.Processor[K, change[V], K, change[V]] {
		return &tableFilterProc[K, V]{pred: pred, not: not, rows: rows[K, V]{store: m.store, sendOld: m.sendOld}}
	}), t.node)
	if store == "" {
		m.lookup = func() (func() valueGetter[K, V], []string) {
			parentGetter, stores := parent.valueGetter()
			return func() valueGetter[K, V] {
				return &filterGetter[K, V]{parent: parentGetter(), pred: pred, not: not}
			}, stores
		}
	} else {
		addStore(t.b, c, store, name, t.ks, t.vs)
	}
	return out
}

// derive returns the table a node downstream of t produces, keyed as t,
// asking t for old values when it has no store of its own.
func (t KTable[K, V]) derive[VR any](name, store string, vs serde.Serde[VR], c options) KTable[K, VR] {
	ks := t.ks
	if store != "" {
		ks, _ = pickSerde(c.keySerde, t.ks)
		vs, _ = pickSerde(c.valueSerde, vs)
	}
	out := newTable(t.b, name, store, ks, vs, t.topics)
	out.m.parentOld = []func(){t.m.enableSendingOldValues}
	return out
}

// MapValues replaces each row's value with f(value); deletes stay deletes.
// Materialized keeps the mapped rows in a store, which can be queried;
// MaterializedWith gives the store the serde of VR when it has no
// built-in one.
func (t KTable[K, V]) MapValues[VR any](f func(value V) VR, opts ...Materialized[K, VR]) KTable[K, VR] {
	c := merge(opts)
	store := t.materialization(c, "KTABLE-MAPVALUES")
	name := t.b.name(c.name, "KTABLE-MAPVALUES")
	t.b.only(name, "KTable.MapValues", c, setName|materializedSettings)
	vs, _ := pickSerde[VR](nil, nil)
	out := t.derive(name, store, vs, c)
	m, parent := out.m, t.m
	t.b.topo.AddProcessor(name, supply(func() processor.Processor[K, change[V], K, change[VR]] {
		return &tableMapValuesProc[K, V, VR]{f: f, rows: rows[K, VR]{store: m.store, sendOld: m.sendOld}}
	}), t.node)
	if store == "" {
		m.lookup = func() (func() valueGetter[K, VR], []string) {
			parentGetter, stores := parent.valueGetter()
			return func() valueGetter[K, VR] {
				return &mapValuesGetter[K, V, VR]{parent: parentGetter(), f: f}
			}, stores
		}
	} else {
		addStore(t.b, c, store, name, t.ks, vs)
	}
	return out
}

// ToStream turns the table's updates into a stream; a delete becomes a
// record with a null value.
func (t KTable[K, V]) ToStream(opts ...Option) KStream[K, V] {
	name := t.b.named(opts, "KTABLE-TOSTREAM", "ToStream")
	t.b.topo.AddProcessor(name, supply(func() processor.Processor[K, change[V], K, V] {
		return &toStreamProc[K, V]{}
	}), t.node)
	return KStream[K, V]{b: t.b, node: name, ks: t.ks, vs: t.vs, topics: t.topics}
}

type tableSourceProc[K, V any] struct {
	rows[K, V]
}

func (p *tableSourceProc[K, V]) Init(ctx processor.Context[K, change[V]]) error {
	return p.init(ctx)
}

func (p *tableSourceProc[K, V]) Close() error { return nil }

func (p *tableSourceProc[K, V]) Process(rec processor.Record[K, V]) error {
	if rec.NullKey {
		p.ctx.DropRecord(processor.DropNullKey)
		return nil
	}
	if rec.NullValue {
		return p.delete(rec.Key, rec.Timestamp, rec.Headers)
	}
	return p.put(rec.Key, rec.Value, rec.Timestamp, rec.Headers)
}

type tableFilterProc[K, V any] struct {
	rows[K, V]
	pred func(K, V) bool
	not  bool
}

func (p *tableFilterProc[K, V]) Init(ctx processor.Context[K, change[V]]) error {
	if p.store != "" {
		return p.init(ctx)
	}
	p.ctx = ctx
	return nil
}

func (p *tableFilterProc[K, V]) Close() error { return nil }

func (p *tableFilterProc[K, V]) Process(rec processor.Record[K, change[V]]) error {
	in := rec.Value
	keep := in.HasNew && p.pred(rec.Key, in.New) != p.not
	if p.store != "" {
		if keep {
			return p.put(rec.Key, in.New, rec.Timestamp, rec.Headers)
		}
		return p.delete(rec.Key, rec.Timestamp, rec.Headers)
	}
	var c change[V]
	if keep {
		c.New, c.HasNew = in.New, true
	}
	if p.sendOld {
		if in.HasOld && p.pred(rec.Key, in.Old) != p.not {
			c.Old, c.HasOld = in.Old, true
		}
		if !c.HasNew && !c.HasOld {
			// Neither row passed: nothing changed here.
			return nil
		}
	}
	rec.Value = c
	return p.ctx.Forward(rec)
}

type tableMapValuesProc[K, V, VR any] struct {
	rows[K, VR]
	f func(V) VR
}

func (p *tableMapValuesProc[K, V, VR]) Init(ctx processor.Context[K, change[VR]]) error {
	if p.store != "" {
		return p.init(ctx)
	}
	p.ctx = ctx
	return nil
}

func (p *tableMapValuesProc[K, V, VR]) Close() error { return nil }

func (p *tableMapValuesProc[K, V, VR]) Process(rec processor.Record[K, change[V]]) error {
	in := rec.Value
	if p.store != "" {
		if in.HasNew {
			return p.put(rec.Key, p.f(in.New), rec.Timestamp, rec.Headers)
		}
		return p.delete(rec.Key, rec.Timestamp, rec.Headers)
	}
	c := change[VR]{HasNew: in.HasNew, HasOld: in.HasOld && p.sendOld}
	if c.HasNew {
		c.New = p.f(in.New)
	}
	if c.HasOld {
		c.Old = p.f(in.Old)
	}
	return p.ctx.Forward(processor.Record[K, change[VR]]{Key: rec.Key, Value: c, Timestamp: rec.Timestamp, Headers: rec.Headers})
}

type toStreamProc[K, V any] struct{ base[K, V] }

func (p *toStreamProc[K, V]) Process(rec processor.Record[K, change[V]]) error {
	return p.ctx.Forward(processor.Record[K, V]{Key: rec.Key, Value: rec.Value.New, NullValue: !rec.Value.HasNew, Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: rec.NullKey})
}
