package dsl_test

import (
	"fmt"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

func ExampleCogroup() {
	type stats struct {
		Logins int
		Traded int64
	}
	statsSerde := serde.JSON[stats]()
	b := dsl.NewBuilder()
	logins := dsl.Stream(b, "logins", serde.String, serde.String).GroupByKey() // player → ip
	trades := dsl.Stream(b, "trades", serde.String, serde.Int64).GroupByKey()  // player → amount
	dsl.Cogroup(logins, func(_, _ string, s stats) stats { s.Logins++; return s }).
		Cogroup(trades, func(_ string, amount int64, s stats) stats { s.Traded += amount; return s }).
		Aggregate(func() stats { return stats{} }, dsl.MaterializedWith(serde.String, statsSerde)).
		ToStream().
		To("player-stats", dsl.ProducedWith(serde.String, statsSerde))

	drive(b, func(td *testdriver.Driver) {
		l := testdriver.InputTopic(td, "logins", serde.String, serde.String)
		t := testdriver.InputTopic(td, "trades", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "player-stats", serde.String, statsSerde)
		l.PipeInput("p1", "10.0.0.1")
		t.PipeInput("p1", 50)
		t.PipeInput("p1", 20)
		fmt.Println(out.ReadValuesToList())
	})
	// Output:
	// [{1 0} {1 50} {1 70}]
}

func ExampleCogroupedKStream_WindowedBySession() {
	b := dsl.NewBuilder()
	logins := dsl.Stream(b, "logins", serde.String, serde.String).GroupByKey() // player → ip
	trades := dsl.Stream(b, "trades", serde.String, serde.Int64).GroupByKey()  // player → amount
	// Events per session of play: a session ends after 30 minutes without
	// a login or a trade.
	dsl.Cogroup(logins, func(_, _ string, n int64) int64 { return n + 1 }).
		Cogroup(trades, func(_ string, _ int64, n int64) int64 { return n + 1 }).
		WindowedBySession(dsl.SessionWindowsOfInactivityGapWithNoGrace(30*time.Minute)).
		Aggregate(func() int64 { return 0 }, func(_ string, a, b int64) int64 { return a + b }).
		ToStream().
		To("events-per-session", dsl.ProducedWith(serde.SessionWindowed(serde.String), serde.Int64))

	drive(b, func(td *testdriver.Driver) {
		l := testdriver.InputTopic(td, "logins", serde.String, serde.String)
		t := testdriver.InputTopic(td, "trades", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "events-per-session", serde.SessionWindowed(serde.String), serde.Int64)
		l.PipeInputAt("p1", "10.0.0.1", time.UnixMilli(0))
		t.PipeInputAt("p1", 50, time.UnixMilli(int64(20*time.Minute/time.Millisecond)))
		for _, r := range out.ReadRecordsToList() {
			if r.NullValue {
				fmt.Println(r.Key, "merged away")
				continue
			}
			fmt.Println(r.Key, r.Value)
		}
	})
	// Output:
	// [p1@0/0] 1
	// [p1@0/0] merged away
	// [p1@0/1200000] 2
}

func ExampleCogroupedKStream_WindowedBySliding() {
	b := dsl.NewBuilder()
	logins := dsl.Stream(b, "logins", serde.String, serde.String).GroupByKey()
	trades := dsl.Stream(b, "trades", serde.String, serde.Int64).GroupByKey()
	// Amount traded within any 10 seconds of a login or a trade.
	dsl.Cogroup(logins, func(_, _ string, n int64) int64 { return n }).
		Cogroup(trades, func(_ string, amount int64, n int64) int64 { return n + amount }).
		WindowedBySliding(dsl.SlidingWindowsOfTimeDifferenceWithNoGrace(10*time.Second)).
		Aggregate(func() int64 { return 0 }).
		ToStream().
		To("traded", dsl.ProducedWith(serde.TimeWindowed(serde.String, 10*time.Second), serde.Int64))

	drive(b, func(td *testdriver.Driver) {
		l := testdriver.InputTopic(td, "logins", serde.String, serde.String)
		t := testdriver.InputTopic(td, "trades", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "traded", serde.TimeWindowed(serde.String, 10*time.Second), serde.Int64)
		l.PipeInputAt("p1", "10.0.0.1", time.UnixMilli(20_000))
		t.PipeInputAt("p1", 50, time.UnixMilli(25_000))
		for _, r := range out.ReadRecordsToList() {
			fmt.Println(r.Key, r.Value)
		}
	})
	// Output:
	// [p1@10000/20000] 0
	// [p1@20001/30001] 50
	// [p1@15000/25000] 50
}
