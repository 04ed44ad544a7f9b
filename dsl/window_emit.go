package dsl

import (
	"errors"
	"slices"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// EmitStrategy says when a windowed aggregation emits its results, as
// Kafka Streams' EmitStrategy (KIP-825): on every update (the default), or
// once per window and key, when the window closes.
type EmitStrategy struct{ onClose bool }

// EmitStrategyOnWindowUpdate emits a window's new aggregate for every
// record that changes it (EmitStrategy.onWindowUpdate, the default).
func EmitStrategyOnWindowUpdate() EmitStrategy { return EmitStrategy{} }

// EmitStrategyOnWindowClose emits each window's final aggregate once, when
// the window closes (stream time reaches its end plus the grace period),
// and nothing before (EmitStrategy.onWindowClose). It needs no suppression
// buffer: the closed windows are read back from the window store, in the
// order of their start, then key. Each result carries the latest record
// time in its window and the headers of the record whose arrival closed
// it (sessions: its end). Unlike Kafka Streams, emitting is not throttled by a wall-clock
// interval (emit.interval.ms.kstreams.emit.final): the windows a record
// closes are emitted as it is processed. The time up to which windows were
// emitted is kept in a key-value store of its own,
// "<window store>-last-emit", logged, so that a restarted task neither
// emits a window twice nor skips one.
func EmitStrategyOnWindowClose() EmitStrategy { return EmitStrategy{onClose: true} }

// EmitStrategy sets when the aggregations of w emit; see
// EmitStrategyOnWindowClose.
func (w TimeWindowedKStream[K, V]) EmitStrategy(s EmitStrategy) TimeWindowedKStream[K, V] {
	w.emit = s
	return w
}

// lastEmitKey is the one key of a last-emit store. Not empty: an empty
// key is too easily taken for a null one on the way to a compacted topic.
const lastEmitKey = "close-time"

// lastEmitStore names the store of the time up to which an aggregation
// into store emitted closed windows.
func lastEmitStore(store string) string { return store + "-last-emit" }

// addLastEmitStore adds the store an emit-on-close aggregation keeps its
// last emit time in, connected to node.
func addLastEmitStore(b *Builder, c options, store, node string) {
	sb := state.KeyValueStoreBuilder(lastEmitStore(store), serde.String, serde.Int64)
	if c.set&setNoLogging != 0 {
		sb = sb.WithLoggingDisabled()
	}
	if c.set&setInMemory != 0 {
		sb = sb.InMemory()
	}
	b.topo.AddStateStore(sb, node)
}

// closedEmitter emits the closed windows of a window store, for
// EmitStrategyOnWindowClose.
type closedEmitter[K, VR any] struct {
	store string
	kv    *state.KeyValueStore[string, int64]
	// last is the close time up to which windows were emitted; -1 for
	// none yet.
	last    int64
	pending []closedWindow[K, VR]
}

type closedWindow[K, VR any] struct {
	key   Windowed[K]
	value state.ValueAndTimestamp[VR]
}

func (e *closedEmitter[K, VR]) init(g processor.StoreGetter) error {
	var err error
	if e.kv, err = state.GetKeyValueStore[string, int64](g, lastEmitStore(e.store)); err != nil {
		return err
	}
	last, found, err := e.kv.Get(lastEmitKey)
	e.last = -1
	if found {
		e.last = last
	}
	return err
}

// emit forwards, once closeTime has moved past the last emission, the
// windows with starts in [lower, upper] (computed from the last close time
// emitted, or -1), and records closeTime. end gives a window's end from
// its start.
func (e *closedEmitter[K, VR]) emit(ws *state.TimestampedWindowStore[K, VR], ctx processor.Context[Windowed[K], change[VR]], headers *processor.Headers,
	closeTime int64, bounds func(last, closeTime int64) (int64, int64), end func(start int64) int64) error {
	if e.last >= 0 && closeTime <= e.last {
		return nil
	}
	lower, upper := bounds(e.last, closeTime)
	if upper < 0 {
		return nil
	}
	if lower <= upper {
		it, err := ws.FetchAll(lower, upper)
		if err != nil {
			return err
		}
		e.pending = e.pending[:0]
		for it.Next() {
			e.pending = append(e.pending, closedWindow[K, VR]{it.Key(), it.Value()})
		}
		if err := errors.Join(it.Err(), it.Close()); err != nil {
			return err
		}
		// The store holds windows by segment, then key, then start; Kafka
		// Streams emits them by start, then key. A stable sort by start
		// keeps the key order within a start.
		slices.SortStableFunc(e.pending, func(a, b closedWindow[K, VR]) int {
			return compareInt64(a.key.Start, b.key.Start)
		})
		for i := range e.pending {
			w := &e.pending[i]
			if err := ctx.Forward(processor.Record[Windowed[K], change[VR]]{
				Key:       Windowed[K]{Key: w.key.Key, Start: w.key.Start, End: end(w.key.Start)},
				Value:     change[VR]{New: w.value.Value, HasNew: true},
				Timestamp: w.value.Timestamp,
				Headers:   headers,
			}); err != nil {
				return err
			}
		}
		clear(e.pending)
	}
	e.last = closeTime
	return e.kv.Put(lastEmitKey, closeTime)
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
