package dsl_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// activity is the cogroup's aggregate: what a user did, from two streams
// of different value types.
type activity struct {
	Clicks int
	Spent  int64
}

var activitySerde = serde.JSON[activity]()

func cogroupActivity(b *dsl.Builder, cache int) dsl.KTable[string, activity] {
	clicks := dsl.Stream(b, "clicks", serde.String, serde.String).GroupByKey()
	// Purchases are keyed by order: re-keyed by user, "user/item".
	purchases := dsl.Stream(b, "purchases", serde.String, serde.Int64).
		SelectKey(func(order string, _ int64) string { return strings.Split(order, "/")[0] }).
		GroupByKey(dsl.GroupedWith(serde.String, serde.Int64))
	m := dsl.MaterializedAs[string, activity]("activity").WithValueSerde(activitySerde)
	if cache > 0 {
		m = m.WithCachingEnabled(cache)
	}
	return dsl.Cogroup(clicks, func(_ string, _ string, a activity) activity { a.Clicks++; return a }).
		Cogroup(purchases, func(_ string, amount int64, a activity) activity { a.Spent += amount; return a }).
		Aggregate(func() activity { return activity{} }, m)
}

// Two grouped streams of different value types fold into one aggregate per
// key, in one store; the re-keyed one through a repartition topic.
func TestCogroup(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		table := cogroupActivity(b, 0)
		if table.StoreName() != "activity" {
			t.Fatalf("StoreName = %q", table.StoreName())
		}
		table.ToStream().To("activity-updates", dsl.ProducedWith(serde.String, activitySerde))
		td := newDriver(t, b, opts...)
		clicks := testdriver.InputTopic(td, "clicks", serde.String, serde.String)
		purchases := testdriver.InputTopic(td, "purchases", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "activity-updates", serde.String, activitySerde)
		clicks.PipeRecord(at("ann", "/home", 1))
		purchases.PipeRecord(at("ann/tea", int64(300), 2))
		clicks.PipeRecord(at("bob", "/home", 3))
		clicks.PipeRecord(at("ann", "/cart", 4))
		purchases.PipeRecord(tombstone[string, int64]("bob/x", 5)) // dropped: no value to select a key from
		clicks.PipeRecord(keyless[string]("/home", 6))
		expect(t, out, "ann:{1 0}@1", "ann:{1 300}@2", "bob:{1 0}@3", "ann:{2 300}@4")
		expectDropped(t, td, map[string]int64{"null-key": 1, "null-value": 1})
		if got := storeContents[string, activity](t, td, "activity"); !maps.Equal(got, map[string]activity{"ann": {2, 300}, "bob": {1, 0}}) {
			t.Fatalf("store = %v", got)
		}
	})
}

// With a cache, the streams' updates of a key fold into one per flush,
// forwarded once by the cogroup however many streams wrote the key.
func TestCogroupCached(t *testing.T) {
	b := dsl.NewBuilder()
	cogroupActivity(b, 1<<20).ToStream().To("activity-updates", dsl.ProducedWith(serde.String, activitySerde))
	td := newDriver(t, b, testdriver.WithCommitEvery(0))
	clicks := testdriver.InputTopic(td, "clicks", serde.String, serde.String)
	purchases := testdriver.InputTopic(td, "purchases", serde.String, serde.Int64)
	out := testdriver.OutputTopic(td, "activity-updates", serde.String, activitySerde)
	clicks.PipeRecordList([]processor.Record[string, string]{at("ann", "/home", 1), at("ann", "/cart", 2)})
	purchases.PipeRecord(at("ann/tea", int64(300), 3))
	td.Commit()
	expect(t, out, "ann:{2 300}@3")
}

// A cogroup aggregated in tumbling windows.
func TestCogroupWindowed(t *testing.T) {
	b := dsl.NewBuilder()
	logins := dsl.Stream(b, "logins", serde.String, serde.String).GroupByKey()
	trades := dsl.Stream(b, "trades", serde.String, serde.Int64).GroupByKey()
	dsl.Cogroup(logins, func(_ string, _ string, a activity) activity { a.Clicks++; return a }).
		Cogroup(trades, func(_ string, v int64, a activity) activity { a.Spent += v; return a }).
		WindowedBy(dsl.TimeWindowsOfSizeWithNoGrace(10*time.Millisecond)).
		Aggregate(func() activity { return activity{} }, dsl.MaterializedWith(serde.String, activitySerde)).
		ToStream().
		Map(func(w dsl.Windowed[string], a activity) (string, activity) { return fmt.Sprint(w.Key, "@", w.Start), a }).
		To("per-window", dsl.ProducedWith(serde.String, activitySerde))
	td := newDriver(t, b)
	l := testdriver.InputTopic(td, "logins", serde.String, serde.String)
	tr := testdriver.InputTopic(td, "trades", serde.String, serde.Int64)
	out := testdriver.OutputTopic(td, "per-window", serde.String, activitySerde)
	l.PipeRecord(at("p1", "ip", 1))
	tr.PipeRecord(at("p1", int64(5), 2))
	tr.PipeRecord(at("p1", int64(7), 12))
	l.PipeRecord(at("p1", "ip", 3)) // the first window is closed: late for the login stream too
	expect(t, out, "p1@0:{1 0}@1", "p1@0:{1 5}@2", "p1@10:{0 7}@12")
	expectDropped(t, td, map[string]int64{"late-record": 1})
}
