package dsl_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// With EmitStrategyOnWindowClose a window emits once, its final count,
// when stream time reaches its end plus grace, stamped with its latest
// record, and nothing before.
func TestEmitOnWindowClose(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		dsl.WindowedBy(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
			dsl.TimeWindowsOfSizeAndGrace(10*time.Millisecond, 5*time.Millisecond)).
			EmitStrategy(dsl.EmitStrategyOnWindowClose()).
			Count(dsl.MaterializedAs[string, int64]("final")).
			ToStream().To("out")
		td := newDriver(t, b, opts...)
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64)
		in.PipeRecordList([]processor.Record[string, string]{at("a", "x", 1), at("b", "x", 2), at("a", "x", 8), at("a", "x", 14)})
		expect(t, out)                                        // [0,10) closes at 15
		in.PipeRecord(at("a", "x", 9, header("h", "closer"))) // still on time
		expect(t, out)
		in.PipeRecord(at("c", "x", 15, header("h", "at-15")))
		expect(t, out, "[a@0/10]:3@9 h=at-15", "[b@0/10]:1@2 h=at-15")
		in.PipeRecord(at("a", "x", 3)) // late
		in.PipeRecord(at("a", "x", 40))
		expect(t, out, "[a@10/20]:1@14", "[c@10/20]:1@15")
		expectDropped(t, td, map[string]int64{"late-record": 1})
	})
}

// Every window emits exactly once across crashes: the last emitted close
// time is restored with the stores.
func TestEmitOnWindowCloseAcrossCrashes(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 78))
			var opts []testdriver.Option
			if seed%2 == 0 {
				opts = append(opts, testdriver.WithPebbleStores())
			}
			size, grace := 1+rng.Int64N(20), rng.Int64N(10)
			b := dsl.NewBuilder()
			dsl.WindowedBy(dsl.Stream(b, "in", serde.String, serde.Int64).GroupByKey(),
				dsl.TimeWindowsOfSizeAndGrace(time.Duration(size)*time.Millisecond, time.Duration(grace)*time.Millisecond)).
				EmitStrategy(dsl.EmitStrategyOnWindowClose()).
				Aggregate(func() stats { return stats{} }, statsAggregate[string](nil), dsl.MaterializedWith[string, stats](nil, serde.JSON[stats]())).
				ToStream().To("out")
			td := newDriver(t, b, append(opts, testdriver.WithCommitEvery(1+rng.IntN(5)))...)
			in := testdriver.InputTopic(td, "in", serde.String, serde.Int64)
			runs := randomRuns(rng, 1+rng.IntN(3), 150)
			for i, r := range arrivals(rng, runs, grace) {
				in.PipeRecord(r)
				if i%17 == 16 {
					td.Crash()
				}
			}
			in.PipeRecord(at(closer, int64(1_000_000), 1_000_000))
			td.Commit()
			out := testdriver.OutputTopic(td, "out", serde.TimeWindowed(serde.String, time.Duration(size)*time.Millisecond), serde.JSON[stats]())
			seen := map[dsl.Windowed[string]]stats{}
			for _, r := range out.ReadRecordsToList() {
				if prev, dup := seen[r.Key]; dup {
					t.Fatalf("window %v emitted twice: %+v then %+v", r.Key, prev, r.Value)
				}
				seen[r.Key] = r.Value
			}
			want := map[dsl.Windowed[string]]stats{}
			for _, r := range runs {
				for s := max(0, r.lo-size+1) / size * size; s <= r.hi; s += size {
					if s+size <= r.lo {
						continue
					}
					want[dsl.Windowed[string]{Key: r.key, Start: s, End: s + size}] = span(max(r.lo, s), min(r.hi, s+size-1))
				}
			}
			compareWindows(t, fmt.Sprintf("seed %d: size %d grace %d", seed, size, grace), seen, want)
		})
	}
}

// Sliding windows emit on close too, once each, once stream time passes
// their (included) end plus grace.
func TestSlidingEmitOnWindowClose(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.WindowedBySliding(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
		dsl.SlidingWindowsOfTimeDifferenceWithNoGrace(10*time.Millisecond)).
		EmitStrategy(dsl.EmitStrategyOnWindowClose()).
		Count().ToStream().To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64)
	in.PipeRecordList([]processor.Record[string, string]{at("k", "x", 20), at("k", "x", 30)})
	// [10,20] closes once stream time passes 20.
	expect(t, out, "[k@10/20]:1@20")
	in.PipeRecord(at("k", "x", 31))
	expect(t, out, "[k@20/30]:2@30")
	in.PipeRecord(at("k", "x", 100))
	// 30's right window [31,41] holds 31.
	expect(t, out, "[k@21/31]:2@31", "[k@31/41]:1@31")
}

// Sessions emit on close too: each final session once, stamped with its
// end; a session merged away before it closed is never emitted.
func TestSessionEmitOnWindowClose(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		dsl.WindowedBySession(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
			dsl.SessionWindowsOfInactivityGapAndGrace(5*time.Millisecond, 10*time.Millisecond)).
			EmitStrategy(dsl.EmitStrategyOnWindowClose()).
			Count(dsl.MaterializedAs[string, int64]("sessions")).
			ToStream().To("out")
		td := newDriver(t, b, append(opts, testdriver.WithCommitEvery(2))...)
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.SessionWindowed(serde.String), serde.Int64)
		in.PipeRecordList([]processor.Record[string, string]{at("u", "x", 0), at("u", "x", 10), at("u", "x", 5), at("v", "x", 20)})
		td.Commit()
		expect(t, out) // [0,10] closes once stream time passes 20
		in.PipeRecord(at("v", "x", 21))
		td.Crash()
		in.PipeRecord(at("w", "x", 40))
		td.Commit()
		expect(t, out, "[u@0/10]:3@10", "[v@20/21]:2@21")
	})
}
