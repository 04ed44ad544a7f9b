package dsl

import (
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// TimeWindowedKStream is a grouped stream split into time windows, ready to
// aggregate per key and window, as Kafka Streams' TimeWindowedKStream.
// WindowedBy (TimeWindows) and WindowedBySliding (SlidingWindows) make one.
// Its aggregations keep their results in a timestamped window store
// (Materialized names and configures it) and return a table keyed by
// Windowed[K], which emits an update for every window a record changes.
type TimeWindowedKStream[K, V any] struct {
	g       KGroupedStream[K, V]
	tw      TimeWindows
	sw      SlidingWindows
	sliding bool
	emit    EmitStrategy
}

// WindowedBy splits the grouped stream g into tumbling or hopping windows,
// as Kafka Streams' g.windowedBy(TimeWindows):
//
//	dsl.WindowedBy(clicks.GroupByKey(), dsl.TimeWindowsOfSizeWithNoGrace(time.Minute)).Count()
//
// It is a function, not a method of KGroupedStream, because Go cannot
// have it as one: a windowed aggregation turns keys K into Windowed[K],
// and a table of those can be grouped and windowed again, so as methods
// the types would have to be instantiated without end (the compiler
// reports an instantiation cycle). Go has no overloading either, so each
// kind of window has its own function: WindowedBy, WindowedBySliding and
// WindowedBySession.
func WindowedBy[K, V any](g KGroupedStream[K, V], w TimeWindows) TimeWindowedKStream[K, V] {
	return TimeWindowedKStream[K, V]{g: g, tw: w}
}

// WindowedBySliding splits the grouped stream g into sliding windows, as
// Kafka Streams' g.windowedBy(SlidingWindows).
func WindowedBySliding[K, V any](g KGroupedStream[K, V], w SlidingWindows) TimeWindowedKStream[K, V] {
	return TimeWindowedKStream[K, V]{g: g, sw: w, sliding: true}
}

// Count counts the records per key and window. Records with a null key or
// value are dropped and counted, and so are late records (see
// TimeWindows), as processor.DropLateRecord.
func (w TimeWindowedKStream[K, V]) Count(opts ...Materialized[K, int64]) KTable[Windowed[K], int64] {
	return windowedAggregate(w, "KSTREAM-AGGREGATE", "Count", func(_ K, _ V, n int64, _ bool) int64 { return n + 1 }, serde.Int64, opts)
}

// Reduce combines the values per key and window with reducer; a window's
// first value is taken as it is.
func (w TimeWindowedKStream[K, V]) Reduce(reducer func(agg, value V) V, opts ...Materialized[K, V]) KTable[Windowed[K], V] {
	add := func(_ K, v V, agg V, has bool) V {
		if !has {
			return v
		}
		return reducer(agg, v)
	}
	return windowedAggregate(w, "KSTREAM-REDUCE", "Reduce", add, w.g.valueSerde(), opts)
}

// Aggregate folds the values per key and window into an aggregate that
// starts at init() in every window. Materialized gives the aggregate's
// serde, unless it has a built-in one.
func (w TimeWindowedKStream[K, V]) Aggregate[VR any](init func() VR, aggregator func(key K, value V, agg VR) VR, opts ...Materialized[K, VR]) KTable[Windowed[K], VR] {
	add := func(k K, v V, agg VR, has bool) VR {
		if !has {
			agg = init()
		}
		return aggregator(k, v, agg)
	}
	return windowedAggregate(w, "KSTREAM-AGGREGATE", "Aggregate", add, nil, opts)
}

// adder folds a record into an aggregate; has is false when the window has
// none yet, and then agg is the zero value.
type adder[K, V, VR any] func(key K, value V, agg VR, has bool) VR

// windowSpec is what building a windowed aggregation needs of its windows.
type windowSpec struct {
	kind string
	err  error
	// size is the window size of the store and of the Windowed keys (a
	// sliding window's time difference, a session store's 0).
	size time.Duration
	// minRetention is the least retention of the store, as Kafka Streams
	// checks it; what says what it is made of.
	minRetention time.Duration
	what         string
	// extra is what the default retention adds to minRetention (see
	// retention).
	extra time.Duration
	// grace is the windows' grace period, in milliseconds.
	grace int64
}

func (w TimeWindowedKStream[K, V]) spec() windowSpec { return timeWindowSpec(w.tw, w.sw, w.sliding) }

// timeWindowSpec is the spec of time windows tw, or of sliding windows sw
// when sliding is set.
func timeWindowSpec(tw TimeWindows, sw SlidingWindows, sliding bool) windowSpec {
	if sliding {
		d, g := sw.TimeDifference(), sw.GracePeriod()
		return windowSpec{kind: "sliding", err: sw.err, size: d, minRetention: 2*d + g, what: "twice the time difference plus the grace period", extra: time.Millisecond, grace: sw.grace}
	}
	return windowSpec{kind: "time", err: tw.err, size: tw.Size(), minRetention: tw.Size() + tw.GracePeriod(), what: "the window size plus the grace period", grace: tw.grace}
}

// retention is the store's retention: WithRetention's, or by default
// minRetention plus extra. Sliding and session windows keep their windows
// a millisecond longer than Kafka Streams' default: a record delayed by
// exactly the grace period is on time, and the window (or session) it must
// find, exactly twice the time difference (the gap) before the newest, has
// just expired under a retention of minRetention.
func (spec windowSpec) retention(c options) time.Duration {
	if c.set&setRetention != 0 {
		return c.retention
	}
	return spec.minRetention + spec.extra
}

// windowedSettings are the Materialized settings windowed aggregations
// take: not caching, which their stores do not offer.
const windowedSettings = setName | setStore | setKeySerde | setValueSerde | setNoLogging | setInMemory | setRetention

func windowedAggregate[K, V, VR any](w TimeWindowedKStream[K, V], prefix, op string, add adder[K, V, VR], vs serde.Serde[VR], opts []Materialized[K, VR]) KTable[Windowed[K], VR] {
	spec := w.spec()
	g := w.g
	// m is the table's, made below; processors read it when a task makes
	// them, after Build.
	var m *tableMeta[Windowed[K], VR]
	onClose := w.emit.onClose
	name, store, topics, c := windowedNode(g, spec, prefix, op, opts, func(store string) processor.Supplier[K, V, Windowed[K], change[VR]] {
		if w.sliding {
			diff, grace := w.sw.diff, w.sw.grace
			return supply(func() processor.Processor[K, V, Windowed[K], change[VR]] {
				return &slidingWindowProc[K, V, VR]{windowProcBase: windowProcBase[K, V, VR]{store: store, grace: grace, add: add, sendOld: m.sendOld, onClose: onClose, lookback: diff}, diff: diff}
			})
		}
		tw := w.tw
		return supply(func() processor.Processor[K, V, Windowed[K], change[VR]] {
			return &timeWindowProc[K, V, VR]{windowProcBase: windowProcBase[K, V, VR]{store: store, grace: tw.grace, add: add, sendOld: m.sendOld, onClose: onClose}, w: tw}
		})
	})
	b := g.s.b
	ks, _ := pickSerde(g.c.keySerde, g.s.ks)
	k, v := storeSerdes(b, c, store, name, ks, vs)
	sb := state.TimestampedWindowStoreBuilder(store, spec.retention(c), spec.size, k, v)
	if c.set&setNoLogging != 0 {
		sb = sb.WithLoggingDisabled()
	}
	if c.set&setInMemory != 0 {
		sb = sb.InMemory()
	}
	b.topo.AddStateStore(sb, name)
	if onClose {
		addLastEmitStore(b, c, store, name)
	}
	var wks serde.Serde[Windowed[K]]
	if k != nil {
		wks = serde.TimeWindowed(k, spec.size)
	}
	t := newTable(b, name, "", wks, v, topics)
	m = t.m
	m.windowStore = store
	grace := spec.grace
	if w.sliding {
		// The end is included: the window closes a millisecond later.
		grace++
	}
	m.windowClose = func(w Windowed[K]) int64 { return w.End + grace }
	m.lookup = func() (func() valueGetter[Windowed[K], VR], []string) {
		return func() valueGetter[Windowed[K], VR] { return &windowGetter[K, VR]{store: store} }, []string{store}
	}
	return t
}

// windowGetter reads a time-windowed table's rows from its window store,
// as Kafka Streams' KStreamWindowAggregateValueGetter.
type windowGetter[K, VR any] struct {
	store string
	ws    *state.TimestampedWindowStore[K, VR]
}

func (g *windowGetter[K, VR]) init(sg processor.StoreGetter) error {
	var err error
	g.ws, err = state.GetTimestampedWindowStore[K, VR](sg, g.store)
	return err
}

func (g *windowGetter[K, VR]) get(key Windowed[K]) (state.ValueAndTimestamp[VR], bool, error) {
	return g.ws.Get(key.Key, key.Start)
}

// windowedNode adds what every windowed aggregation adds before its store:
// the repartition topic if the key may have changed, and the aggregating
// node. Unnamed, nodes are numbered as Kafka Streams numbers them: store,
// node, then the repartition nodes. It returns the node's and the store's
// names, the topics the node reads within its task, and the merged
// Materialized settings.
func windowedNode[K, V, VOut any](g KGroupedStream[K, V], spec windowSpec, prefix, op string, opts []Materialized[K, VOut], sup func(store string) processor.Supplier[K, V, Windowed[K], change[VOut]]) (string, string, []string, options) {
	b := g.s.b
	c := merge(opts)
	store := c.store
	if store == "" {
		store = b.generate(prefix + "-STATE-STORE")
	}
	name := b.name(c.name, prefix)
	b.only(name, "windowed "+op, c, windowedSettings)
	if spec.err != nil {
		b.fail("%q: %w", name, spec.err)
	}
	if c.set&setRetention != 0 && c.retention < spec.minRetention {
		b.fail("%q: the retention %v of window store %q is shorter than %s (%v)", name, c.retention, store, spec.what, spec.minRetention)
	}
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
		parent = repartition(b, parent, topic, g.c.repartition != "" || c.store != "", ks, g.valueSerde(), 0)
		topics = []string{topic + "-repartition"}
	}
	b.topo.AddProcessor(name, sup(store), parent)
	return name, store, topics, c
}

// storeSerdes picks the serdes of a windowed aggregation's store, the
// Materialized ones over the given ones, and records what is missing.
func storeSerdes[K, V any](b *Builder, c options, store, node string, ks serde.Serde[K], vs serde.Serde[V]) (serde.Serde[K], serde.Serde[V]) {
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
		b.fail("%w: window store %q of %q has no key and value serde: pass them with dsl.MaterializedWith", errMissingSerde, store, node)
	case k == nil:
		b.fail("%w: window store %q of %q has no key serde: pass one with dsl.MaterializedWith or dsl.GroupedWith", errMissingSerde, store, node)
	case v == nil:
		b.fail("%w: window store %q of %q has no value serde: pass one with dsl.MaterializedWith", errMissingSerde, store, node)
	}
	return k, v
}
