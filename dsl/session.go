package dsl

import (
	"errors"
	"slices"
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// SessionWindowedKStream is a grouped stream split into sessions, ready to
// aggregate per key and session, as Kafka Streams' SessionWindowedKStream.
// WindowedBySession makes one. Its aggregations keep their results in a
// session store and return a table keyed by Windowed[K]: when a record
// merges sessions, the table deletes the old ones (updates with a null
// value, stamped with their ends) and then emits the merged one, stamped
// with its end.
type SessionWindowedKStream[K, V any] struct {
	g    KGroupedStream[K, V]
	w    SessionWindows
	emit EmitStrategy
}

// EmitStrategy sets when the aggregations of s emit; with
// EmitStrategyOnWindowClose each session's final aggregate is emitted once,
// when it closes (stream time passes its end plus grace), and sessions
// merged away before then are not emitted at all.
func (s SessionWindowedKStream[K, V]) EmitStrategy(e EmitStrategy) SessionWindowedKStream[K, V] {
	s.emit = e
	return s
}

// WindowedBySession splits the grouped stream g into sessions, as Kafka
// Streams' g.windowedBy(SessionWindows); see WindowedBy for why it is a
// function.
func WindowedBySession[K, V any](g KGroupedStream[K, V], w SessionWindows) SessionWindowedKStream[K, V] {
	return SessionWindowedKStream[K, V]{g: g, w: w}
}

// Count counts the records per key and session. Records with a null key
// or value, and late records, are dropped and counted.
func (s SessionWindowedKStream[K, V]) Count(opts ...Materialized[K, int64]) KTable[Windowed[K], int64] {
	return sessionAggregate(s, "KSTREAM-AGGREGATE", "Count", func() int64 { return 0 },
		func(_ K, _ V, n int64, _ bool) int64 { return n + 1 },
		func(_ K, a, b int64) int64 { return a + b }, serde.Int64, opts)
}

// Reduce combines the values per key and session with reducer, which also
// combines the aggregates of sessions a record merges.
func (s SessionWindowedKStream[K, V]) Reduce(reducer func(agg, value V) V, opts ...Materialized[K, V]) KTable[Windowed[K], V] {
	add := func(_ K, v V, agg V, has bool) V {
		if !has {
			return v
		}
		return reducer(agg, v)
	}
	return sessionAggregate(s, "KSTREAM-REDUCE", "Reduce", nil, add, func(_ K, a, b V) V { return reducer(a, b) }, s.g.valueSerde(), opts)
}

// Aggregate folds the values per key and session into an aggregate that
// starts at init(); merger combines the aggregates of two sessions that a
// record brings within the inactivity gap of each other, as Kafka
// Streams' Merger.
func (s SessionWindowedKStream[K, V]) Aggregate[VR any](init func() VR, aggregator func(key K, value V, agg VR) VR, merger func(key K, agg1, agg2 VR) VR, opts ...Materialized[K, VR]) KTable[Windowed[K], VR] {
	add := func(k K, v V, agg VR, _ bool) VR { return aggregator(k, v, agg) }
	return sessionAggregate(s, "KSTREAM-AGGREGATE", "Aggregate", init, add, merger, nil, opts)
}

// sessionAggregate builds a session-windowed aggregation. init is nil for
// Reduce, whose aggregate starts from the first value.
func sessionAggregate[K, V, VR any](s SessionWindowedKStream[K, V], prefix, op string, init func() VR, add adder[K, V, VR], merger func(K, VR, VR) VR, vs serde.Serde[VR], opts []Materialized[K, VR]) KTable[Windowed[K], VR] {
	spec := sessionWindowSpec(s.w)
	g := s.g
	w := s.w
	var m *tableMeta[Windowed[K], VR]
	onClose := s.emit.onClose
	name, store, topics, c := windowedNode(g, spec, prefix, op, opts, func(store string) processor.Supplier[K, V, Windowed[K], change[VR]] {
		return supply(func() processor.Processor[K, V, Windowed[K], change[VR]] {
			return &sessionWindowProc[K, V, VR]{store: store, w: w, init: init, add: add, merge: merger, sendOld: m.sendOld, onClose: onClose}
		})
	})
	b := g.s.b
	ks, _ := pickSerde(g.c.keySerde, g.s.ks)
	k, v := storeSerdes(b, c, store, name, ks, vs)
	sb := state.SessionStoreBuilder(store, spec.retention(c), k, v)
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
		wks = serde.SessionWindowed(k)
	}
	t := newTable(b, name, "", wks, v, topics)
	m = t.m
	m.windowStore = store
	// A session's end is included: it closes a millisecond after end plus
	// grace.
	m.windowClose = func(w Windowed[K]) int64 { return w.End + s.w.grace + 1 }
	m.lookup = func() (func() valueGetter[Windowed[K], VR], []string) {
		return func() valueGetter[Windowed[K], VR] { return &sessionGetter[K, VR]{store: store} }, []string{store}
	}
	return t
}

// sessionWindowSpec is the spec of sessions w.
func sessionWindowSpec(w SessionWindows) windowSpec {
	return windowSpec{kind: "session", err: w.err, minRetention: w.InactivityGap() + w.GracePeriod(), what: "the inactivity gap plus the grace period", extra: time.Millisecond, grace: w.grace}
}

// sessionGetter reads a session-windowed table's rows from its session
// store, stamped with the session's end, as Kafka Streams'
// KTableSessionWindowValueGetter.
type sessionGetter[K, VR any] struct {
	store string
	ss    *state.SessionStore[K, VR]
}

func (g *sessionGetter[K, VR]) init(sg processor.StoreGetter) error {
	var err error
	g.ss, err = state.GetSessionStore[K, VR](sg, g.store)
	return err
}

func (g *sessionGetter[K, VR]) get(key Windowed[K]) (state.ValueAndTimestamp[VR], bool, error) {
	v, found, err := g.ss.FetchSession(key.Key, key.Start, key.End)
	return state.ValueAndTimestamp[VR]{Value: v, Timestamp: key.End}, found, err
}

// sessionWindowProc aggregates into sessions, as Kafka Streams'
// KStreamSessionWindowAggregate: it finds the sessions within the gap of
// the record (ending at t-gap or later, starting at t+gap or earlier),
// merges their aggregates and windows with the record's, removes them and
// stores the merged session. A merged session that ends before stream time
// minus grace is closed: the record is dropped as late.
type sessionWindowProc[K, V, VR any] struct {
	base[Windowed[K], change[VR]]
	store string
	w     SessionWindows
	// init starts the aggregate that merged sessions fold into, as Kafka
	// Streams' initializer; nil for Reduce, which starts from the first
	// session's aggregate, or from the record's value.
	init     func() VR
	add      adder[K, V, VR]
	merge    func(K, VR, VR) VR
	ss       *state.SessionStore[K, VR]
	sendOld  bool
	onClose  bool
	emitter  closedEmitter[K, VR]
	observed int64
	merged   []sessionAgg[K, VR]
}

type sessionAgg[K, VR any] struct {
	s Windowed[K]
	v VR
}

func (p *sessionWindowProc[K, V, VR]) Init(ctx processor.Context[Windowed[K], change[VR]]) error {
	p.ctx = ctx
	p.observed = -1
	var err error
	if p.ss, err = state.GetSessionStore[K, VR](ctx, p.store); err != nil {
		return err
	}
	// As windowProcBase.restoreObserved: a session ends at its latest
	// record, so the largest session end is the stream time of the last
	// commit.
	p.observed = p.ss.ObservedStreamTime()
	if p.onClose {
		p.emitter.store = p.store
		return p.emitter.init(ctx)
	}
	return nil
}

// forward passes on a session's update, unless the aggregation emits only
// closed sessions.
func (p *sessionWindowProc[K, V, VR]) forward(rec processor.Record[Windowed[K], change[VR]]) error {
	if p.onClose {
		return nil
	}
	return p.ctx.Forward(rec)
}

// emitClosed forwards the sessions that closed since the last emission:
// ending before closeTime, by end then key, each stamped with its end.
func (p *sessionWindowProc[K, V, VR]) emitClosed(headers *processor.Headers, closeTime int64) error {
	e := &p.emitter
	if e.last >= 0 && closeTime <= e.last {
		return nil
	}
	lower := max(0, e.last)
	if upper := closeTime - 1; upper >= 0 && lower <= upper {
		it, err := p.ss.FindSessionsByEnd(lower, upper)
		if err != nil {
			return err
		}
		e.pending = e.pending[:0]
		for it.Next() {
			e.pending = append(e.pending, closedWindow[K, VR]{it.Key(), state.ValueAndTimestamp[VR]{Value: it.Value(), Timestamp: it.Key().End}})
		}
		if err := errors.Join(it.Err(), it.Close()); err != nil {
			return err
		}
		slices.SortStableFunc(e.pending, func(a, b closedWindow[K, VR]) int { return compareInt64(a.key.End, b.key.End) })
		for i := range e.pending {
			w := &e.pending[i]
			if err := p.ctx.Forward(processor.Record[Windowed[K], change[VR]]{
				Key: w.key, Value: change[VR]{New: w.value.Value, HasNew: true}, Timestamp: w.key.End, Headers: headers,
			}); err != nil {
				return err
			}
		}
		clear(e.pending)
	}
	if closeTime < 0 {
		return nil
	}
	e.last = closeTime
	return e.kv.Put(lastEmitKey, closeTime)
}

func (p *sessionWindowProc[K, V, VR]) Process(rec processor.Record[K, V]) error {
	if skipNulls(p.ctx, rec) {
		return nil
	}
	ts := rec.Timestamp
	p.observed = max(p.observed, ts)
	closeTime := p.observed - p.w.grace
	if p.onClose {
		// Before the record's session is written: a write can expire
		// sessions of the store that close only now.
		if err := p.emitClosed(rec.Headers, closeTime); err != nil {
			return err
		}
	}
	start, end := ts, ts
	var agg VR
	has := false
	if p.init != nil {
		agg, has = p.init(), true
	}
	p.merged = p.merged[:0]
	it, err := p.ss.FindSessions(rec.Key, ts-p.w.gap, ts+p.w.gap)
	if err != nil {
		return err
	}
	for it.Next() {
		s, v := it.Key(), it.Value()
		p.merged = append(p.merged, sessionAgg[K, VR]{s, v})
		if has {
			agg = p.merge(rec.Key, agg, v)
		} else {
			agg, has = v, true
		}
		start, end = min(start, s.Start), max(end, s.End)
	}
	if err := errors.Join(it.Err(), it.Close()); err != nil {
		return err
	}
	if end < closeTime {
		dropLate(p.ctx, "session", rec.Key, ts, start, end, closeTime, p.observed)
		return nil
	}
	if start != ts || end != ts {
		// The record joined or merged sessions: the old ones go, each
		// deleted downstream at its own end time.
		for _, m := range p.merged {
			if err := p.ss.Remove(m.s); err != nil {
				return err
			}
			if err := p.forward(processor.Record[Windowed[K], change[VR]]{
				Key: m.s, Value: change[VR]{Old: m.v, HasOld: p.sendOld}, Timestamp: m.s.End, Headers: rec.Headers,
			}); err != nil {
				return err
			}
		}
	}
	agg = p.add(rec.Key, rec.Value, agg, has)
	session := Windowed[K]{Key: rec.Key, Start: start, End: end}
	if err := p.ss.Put(session, agg); err != nil {
		return err
	}
	return p.forward(processor.Record[Windowed[K], change[VR]]{
		Key: session, Value: change[VR]{New: agg, HasNew: true}, Timestamp: end, Headers: rec.Headers,
	})
}
