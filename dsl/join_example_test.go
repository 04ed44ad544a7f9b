package dsl_test

import (
	"fmt"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

func ExampleKStream_JoinTable() {
	b := dsl.NewBuilder()
	regions := dsl.Table(b, "user-regions", serde.String, serde.String)
	dsl.Stream(b, "clicks", serde.String, serde.String). // user → page
								JoinTable(regions, func(page, region string) string { return page + " from " + region }).
								To("clicks-with-region")

	drive(b, func(td *testdriver.Driver) {
		users := testdriver.InputTopic(td, "user-regions", serde.String, serde.String)
		clicks := testdriver.InputTopic(td, "clicks", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "clicks-with-region", serde.String, serde.String)
		users.PipeInput("alice", "EU")
		clicks.PipeInput("alice", "/home")
		clicks.PipeInput("bob", "/home") // no row for bob: no result
		users.PipeInput("alice", "ASIA") // updates the table, emits nothing
		clicks.PipeInput("alice", "/cart")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{alice /home from EU} {alice /cart from ASIA}]
}

func ExampleKStream_LeftJoinTable() {
	b := dsl.NewBuilder()
	regions := dsl.Table(b, "user-regions", serde.String, serde.String)
	dsl.Stream(b, "clicks", serde.String, serde.String).
		LeftJoinTable(regions, func(page, region string, found bool) string {
			if !found {
				region = "unknown"
			}
			return page + " from " + region
		}).
		To("clicks-with-region")

	drive(b, func(td *testdriver.Driver) {
		users := testdriver.InputTopic(td, "user-regions", serde.String, serde.String)
		clicks := testdriver.InputTopic(td, "clicks", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "clicks-with-region", serde.String, serde.String)
		users.PipeInput("alice", "EU")
		clicks.PipeInput("alice", "/home")
		clicks.PipeInput("bob", "/home")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{alice /home from EU} {bob /home from unknown}]
}
