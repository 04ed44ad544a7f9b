package harness

import (
	"fmt"
	"slices"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
)

// windowed and windowed-final: the number of records per key in tumbling
// windows of WindowSize with a grace of WindowGrace, over the records'
// timestamps. windowed emits every update; windowed-final, with
// EmitStrategyOnWindowClose, each window's count once, when it closes.
//
// The checks are in closed form: the generator's timestamps lag its event
// clock by less than WindowGrace, so no record is ever late, and the count
// of a window is the number of inputs of its key whose timestamps fall in
// it, however the processing was cut up by crashes.

// WindowSize and WindowGrace are the windows of the windowed outputs.
const (
	WindowSize  = 10 * time.Second
	WindowGrace = 5 * time.Second
)

var (
	windowedKeySerde = serde.TimeWindowed(serde.String, WindowSize)
	windows          = dsl.TimeWindowsOfSizeAndGrace(WindowSize, WindowGrace)
)

func buildWindowed(_ *dsl.Builder, data dsl.KStream[string, int64]) {
	dsl.WindowedBy(data.GroupByKey(), windows).
		Count(dsl.MaterializedAs[string, int64]("windowed-store")).
		ToStream().
		To("windowed", dsl.ProducedWith(windowedKeySerde, serde.Int64))
}

func buildWindowedFinal(_ *dsl.Builder, data dsl.KStream[string, int64]) {
	dsl.WindowedBy(data.GroupByKey(), windows).
		EmitStrategy(dsl.EmitStrategyOnWindowClose()).
		Count(dsl.MaterializedAs[string, int64]("windowed-final-store")).
		ToStream().
		To("windowed-final", dsl.ProducedWith(windowedKeySerde, serde.Int64))
}

// window names one window of one key by its start, in milliseconds.
type window struct {
	key   string
	start int64
}

func (w window) String() string {
	return fmt.Sprintf("%s@[%d,%d)", w.key, w.start, w.start+WindowSize.Milliseconds())
}

// windowStart is the start of the tumbling window holding ts.
func windowStart(ts int64) int64 {
	size := WindowSize.Milliseconds()
	start := ts - ts%size
	if ts < 0 && ts%size != 0 {
		start -= size
	}
	return start
}

// windowTruth is what the inputs of one window say: their timestamps in
// the order they were written, and the largest.
type windowTruth struct {
	times []int64
	maxTs int64
}

// inputWindows computes, per window, the inputs that fall in it.
func inputWindows(in *Input) map[window]*windowTruth {
	out := map[window]*windowTruth{}
	for _, k := range in.Keys {
		for _, ts := range in.Times[k] {
			w := window{k, windowStart(ts)}
			t := out[w]
			if t == nil {
				t = &windowTruth{maxTs: ts}
				out[w] = t
			}
			t.times = append(t.times, ts)
			t.maxTs = max(t.maxTs, ts)
		}
	}
	return out
}

// windowedRecords parses the windowed keys of recs, whose raw keys each
// name one window, and reports the keys that do not parse, whose end is not
// start plus the window size, or whose window holds no input.
func windowedRecords(f *findings, truth map[window]*windowTruth, recs map[string][]Record) map[window][]Record {
	out := map[window][]Record{}
	for raw, rs := range recs {
		wk, err := windowedKeySerde.Deserialize("", []byte(raw))
		if err != nil {
			f.add("key %x at %v: %v", raw, rs[0], err)
			continue
		}
		w := window{wk.Key, wk.Start}
		switch {
		case wk.End != wk.Start+WindowSize.Milliseconds() || windowStart(wk.Start) != wk.Start:
			f.add("key %v at %v is no tumbling window of %v", wk, rs[0], WindowSize)
		case truth[w] == nil:
			f.add("window %v (at %v) holds no input", w, rs[0])
		default:
			out[w] = rs
		}
	}
	return out
}

// sortedWindows lists the windows of truth in key, then start order, so
// that findings come out in a stable order.
func sortedWindows(truth map[window]*windowTruth) []window {
	ws := make([]window, 0, len(truth))
	for w := range truth {
		ws = append(ws, w)
	}
	slices.SortFunc(ws, func(a, b window) int {
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return compareInt(a.start, b.start)
	})
	return ws
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkWindowed checks the updates of every window: under exactly-once the
// counts 1, 2, ..., n in order, n the number of inputs in the window, each
// stamped with the latest timestamp among the inputs it counts; under
// at_least_once a count of at least n among them.
func checkWindowed(f *findings, in *Input, recs map[string][]Record, g Guarantee) int {
	truth := inputWindows(in)
	got := windowedRecords(f, truth, recs)
	dups := 0
	for _, w := range sortedWindows(truth) {
		t, rs := truth[w], got[w]
		n := int64(len(t.times))
		if len(rs) == 0 {
			f.add("window %v: no count for its %d inputs", w, n)
			continue
		}
		if g == AtLeastOnce {
			// The largest count, not the last: at-least-once fences no
			// zombie, and a member back from a pause may send a stale
			// count after the new owner's, once the window gets no more
			// inputs to bury it (seen in a run); and a task whose store
			// lacks the window, restored before the changelog had it or
			// after it expired there, counts the records it processes
			// again from one, as Kafka Streams does. The count that
			// reflected every input was sent all the same.
			var top int64
			var at Record
			for _, r := range rs {
				c, err := serde.Int64.Deserialize("windowed", r.Value)
				if err != nil {
					f.add("window %v at %v: %v", w, r, err)
					continue
				}
				if c > top {
					top, at = c, r
				}
			}
			if top < n {
				f.add("window %v: no count reflects its %d inputs: the largest is %d (at %v)", w, n, top, at)
			} else {
				dups += int(top - n)
			}
			continue
		}
		var maxTs int64
		for i, r := range rs {
			c, err := serde.Int64.Deserialize("windowed", r.Value)
			if err != nil {
				f.add("window %v at %v: %v", w, r, err)
				break
			}
			if c != int64(i+1) {
				f.add("window %v: update #%d at %v counts %d, want %d (counts must run 1, 2, ..., %d)", w, i+1, r, c, i+1, n)
				break
			}
			if i >= len(t.times) {
				f.add("window %v: %d updates for %d inputs; the first extra one is at %v", w, len(rs), n, r)
				break
			}
			if i == 0 {
				maxTs = t.times[0]
			}
			maxTs = max(maxTs, t.times[i])
			if r.Timestamp != maxTs {
				f.add("window %v: update #%d at %v has timestamp %d, want %d, the latest of the inputs it counts", w, i+1, r, r.Timestamp, maxTs)
				break
			}
		}
		if len(rs) < len(t.times) {
			f.add("window %v: %d updates for %d inputs: the last %d inputs are not counted", w, len(rs), n, int(n)-len(rs))
		}
	}
	return dups
}

// closedWindows says which windows have closed once every input was
// processed: a window closes when the latest timestamp its task saw, less
// the grace, reaches its end. The task of a key reads the input partition
// the key was written to, and sees every record of that partition.
func closedWindows(in *Input, truth map[window]*windowTruth) map[window]bool {
	latest := map[int32]int64{}
	for _, k := range in.Keys {
		p, ok := in.Partition[k]
		if !ok {
			continue
		}
		for _, ts := range in.Times[k] {
			if cur, seen := latest[p]; !seen || ts > cur {
				latest[p] = ts
			}
		}
	}
	closed := map[window]bool{}
	for w := range truth {
		if l, ok := latest[in.Partition[w.key]]; ok && w.start+WindowSize.Milliseconds() <= l-WindowGrace.Milliseconds() {
			closed[w] = true
		}
	}
	return closed
}

// checkWindowedFinal checks the final counts: under exactly-once every
// closed window exactly once, with its number of inputs and their latest
// timestamp, and no window that has not closed; under at_least_once every
// closed window at least once with a count of at least its number of
// inputs.
func checkWindowedFinal(f *findings, in *Input, recs map[string][]Record, g Guarantee) int {
	truth := inputWindows(in)
	got := windowedRecords(f, truth, recs)
	closed := closedWindows(in, truth)
	dups := 0
	for _, w := range sortedWindows(truth) {
		t, rs := truth[w], got[w]
		n := int64(len(t.times))
		if !closed[w] {
			if len(rs) > 0 {
				f.add("window %v: emitted at %v, but it has not closed", w, rs[0])
			}
			continue
		}
		if len(rs) == 0 {
			f.add("window %v closed without its final count (%d inputs)", w, n)
			continue
		}
		if g == ExactlyOnce && len(rs) > 1 {
			f.add("window %v: %d final counts, want one (the second at %v)", w, len(rs), rs[1])
			continue
		}
		for _, r := range rs {
			c, err := serde.Int64.Deserialize("windowed-final", r.Value)
			switch {
			case err != nil:
				f.add("window %v at %v: %v", w, r, err)
			case c < n || g == ExactlyOnce && c != n:
				f.add("window %v: final count %d at %v, but %d inputs fall in the window", w, c, r, n)
			case g == ExactlyOnce && r.Timestamp != t.maxTs:
				f.add("window %v: final count at %v has timestamp %d, want %d, the latest of its inputs", w, r, r.Timestamp, t.maxTs)
			default:
				dups += int(c - n)
				continue
			}
			break
		}
		dups += len(rs) - 1
	}
	return dups
}
