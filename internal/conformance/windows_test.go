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
		// Hopping windows of 10ms every 5ms: a record counts in the two
		// windows holding it (one, before 5), in order of their starts.
		name: "hopping windowed count",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			dsl.WindowedBy(dsl.Stream(b, "clicks", serde.String, serde.String).GroupByKey(),
				dsl.TimeWindowsOfSizeAndGrace(10*time.Millisecond, 100*time.Millisecond).AdvanceBy(5*time.Millisecond)).
				Count(dsl.MaterializedAs[string, int64]("hops")).
				ToStream().
				To("hop-counts", dsl.ProducedWith(serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64))
			return build(t, b)
		},
		sources: []string{"clicks"},
		inputs:  []input{{"clicks", "a", "x", 1}, {"clicks", "a", "x", 7}, {"clicks", "a", "x", 12}, {"clicks", "b", "x", 3}},
		read:    []topicSpec{{"hop-counts", long}, {changelog("hops"), long}},
		want: map[string][]string{
			"hop-counts": {
				windowKey("a", 0) + ":1@1", windowKey("a", 0) + ":2@7", windowKey("a", 5) + ":1@7",
				windowKey("a", 5) + ":2@12", windowKey("a", 10) + ":1@12", windowKey("b", 0) + ":1@3",
			},
			changelog("hops"): {
				windowChangelogKey("a", 0) + ":2@7", windowChangelogKey("a", 5) + ":2@12",
				windowChangelogKey("a", 10) + ":1@12", windowChangelogKey("b", 0) + ":1@3",
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
	{
		// Final results only: each window once, when stream time passes
		// its end plus grace, with the headers of none (the inputs have
		// none) and the latest record time in it.
		name: "emit on window close",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			dsl.WindowedBy(dsl.Stream(b, "orders", serde.String, serde.String).GroupByKey(),
				dsl.TimeWindowsOfSizeAndGrace(10*time.Millisecond, 2*time.Millisecond)).
				EmitStrategy(dsl.EmitStrategyOnWindowClose()).
				Count(dsl.MaterializedAs[string, int64]("final-counts")).
				ToStream().
				To("final", dsl.ProducedWith(serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64))
			return build(t, b)
		},
		sources: []string{"orders"},
		inputs: []input{
			{"orders", "a", "x", 1}, {"orders", "b", "x", 5}, {"orders", "a", "x", 11}, {"orders", "a", "x", 9},
			{"orders", "b", "x", 12}, {"orders", "a", "x", 25}, {"orders", "c", "x", 40},
		},
		read: []topicSpec{{"final", long}, {changelog("final-counts-last-emit"), long}},
		want: map[string][]string{
			"final": {windowKey("a", 0) + ":2@9", windowKey("b", 0) + ":1@5", windowKey("a", 10) + ":1@11", windowKey("b", 10) + ":1@12", windowKey("a", 20) + ":1@25"},
			// The close time emitted up to, stamped with the record that
			// closed the windows.
			changelog("final-counts-last-emit"): {"close-time:10@12", "close-time:23@25", "close-time:38@40"},
		},
	},
	{
		name: "suppress until window closes",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			dsl.WindowedBy(dsl.Stream(b, "orders", serde.String, serde.String).GroupByKey(),
				dsl.TimeWindowsOfSizeAndGrace(10*time.Millisecond, 2*time.Millisecond)).
				Count().
				Suppress(dsl.UntilWindowCloses[dsl.Windowed[string]](dsl.Unbounded()).WithName("final-only")).
				ToStream().
				To("suppressed", dsl.ProducedWith(serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64))
			return build(t, b)
		},
		sources: []string{"orders"},
		inputs: []input{
			{"orders", "a", "x", 1}, {"orders", "b", "x", 5}, {"orders", "a", "x", 11}, {"orders", "a", "x", 9},
			{"orders", "b", "x", 12}, {"orders", "a", "x", 25}, {"orders", "c", "x", 40},
		},
		read: []topicSpec{{"suppressed", long}},
		want: map[string][]string{
			"suppressed": {windowKey("a", 0) + ":2@9", windowKey("b", 0) + ":1@5", windowKey("a", 10) + ":1@11", windowKey("b", 10) + ":1@12", windowKey("a", 20) + ":1@25"},
		},
	},
	{
		// A cogroup of clicks (1 each) and buys (their value's length) in
		// sliding windows of 10ms, 5ms of grace: the windowed aggregation
		// of the two streams merged. The buy at 12 comes when stream time
		// is 30: its window [2,12] closed at 12+5+1.
		name:        "cogroup sliding windows",
		topology:    cogroupWindowed(true),
		sources:     []string{"clicks", "buys"},
		maxTaskIdle: time.Second,
		inputs: []input{
			{"clicks", "k", "x", 20}, {"clicks", "k", "x", 30}, {"buys", "k", "abc", 25}, {"buys", "k", "xy", 31}, {"buys", "k", "xy", 12},
		},
		read: []topicSpec{{"cogrouped", long}},
		want: map[string][]string{
			"cogrouped": {
				windowKey("k", 10) + ":1@20",
				// The buy at 25: the click's right window [21,31] and its
				// own left window [15,25].
				windowKey("k", 21) + ":3@25", windowKey("k", 15) + ":4@25",
				windowKey("k", 21) + ":4@30", windowKey("k", 26) + ":1@30", windowKey("k", 20) + ":5@30",
				windowKey("k", 26) + ":3@31", windowKey("k", 21) + ":6@31", windowKey("k", 31) + ":2@31",
			},
		},
	},
	{
		// The same cogroup in sessions with a gap of 5ms: a buy at 5,
		// behind another buy, merges the sessions of the clicks at 0 and
		// 10; merged-away sessions are deleted downstream and in the
		// changelog.
		name:        "cogroup session windows",
		topology:    cogroupWindowed(false),
		sources:     []string{"clicks", "buys"},
		maxTaskIdle: time.Second,
		inputs: []input{
			{"clicks", "u", "x", 0}, {"clicks", "u", "x", 10}, {"buys", "v", "q", 11}, {"buys", "u", "ab", 5},
		},
		read: []topicSpec{{"cogrouped", long}, {changelog("cogroup-sessions"), long}},
		want: map[string][]string{
			"cogrouped": {
				sessionKey("u", 0, 0) + ":1@0", sessionKey("u", 10, 10) + ":1@10", sessionKey("v", 11, 11) + ":1@11",
				sessionKey("u", 0, 0) + ":<null>@0", sessionKey("u", 10, 10) + ":<null>@10", sessionKey("u", 0, 10) + ":4@10",
			},
			changelog("cogroup-sessions"): {
				sessionKey("u", 0, 0) + ":<null>@5", sessionKey("u", 10, 10) + ":<null>@5", sessionKey("u", 0, 10) + ":4@5",
				sessionKey("v", 11, 11) + ":1@11",
			},
		},
	},
}

// cogroupWindowed counts clicks and sums the lengths of buys per key, in
// sliding windows of 10ms with 5ms of grace, or in sessions with a gap of
// 5ms and a second of grace.
func cogroupWindowed(sliding bool) func(testing.TB) *topology.Topology {
	return func(t testing.TB) *topology.Topology {
		b := dsl.NewBuilder()
		clicks := dsl.Stream(b, "clicks", serde.String, serde.String).GroupByKey()
		buys := dsl.Stream(b, "buys", serde.String, serde.String).GroupByKey()
		c := dsl.Cogroup(clicks, func(_, _ string, n int64) int64 { return n + 1 }).
			Cogroup(buys, func(_, v string, n int64) int64 { return n + int64(len(v)) })
		zero := func() int64 { return 0 }
		if sliding {
			c.WindowedBySliding(dsl.SlidingWindowsOfTimeDifferenceAndGrace(10*time.Millisecond, 5*time.Millisecond)).
				Aggregate(zero, dsl.MaterializedAs[string, int64]("cogroup-windows")).
				ToStream().
				To("cogrouped", dsl.ProducedWith(serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64))
		} else {
			c.WindowedBySession(dsl.SessionWindowsOfInactivityGapAndGrace(5*time.Millisecond, time.Second)).
				Aggregate(zero, func(_ string, a, b int64) int64 { return a + b }, dsl.MaterializedAs[string, int64]("cogroup-sessions")).
				ToStream().
				To("cogrouped", dsl.ProducedWith(serde.SessionWindowed(serde.String), serde.Int64))
		}
		return build(t, b)
	}
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
