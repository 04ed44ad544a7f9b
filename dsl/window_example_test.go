package dsl_test

import (
	"fmt"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/testdriver"
)

// Orders received per five minutes: a tumbling window count. Each update
// is keyed by the window and stamped with the latest order in it.
func ExampleWindowedBy() {
	b := dsl.NewBuilder()
	orders := dsl.Stream(b, "orders", serde.String, serde.String)
	dsl.WindowedBy(orders.GroupByKey(), dsl.TimeWindowsOfSizeWithNoGrace(5*time.Minute)).
		Count(dsl.MaterializedAs[string, int64]("orders-per-5min")).
		ToStream().
		To("order-counts", dsl.ProducedWith(serde.TimeWindowed(serde.String, 5*time.Minute), serde.Int64))

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "orders", serde.String, serde.String)
		for _, min := range []int64{1, 3, 6} {
			in.PipeRecord(processor.NewRecord("shop-1", "order", min*60_000))
		}
		out := testdriver.OutputTopic(td, "order-counts", serde.TimeWindowed(serde.String, 5*time.Minute), serde.Int64)
		for _, r := range out.ReadRecordsToList() {
			fmt.Println(r.Key, r.Value, r.Timestamp)
		}
	})
	// Output:
	// [shop-1@0/300000] 1 60000
	// [shop-1@0/300000] 2 180000
	// [shop-1@300000/600000] 1 360000
}

// Hopping windows overlap: a window of ten minutes every five holds each
// record twice. With a grace period, records out of order still count
// until stream time passes their window's end plus the grace.
func ExampleTimeWindows_AdvanceBy() {
	b := dsl.NewBuilder()
	windows := dsl.TimeWindowsOfSizeAndGrace(10*time.Minute, time.Minute).AdvanceBy(5 * time.Minute)
	dsl.WindowedBy(dsl.Stream(b, "logins", serde.String, serde.String).GroupByKey(), windows).
		Count().
		ToStream().
		Foreach(func(w dsl.Windowed[string], n int64) { fmt.Println(w, n) })

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "logins", serde.String, serde.String)
		in.PipeRecord(processor.NewRecord("ann", "login", 7*60_000))
		in.PipeRecord(processor.NewRecord("ann", "login", 16*60_000)) // closes [0,10)+1m at 11m
		in.PipeRecord(processor.NewRecord("ann", "login", 4*60_000))  // late for [0,10)
		fmt.Println(td.DroppedRecords())
	})
	// Output:
	// [ann@0/600000] 1
	// [ann@300000/900000] 1
	// [ann@600000/1200000] 1
	// [ann@900000/1500000] 1
	// map[late-record:1]
}

// Sliding windows hold records at most the time difference apart, both
// ends included.
func ExampleWindowedBySliding() {
	b := dsl.NewBuilder()
	dsl.WindowedBySliding(dsl.Stream(b, "readings", serde.String, serde.Int64).GroupByKey(),
		dsl.SlidingWindowsOfTimeDifferenceWithNoGrace(10*time.Second)).
		Reduce(func(a, v int64) int64 { return max(a, v) }).
		ToStream().
		Foreach(func(w dsl.Windowed[string], peak int64) { fmt.Println(w, peak) })

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "readings", serde.String, serde.Int64)
		in.PipeRecord(processor.NewRecord("sensor", int64(5), 20_000))
		in.PipeRecord(processor.NewRecord("sensor", int64(9), 30_000))
	})
	// Output:
	// [sensor@10000/20000] 5
	// [sensor@20001/30001] 9
	// [sensor@20000/30000] 9
}

// Active users per session: a session lasts while a user's records are at
// most the inactivity gap apart. A record that bridges two sessions merges
// them: the old ones are deleted (a null count) and the merged one emitted.
// Here the bridging click arrives out of order; the grace period keeps the
// first session open for it.
func ExampleWindowedBySession() {
	b := dsl.NewBuilder()
	dsl.WindowedBySession(dsl.Stream(b, "clicks", serde.String, serde.String).GroupByKey(),
		dsl.SessionWindowsOfInactivityGapAndGrace(30*time.Minute, time.Hour)).
		Count(dsl.MaterializedAs[string, int64]("click-sessions")).
		ToStream().
		To("sessions", dsl.ProducedWith(serde.SessionWindowed(serde.String), serde.Int64))

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "clicks", serde.String, serde.String)
		for _, min := range []int64{0, 50, 25} {
			in.PipeRecord(processor.NewRecord("ann", "click", min*60_000))
		}
		for _, r := range testdriver.OutputTopic(td, "sessions", serde.SessionWindowed(serde.String), serde.Int64).ReadRecordsToList() {
			if r.NullValue {
				fmt.Println(r.Key, "deleted")
				continue
			}
			fmt.Println(r.Key, r.Value)
		}
		// The session store can be queried like any store.
		sessions := td.StateStore("click-sessions").(*state.SessionStore[string, int64])
		n, _, _ := sessions.FetchSession("ann", 0, 50*60_000)
		fmt.Println("ann's session:", n, "clicks")
	})
	// Output:
	// [ann@0/0] 1
	// [ann@3000000/3000000] 1
	// [ann@0/0] deleted
	// [ann@3000000/3000000] deleted
	// [ann@0/3000000] 3
	// ann's session: 3 clicks
}
