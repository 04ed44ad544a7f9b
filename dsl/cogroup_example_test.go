package dsl_test

import (
	"fmt"

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
