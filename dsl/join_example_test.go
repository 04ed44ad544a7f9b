package dsl_test

import (
	"fmt"
	"time"

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

func ExampleKTable_Join() {
	b := dsl.NewBuilder()
	names := dsl.Table(b, "user-names", serde.String, serde.String)
	emails := dsl.Table(b, "user-emails", serde.String, serde.String)
	names.Join(emails, func(name, email string) string { return name + " <" + email + ">" }).
		ToStream().
		To("contacts")

	drive(b, func(td *testdriver.Driver) {
		n := testdriver.InputTopic(td, "user-names", serde.String, serde.String)
		e := testdriver.InputTopic(td, "user-emails", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "contacts", serde.String, serde.String)
		n.PipeInput("u1", "Ann")
		e.PipeInput("u1", "ann@example.com")
		e.PipeInput("u1", "ann@example.org")
		e.PipeTombstone("u1")
		for _, r := range out.ReadRecordsToList() {
			fmt.Println(r.Key, r.Value, "deleted:", r.NullValue)
		}
	})
	// Output:
	// u1 Ann <ann@example.com> deleted: false
	// u1 Ann <ann@example.org> deleted: false
	// u1  deleted: true
}

func ExampleKTable_LeftJoin() {
	b := dsl.NewBuilder()
	names := dsl.Table(b, "user-names", serde.String, serde.String)
	emails := dsl.Table(b, "user-emails", serde.String, serde.String)
	names.LeftJoin(emails, func(name, email string, found bool) string {
		if !found {
			return name + " (no email)"
		}
		return name + " <" + email + ">"
	}, dsl.MaterializedAs[string, string]("contacts")).
		ToStream().
		To("contacts")

	drive(b, func(td *testdriver.Driver) {
		n := testdriver.InputTopic(td, "user-names", serde.String, serde.String)
		e := testdriver.InputTopic(td, "user-emails", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "contacts", serde.String, serde.String)
		n.PipeInput("u1", "Ann")
		e.PipeInput("u1", "ann@example.com")
		e.PipeTombstone("u1")
		fmt.Println(out.ReadValuesToList())
		row, _, _ := testdriver.KeyValueStore[string, string](td, "contacts").Get("u1")
		fmt.Println(row)
	})
	// Output:
	// [Ann (no email) Ann <ann@example.com> Ann (no email)]
	// Ann (no email)
}

func ExampleKTable_OuterJoin() {
	b := dsl.NewBuilder()
	stock := dsl.Table(b, "stock", serde.String, serde.Int64)
	orders := dsl.Table(b, "open-orders", serde.String, serde.Int64)
	stock.OuterJoin(orders, func(have int64, _ bool, want int64, _ bool) int64 { return have - want }).
		ToStream().
		To("shortfall")

	drive(b, func(td *testdriver.Driver) {
		s := testdriver.InputTopic(td, "stock", serde.String, serde.Int64)
		o := testdriver.InputTopic(td, "open-orders", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "shortfall", serde.String, serde.Int64)
		o.PipeInput("tea", 5) // no stock yet: the zero value stands in
		s.PipeInput("tea", 3)
		s.PipeInput("cake", 2)
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{tea -5} {tea -2} {cake 2}]
}

func ExampleKTable_JoinForeignKey() {
	type order struct {
		Customer string
		Item     string
	}
	orderSerde := serde.JSON[order]()
	b := dsl.NewBuilder()
	customers := dsl.Table(b, "customers", serde.String, serde.String) // id → name
	dsl.Table(b, "orders", serde.String, orderSerde).                  // id → order
										JoinForeignKey(customers,
			func(o order) (string, bool) { return o.Customer, true },
			func(o order, name string) string { return o.Item + " for " + name }).
		ToStream().
		To("orders-with-names")

	drive(b, func(td *testdriver.Driver) {
		c := testdriver.InputTopic(td, "customers", serde.String, serde.String)
		o := testdriver.InputTopic(td, "orders", serde.String, orderSerde)
		out := testdriver.OutputTopic(td, "orders-with-names", serde.String, serde.String)
		c.PipeInput("c1", "Ann")
		o.PipeInput("o1", order{"c1", "tea"})
		o.PipeInput("o2", order{"c1", "cake"})
		c.PipeInput("c1", "Ann B.") // updates both of her orders
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{o1 tea for Ann} {o2 cake for Ann} {o1 tea for Ann B.} {o2 cake for Ann B.}]
}

func ExampleKTable_LeftJoinForeignKey() {
	b := dsl.NewBuilder()
	teams := dsl.Table(b, "teams", serde.String, serde.String) // team → name
	dsl.Table(b, "players", serde.String, serde.String).       // player → team, "" for none
									LeftJoinForeignKey(teams,
			func(team string) (string, bool) { return team, team != "" },
			func(team, name string, found bool) string {
				if !found {
					return "no team"
				}
				return name
			}).
		ToStream().
		To("player-teams")

	drive(b, func(td *testdriver.Driver) {
		teams := testdriver.InputTopic(td, "teams", serde.String, serde.String)
		players := testdriver.InputTopic(td, "players", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "player-teams", serde.String, serde.String)
		teams.PipeInput("t1", "Reds")
		players.PipeInput("p1", "t1")
		players.PipeInput("p2", "")
		players.PipeInput("p3", "t9")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{p1 Reds} {p2 no team} {p3 no team}]
}

func ExampleKStream_Join() {
	b := dsl.NewBuilder()
	impressions := dsl.Stream(b, "ad-impressions", serde.String, serde.String) // ad → page
	clicks := dsl.Stream(b, "ad-clicks", serde.String, serde.String)           // ad → user
	// A click counts for an impression up to a minute after it.
	impressions.Join(clicks,
		func(page, user string) string { return user + " clicked on " + page },
		dsl.JoinWindowsOfTimeDifferenceWithNoGrace(time.Minute).Before(0)).
		To("clicked-impressions")

	drive(b, func(td *testdriver.Driver) {
		imp := testdriver.InputTopic(td, "ad-impressions", serde.String, serde.String)
		clk := testdriver.InputTopic(td, "ad-clicks", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "clicked-impressions", serde.String, serde.String)
		imp.PipeInputAt("ad1", "/news", time.UnixMilli(0))
		clk.PipeInputAt("ad1", "ann", time.UnixMilli(30_000))
		clk.PipeInputAt("ad1", "bob", time.UnixMilli(90_000)) // too late
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{ad1 ann clicked on /news}]
}

func ExampleKStream_LeftJoin() {
	b := dsl.NewBuilder()
	orders := dsl.Stream(b, "orders", serde.String, serde.String)     // order → item
	payments := dsl.Stream(b, "payments", serde.String, serde.String) // order → method
	orders.LeftJoin(payments,
		func(item, method string, paid bool) string {
			if !paid {
				return item + ": not paid within 10s"
			}
			return item + ": paid by " + method
		},
		dsl.JoinWindowsOfTimeDifferenceWithNoGrace(10*time.Second)).
		To("order-status")

	drive(b, func(td *testdriver.Driver) {
		o := testdriver.InputTopic(td, "orders", serde.String, serde.String)
		p := testdriver.InputTopic(td, "payments", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "order-status", serde.String, serde.String)
		o.PipeInputAt("o1", "tea", time.UnixMilli(0))
		o.PipeInputAt("o2", "cake", time.UnixMilli(1_000))
		p.PipeInputAt("o1", "card", time.UnixMilli(5_000))
		// o2's window closes once stream time passes 11s: then, not
		// before, it is reported unpaid.
		o.PipeInputAt("o3", "jam", time.UnixMilli(12_000))
		fmt.Println(out.ReadValuesToList())
	})
	// Output:
	// [tea: paid by card cake: not paid within 10s]
}

func ExampleKStream_OuterJoin() {
	b := dsl.NewBuilder()
	left := dsl.Stream(b, "sensor-a", serde.String, serde.Int64)
	right := dsl.Stream(b, "sensor-b", serde.String, serde.Int64)
	left.OuterJoin(right,
		func(a int64, okA bool, b int64, okB bool) string {
			return fmt.Sprintf("a=%v b=%v", describe(a, okA), describe(b, okB))
		},
		dsl.JoinWindowsOfTimeDifferenceWithNoGrace(time.Second)).
		To("readings")

	drive(b, func(td *testdriver.Driver) {
		a := testdriver.InputTopic(td, "sensor-a", serde.String, serde.Int64)
		bb := testdriver.InputTopic(td, "sensor-b", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "readings", serde.String, serde.String)
		a.PipeInputAt("room", 20, time.UnixMilli(0))
		bb.PipeInputAt("room", 21, time.UnixMilli(500))
		bb.PipeInputAt("room", 23, time.UnixMilli(5_000))
		a.PipeInputAt("room", 19, time.UnixMilli(10_000)) // closes b's reading at 5s
		fmt.Println(out.ReadValuesToList())
	})
	// Output:
	// [a=20 b=21 a=- b=23]
}

func describe(v int64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprint(v)
}

func ExampleGlobalTable() {
	b := dsl.NewBuilder()
	// Every task sees every product, whatever the partitions of orders.
	products := dsl.GlobalTable(b, "products", serde.String, serde.String, dsl.MaterializedAs[string, string]("products"))
	dsl.Stream(b, "orders", serde.String, serde.String). // order → product
								JoinGlobal(products,
			func(_, product string) string { return product },
			func(product, name string) string { return name }).
		To("order-items")

	drive(b, func(td *testdriver.Driver) {
		p := testdriver.InputTopic(td, "products", serde.String, serde.String)
		o := testdriver.InputTopic(td, "orders", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "order-items", serde.String, serde.String)
		p.PipeInput("p1", "tea")
		o.PipeInput("o1", "p1")
		o.PipeInput("o2", "p2") // no such product
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{o1 tea}]
}

func ExampleKStream_LeftJoinGlobal() {
	b := dsl.NewBuilder()
	rates := dsl.GlobalTable(b, "exchange-rates", serde.String, serde.Int64) // currency → cents per euro
	type payment struct {
		Currency string
		Amount   int64
	}
	payments := serde.JSON[payment]()
	dsl.Stream(b, "payments", serde.String, payments).
		LeftJoinGlobal(rates,
			func(_ string, p payment) string { return p.Currency },
			func(p payment, rate int64, found bool) int64 {
				if !found {
					return -1
				}
				return p.Amount * rate / 100
			}).
		To("payments-in-eur", dsl.ProducedWith(serde.String, serde.Int64))

	drive(b, func(td *testdriver.Driver) {
		r := testdriver.InputTopic(td, "exchange-rates", serde.String, serde.Int64)
		p := testdriver.InputTopic(td, "payments", serde.String, payments)
		out := testdriver.OutputTopic(td, "payments-in-eur", serde.String, serde.Int64)
		r.PipeInput("USD", 90)
		p.PipeInput("pay1", payment{"USD", 1000})
		p.PipeInput("pay2", payment{"XYZ", 1000})
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{pay1 900} {pay2 -1}]
}
