package dsl

import (
	"errors"
	"fmt"
	"slices"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// slidingWindowProc aggregates into sliding windows with Kafka Streams'
// algorithm (KStreamSlidingWindowAggregate, KIP-450). Of all windows
// [s, s+d], only those whose content changes matter, and they are the
// left window of each record r, [r-d, r], and its right window
// [r+1, r+1+d] when a later record of the key falls within d of it. A
// record at t so updates every stored window containing t, creates its own
// left window (from the aggregate of the window just before it, when the
// previous record is within d), its own right window (from the aggregate
// of the window it fell into, when that one holds later records), and the
// previous record's right window, if t falls into it and it did not exist.
// One backward fetch over [t-2d, t+1] finds all of them.
//
// Records earlier than d would have left windows starting before 0: they
// share the window [0, d] instead, as in Kafka Streams.
type slidingWindowProc[K, V, VR any] struct {
	windowProcBase[K, V, VR]
	diff int64
	// starts collects the window starts seen by a fetch; reused.
	starts []int64
}

// window is a stored window's aggregate, and whether there is one.
type slidingAgg[VR any] struct {
	v   state.ValueAndTimestamp[VR]
	set bool
}

func (p *slidingWindowProc[K, V, VR]) Process(rec processor.Record[K, V]) error {
	if skipNulls(p.ctx, rec) {
		return nil
	}
	ts := rec.Timestamp
	p.observed = max(p.observed, ts)
	closeTime := p.observed - p.grace
	if p.onClose {
		diff := p.diff
		if err := p.emitter.emit(p.ws, p.ctx, rec.Headers, closeTime, func(last, closeTime int64) (int64, int64) {
			lower := int64(0)
			if last >= 0 {
				lower = max(0, last-diff)
			}
			// [s, s+d] includes its end: it closes once s+d < closeTime.
			return lower, closeTime - diff - 1
		}, func(start int64) int64 { return start + diff }); err != nil {
			return err
		}
	}
	if ts+1+p.diff <= closeTime {
		// Both of the record's windows closed.
		dropLate(p.ctx, "sliding", rec.Key, ts, ts-p.diff, ts, closeTime, p.observed)
		return nil
	}
	if ts < p.diff {
		return p.processEarly(rec, closeTime)
	}
	return p.processReverse(rec, closeTime)
}

func (p *slidingWindowProc[K, V, VR]) processReverse(rec processor.Record[K, V], closeTime int64) error {
	ts := rec.Timestamp
	var left, right slidingAgg[VR]
	leftExists, rightExists := false, false
	var prev int64
	havePrev := false
	p.starts = p.starts[:0]
	it, err := p.ws.BackwardFetch(rec.Key, max(0, ts-2*p.diff), ts+1)
	if err != nil {
		return err
	}
	done := false
	for !done && it.Next() {
		start, v := it.Start(), it.Value()
		p.starts = append(p.starts, start)
		end := start + p.diff
		switch {
		case start == ts+1:
			rightExists = true
		case end > ts:
			// The window holds t: its aggregate, as it was, is what t's
			// right window starts from (the latest such window is the
			// previous record's right window).
			if !right.set {
				right = slidingAgg[VR]{v, true}
			}
			err = p.update(rec, start, v, true, true, closeTime)
		case end == ts:
			leftExists = true
			err = p.update(rec, start, v, true, true, closeTime)
			if v.Timestamp >= ts {
				// A record at t was seen before: every window exists.
				it.Close()
				return err
			}
			prev, havePrev = v.Timestamp, true
		default:
			// The first window ending before t holds the records its left
			// window starts from.
			left = slidingAgg[VR]{v, true}
			prev, havePrev = v.Timestamp, true
			done = true
		}
		if err != nil {
			it.Close()
			return err
		}
	}
	if err := errors.Join(it.Err(), it.Close()); err != nil {
		return err
	}
	if havePrev {
		if prevRight := prev + 1; !slices.Contains(p.starts, prevRight) && prevRight+p.diff >= ts {
			if err := p.update(rec, prevRight, state.ValueAndTimestamp[VR]{}, false, false, closeTime); err != nil {
				return err
			}
		}
	}
	if !leftExists {
		var err error
		if havePrev && ts-p.diff <= prev {
			err = p.update(rec, ts-p.diff, state.ValueAndTimestamp[VR]{Value: left.v.Value, Timestamp: ts}, true, false, closeTime)
		} else {
			err = p.update(rec, ts-p.diff, state.ValueAndTimestamp[VR]{}, false, false, closeTime)
		}
		if err != nil {
			return err
		}
	}
	if !rightExists && right.set && right.v.Timestamp > ts {
		return p.createRight(rec, right.v)
	}
	return nil
}

// processEarly handles a record at t < d, whose left window would start
// before 0: it goes into the shared window [0, d].
func (p *slidingWindowProc[K, V, VR]) processEarly(rec processor.Record[K, V], closeTime int64) error {
	ts := rec.Timestamp
	if ts < 0 {
		return fmt.Errorf("dsl: sliding window aggregation got a record with the negative timestamp %d", ts)
	}
	var combined, right slidingAgg[VR]
	rightExists := false
	var prev int64
	havePrev := false
	p.starts = p.starts[:0]
	it, err := p.ws.Fetch(rec.Key, 0, ts+1)
	if err != nil {
		return err
	}
	for it.Next() {
		start, v := it.Start(), it.Value()
		p.starts = append(p.starts, start)
		switch {
		case start == 0:
			combined = slidingAgg[VR]{v, true}
			if v.Timestamp < ts {
				prev, havePrev = v.Timestamp, true
			}
		case start <= ts:
			right = slidingAgg[VR]{v, true}
			err = p.update(rec, start, v, true, true, closeTime)
		default:
			rightExists = true
		}
		if err != nil {
			it.Close()
			return err
		}
	}
	if err := errors.Join(it.Err(), it.Close()); err != nil {
		return err
	}
	// Without a right window found, the shared window's records after t are
	// all t's right window holds: with records both before and after t
	// there would have been one.
	if !right.set && combined.set && combined.v.Timestamp > ts {
		right = combined
	}
	if !rightExists && right.set && right.v.Timestamp > ts {
		if err := p.createRight(rec, right.v); err != nil {
			return err
		}
	}
	if havePrev && !slices.Contains(p.starts, prev+1) {
		if err := p.update(rec, prev+1, state.ValueAndTimestamp[VR]{}, false, false, closeTime); err != nil {
			return err
		}
	}
	if !combined.set {
		return p.update(rec, 0, state.ValueAndTimestamp[VR]{}, false, false, closeTime)
	}
	return p.update(rec, 0, combined.v, true, true, closeTime)
}

// update folds the record into the window starting at start, whose
// aggregate is agg (has false: none yet), stores and forwards the result;
// existed says whether the window was stored before, so that the update
// carries its old value. A closed window drops the record instead.
func (p *slidingWindowProc[K, V, VR]) update(rec processor.Record[K, V], start int64, agg state.ValueAndTimestamp[VR], has, existed bool, closeTime int64) error {
	end := start + p.diff
	if end < closeTime {
		dropLate(p.ctx, "sliding", rec.Key, rec.Timestamp, start, end, closeTime, p.observed)
		return nil
	}
	newAgg := p.add(rec.Key, rec.Value, agg.Value, has)
	newTs := rec.Timestamp
	if has && agg.Timestamp > newTs {
		newTs = agg.Timestamp
	}
	if err := p.ws.Put(rec.Key, state.ValueAndTimestamp[VR]{Value: newAgg, Timestamp: newTs}, start); err != nil {
		return err
	}
	return p.forward(processor.Record[Windowed[K], change[VR]]{
		Key:       Windowed[K]{Key: rec.Key, Start: start, End: end},
		Value:     change[VR]{New: newAgg, Old: agg.Value, HasNew: true, HasOld: existed && p.sendOld},
		Timestamp: newTs,
		Headers:   rec.Headers,
	})
}

// createRight stores and forwards the record's right window, [t+1,
// t+1+d], with the aggregate of the later records it holds.
func (p *slidingWindowProc[K, V, VR]) createRight(rec processor.Record[K, V], agg state.ValueAndTimestamp[VR]) error {
	start := rec.Timestamp + 1
	if err := p.ws.Put(rec.Key, agg, start); err != nil {
		return err
	}
	return p.forward(processor.Record[Windowed[K], change[VR]]{
		Key:       Windowed[K]{Key: rec.Key, Start: start, End: start + p.diff},
		Value:     change[VR]{New: agg.Value, HasNew: true},
		Timestamp: agg.Timestamp,
		Headers:   rec.Headers,
	})
}
