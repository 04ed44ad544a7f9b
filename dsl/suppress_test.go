package dsl_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// Suppress(UntilWindowCloses) emits one final count per window and key,
// once stream time reaches the window's end plus grace, and nothing before.
func TestSuppressUntilWindowCloses(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		dsl.WindowedBy(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
			dsl.TimeWindowsOfSizeAndGrace(10*time.Millisecond, 5*time.Millisecond)).
			Count().
			Suppress(dsl.UntilWindowCloses[dsl.Windowed[string]](dsl.Unbounded())).
			ToStream().To("out")
		td := newDriver(t, b, opts...)
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64)
		in.PipeRecordList([]processor.Record[string, string]{at("a", "x", 1), at("b", "x", 2), at("a", "x", 8), at("a", "x", 14), at("a", "x", 9)})
		expect(t, out)
		in.PipeRecord(at("c", "x", 15))
		expect(t, out, "[a@0/10]:3@9", "[b@0/10]:1@2")
		in.PipeRecord(at("c", "x", 100))
		expect(t, out, "[a@10/20]:1@14", "[c@10/20]:1@15")
	})
}

// A suppressed session table emits each final session once; sessions
// merged away before they closed are not results.
func TestSuppressSessions(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.WindowedBySession(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
		dsl.SessionWindowsOfInactivityGapAndGrace(5*time.Millisecond, 20*time.Millisecond)).
		Count().
		Suppress(dsl.UntilWindowCloses[dsl.Windowed[string]](dsl.Unbounded())).
		ToStream().To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.SessionWindowed(serde.String), serde.Int64)
	in.PipeRecordList([]processor.Record[string, string]{at("u", "x", 0), at("u", "x", 10), at("u", "x", 5), at("v", "x", 30)})
	expect(t, out) // [0,10] closes after 10+20
	in.PipeRecord(at("v", "x", 31))
	expect(t, out, "[u@0/10]:3@10")
}

// Final results are emitted exactly once across crashes, the buffer being
// restored from its changelog: a closed-form count over random windows.
// Each result comes once stream time reached its window's close, never
// before; and a record late before a crash is late after it too (else it
// would update a closed window, and the suppression emit it again): each
// crash is followed by one, of a key counted, which must be dropped.
func TestSuppressAcrossCrashes(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 91))
			var opts []testdriver.Option
			if seed%2 == 0 {
				opts = append(opts, testdriver.WithPebbleStores())
			}
			size, grace := 1+rng.Int64N(20), rng.Int64N(10)
			b := dsl.NewBuilder()
			dsl.WindowedBy(dsl.Stream(b, "in", serde.String, serde.Int64).GroupByKey(),
				dsl.TimeWindowsOfSizeAndGrace(time.Duration(size)*time.Millisecond, time.Duration(grace)*time.Millisecond)).
				Aggregate(func() stats { return stats{} }, statsAggregate[string](nil), dsl.MaterializedWith[string, stats](nil, serde.JSON[stats]())).
				Suppress(dsl.UntilWindowCloses[dsl.Windowed[string]](dsl.Unbounded())).
				ToStream().To("out")
			td := newDriver(t, b, append(opts, testdriver.WithCommitEvery(1+rng.IntN(5)))...)
			in := testdriver.InputTopic(td, "in", serde.String, serde.Int64)
			out := testdriver.OutputTopic(td, "out", serde.TimeWindowed(serde.String, time.Duration(size)*time.Millisecond), serde.JSON[stats]())
			seen := map[dsl.Windowed[string]]stats{}
			streamTime, late := int64(-1), int64(0)
			collect := func() {
				t.Helper()
				for _, r := range out.ReadRecordsToList() {
					if prev, dup := seen[r.Key]; dup {
						t.Fatalf("window %v emitted twice: %+v then %+v", r.Key, prev, r.Value)
					}
					if r.Key.End+grace > streamTime {
						t.Fatalf("window %v (grace %d) emitted at stream time %d, before it closed", r.Key, grace, streamTime)
					}
					seen[r.Key] = r.Value
				}
			}
			pipe := func(r processor.Record[string, int64]) {
				t.Helper()
				in.PipeRecord(r)
				streamTime = max(streamTime, r.Timestamp)
				collect()
			}
			runs := randomRuns(rng, 1+rng.IntN(3), 150)
			for i, r := range arrivals(rng, runs, grace) {
				pipe(r)
				if i%13 != 12 {
					continue
				}
				if i%2 == 0 {
					td.Crash()
				} else {
					td.CrashLosingState()
				}
				// A window closes at end+grace: one that ended by
				// stream time - grace took its last record.
				if ts := streamTime - grace - size; ts >= 0 {
					pipe(at(runs[0].key, ts, ts))
					late++
				}
			}
			pipe(at(closer, int64(1_000_000), 1_000_000))
			td.Commit()
			collect()
			want := map[dsl.Windowed[string]]stats{}
			for _, r := range runs {
				for s := r.lo / size * size; s <= r.hi; s += size {
					want[dsl.Windowed[string]{Key: r.key, Start: s, End: s + size}] = span(max(r.lo, s), min(r.hi, s+size-1))
				}
			}
			compareWindows(t, fmt.Sprintf("seed %d: size %d grace %d", seed, size, grace), seen, want)
			if got := td.DroppedRecords()[processor.DropLateRecord]; got != late {
				t.Fatalf("%d late records dropped, want %d", got, late)
			}
		})
	}
}

// UntilTimeLimit emits a key's latest update once the limit has passed
// since its first held-back update, in stream time; on any table.
func TestSuppressUntilTimeLimit(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).GroupByKey().Count().
		Suppress(dsl.UntilTimeLimit[string](10*time.Millisecond, dsl.Unbounded())).
		ToStream().To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)
	in.PipeRecordList([]processor.Record[string, string]{at("a", "x", 0), at("a", "x", 5), at("b", "x", 6)})
	expect(t, out)
	in.PipeRecord(at("a", "x", 10)) // a's first update was at 0
	expect(t, out, "a:3@10")
	in.PipeRecord(at("c", "x", 16))
	expect(t, out, "b:1@6")
}

// A bounded buffer that may emit early does when full; one that must not
// stops the task.
func TestSuppressBufferFull(t *testing.T) {
	var td *testdriver.Driver
	build := func(buffer dsl.BufferConfig) (*testdriver.TestInputTopic[string, string], *testdriver.TestOutputTopic[string, int64]) {
		b := dsl.NewBuilder()
		dsl.Stream(b, "in", serde.String, serde.String).GroupByKey().Count().
			Suppress(dsl.UntilTimeLimit[string](time.Hour, buffer)).
			ToStream().To("out")
		td = newDriver(t, b)
		return testdriver.InputTopic(td, "in", serde.String, serde.String), testdriver.OutputTopic(td, "out", serde.String, serde.Int64)
	}
	in, out := build(dsl.MaxRecords(2))
	in.PipeRecordList([]processor.Record[string, string]{at("a", "x", 1), at("b", "x", 2), at("a", "x", 3), at("c", "x", 4)})
	expect(t, out, "a:2@3")

	// A restored buffer counts what it holds.
	in, out = build(dsl.MaxRecords(2))
	in.PipeRecordList([]processor.Record[string, string]{at("a", "x", 1), at("b", "x", 2)})
	td.CrashLosingState()
	in.PipeRecord(at("c", "x", 3))
	expect(t, out, "a:1@1")

	// Bytes count each held key and its entry: a one-byte key and a count
	// take 30 (21 bytes of entry header), so 60 holds two.
	in, out = build(dsl.MaxBytes(60))
	in.PipeRecordList([]processor.Record[string, string]{at("a", "x", 1), at("b", "x", 2)})
	expect(t, out)
	in.PipeRecord(at("c", "x", 3))
	expect(t, out, "a:1@1")
	in, _ = build(dsl.MaxBytes(60).ShutDownWhenFull())
	in.PipeRecordList([]processor.Record[string, string]{at("a", "x", 1), at("b", "x", 2)})
	if err := in.TryPipeRecord(at("c", "x", 3)); err == nil || !strings.Contains(err.Error(), "is full (3 records, 90 bytes") {
		t.Fatalf("full buffer: %v", err)
	}

	in, _ = build(dsl.MaxRecords(2).ShutDownWhenFull())
	in.PipeRecordList([]processor.Record[string, string]{at("a", "x", 1), at("b", "x", 2)})
	if err := in.TryPipeRecord(at("c", "x", 3)); err == nil || !strings.Contains(err.Error(), "is full (3 records") {
		t.Fatalf("full buffer: %v", err)
	}
}

func TestSuppressBuildErrors(t *testing.T) {
	b := dsl.NewBuilder()
	counts := dsl.Stream(b, "in", serde.String, serde.String).GroupByKey().Count()
	counts.Suppress(dsl.UntilWindowCloses[string](dsl.Unbounded()))
	dsl.WindowedBy(dsl.Stream(b, "in2", serde.String, serde.String).GroupByKey(), dsl.TimeWindowsOfSizeWithNoGrace(time.Second)).
		Count().Suppress(dsl.UntilWindowCloses[dsl.Windowed[string]](dsl.MaxRecords(10)))
	_, err := b.Build()
	for _, want := range []string{"UntilWindowCloses needs the table of a windowed aggregation", "UntilWindowCloses needs a buffer that never emits early"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Build() = %v, want an error containing %q", err, want)
		}
	}
}
