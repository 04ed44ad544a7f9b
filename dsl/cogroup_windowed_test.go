package dsl_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// A windowed cogroup of two streams is the windowed aggregation of their
// merge: the same updates, deletes of merged sessions, timestamps and late
// drops, record for record, for each kind of window, over random streams
// (out of order, some records late) from many seeds.
func TestCogroupWindowsAsMerge(t *testing.T) {
	const ms = time.Millisecond
	add := func(_ string, a, agg activity) activity {
		agg.Clicks += a.Clicks
		agg.Spent += a.Spent
		return agg
	}
	sum := func(k string, a, b activity) activity { return add(k, a, b) }
	zero := func() activity { return activity{} }
	kinds := []struct {
		name string
		// cogroup and merged build the same windows over c, or over g,
		// the merged streams grouped.
		cogroup func(c dsl.CogroupedKStream[string, activity], size, grace time.Duration) dsl.KTable[dsl.Windowed[string], activity]
		merged  func(g dsl.KGroupedStream[string, activity], size, grace time.Duration) dsl.KTable[dsl.Windowed[string], activity]
		keys    func(size time.Duration) serde.Serde[dsl.Windowed[string]]
	}{
		{"hopping",
			func(c dsl.CogroupedKStream[string, activity], size, grace time.Duration) dsl.KTable[dsl.Windowed[string], activity] {
				return c.WindowedBy(dsl.TimeWindowsOfSizeAndGrace(size, grace).AdvanceBy(max(ms, size/3))).Aggregate(zero, dsl.MaterializedWith(serde.String, activitySerde))
			},
			func(g dsl.KGroupedStream[string, activity], size, grace time.Duration) dsl.KTable[dsl.Windowed[string], activity] {
				return dsl.WindowedBy(g, dsl.TimeWindowsOfSizeAndGrace(size, grace).AdvanceBy(max(ms, size/3))).Aggregate(zero, add, dsl.MaterializedWith(serde.String, activitySerde))
			},
			func(size time.Duration) serde.Serde[dsl.Windowed[string]] {
				return serde.TimeWindowed(serde.String, size)
			},
		},
		{"sliding",
			func(c dsl.CogroupedKStream[string, activity], size, grace time.Duration) dsl.KTable[dsl.Windowed[string], activity] {
				return c.WindowedBySliding(dsl.SlidingWindowsOfTimeDifferenceAndGrace(size, grace)).Aggregate(zero, dsl.MaterializedWith(serde.String, activitySerde))
			},
			func(g dsl.KGroupedStream[string, activity], size, grace time.Duration) dsl.KTable[dsl.Windowed[string], activity] {
				return dsl.WindowedBySliding(g, dsl.SlidingWindowsOfTimeDifferenceAndGrace(size, grace)).Aggregate(zero, add, dsl.MaterializedWith(serde.String, activitySerde))
			},
			func(size time.Duration) serde.Serde[dsl.Windowed[string]] {
				return serde.TimeWindowed(serde.String, size)
			},
		},
		{"session",
			func(c dsl.CogroupedKStream[string, activity], size, grace time.Duration) dsl.KTable[dsl.Windowed[string], activity] {
				return c.WindowedBySession(dsl.SessionWindowsOfInactivityGapAndGrace(size, grace)).Aggregate(zero, sum, dsl.MaterializedWith(serde.String, activitySerde))
			},
			func(g dsl.KGroupedStream[string, activity], size, grace time.Duration) dsl.KTable[dsl.Windowed[string], activity] {
				return dsl.WindowedBySession(g, dsl.SessionWindowsOfInactivityGapAndGrace(size, grace)).Aggregate(zero, add, sum, dsl.MaterializedWith(serde.String, activitySerde))
			},
			func(time.Duration) serde.Serde[dsl.Windowed[string]] { return serde.SessionWindowed(serde.String) },
		},
	}
	for _, kind := range kinds {
		for seed := uint64(1); seed <= 20; seed++ {
			t.Run(fmt.Sprintf("%s/%d", kind.name, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 13))
				size := time.Duration(1+rng.IntN(20)) * ms
				grace := time.Duration(rng.IntN(10)) * ms
				type rec struct {
					login bool
					key   string
					v     int64
					ts    int64
				}
				var recs []rec
				now := int64(0)
				for range 200 {
					now += rng.Int64N(4)
					// Mostly in order, some within the grace period, a few
					// beyond it: late.
					ts := now - rng.Int64N(int64(grace/ms)+1)
					if rng.IntN(20) == 0 {
						ts = now - int64(size/ms) - int64(grace/ms) - rng.Int64N(10)
					}
					recs = append(recs, rec{rng.IntN(2) == 0, fmt.Sprint("k", rng.IntN(4)), 1 + rng.Int64N(100), max(0, ts)})
				}
				run := func(build func(b *dsl.Builder) dsl.KTable[dsl.Windowed[string], activity]) ([]string, map[string]int64) {
					b := dsl.NewBuilder()
					build(b).ToStream().To("out", dsl.ProducedWith(kind.keys(size), activitySerde))
					td := newDriver(t, b)
					logins := testdriver.InputTopic(td, "logins", serde.String, serde.String)
					trades := testdriver.InputTopic(td, "trades", serde.String, serde.Int64)
					for _, r := range recs {
						if r.login {
							logins.PipeRecord(at(r.key, "ip", r.ts))
						} else {
							trades.PipeRecord(at(r.key, r.v, r.ts))
						}
					}
					return read(testdriver.OutputTopic(td, "out", kind.keys(size), activitySerde)), td.DroppedRecords()
				}
				got, gotDrops := run(func(b *dsl.Builder) dsl.KTable[dsl.Windowed[string], activity] {
					logins := dsl.Stream(b, "logins", serde.String, serde.String).GroupByKey()
					trades := dsl.Stream(b, "trades", serde.String, serde.Int64).GroupByKey()
					return kind.cogroup(dsl.Cogroup(logins, func(_ string, _ string, a activity) activity { a.Clicks++; return a }).
						Cogroup(trades, func(_ string, v int64, a activity) activity { a.Spent += v; return a }), size, grace)
				})
				want, wantDrops := run(func(b *dsl.Builder) dsl.KTable[dsl.Windowed[string], activity] {
					logins := dsl.Stream(b, "logins", serde.String, serde.String).
						MapValues(func(string) activity { return activity{Clicks: 1} })
					trades := dsl.Stream(b, "trades", serde.String, serde.Int64).
						MapValues(func(v int64) activity { return activity{Spent: v} })
					return kind.merged(logins.Merge(trades).GroupByKey(dsl.GroupedWith(serde.String, activitySerde)), size, grace)
				})
				if len(want) < 20 {
					t.Fatalf("the merged aggregation wrote %d records: %q", len(want), want)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("size %v grace %v:\ncogroup %q\n merged %q", size, grace, got, want)
				}
				if !maps.Equal(gotDrops, wantDrops) {
					t.Fatalf("drops: cogroup %v, merged %v", gotDrops, wantDrops)
				}
			})
		}
	}
}

// A windowed cogroup's table can be suppressed to its final results, each
// window (session) once it closed.
func TestCogroupWindowedSuppress(t *testing.T) {
	for _, sliding := range []bool{false, true} {
		b := dsl.NewBuilder()
		logins := dsl.Stream(b, "logins", serde.String, serde.String).GroupByKey()
		trades := dsl.Stream(b, "trades", serde.String, serde.Int64).GroupByKey()
		c := dsl.Cogroup(logins, func(_ string, _ string, n int64) int64 { return n + 1 }).
			Cogroup(trades, func(_ string, v int64, n int64) int64 { return n + v })
		var table dsl.KTable[dsl.Windowed[string], int64]
		if sliding {
			table = c.WindowedBySliding(dsl.SlidingWindowsOfTimeDifferenceAndGrace(10*time.Millisecond, 2*time.Millisecond)).
				Aggregate(func() int64 { return 0 }, dsl.MaterializedWith(serde.String, serde.Int64))
		} else {
			table = c.WindowedBySession(dsl.SessionWindowsOfInactivityGapAndGrace(10*time.Millisecond, 2*time.Millisecond)).
				Aggregate(func() int64 { return 0 }, func(_ string, a, b int64) int64 { return a + b }, dsl.MaterializedWith(serde.String, serde.Int64))
		}
		table.Suppress(dsl.UntilWindowCloses[dsl.Windowed[string]](dsl.Unbounded())).ToStream().To("final")
		td := newDriver(t, b)
		l := testdriver.InputTopic(td, "logins", serde.String, serde.String)
		tr := testdriver.InputTopic(td, "trades", serde.String, serde.Int64)
		keys := serde.SessionWindowed(serde.String)
		if sliding {
			keys = serde.TimeWindowed(serde.String, 10*time.Millisecond)
		}
		out := testdriver.OutputTopic(td, "final", keys, serde.Int64)
		l.PipeRecord(at("p", "ip", 0))
		tr.PipeRecord(at("p", int64(5), 4))
		// The session [0,4] and the sliding windows [0,10] and [1,11]
		// (the login's right window, holding the trade) close 2ms and one
		// more after their ends, by 14.
		tr.PipeRecord(at("q", int64(1), 16))
		if sliding {
			expect(t, out, "[p@0/10]:6@4", "[p@1/11]:5@4")
		} else {
			expect(t, out, "[p@0/4]:6@4")
		}
	}
}
