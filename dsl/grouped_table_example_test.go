package dsl_test

import (
	"fmt"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

func ExampleKTable_GroupBy() {
	b := dsl.NewBuilder()
	// Users keyed by name, with their region as the value: how many users
	// each region has, as users move.
	dsl.Table(b, "user-regions", serde.String, serde.String).
		GroupBy(func(user, region string) (string, string) { return region, user }).
		Count().
		ToStream().
		To("users-per-region", dsl.ProducedWith(serde.String, serde.Int64))

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "user-regions", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "users-per-region", serde.String, serde.Int64)
		in.PipeInput("alice", "EU")
		in.PipeInput("bob", "EU")
		in.PipeInput("alice", "ASIA") // out of EU, into ASIA
		in.PipeTombstone("bob")       // out of EU
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{EU 1} {EU 2} {EU 1} {ASIA 1} {EU 0}]
}

func ExampleKGroupedTable_Count() {
	b := dsl.NewBuilder()
	dsl.Table(b, "orders", serde.String, serde.String). // order id → status
								GroupBy(func(_, status string) (string, string) { return status, status }).
								Count(dsl.MaterializedAs[string, int64]("orders-by-status"))

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "orders", serde.String, serde.String)
		in.PipeInput("o1", "open")
		in.PipeInput("o2", "open")
		in.PipeInput("o1", "shipped")
		counts := testdriver.KeyValueStore[string, int64](td, "orders-by-status")
		open, _, _ := counts.Get("open")
		shipped, _, _ := counts.Get("shipped")
		fmt.Println("open:", open, "shipped:", shipped)
	})
	// Output:
	// open: 1 shipped: 1
}

func ExampleKGroupedTable_Reduce() {
	b := dsl.NewBuilder()
	// Balances per account, summed per branch (the first letter): a new
	// balance replaces the old one in the sum.
	dsl.Table(b, "balances", serde.String, serde.Int64).
		GroupBy(func(account string, balance int64) (string, int64) { return account[:1], balance }).
		Reduce(
			func(sum, balance int64) int64 { return sum + balance },
			func(sum, balance int64) int64 { return sum - balance }).
		ToStream().
		To("branch-totals")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "balances", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "branch-totals", serde.String, serde.Int64)
		in.PipeInput("a1", 100)
		in.PipeInput("a2", 50)
		in.PipeInput("a1", 70)
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{a 100} {a 150} {a 120}]
}

func ExampleKGroupedTable_Aggregate() {
	b := dsl.NewBuilder()
	// The Kafka Streams developer guide's example: the total length of the
	// names of the users in each region.
	dsl.Table(b, "user-profiles", serde.String, serde.String).
		GroupBy(func(user, region string) (string, int32) { return region, int32(len(user)) },
			dsl.GroupedWith(serde.String, serde.Int32)).
		Aggregate(
			func() int32 { return 0 },
			func(_ string, length, agg int32) int32 { return agg + length },
			func(_ string, length, agg int32) int32 { return agg - length },
			dsl.MaterializedWith(serde.String, serde.Int32)).
		ToStream().
		To("name-lengths", dsl.ProducedWith(serde.String, serde.Int32))

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "user-profiles", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "name-lengths", serde.String, serde.Int32)
		in.PipeInput("alice", "E")
		in.PipeInput("bob", "A")
		in.PipeInput("charlie", "A")
		in.PipeInput("alice", "A")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{E 5} {A 3} {A 10} {E 0} {A 15}]
}
