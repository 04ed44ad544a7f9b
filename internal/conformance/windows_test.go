package conformance_test

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

// The windowed operators' cases. Keys of windowed topics are binary
// (Kafka Streams' layouts: the key, then big-endian longs), so the wanted
// records spell them with windowKey, sessionKey and the changelog layouts.

// windowKey is a time-windowed key as TimeWindowedSerializer writes it.
func windowKey(k string, start int64) string {
	return k + string(binary.BigEndian.AppendUint64(nil, uint64(start)))
}

// windowChangelogKey is a window store's changelog key: key, start and a
// sequence number of 0.
func windowChangelogKey(k string, start int64) string {
	return windowKey(k, start) + "\x00\x00\x00\x00"
}

// sessionKey is a session-windowed key (and session store changelog key):
// key, end, start.
func sessionKey(k string, start, end int64) string {
	return k + string(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(end)), uint64(start)))
}

var windowCases = []testCase{
	{
		// Tumbling windows of 10ms with 5ms of grace: the record at 3
		// arrives when stream time is 14 (window [0,10) closes at 15) and
		// counts; the one at 4, after stream time 22, is late and dropped.
		name: "tumbling windowed count",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			dsl.WindowedBy(dsl.Stream(b, "clicks", serde.String, serde.String).GroupByKey(),
				dsl.TimeWindowsOfSizeAndGrace(10*time.Millisecond, 5*time.Millisecond)).
				Count(dsl.MaterializedAs[string, int64]("clicks-per-window")).
				ToStream().
				To("click-counts", dsl.ProducedWith(serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64))
			return build(t, b)
		},
		sources: []string{"clicks"},
		inputs: []input{
			{"clicks", "a", "x", 1}, {"clicks", "b", "x", 2}, {"clicks", "a", "x", 12},
			{"clicks", "a", "x", 14}, {"clicks", "a", "x", 3}, {"clicks", "b", "x", 22}, {"clicks", "a", "x", 4},
		},
		read: []topicSpec{{"click-counts", long}, {changelog("clicks-per-window"), long}},
		want: map[string][]string{
			"click-counts": {
				windowKey("a", 0) + ":1@1", windowKey("b", 0) + ":1@2", windowKey("a", 10) + ":1@12",
				windowKey("a", 10) + ":2@14", windowKey("a", 0) + ":2@3", windowKey("b", 20) + ":1@22",
			},
			changelog("clicks-per-window"): {
				windowChangelogKey("a", 0) + ":1@1", windowChangelogKey("b", 0) + ":1@2", windowChangelogKey("a", 10) + ":1@12",
				windowChangelogKey("a", 10) + ":2@14", windowChangelogKey("a", 0) + ":2@3", windowChangelogKey("b", 20) + ":1@22",
			},
		},
	},
	{
		// Sessions with a gap of 5ms: 0 and 10 are apart, 5 merges them;
		// the merged-away sessions are deleted downstream and in the
		// changelog, each at its end time.
		name: "session windowed count",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			dsl.WindowedBySession(dsl.Stream(b, "visits", serde.String, serde.String).GroupByKey(),
				dsl.SessionWindowsOfInactivityGapAndGrace(5*time.Millisecond, time.Second)).
				Count(dsl.MaterializedAs[string, int64]("visit-sessions")).
				ToStream().
				To("sessions", dsl.ProducedWith(serde.SessionWindowed(serde.String), serde.Int64))
			return build(t, b)
		},
		sources: []string{"visits"},
		inputs:  []input{{"visits", "u", "x", 0}, {"visits", "u", "x", 10}, {"visits", "u", "x", 5}},
		read:    []topicSpec{{"sessions", long}, {changelog("visit-sessions"), long}},
		want: map[string][]string{
			"sessions": {
				sessionKey("u", 0, 0) + ":1@0", sessionKey("u", 10, 10) + ":1@10",
				sessionKey("u", 0, 0) + ":<null>@0", sessionKey("u", 10, 10) + ":<null>@10", sessionKey("u", 0, 10) + ":3@10",
			},
			// Removing a session logs a tombstone with the time of the
			// record that removed it.
			changelog("visit-sessions"): {
				sessionKey("u", 0, 0) + ":1@0", sessionKey("u", 10, 10) + ":1@10",
				sessionKey("u", 0, 0) + ":<null>@5", sessionKey("u", 10, 10) + ":<null>@5", sessionKey("u", 0, 10) + ":3@5",
			},
		},
	},
	{
		name: "sliding windowed count",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			dsl.WindowedBySliding(dsl.Stream(b, "events", serde.String, serde.String).GroupByKey(),
				dsl.SlidingWindowsOfTimeDifferenceAndGrace(10*time.Millisecond, time.Second)).
				Count().
				ToStream().
				To("sliding-counts", dsl.ProducedWith(serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64))
			return build(t, b)
		},
		sources: []string{"events"},
		inputs:  []input{{"events", "k", "x", 20}, {"events", "k", "x", 30}, {"events", "k", "x", 25}},
		read:    []topicSpec{{"sliding-counts", long}},
		want: map[string][]string{
			"sliding-counts": {
				windowKey("k", 10) + ":1@20",
				windowKey("k", 21) + ":1@30", windowKey("k", 20) + ":2@30",
				// 25 joins [21,31] and [20,30], and gets its own left window
				// [15,25] (with 20) and right window [26,36] (with 30).
				windowKey("k", 21) + ":2@30", windowKey("k", 20) + ":3@30", windowKey("k", 15) + ":2@25", windowKey("k", 26) + ":1@30",
			},
		},
	},
}

func TestWindowConformance(t *testing.T) {
	for _, tc := range windowCases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Run("testdriver", func(t *testing.T) {
				t.Parallel()
				check(t, tc, runDriver(t, tc))
			})
			t.Run("runtime", func(t *testing.T) {
				t.Parallel()
				check(t, tc, runRuntime(t, tc))
			})
		})
	}
}
