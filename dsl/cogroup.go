package dsl

import (
	"sync"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// CogroupedKStream is several grouped streams, of values of their own
// types, folded into one aggregate per key, as Kafka Streams'
// CogroupedKStream: each stream has its aggregator, all share the
// aggregate, its initializer and its store, and the result is one table.
// It saves the joins of one aggregation per stream. Start one with Cogroup,
// add streams with its Cogroup method, finish with Aggregate, or with
// WindowedBy, WindowedBySliding or WindowedBySession and Aggregate for
// windowed aggregates.
//
// The streams are read by one task per partition, so they must be
// co-partitioned; a stream whose key may have changed goes through a
// repartition topic first, named after its Grouped's WithName or after the
// store and the stream's node.
type CogroupedKStream[K, VA any] struct {
	b      *Builder
	ks     serde.Serde[K]
	inputs []cogroupInput[K, VA]
}

// cogroupInput is one grouped stream of a cogroup, its value type hidden
// in what it adds to the topology: its repartition topic, if it needs one,
// and its aggregating node, reading records of that type.
type cogroupInput[K, VA any] struct {
	// parent adds the repartition topic, if needed, and returns the node
	// the aggregating node reads and the topics behind it.
	parent func(store string, named bool, i int) (string, []string)
	// add adds the aggregating node name, reading parent, of a
	// key-value aggregate (shared: the inputs' shared per-task state) or,
	// with windows set, of a windowed one.
	add         func(name, parent, store string, init func() VA, m *tableMeta[K, VA], shared *cogroupCaches)
	addWindowed func(name, parent, store string, init func() VA, w cogroupWindows[K, VA], clocks *joinClocks, m *tableMeta[Windowed[K], VA])
}

// cogroupWindows are the windows of a windowed cogroup: time windows,
// sliding windows (sliding set), or sessions (session set) with the
// merger of their aggregates.
type cogroupWindows[K, VA any] struct {
	tw      TimeWindows
	sw      SlidingWindows
	sliding bool
	sess    SessionWindows
	session bool
	merger  func(K, VA, VA) VA
}

// Cogroup starts a cogroup with the grouped stream g and its aggregator,
// which folds each of g's values into the key's aggregate (Kafka Streams'
// KGroupedStream#cogroup).
func Cogroup[K, V, VA any](g KGroupedStream[K, V], aggregator func(key K, value V, agg VA) VA) CogroupedKStream[K, VA] {
	ks, err := pickSerde(g.c.keySerde, g.s.ks)
	if err != nil {
		g.s.b.fail("Cogroup: key %w", err)
	}
	return CogroupedKStream[K, VA]{b: g.s.b, ks: ks}.Cogroup(g, aggregator)
}

// Cogroup adds the grouped stream g, of its own value type, with its
// aggregator.
func (c CogroupedKStream[K, VA]) Cogroup[V any](g KGroupedStream[K, V], aggregator func(key K, value V, agg VA) VA) CogroupedKStream[K, VA] {
	b := c.b
	in := cogroupInput[K, VA]{
		parent: func(store string, named bool, i int) (string, []string) {
			if !g.s.rekeyed {
				return g.s.node, g.s.topics
			}
			ks, err := pickSerde(g.c.keySerde, g.s.ks)
			if err != nil {
				b.fail("Cogroup: key %w", err)
			}
			topic := g.c.repartition
			if topic == "" {
				topic = store + "-" + g.s.node
			}
			return repartition(b, g.s.node, topic, g.c.repartition != "" || named, ks, g.valueSerde(), 0), []string{topic + "-repartition"}
		},
		add: func(name, parent, store string, init func() VA, m *tableMeta[K, VA], shared *cogroupCaches) {
			b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, K, change[VA]] {
				return &cogroupProc[K, V, VA]{
					aggregateProc: aggregateProc[K, V, VA]{aggBase: aggBase[K, V, VA]{rows: rows[K, VA]{store: store, sendOld: m.sendOld}}, init: init, f: aggregator},
					shared:        shared,
				}
			}), parent)
		},
		addWindowed: func(name, parent, store string, init func() VA, w cogroupWindows[K, VA], clocks *joinClocks, m *tableMeta[Windowed[K], VA]) {
			add := func(k K, v V, agg VA, has bool) VA {
				if !has {
					agg = init()
				}
				return aggregator(k, v, agg)
			}
			b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, Windowed[K], change[VA]] {
				p := &cogroupWindowProc[K, V, VA]{clocks: clocks}
				switch {
				case w.session:
					// A session's aggregate starts at init, given by the
					// processor.
					add := func(k K, v V, agg VA, _ bool) VA { return aggregator(k, v, agg) }
					in := &sessionWindowProc[K, V, VA]{store: store, w: w.sess, init: init, add: add, merge: w.merger, sendOld: m.sendOld}
					p.inner, p.observed = in, &in.observed
				case w.sliding:
					in := &slidingWindowProc[K, V, VA]{windowProcBase: windowProcBase[K, V, VA]{store: store, grace: w.sw.grace, add: add, sendOld: m.sendOld, lookback: w.sw.diff}, diff: w.sw.diff}
					p.inner, p.observed = in, &in.observed
				default:
					in := &timeWindowProc[K, V, VA]{windowProcBase: windowProcBase[K, V, VA]{store: store, grace: w.tw.grace, add: add, sendOld: m.sendOld}, w: w.tw}
					p.inner, p.observed = in, &in.observed
				}
				return p
			}), parent)
		},
	}
	c.inputs = append(c.inputs[:len(c.inputs):len(c.inputs)], in)
	return c
}

// Aggregate folds the values of every stream of the cogroup into one
// aggregate per key that starts at init(), in a key-value store
// (MaterializedAs names it, MaterializedWith gives the serde of VA unless
// it has a built-in one). Records with a null key or value are dropped and
// counted. Named names the node that merges the streams' updates.
func (c CogroupedKStream[K, VA]) Aggregate(init func() VA, opts ...Materialized[K, VA]) KTable[K, VA] {
	b := c.b
	m := merge(opts)
	store := m.store
	if store == "" {
		store = b.generate("COGROUPKSTREAM-AGGREGATE-STATE-STORE")
	}
	vs, _ := pickSerde[VA](nil, nil)
	names, parents, topics := c.nodes(store, m.store != "")
	mergeName := b.name(m.name, "COGROUPKSTREAM-MERGE")
	b.only(mergeName, "CogroupedKStream.Aggregate", m, setName|materializedSettings)
	k, _ := pickSerde(m.keySerde, c.ks)
	v, _ := pickSerde(m.valueSerde, vs)
	t := newTable(b, mergeName, store, k, v, topics)
	shared := &cogroupCaches{m: map[processor.TaskID]bool{}}
	for i, in := range c.inputs {
		in.add(names[i], parents[i], store, init, t.m, shared)
	}
	addStore(b, m, store, names[0], c.ks, vs)
	for _, n := range names[1:] {
		b.topo.ConnectProcessorAndStateStores(n, store)
	}
	replayable(b, store, t.m, names...)
	b.topo.AddProcessor(mergeName, supply(func() processor.Processor[K, change[VA], K, change[VA]] {
		return &passThrough[K, change[VA]]{}
	}), names...)
	return t
}

// nodes adds the streams' repartition topics and names their aggregating
// nodes, numbered as Kafka Streams numbers them.
func (c CogroupedKStream[K, VA]) nodes(store string, named bool) (names, parents, topics []string) {
	for i, in := range c.inputs {
		p, ts := in.parent(store, named, i)
		parents = append(parents, p)
		topics = union(topics, ts)
		names = append(names, c.b.generate("COGROUPKSTREAM-AGGREGATE"))
	}
	if len(c.inputs) > 1 && len(topics) > 1 {
		c.b.topo.AddCopartitionGroup(topics...)
	}
	return names, parents, topics
}

// WindowedBy aggregates the cogroup in tumbling or hopping windows, as
// Kafka Streams' CogroupedKStream#windowedBy(Windows).
func (c CogroupedKStream[K, VA]) WindowedBy(w TimeWindows) TimeWindowedCogroupedKStream[K, VA] {
	return TimeWindowedCogroupedKStream[K, VA]{c: c, w: cogroupWindows[K, VA]{tw: w}}
}

// WindowedBySliding aggregates the cogroup in sliding windows, as Kafka
// Streams' CogroupedKStream#windowedBy(SlidingWindows): the windows of
// WindowedBySliding, fed by every stream of the cogroup.
func (c CogroupedKStream[K, VA]) WindowedBySliding(w SlidingWindows) TimeWindowedCogroupedKStream[K, VA] {
	return TimeWindowedCogroupedKStream[K, VA]{c: c, w: cogroupWindows[K, VA]{sw: w, sliding: true}}
}

// WindowedBySession aggregates the cogroup in sessions, as Kafka Streams'
// CogroupedKStream#windowedBy(SessionWindows): the sessions of
// WindowedBySession, which the records of every stream of the cogroup
// open, extend and merge alike.
func (c CogroupedKStream[K, VA]) WindowedBySession(w SessionWindows) SessionWindowedCogroupedKStream[K, VA] {
	return SessionWindowedCogroupedKStream[K, VA]{c: c, w: w}
}

// TimeWindowedCogroupedKStream is a cogroup aggregated in time windows
// (tumbling, hopping or sliding).
type TimeWindowedCogroupedKStream[K, VA any] struct {
	c CogroupedKStream[K, VA]
	w cogroupWindows[K, VA]
}

// Aggregate folds the values of every stream of the cogroup into one
// aggregate per key and window, as a windowed aggregation of one stream
// does (see TimeWindowedKStream.Aggregate): late records are dropped and
// counted, the store keeps windows for their size plus the grace period
// (sliding windows: twice the time difference plus the grace period)
// unless Materialized's WithRetention says longer.
func (w TimeWindowedCogroupedKStream[K, VA]) Aggregate(init func() VA, opts ...Materialized[K, VA]) KTable[Windowed[K], VA] {
	return w.c.windowedAggregate(w.w, timeWindowSpec(w.w.tw, w.w.sw, w.w.sliding), init, opts)
}

// SessionWindowedCogroupedKStream is a cogroup aggregated in sessions.
type SessionWindowedCogroupedKStream[K, VA any] struct {
	c CogroupedKStream[K, VA]
	w SessionWindows
}

// Aggregate folds the values of every stream of the cogroup into one
// aggregate per key and session that starts at init(); merger combines
// the aggregates of two sessions a record brings within the gap of each
// other, as in SessionWindowedKStream.Aggregate, whose table this is like:
// merged-away sessions are deleted, late records dropped and counted.
func (s SessionWindowedCogroupedKStream[K, VA]) Aggregate(init func() VA, merger func(key K, agg1, agg2 VA) VA, opts ...Materialized[K, VA]) KTable[Windowed[K], VA] {
	return s.c.windowedAggregate(cogroupWindows[K, VA]{sess: s.w, session: true, merger: merger}, sessionWindowSpec(s.w), init, opts)
}

func (c CogroupedKStream[K, VA]) windowedAggregate(w cogroupWindows[K, VA], spec windowSpec, init func() VA, opts []Materialized[K, VA]) KTable[Windowed[K], VA] {
	b := c.b
	m := merge(opts)
	store := m.store
	if store == "" {
		store = b.generate("COGROUPKSTREAM-AGGREGATE-STATE-STORE")
	}
	names, parents, topics := c.nodes(store, m.store != "")
	mergeName := b.name(m.name, "COGROUPKSTREAM-MERGE")
	b.only(mergeName, "windowed CogroupedKStream.Aggregate", m, windowedSettings)
	if spec.err != nil {
		b.fail("%q: %w", mergeName, spec.err)
	}
	if m.set&setRetention != 0 && m.retention < spec.minRetention {
		b.fail("%q: the retention %v of window store %q is shorter than %s (%v)", mergeName, m.retention, store, spec.what, spec.minRetention)
	}
	retention := spec.retention(m)
	vs, _ := pickSerde[VA](nil, nil)
	k, v := storeSerdes(b, m, store, mergeName, c.ks, vs)
	var wks serde.Serde[Windowed[K]]
	switch {
	case k == nil:
	case w.session:
		wks = serde.SessionWindowed(k)
	default:
		wks = serde.TimeWindowed(k, spec.size)
	}
	t := newTable(b, mergeName, "", wks, v, topics)
	tm := t.m
	tm.windowStore = store
	// Sliding windows and sessions include their end: they close a
	// millisecond later.
	closeAfter := spec.grace
	if w.sliding || w.session {
		closeAfter++
	}
	tm.windowClose = func(w Windowed[K]) int64 { return w.End + closeAfter }
	if w.session {
		tm.lookup = func() (func() valueGetter[Windowed[K], VA], []string) {
			return func() valueGetter[Windowed[K], VA] { return &sessionGetter[K, VA]{store: store} }, []string{store}
		}
	} else {
		tm.lookup = func() (func() valueGetter[Windowed[K], VA], []string) {
			return func() valueGetter[Windowed[K], VA] { return &windowGetter[K, VA]{store: store} }, []string{store}
		}
	}
	clocks := &joinClocks{m: map[processor.TaskID]*joinClock{}}
	for i, in := range c.inputs {
		in.addWindowed(names[i], parents[i], store, init, w, clocks, tm)
	}
	if w.session {
		sb := state.SessionStoreBuilder(store, retention, k, v)
		if m.set&setNoLogging != 0 {
			sb = sb.WithLoggingDisabled()
		}
		if m.set&setInMemory != 0 {
			sb = sb.InMemory()
		}
		b.topo.AddStateStore(sb, names...)
	} else {
		sb := state.TimestampedWindowStoreBuilder(store, retention, spec.size, k, v)
		if m.set&setNoLogging != 0 {
			sb = sb.WithLoggingDisabled()
		}
		if m.set&setInMemory != 0 {
			sb = sb.InMemory()
		}
		b.topo.AddStateStore(sb, names...)
	}
	b.topo.AddProcessor(mergeName, supply(func() processor.Processor[Windowed[K], change[VA], Windowed[K], change[VA]] {
		return &passThrough[Windowed[K], change[VA]]{}
	}), names...)
	return t
}

// cogroupCaches tells the aggregating nodes of a cogroup in each task
// whether their shared store has a cache: the first node to start sets the
// store's flush listener, the only one a cache takes, and forwards every
// flushed update; the others leave updates to it.
type cogroupCaches struct {
	mu sync.Mutex
	m  map[processor.TaskID]bool
}

// cogroupProc is the aggregating node of one stream of a cogroup.
type cogroupProc[K, V, VA any] struct {
	aggregateProc[K, V, VA]
	shared *cogroupCaches
}

func (p *cogroupProc[K, V, VA]) Init(ctx processor.Context[K, change[VA]]) error {
	p.shared.mu.Lock()
	defer p.shared.mu.Unlock()
	id := ctx.TaskID()
	if cached, ok := p.shared.m[id]; ok {
		p.ctx = ctx
		var err error
		p.kv, err = state.GetTimestampedKeyValueStore[K, VA](ctx, p.store)
		p.cached = cached
		return err
	}
	if err := p.rows.init(ctx); err != nil {
		return err
	}
	p.shared.m[id] = p.cached
	return nil
}

func (p *cogroupProc[K, V, VA]) Close() error {
	p.shared.mu.Lock()
	delete(p.shared.m, p.ctx.TaskID())
	p.shared.mu.Unlock()
	return nil
}

// cogroupWindowProc is the aggregating node of one stream of a windowed
// cogroup: the windowed aggregation of its kind (inner, whose stream time
// is observed). The nodes of a task share the stream time that closes
// windows: the store they share expires windows by the latest of their
// records, so a node going by its own records' time alone would fold a
// late record of its stream into a window the store has dropped.
type cogroupWindowProc[K, V, VA any] struct {
	inner    processor.Processor[K, V, Windowed[K], change[VA]]
	observed *int64
	clocks   *joinClocks
	clock    *joinClock
	id       processor.TaskID
}

func (p *cogroupWindowProc[K, V, VA]) Init(ctx processor.Context[Windowed[K], change[VA]]) error {
	if err := p.inner.Init(ctx); err != nil {
		return err
	}
	p.id = ctx.TaskID()
	p.clock = p.clocks.get(p.id)
	p.clock.streamTime = max(p.clock.streamTime, *p.observed)
	return nil
}

func (p *cogroupWindowProc[K, V, VA]) Process(rec processor.Record[K, V]) error {
	*p.observed = max(*p.observed, p.clock.streamTime)
	err := p.inner.Process(rec)
	p.clock.streamTime = max(p.clock.streamTime, *p.observed)
	return err
}

func (p *cogroupWindowProc[K, V, VA]) Close() error {
	p.clocks.release(p.id)
	return p.inner.Close()
}
