package dsl_test

import (
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// A windowed aggregation starts again from the stream time of its last
// commit: a record that was late before a crash is late after it, with
// the store kept or restored from its changelog alone, for every window
// kind. Taking it would update a window that closed, whose final result
// a suppression or the close emitter already sent.
func TestLateAfterRestart(t *testing.T) {
	const ms = time.Millisecond
	kinds := []struct {
		name string
		// drops is how many drops the late record counts: one per window
		// it falls into, as Kafka Streams counts them.
		drops int64
		build func(dsl.KGroupedStream[string, string]) dsl.KTable[dsl.Windowed[string], int64]
	}{
		{"tumbling", 1, func(g dsl.KGroupedStream[string, string]) dsl.KTable[dsl.Windowed[string], int64] {
			return dsl.WindowedBy(g, dsl.TimeWindowsOfSizeAndGrace(10*ms, 5*ms)).Count()
		}},
		{"hopping", 3, func(g dsl.KGroupedStream[string, string]) dsl.KTable[dsl.Windowed[string], int64] {
			return dsl.WindowedBy(g, dsl.TimeWindowsOfSizeAndGrace(10*ms, 5*ms).AdvanceBy(3*ms)).Count()
		}},
		{"sliding", 1, func(g dsl.KGroupedStream[string, string]) dsl.KTable[dsl.Windowed[string], int64] {
			return dsl.WindowedBySliding(g, dsl.SlidingWindowsOfTimeDifferenceAndGrace(10*ms, 5*ms)).Count()
		}},
		{"session", 1, func(g dsl.KGroupedStream[string, string]) dsl.KTable[dsl.Windowed[string], int64] {
			return dsl.WindowedBySession(g, dsl.SessionWindowsOfInactivityGapAndGrace(10*ms, 5*ms)).Count()
		}},
	}
	for _, kind := range kinds {
		for _, lose := range []bool{false, true} {
			name := kind.name + "/crash"
			if lose {
				name += "-losing-state"
			}
			t.Run(name, func(t *testing.T) {
				eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
					b := dsl.NewBuilder()
					kind.build(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey()).
						ToStream().To("out")
					td := newDriver(t, b, opts...)
					in := testdriver.InputTopic(td, "in", serde.String, serde.String)
					out := testdriver.OutputTopic(td, "out", serde.Bytes, serde.Int64)
					// Another key moves stream time on, so that k's
					// windows stay in the store.
					in.PipeRecordList([]processor.Record[string, string]{at("k", "x", 20), at("j", "x", 40), at("k", "x", 41)})
					td.Commit()
					before := len(out.ReadRecordsToList())
					if lose {
						td.CrashLosingState()
					} else {
						td.Crash()
					}
					// 20 is on time until stream time 20+10+5 (the window
					// holding it ends by 30, or the session by 20+10).
					in.PipeRecord(at("k", "x", 22))
					if n := len(out.ReadRecordsToList()); n != 0 || before == 0 {
						t.Fatalf("%d updates after the crash (%d before), want none: the record at 22 is late", n, before)
					}
					expectDropped(t, td, map[string]int64{processor.DropLateRecord: kind.drops})
				})
			})
		}
	}
}
