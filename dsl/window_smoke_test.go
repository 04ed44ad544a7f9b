package dsl_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// The closed-form tests below follow Kafka Streams' smoke test: every
// key's values are a contiguous run of integers, each piped with itself as
// its timestamp, so the count, sum, min and max of any window follow from
// its bounds alone. Records arrive out of order, each delayed by at most the
// grace period, so none is late; a record far in the future then
// closes every window. Window sizes, advances, grace periods and runs come
// from a seeded generator, over many seeds.

// stats is what the tests aggregate: enough to pin a window's contents.
type stats struct{ Count, Sum, Min, Max int64 }

func (s stats) add(v int64) stats {
	if s.Count == 0 {
		return stats{1, v, v, v}
	}
	return stats{s.Count + 1, s.Sum + v, min(s.Min, v), max(s.Max, v)}
}

func (s stats) merge(o stats) stats {
	return stats{s.Count + o.Count, s.Sum + o.Sum, min(s.Min, o.Min), max(s.Max, o.Max)}
}

// span is the stats of the run [a, b], and the timestamp of its last
// update: the largest timestamp in it, b.
func span(a, b int64) stats { return stats{b - a + 1, (a + b) * (b - a + 1) / 2, a, b} }

// run is a key's contiguous values.
type run struct {
	key    string
	lo, hi int64
}

// arrivals returns the records of runs in an order where each is delayed
// past later ones by at most grace, as a stream with bounded disorder.
func arrivals(rng *rand.Rand, runs []run, grace int64) []processor.Record[string, int64] {
	type arrival struct {
		at  int64
		rec processor.Record[string, int64]
	}
	var as []arrival
	for _, r := range runs {
		for v := r.lo; v <= r.hi; v++ {
			// Up to grace itself: a record delayed by exactly the grace
			// period is still on time.
			delay := rng.Int64N(grace + 1)
			if rng.IntN(3) == 0 {
				delay = grace
			}
			as = append(as, arrival{v + delay, at(r.key, v, v)})
		}
	}
	slices.SortStableFunc(as, func(a, b arrival) int { return int(a.at - b.at) })
	recs := make([]processor.Record[string, int64], len(as))
	for i, a := range as {
		recs[i] = a.rec
	}
	return recs
}

// final reads out into the latest value and timestamp per windowed key; a
// null value removes the key.
func final(out *testdriver.TestOutputTopic[dsl.Windowed[string], stats]) map[dsl.Windowed[string]]stats {
	got := map[dsl.Windowed[string]]stats{}
	for _, r := range out.ReadRecordsToList() {
		if r.NullValue {
			delete(got, r.Key)
			continue
		}
		if r.Timestamp != r.Value.Max {
			got[r.Key] = stats{Count: -1, Max: r.Timestamp} // reported below as a wrong timestamp
			continue
		}
		got[r.Key] = r.Value
	}
	return got
}

func compareWindows(t *testing.T, desc string, got, want map[dsl.Windowed[string]]stats) {
	t.Helper()
	for w, s := range want {
		g, ok := got[w]
		switch {
		case !ok:
			t.Fatalf("%s: window %v missing, want %+v", desc, w, s)
		case g.Count == -1:
			t.Fatalf("%s: window %v: last update stamped %d, want %d", desc, w, g.Max, s.Max)
		case g != s:
			t.Fatalf("%s: window %v = %+v, want %+v", desc, w, g, s)
		}
	}
	for w, g := range got {
		if _, ok := want[w]; !ok && w.Key != closer {
			t.Fatalf("%s: unexpected window %v = %+v", desc, w, g)
		}
	}
}

// closer is the key of the far-future record that closes every window.
const closer = "~close"

func randomRuns(rng *rand.Rand, keys int, maxLen int64) []run {
	runs := make([]run, keys)
	for i := range runs {
		lo := rng.Int64N(200)
		runs[i] = run{key: fmt.Sprint("k", i), lo: lo, hi: lo + rng.Int64N(maxLen)}
	}
	return runs
}

func statsAggregate[K any](init func() stats) func(K, int64, stats) stats {
	return func(_ K, v int64, s stats) stats { return s.add(v) }
}

func TestTimeWindowsClosedForm(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 12))
		size := 1 + rng.Int64N(50)
		advance := 1 + rng.Int64N(size)
		if seed%4 == 0 {
			advance = size // tumbling
		}
		grace := rng.Int64N(30)
		runs := randomRuns(rng, 1+rng.IntN(4), 300)
		desc := fmt.Sprintf("seed %d: size %d advance %d grace %d", seed, size, advance, grace)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			var opts []testdriver.Option
			if seed%2 == 0 {
				opts = append(opts, testdriver.WithPebbleStores())
			}
			windows := dsl.TimeWindowsOfSizeAndGrace(time.Duration(size)*time.Millisecond, time.Duration(grace)*time.Millisecond).
				AdvanceBy(time.Duration(advance) * time.Millisecond)
			b := dsl.NewBuilder()
			grouped := dsl.Stream(b, "in", serde.String, serde.Int64).GroupByKey()
			dsl.WindowedBy(grouped, windows).
				Aggregate(func() stats { return stats{} }, statsAggregate[string](nil), dsl.MaterializedWith[string, stats](nil, serde.JSON[stats]())).
				ToStream().To("stats")
			dsl.WindowedBy(grouped, windows).Count().ToStream().To("counts")
			td := newDriver(t, b, opts...)
			in := testdriver.InputTopic(td, "in", serde.String, serde.Int64)
			in.PipeRecordList(arrivals(rng, runs, grace))
			far := int64(1_000_000)
			in.PipeRecord(at(closer, far, far))

			want := map[dsl.Windowed[string]]stats{}
			for _, r := range runs {
				for s := max(0, r.lo-size+advance) / advance * advance; s <= r.hi; s += advance {
					if s+size <= r.lo {
						continue
					}
					want[dsl.Windowed[string]{Key: r.key, Start: s, End: s + size}] = span(max(r.lo, s), min(r.hi, s+size-1))
				}
			}
			ws := serde.TimeWindowed(serde.String, time.Duration(size)*time.Millisecond)
			compareWindows(t, desc, final(testdriver.OutputTopic(td, "stats", ws, serde.JSON[stats]())), want)
			counts := testdriver.ReadKeyValuesToMap(testdriver.OutputTopic(td, "counts", ws, serde.Int64))
			for w, s := range want {
				if counts[w] != s.Count {
					t.Fatalf("%s: Count of %v = %d, want %d", desc, w, counts[w], s.Count)
				}
			}
			expectDropped(t, td, map[string]int64{})
		})
	}
}

func TestSlidingWindowsClosedForm(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 34))
		diff := rng.Int64N(40)
		grace := rng.Int64N(30)
		runs := randomRuns(rng, 1+rng.IntN(4), 200)
		desc := fmt.Sprintf("seed %d: difference %d grace %d", seed, diff, grace)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			var opts []testdriver.Option
			if seed%2 == 0 {
				opts = append(opts, testdriver.WithPebbleStores())
			}
			b := dsl.NewBuilder()
			dsl.WindowedBySliding(dsl.Stream(b, "in", serde.String, serde.Int64).GroupByKey(),
				dsl.SlidingWindowsOfTimeDifferenceAndGrace(time.Duration(diff)*time.Millisecond, time.Duration(grace)*time.Millisecond)).
				Aggregate(func() stats { return stats{} }, statsAggregate[string](nil), dsl.MaterializedWith[string, stats](nil, serde.JSON[stats]())).
				ToStream().To("stats")
			td := newDriver(t, b, opts...)
			in := testdriver.InputTopic(td, "in", serde.String, serde.Int64)
			in.PipeRecordList(arrivals(rng, runs, grace))
			in.PipeRecord(at(closer, int64(1_000_000), 1_000_000))

			// The windows Kafka Streams keeps: each record's left window
			// [t-d, t] (records before d share [0, d]) and, when later
			// records are within d, its right window [t+1, t+1+d].
			want := map[dsl.Windowed[string]]stats{}
			win := func(k string, s, e, lo, hi int64) {
				want[dsl.Windowed[string]{Key: k, Start: s, End: e}] = span(max(lo, s), min(hi, e))
			}
			for _, r := range runs {
				for v := r.lo; v <= r.hi; v++ {
					if v <= diff {
						win(r.key, 0, diff, r.lo, r.hi)
					} else {
						win(r.key, v-diff, v, r.lo, r.hi)
					}
					if v < r.hi {
						win(r.key, v+1, v+1+diff, r.lo, r.hi)
					}
				}
			}
			compareWindows(t, desc, final(testdriver.OutputTopic(td, "stats", serde.TimeWindowed(serde.String, time.Duration(diff)*time.Millisecond), serde.JSON[stats]())), want)
			expectDropped(t, td, map[string]int64{})
		})
	}
}

func TestSessionWindowsClosedForm(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 56))
		gap := 1 + rng.Int64N(20)
		grace := rng.Int64N(30)
		// Per key, runs separated by more than the gap: one session each.
		var runs []run
		for k := 0; k < 1+rng.IntN(4); k++ {
			next := rng.Int64N(50)
			for i := 0; i < 1+rng.IntN(4); i++ {
				lo := next
				hi := lo + rng.Int64N(60)
				runs = append(runs, run{key: fmt.Sprint("k", k), lo: lo, hi: hi})
				next = hi + gap + 1 + rng.Int64N(30)
			}
		}
		desc := fmt.Sprintf("seed %d: gap %d grace %d", seed, gap, grace)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			var opts []testdriver.Option
			if seed%2 == 0 {
				opts = append(opts, testdriver.WithPebbleStores())
			}
			b := dsl.NewBuilder()
			grouped := dsl.Stream(b, "in", serde.String, serde.Int64).GroupByKey()
			sessions := dsl.SessionWindowsOfInactivityGapAndGrace(time.Duration(gap)*time.Millisecond, time.Duration(grace)*time.Millisecond)
			dsl.WindowedBySession(grouped, sessions).
				Aggregate(func() stats { return stats{} }, statsAggregate[string](nil),
					func(_ string, a, b stats) stats {
						if a.Count == 0 {
							return b
						}
						return a.merge(b)
					},
					dsl.MaterializedWith[string, stats](nil, serde.JSON[stats]())).
				ToStream().To("stats")
			dsl.WindowedBySession(grouped, sessions).Count().ToStream().To("counts")
			td := newDriver(t, b, opts...)
			in := testdriver.InputTopic(td, "in", serde.String, serde.Int64)
			in.PipeRecordList(arrivals(rng, runs, grace))
			in.PipeRecord(at(closer, int64(1_000_000), 1_000_000))

			want := map[dsl.Windowed[string]]stats{}
			for _, r := range runs {
				want[dsl.Windowed[string]{Key: r.key, Start: r.lo, End: r.hi}] = span(r.lo, r.hi)
			}
			ss := serde.SessionWindowed(serde.String)
			compareWindows(t, desc, final(testdriver.OutputTopic(td, "stats", ss, serde.JSON[stats]())), want)
			counts := testdriver.ReadKeyValuesToMap(testdriver.OutputTopic(td, "counts", ss, serde.Int64))
			for w, s := range want {
				if counts[w] != s.Count {
					t.Fatalf("%s: Count of %v = %d, want %d", desc, w, counts[w], s.Count)
				}
			}
			if len(counts) != len(want)+1 {
				t.Fatalf("%s: %d sessions counted, want %d: %v", desc, len(counts), len(want)+1, counts)
			}
			expectDropped(t, td, map[string]int64{})
		})
	}
}
