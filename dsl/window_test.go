package dsl_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/testdriver"
)

// windowedCount builds in → group by key → windows → count → "out", with
// the windowed keys written by the time-windowed serde of size.
func windowedCount(t *testing.T, w dsl.TimeWindows, opts ...testdriver.Option) (*testdriver.Driver, *testdriver.TestInputTopic[string, string], *testdriver.TestOutputTopic[dsl.Windowed[string], int64]) {
	t.Helper()
	b := dsl.NewBuilder()
	dsl.WindowedBy(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(), w).
		Count(dsl.MaterializedAs[string, int64]("counts")).
		ToStream().
		To("out")
	td := newDriver(t, b, opts...)
	return td, testdriver.InputTopic(td, "in", serde.String, serde.String),
		testdriver.OutputTopic(td, "out", serde.TimeWindowed(serde.String, w.Size()), serde.Int64)
}

// Windows include their start and exclude their end; each update carries
// the largest timestamp of the records in its window.
func TestTumblingWindowBoundaries(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		td, in, out := windowedCount(t, dsl.TimeWindowsOfSizeWithNoGrace(time.Second), opts...)
		in.PipeRecordList([]processor.Record[string, string]{
			at("a", "x", 0), at("a", "x", 999), at("a", "x", 1000), at("b", "x", 1999), at("a", "x", 500),
		})
		// The last record is late: stream time 1999 closed [0, 1000).
		expect(t, out, "[a@0/1000]:1@0", "[a@0/1000]:2@999", "[a@1000/2000]:1@1000", "[b@1000/2000]:1@1999")
		expectDropped(t, td, map[string]int64{"late-record": 1})
	})
}

// A hopping window of size 10 advancing by 5 holds each record twice.
func TestHoppingWindowMembership(t *testing.T) {
	_, in, out := windowedCount(t, dsl.TimeWindowsOfSizeAndGrace(10*time.Millisecond, time.Hour).AdvanceBy(5*time.Millisecond))
	in.PipeRecordList([]processor.Record[string, string]{at("k", "x", 0), at("k", "x", 7), at("k", "x", 12), at("k", "x", 4)})
	expect(t, out,
		"[k@0/10]:1@0",
		"[k@0/10]:2@7", "[k@5/15]:1@7",
		"[k@5/15]:2@12", "[k@10/20]:1@12",
		// Out of order but within grace: the windows keep the later
		// timestamp.
		"[k@0/10]:3@7",
	)
}

// A record is accepted until stream time reaches its window's end plus
// the grace period, and dropped (and counted) from then on.
func TestWindowGrace(t *testing.T) {
	td, in, out := windowedCount(t, dsl.TimeWindowsOfSizeAndGrace(10*time.Millisecond, 5*time.Millisecond))
	in.PipeRecordList([]processor.Record[string, string]{
		at("k", "x", 5),
		at("k", "x", 14), // stream time 14: [0,10) closes at 15
		at("k", "x", 9),  // accepted
		at("k", "x", 15), // closes [0,10)
		at("k", "x", 9),  // late
		at("j", "x", 0),  // late too: closing is by stream time, not per key
	})
	expect(t, out, "[k@0/10]:1@5", "[k@10/20]:1@14", "[k@0/10]:2@9", "[k@10/20]:2@15")
	expectDropped(t, td, map[string]int64{"late-record": 2})
}

// The output topic holds Kafka Streams' windowed keys: key bytes, then the
// window start as a big-endian long.
func TestWindowedOutputBytes(t *testing.T) {
	td, in, _ := windowedCount(t, dsl.TimeWindowsOfSizeWithNoGrace(time.Minute))
	in.PipeRecord(at("user", "x", 61_000))
	raw := testdriver.OutputTopic(td, "out", serde.Bytes, serde.Bytes).ReadRecord()
	want := append([]byte("user"), binary.BigEndian.AppendUint64(nil, 60_000)...)
	if !bytes.Equal(raw.Key, want) || !bytes.Equal(raw.Value, binary.BigEndian.AppendUint64(nil, 1)) {
		t.Fatalf("key % x value % x, want key % x value 1", raw.Key, raw.Value, want)
	}
}

func TestWindowedReduceAndAggregate(t *testing.T) {
	b := dsl.NewBuilder()
	grouped := dsl.Stream(b, "in", serde.String, serde.Int64).GroupByKey()
	w := dsl.TimeWindowsOfSizeWithNoGrace(10 * time.Millisecond)
	dsl.WindowedBy(grouped, w).Reduce(func(a, v int64) int64 { return a + v }).ToStream().To("sums")
	dsl.WindowedBy(grouped, w).
		Aggregate(func() string { return "" }, func(_ string, v int64, agg string) string { return agg + string(rune('a'+v)) },
			dsl.MaterializedWith[string, string](nil, serde.String)).
		ToStream().To("letters")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.Int64)
	in.PipeRecordList([]processor.Record[string, int64]{at("k", int64(1), 1), at("k", int64(2), 2), at("k", int64(3), 11)})
	expect(t, testdriver.OutputTopic(td, "sums", serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64),
		"[k@0/10]:1@1", "[k@0/10]:3@2", "[k@10/20]:3@11")
	expect(t, testdriver.OutputTopic(td, "letters", serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.String),
		"[k@0/10]:b@1", "[k@0/10]:bc@2", "[k@10/20]:d@11")
}

// Records with a null key or value are dropped before windowing.
func TestWindowedNulls(t *testing.T) {
	td, in, out := windowedCount(t, dsl.TimeWindowsOfSizeWithNoGrace(time.Second))
	in.PipeRecordList([]processor.Record[string, string]{keyless[string]("x", 1), tombstone[string, string]("a", 2), at("a", "x", 3)})
	expect(t, out, "[a@0/1000]:1@3")
	expectDropped(t, td, map[string]int64{"null-key": 1, "null-value": 1})
}

// GroupBy before windowing reads through a repartition topic.
func TestWindowedAfterGroupBy(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.WindowedBy(dsl.Stream(b, "in", serde.String, serde.String).
		GroupBy(func(_, v string) string { return v }, dsl.GroupedWith(serde.String, serde.String)),
		dsl.TimeWindowsOfSizeWithNoGrace(time.Second)).
		Count(dsl.MaterializedAs[string, int64]("by-value")).
		ToStream().To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if d := topo.Describe().String(); !strings.Contains(d, "by-value-repartition") {
		t.Fatalf("no repartition topic:\n%s", d)
	}
	td := testdriver.New(t, topo, testdriver.WithWallClock(epoch))
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	in.PipeRecordList([]processor.Record[string, string]{at("1", "red", 5), at("2", "red", 6), at("3", "blue", 7)})
	expect(t, testdriver.OutputTopic(td, "out", serde.TimeWindowed(serde.String, time.Second), serde.Int64),
		"[red@0/1000]:1@5", "[red@0/1000]:2@6", "[blue@0/1000]:1@7")
}

func TestWindowedBuildErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(g dsl.KGroupedStream[string, string])
		want  string
	}{
		{"zero size", func(g dsl.KGroupedStream[string, string]) {
			dsl.WindowedBy(g, dsl.TimeWindowsOfSizeWithNoGrace(0)).Count()
		}, "time window size 0s must be at least a millisecond"},
		{"advance over size", func(g dsl.KGroupedStream[string, string]) {
			dsl.WindowedBy(g, dsl.TimeWindowsOfSizeWithNoGrace(time.Second).AdvanceBy(2*time.Second)).Count()
		}, "time window advance 2s must be at least a millisecond and at most the size 1s"},
		{"negative grace", func(g dsl.KGroupedStream[string, string]) {
			dsl.WindowedBySession(g, dsl.SessionWindowsOfInactivityGapAndGrace(time.Second, -1)).Count()
		}, "session window grace period -1ns must not be negative"},
		{"short retention", func(g dsl.KGroupedStream[string, string]) {
			dsl.WindowedBy(g, dsl.TimeWindowsOfSizeAndGrace(time.Minute, time.Minute)).
				Count(dsl.MaterializedAs[string, int64]("w").WithRetention(time.Minute))
		}, `the retention 1m0s of window store "w" is shorter than the window size plus the grace period (2m0s)`},
		{"sliding retention", func(g dsl.KGroupedStream[string, string]) {
			dsl.WindowedBySliding(g, dsl.SlidingWindowsOfTimeDifferenceWithNoGrace(time.Minute)).
				Count(dsl.MaterializedAs[string, int64]("w").WithRetention(time.Minute))
		}, "shorter than twice the time difference plus the grace period (2m0s)"},
		{"caching", func(g dsl.KGroupedStream[string, string]) {
			dsl.WindowedBy(g, dsl.TimeWindowsOfSizeWithNoGrace(time.Minute)).
				Count(dsl.MaterializedAs[string, int64]("w").WithCachingEnabled(100))
		}, "WithCachingEnabled means nothing here"},
		{"retention without windows", func(g dsl.KGroupedStream[string, string]) {
			g.Count(dsl.MaterializedAs[string, int64]("c").WithRetention(time.Minute))
		}, "WithRetention means nothing here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			tt.build(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey())
			_, err := b.Build()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// Sliding windows include both ends: records 10ms apart share a window of
// time difference 10.
func TestSlidingWindowBoundaries(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.WindowedBySliding(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
		dsl.SlidingWindowsOfTimeDifferenceAndGrace(10*time.Millisecond, time.Hour)).
		Count().ToStream().To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64)
	in.PipeRecordList([]processor.Record[string, string]{at("k", "x", 20), at("k", "x", 30), at("k", "x", 41)})
	expect(t, out,
		"[k@10/20]:1@20",
		// 30 creates 20's right window [21,31] and its own left [20,30].
		"[k@21/31]:1@30", "[k@20/30]:2@30",
		// 41 is 11 past 30: 30's right window [31,41] now holds 41, and
		// is also 41's left window. Kafka Streams' algorithm creates it
		// as both, and so emits it twice, with the same value.
		"[k@31/41]:1@41", "[k@31/41]:1@41",
	)
	// An early record (before the time difference) goes to [0, 10].
	in.PipeRecord(at("e", "x", 3))
	expect(t, out, "[e@0/10]:1@3")
}

// Sessions merge when a record bridges them, in any order of arrival; the
// merged-away sessions are deleted downstream at their end times.
func TestSessionMerges(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		dsl.WindowedBySession(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
			dsl.SessionWindowsOfInactivityGapAndGrace(5*time.Millisecond, time.Hour)).
			Count(dsl.MaterializedAs[string, int64]("sessions")).
			ToStream().To("out")
		td := newDriver(t, b, opts...)
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.SessionWindowed(serde.String), serde.Int64)
		in.PipeRecordList([]processor.Record[string, string]{at("u", "x", 0), at("u", "x", 10), at("u", "x", 20)})
		expect(t, out, "[u@0/0]:1@0", "[u@10/10]:1@10", "[u@20/20]:1@20")
		// 5 is within the gap of 0 and of 10 (both ends included).
		in.PipeRecord(at("u", "x", 5))
		expect(t, out, "[u@0/0]:<null>@0", "[u@10/10]:<null>@10", "[u@0/10]:3@10")
		// 15 is within the gap of [0,10] and of [20,20].
		in.PipeRecord(at("u", "x", 15))
		expect(t, out, "[u@0/10]:<null>@10", "[u@20/20]:<null>@20", "[u@0/20]:5@20")
		// A record inside a session extends nothing but updates it.
		in.PipeRecord(at("u", "x", 3))
		expect(t, out, "[u@0/20]:<null>@20", "[u@0/20]:6@20")
		ss := td.StateStore("sessions").(*state.SessionStore[string, int64])
		if v, ok, err := ss.FetchSession("u", 0, 20); err != nil || !ok || v != 6 {
			t.Fatalf("FetchSession = %d %v %v", v, ok, err)
		}
	})
}

// A session is closed once stream time passes its end plus grace: a record
// that would extend it starts its own session if beyond the gap, and is
// dropped if it would merge into the closed one.
func TestSessionLate(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.WindowedBySession(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
		dsl.SessionWindowsOfInactivityGapAndGrace(5*time.Millisecond, 10*time.Millisecond)).
		Reduce(func(a, v string) string { return a + v }).
		ToStream().To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.SessionWindowed(serde.String), serde.String)
	in.PipeRecordList([]processor.Record[string, string]{at("u", "a", 0), at("v", "b", 100), at("u", "c", 3)})
	expect(t, out, "[u@0/0]:a@0", "[v@100/100]:b@100")
	expectDropped(t, td, map[string]int64{"late-record": 1})
}

// Session-windowed Aggregate merges with its merger.
func TestSessionAggregateMerger(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.WindowedBySession(dsl.Stream(b, "in", serde.String, serde.Int64).GroupByKey(),
		dsl.SessionWindowsOfInactivityGapAndGrace(10*time.Millisecond, time.Second)).
		Aggregate(func() int64 { return 100 }, func(_ string, v, agg int64) int64 { return agg + v },
			func(_ string, a, b int64) int64 { return a + b - 100 }).
		ToStream().To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.Int64)
	out := testdriver.OutputTopic(td, "out", serde.SessionWindowed(serde.String), serde.Int64)
	in.PipeRecordList([]processor.Record[string, int64]{at("k", int64(1), 0), at("k", int64(2), 20), at("k", int64(4), 10)})
	// init 100, +1; init 100, +2; then 100 merged with 101 and 102 (each
	// merge subtracting one init) plus 4. With no grace, [0,0] would have
	// expired from the store (retention gap plus grace, as in Kafka
	// Streams) by stream time 20, and would not be merged.
	expect(t, out, "[k@0/0]:101@0", "[k@20/20]:102@20", "[k@0/0]:<null>@0", "[k@20/20]:<null>@20", "[k@0/20]:107@20")
}

// A record delayed by exactly the grace period is on time, and must still
// merge with a session that ended exactly the gap before it: the session
// store keeps sessions a millisecond longer than gap plus grace.
func TestSessionMergeAtTheRetentionEdge(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.WindowedBySession(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
		dsl.SessionWindowsOfInactivityGapAndGrace(5*time.Millisecond, 10*time.Millisecond)).
		Count().ToStream().To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.SessionWindowed(serde.String), serde.Int64)
	in.PipeRecordList([]processor.Record[string, string]{at("u", "x", 0), at("v", "x", 15), at("u", "x", 5)})
	expect(t, out, "[u@0/0]:1@0", "[v@15/15]:1@15", "[u@0/0]:<null>@0", "[u@0/5]:2@5")
	expectDropped(t, td, map[string]int64{})
}

// A record delayed by exactly the grace period is on time, and its left
// window must hold the previous record at exactly the time difference
// before it, whose window the store must still have.
func TestSlidingAtTheRetentionEdge(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.WindowedBySliding(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
		dsl.SlidingWindowsOfTimeDifferenceAndGrace(10*time.Millisecond, 5*time.Millisecond)).
		Count().ToStream().To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64)
	in.PipeRecordList([]processor.Record[string, string]{at("k", "x", 20), at("j", "x", 34), at("j", "x", 35)})
	read(out)
	in.PipeRecord(at("k", "x", 30))
	expect(t, out, "[k@21/31]:1@30", "[k@20/30]:2@30")
	expectDropped(t, td, map[string]int64{})
}

// Once stream time passes a window's retention, the window store no longer
// returns it, and its changelog never got a tombstone for it: expired
// segments leave by range deletion, and the changelog topic by its own
// retention (compact,delete).
func TestWindowRetentionThroughTheDriver(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		dsl.WindowedBy(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
			dsl.TimeWindowsOfSizeWithNoGrace(time.Minute)).
			Count(dsl.MaterializedAs[string, int64]("per-minute")).
			ToStream().To("out")
		td := newDriver(t, b, opts...)
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		minute := time.Minute.Milliseconds()
		for m := int64(0); m < 5; m++ {
			for k := 0; k < 50; k++ {
				in.PipeRecord(at(fmt.Sprint("k", k), "x", m*minute+int64(k)))
			}
		}
		ws := td.StateStore("per-minute").(*state.TimestampedWindowStore[string, int64])
		count := func() int {
			it, err := ws.All()
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for it.Next() {
				n++
			}
			if err := errors.Join(it.Err(), it.Close()); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// Retention is one minute (size, no grace): only the last minute's
		// windows are live.
		if n := count(); n != 50 {
			t.Fatalf("%d live windows, want 50", n)
		}
		if _, ok, _ := ws.Get("k1", 0); ok {
			t.Fatal("the window of minute 0 is still returned")
		}
		in.PipeRecord(at("k0", "x", 100*minute))
		if n := count(); n != 1 {
			t.Fatalf("%d live windows after a far-future record, want 1", n)
		}
		changelog := testdriver.OutputTopic(td, "test-driver-per-minute-changelog", serde.Bytes, serde.Int64)
		recs := changelog.ReadRecordsToList()
		if len(recs) == 0 {
			t.Fatal("empty changelog")
		}
		for _, r := range recs {
			if r.NullValue {
				t.Fatalf("changelog holds a tombstone for % x", r.Key)
			}
		}
	})
}

// Window and session stores restore from their changelogs after a crash:
// counts continue from what was committed, with the records since the last
// commit processed again, and sessions keep merging.
func TestWindowsCrashAndRestore(t *testing.T) {
	for _, lose := range []bool{false, true} {
		eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
			b := dsl.NewBuilder()
			grouped := dsl.Stream(b, "in", serde.String, serde.String).GroupByKey()
			dsl.WindowedBy(grouped, dsl.TimeWindowsOfSizeAndGrace(10*time.Millisecond, time.Second)).
				Count(dsl.MaterializedAs[string, int64]("tumbling")).ToStream().To("counts")
			dsl.WindowedBySession(grouped, dsl.SessionWindowsOfInactivityGapAndGrace(5*time.Millisecond, time.Second)).
				Count(dsl.MaterializedAs[string, int64]("sessions")).ToStream().To("sessions")
			td := newDriver(t, b, append(opts, testdriver.WithCommitEvery(2))...)
			in := testdriver.InputTopic(td, "in", serde.String, serde.String)
			counts := testdriver.OutputTopic(td, "counts", serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64)
			sessions := testdriver.OutputTopic(td, "sessions", serde.SessionWindowed(serde.String), serde.Int64)
			in.PipeRecordList([]processor.Record[string, string]{at("k", "x", 1), at("k", "x", 2), at("k", "x", 12), at("k", "x", 20)})
			in.PipeRecord(at("k", "x", 3)) // not committed
			if lose {
				td.CrashLosingState()
			} else {
				td.Crash()
			}
			in.PipeRecord(at("k", "x", 16)) // commits 3 and 16
			c := testdriver.ReadKeyValuesToMap(counts)
			want := map[dsl.Windowed[string]]int64{{Key: "k", Start: 0, End: 10}: 3, {Key: "k", Start: 10, End: 20}: 2, {Key: "k", Start: 20, End: 30}: 1}
			if !maps.Equal(c, want) {
				t.Fatalf("counts after the crash: %v, want %v", c, want)
			}
			s := testdriver.ReadKeyValuesToMap(sessions)
			// 1,2,3 form [1,3]; 12 and 16 and 20 chain into [12,20].
			wantS := map[dsl.Windowed[string]]int64{{Key: "k", Start: 1, End: 3}: 3, {Key: "k", Start: 12, End: 20}: 3}
			if !maps.Equal(s, wantS) {
				t.Fatalf("sessions after the crash: %v, want %v", s, wantS)
			}
		})
	}
}

// A windowed table re-grouped gets old values, so that the subtractor
// retracts a window's previous count: the sum per window start of every
// key's count is the number of records in that window.
func TestWindowedTableRegrouped(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.WindowedBy(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(), dsl.TimeWindowsOfSizeWithNoGrace(10*time.Millisecond)).
		Count().
		GroupBy(func(w dsl.Windowed[string], n int64) (int64, int64) { return w.Start, n }, dsl.GroupedWith(serde.Int64, serde.Int64)).
		Reduce(func(a, v int64) int64 { return a + v }, func(a, v int64) int64 { return a - v }).
		ToStream().To("totals")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	in.PipeRecordList([]processor.Record[string, string]{at("a", "x", 1), at("b", "x", 2), at("a", "x", 3), at("a", "x", 12)})
	got := testdriver.ReadKeyValuesToMap(testdriver.OutputTopic(td, "totals", serde.Int64, serde.Int64))
	if want := map[int64]int64{0: 3, 10: 1}; !maps.Equal(got, want) {
		t.Fatalf("records per window = %v, want %v", got, want)
	}
}
