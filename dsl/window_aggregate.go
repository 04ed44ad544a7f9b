package dsl

import (
	"context"
	"errors"
	"log/slog"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// windowProcBase holds what the processors of time and sliding windows
// share: the window store, the fold, and the stream time they saw.
type windowProcBase[K, V, VR any] struct {
	base[Windowed[K], change[VR]]
	store string
	grace int64
	add   adder[K, V, VR]
	ws    *state.TimestampedWindowStore[K, VR]
	// sendOld is set when a table downstream needs old values.
	sendOld bool
	// onClose is set for EmitStrategyOnWindowClose: updates are not
	// forwarded; closed windows are, by emitter.
	onClose bool
	emitter closedEmitter[K, VR]
	// observed is the largest timestamp the processor saw, as Kafka
	// Streams' observedStreamTime of its window processors: what decides
	// when a window closes.
	observed int64
	// lookback is how far before the store's largest window start a
	// window may hold the latest record: 0 for time windows (the latest
	// window holds it), the time difference for sliding windows.
	lookback int64
}

func (p *windowProcBase[K, V, VR]) Init(ctx processor.Context[Windowed[K], change[VR]]) error {
	p.ctx = ctx
	p.observed = -1
	var err error
	if p.ws, err = state.GetTimestampedWindowStore[K, VR](ctx, p.store); err != nil {
		return err
	}
	if err := p.restoreObserved(); err != nil {
		return err
	}
	if p.onClose {
		p.emitter.store = p.store
		return p.emitter.init(ctx)
	}
	return nil
}

// restoreObserved starts a restarted task from the stream time it had at
// its last commit, not from nothing: else a record late before the
// restart would be taken, and update a window that closed, whose final
// result a suppression or the close emitter already sent. Every record not dropped as late was folded into
// its latest window, which no expiry reached, stamped with the latest
// record time in it: the windows starting at the store's largest start
// (within lookback of it, for sliding windows) hold the largest.
func (p *windowProcBase[K, V, VR]) restoreObserved() error {
	top := p.ws.ObservedStreamTime()
	if top < 0 {
		return nil
	}
	it, err := p.ws.FetchAll(top-p.lookback, top)
	if err != nil {
		return err
	}
	for it.Next() {
		p.observed = max(p.observed, it.Value().Timestamp)
	}
	return errors.Join(it.Err(), it.Close())
}

// forward passes on a window's update, unless the aggregation emits only
// closed windows.
func (p *windowProcBase[K, V, VR]) forward(rec processor.Record[Windowed[K], change[VR]]) error {
	if p.onClose {
		return nil
	}
	return p.ctx.Forward(rec)
}

// skip drops records windowed aggregations ignore, as Kafka Streams does.
func skipNulls[K, V any](ctx dropCounter, rec processor.Record[K, V]) bool {
	switch {
	case rec.NullKey:
		ctx.DropRecord(processor.DropNullKey)
	case rec.NullValue:
		ctx.DropRecord(processor.DropNullValue)
	default:
		return false
	}
	return true
}

// dropCounter is the part of a processor context that counts drops and
// says where a record came from.
type dropCounter interface {
	DropRecord(reason string)
	RecordMetadata() (processor.RecordMetadata, bool)
}

// dropLate counts a record too late for the window [start, end] and logs
// it at debug level, as Kafka Streams logs "Skipping record for expired
// window". The processor context has no logger: the line goes to
// slog.Default, and costs nothing when debug is off.
func dropLate[K any](ctx dropCounter, kind string, key K, ts, start, end, closeTime, observed int64) {
	ctx.DropRecord(processor.DropLateRecord)
	l := slog.Default()
	if !l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := []any{"window", kind, "key", key, "timestamp", ts, "window_start", start, "window_end", end, "expiration", closeTime, "stream_time", observed}
	if md, ok := ctx.RecordMetadata(); ok {
		attrs = append(attrs, "topic", md.Topic, "partition", md.Partition, "offset", md.Offset)
	}
	l.Debug("dsl: skipping record for closed window", attrs...)
}

// timeWindowProc aggregates into tumbling and hopping windows, as Kafka
// Streams' KStreamWindowAggregate: every window holding the record that
// has not closed gets the record folded in and emits its new aggregate,
// stamped with the latest record timestamp in the window.
type timeWindowProc[K, V, VR any] struct {
	windowProcBase[K, V, VR]
	w TimeWindows
}

func (p *timeWindowProc[K, V, VR]) Process(rec processor.Record[K, V]) error {
	if skipNulls(p.ctx, rec) {
		return nil
	}
	ts := rec.Timestamp
	p.observed = max(p.observed, ts)
	closeTime := p.observed - p.grace
	if p.onClose {
		// Before the record's windows are written: a write can expire
		// windows of the store that close only now.
		size := p.w.size
		if err := p.emitter.emit(p.ws, p.ctx, rec.Headers, closeTime, func(last, closeTime int64) (int64, int64) {
			lower := int64(0)
			if last >= 0 {
				lower = max(0, last-size) + 1
			}
			return lower, closeTime - size
		}, func(start int64) int64 { return start + size }); err != nil {
			return err
		}
	}
	for start := p.w.firstStart(ts); start <= ts; start += p.w.advance {
		end := start + p.w.size
		if end <= closeTime {
			dropLate(p.ctx, "time", rec.Key, ts, start, end, closeTime, p.observed)
			continue
		}
		old, found, err := p.ws.Get(rec.Key, start)
		if err != nil {
			return err
		}
		newTs := ts
		if found && old.Timestamp > ts {
			newTs = old.Timestamp
		}
		agg := p.add(rec.Key, rec.Value, old.Value, found)
		if err := p.ws.Put(rec.Key, state.ValueAndTimestamp[VR]{Value: agg, Timestamp: newTs}, start); err != nil {
			return err
		}
		if err := p.forward(processor.Record[Windowed[K], change[VR]]{
			Key:       Windowed[K]{Key: rec.Key, Start: start, End: end},
			Value:     change[VR]{New: agg, Old: old.Value, HasNew: true, HasOld: found && p.sendOld},
			Timestamp: newTs,
			Headers:   rec.Headers,
		}); err != nil {
			return err
		}
	}
	return nil
}
