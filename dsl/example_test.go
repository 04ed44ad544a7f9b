package dsl_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/testdriver"
)

// The examples run their topologies through the test driver and print what
// comes out, so that `go test` checks every one of them.

// exampleT stands in for the *testing.T that Example functions do not get:
// testdriver.New takes a testing.TB. A failure panics, which fails the
// example; cleanups run when drive returns.
type exampleT struct {
	testing.TB // nil; only the methods below are used
	cleanups   []func()
}

func (*exampleT) Helper()                           {}
func (*exampleT) Name() string                      { return "example" }
func (*exampleT) Logf(string, ...any)               {}
func (*exampleT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (*exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) Cleanup(f func())                { t.cleanups = append(t.cleanups, f) }

// drive builds b and calls f with a test driver running it, its clocks
// starting at the epoch.
func drive(b *dsl.Builder, f func(td *testdriver.Driver)) {
	topo, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	t := &exampleT{}
	defer func() {
		for i := len(t.cleanups) - 1; i >= 0; i-- {
			t.cleanups[i]()
		}
	}()
	f(testdriver.New(t, topo, testdriver.WithWallClock(time.UnixMilli(0))))
}

func Example() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "text-lines", serde.String, serde.String).
		FlatMapValues(func(line string) []string { return strings.Fields(strings.ToLower(line)) }).
		GroupBy(func(_, word string) string { return word }, dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.MaterializedAs[string, int64]("counts")).
		ToStream().
		To("word-counts", dsl.ProducedWith(serde.String, serde.Int64))

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "word-counts", serde.String, serde.Int64)
		in.PipeValue("Hello Kafka hello")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{hello 1} {kafka 1} {hello 2}]
}

func ExampleStream() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "text-lines", serde.String, serde.String).To("copied-lines")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "copied-lines", serde.String, serde.String)
		in.PipeInput("k", "with a key")
		in.PipeValue("without")
		for _, r := range out.ReadRecordsToList() {
			fmt.Printf("key %q (null %v): %q\n", r.Key, r.NullKey, r.Value)
		}
	})
	// Output:
	// key "k" (null false): "with a key"
	// key "" (null true): "without"
}

func ExampleStreams() {
	b := dsl.NewBuilder()
	dsl.Streams(b, []string{"orders-eu", "orders-us"}, serde.String, serde.Int64).To("all-orders")

	drive(b, func(td *testdriver.Driver) {
		eu := testdriver.InputTopic(td, "orders-eu", serde.String, serde.Int64)
		us := testdriver.InputTopic(td, "orders-us", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "all-orders", serde.String, serde.Int64)
		eu.PipeInput("o1", 100)
		us.PipeInput("o2", 200)
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{o1 100} {o2 200}]
}

func ExampleTable() {
	b := dsl.NewBuilder()
	dsl.Table(b, "user-regions", serde.String, serde.String, dsl.MaterializedAs[string, string]("regions")).
		ToStream().
		To("region-changes")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "user-regions", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "region-changes", serde.String, serde.String)
		in.PipeInput("alice", "EU")
		in.PipeInput("bob", "US")
		in.PipeInput("alice", "ASIA")
		in.PipeTombstone("bob")
		for _, r := range out.ReadRecordsToList() {
			if r.NullValue {
				fmt.Println(r.Key, "deleted")
				continue
			}
			fmt.Println(r.Key, r.Value)
		}
		region, _, _ := testdriver.KeyValueStore[string, string](td, "regions").Get("alice")
		fmt.Println("alice is in", region)
	})
	// Output:
	// alice EU
	// bob US
	// alice ASIA
	// bob deleted
	// alice is in ASIA
}

func ExampleKStream_Filter() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "orders", serde.String, serde.Int64).
		Filter(func(_ string, amount int64) bool { return amount >= 100 }).
		To("large-orders")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "orders", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "large-orders", serde.String, serde.Int64)
		in.PipeInput("o1", 250)
		in.PipeInput("o2", 20)
		in.PipeInput("o3", 100)
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{o1 250} {o3 100}]
}

func ExampleKStream_FilterNot() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "logins", serde.String, serde.String).
		FilterNot(func(user, _ string) bool { return strings.HasPrefix(user, "test-") }).
		To("real-logins")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "logins", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "real-logins", serde.String, serde.String)
		in.PipeInput("alice", "web")
		in.PipeInput("test-bot", "api")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{alice web}]
}

func ExampleKStream_Map() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "payments", serde.String, serde.Int64).
		Map(func(user string, cents int64) (string, string) {
			return strings.ToUpper(user), fmt.Sprintf("%d.%02d EUR", cents/100, cents%100)
		}).
		To("statements")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "payments", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "statements", serde.String, serde.String)
		in.PipeInput("alice", 1250)
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{ALICE 12.50 EUR}]
}

func ExampleKStream_MapValues() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "text-lines", serde.String, serde.String).
		MapValues(func(line string) int64 { return int64(len(line)) }).
		To("line-lengths")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "line-lengths", serde.String, serde.Int64)
		in.PipeInput("l1", "hello")
		in.PipeInput("l2", "")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{l1 5} {l2 0}]
}

func ExampleKStream_FlatMap() {
	b := dsl.NewBuilder()
	// Index documents by the words they contain.
	dsl.Stream(b, "documents", serde.String, serde.String).
		FlatMap(func(doc, text string) []dsl.KeyValue[string, string] {
			var out []dsl.KeyValue[string, string]
			for _, w := range strings.Fields(text) {
				out = append(out, dsl.KV(w, doc))
			}
			return out
		}).
		To("word-index")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "documents", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "word-index", serde.String, serde.String)
		in.PipeInput("doc1", "kafka streams")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{kafka doc1} {streams doc1}]
}

func ExampleKStream_FlatMapValues() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "text-lines", serde.String, serde.String).
		FlatMapValues(strings.Fields).
		To("words")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "words", serde.String, serde.String)
		in.PipeInput("line1", "all streams lead to kafka")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{line1 all} {line1 streams} {line1 lead} {line1 to} {line1 kafka}]
}

func ExampleKStream_SelectKey() {
	b := dsl.NewBuilder()
	// Orders are written keyed by order id; key them by customer.
	dsl.Stream(b, "orders", serde.String, serde.String).
		SelectKey(func(_, order string) string { customer, _, _ := strings.Cut(order, ":"); return customer }).
		To("orders-by-customer")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "orders", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "orders-by-customer", serde.String, serde.String)
		in.PipeInput("o1", "alice:book")
		in.PipeInput("o2", "bob:pen")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{alice alice:book} {bob bob:pen}]
}

func ExampleKStream_Peek() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "events", serde.String, serde.String).
		Peek(func(k, v string) { fmt.Println("peeked at", k, v) }).
		To("events-copy")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "events", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "events-copy", serde.String, serde.String)
		in.PipeInput("e1", "click")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// peeked at e1 click
	// [{e1 click}]
}

func ExampleKStream_Foreach() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "alerts", serde.String, serde.String).
		Foreach(func(host, alert string) { fmt.Printf("page on-call: %s on %s\n", alert, host) })

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "alerts", serde.String, serde.String)
		in.PipeInput("db1", "disk full")
		in.PipeTombstone("db2") // Foreach is not called for null values
	})
	// Output:
	// page on-call: disk full on db1
}

func ExampleKStream_Split() {
	b := dsl.NewBuilder()
	branches := dsl.Stream(b, "orders", serde.String, serde.Int64).
		Split(dsl.Named("orders-")).
		Branch(func(_ string, amount int64) bool { return amount >= 1000 }, dsl.Named("large")).
		Branch(func(_ string, amount int64) bool { return amount > 0 }, dsl.Named("small")).
		DefaultBranch(dsl.Named("invalid"))
	branches["orders-large"].To("large-orders")
	branches["orders-small"].To("small-orders")
	branches["orders-invalid"].To("invalid-orders")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "orders", serde.String, serde.Int64)
		in.PipeInput("o1", 5000)
		in.PipeInput("o2", 10)
		in.PipeInput("o3", -1)
		for _, topic := range []string{"large-orders", "small-orders", "invalid-orders"} {
			out := testdriver.OutputTopic(td, topic, serde.String, serde.Int64)
			fmt.Println(topic, out.ReadKeyValuesToList())
		}
	})
	// Output:
	// large-orders [{o1 5000}]
	// small-orders [{o2 10}]
	// invalid-orders [{o3 -1}]
}

func ExampleBranchedKStream_NoDefaultBranch() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "readings", serde.String, serde.Float64).
		Split(dsl.Named("readings-")).
		Branch(func(_ string, celsius float64) bool { return celsius > 30 }, dsl.Named("hot")).
		NoDefaultBranch()["readings-hot"].
		To("hot-readings")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "readings", serde.String, serde.Float64)
		out := testdriver.OutputTopic(td, "hot-readings", serde.String, serde.Float64)
		in.PipeInput("s1", 35.5)
		in.PipeInput("s2", 12) // no branch takes it: dropped
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{s1 35.5}]
}

func ExampleKStream_Merge() {
	b := dsl.NewBuilder()
	web := dsl.Stream(b, "web-clicks", serde.String, serde.String)
	app := dsl.Stream(b, "app-clicks", serde.String, serde.String)
	web.Merge(app).To("clicks")

	drive(b, func(td *testdriver.Driver) {
		w := testdriver.InputTopic(td, "web-clicks", serde.String, serde.String)
		a := testdriver.InputTopic(td, "app-clicks", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "clicks", serde.String, serde.String)
		w.PipeInput("alice", "home")
		a.PipeInput("bob", "cart")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{alice home} {bob cart}]
}

func ExampleKStream_Repartition() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "orders", serde.String, serde.String).
		SelectKey(func(_, order string) string { customer, _, _ := strings.Cut(order, ":"); return customer }).
		Repartition(dsl.RepartitionedWith(serde.String, serde.String).WithName("orders-by-customer").WithNumberOfPartitions(6)).
		To("customer-orders")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "orders", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "customer-orders", serde.String, serde.String)
		in.PipeInput("o1", "alice:book")
		// The records went through the internal topic
		// "<application id>-orders-by-customer-repartition", which is not an
		// output of the topology.
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{alice alice:book}]
}

func ExampleKStream_To() {
	type Order struct {
		Item  string `json:"item"`
		Cents int64  `json:"cents"`
	}
	b := dsl.NewBuilder()
	dsl.Stream(b, "order-lines", serde.String, serde.String).
		MapValues(func(item string) Order { return Order{Item: item, Cents: 999} }).
		// Order has no built-in serde: To names one.
		To("orders", dsl.ProducedWith(serde.String, serde.JSON[Order]()))

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "order-lines", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "orders", serde.String, serde.String)
		in.PipeInput("o1", "book")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{o1 {"item":"book","cents":999}}]
}

func ExampleKStream_ToDynamic() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "events", serde.String, serde.String).
		ToDynamic(func(rec processor.Record[string, string]) string {
			kind, _, _ := strings.Cut(rec.Value, ":")
			return kind + "-events"
		})

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "events", serde.String, serde.String)
		in.PipeInput("e1", "click:home")
		in.PipeInput("e2", "view:cart")
		for _, topic := range []string{"click-events", "view-events"} {
			out := testdriver.OutputTopic(td, topic, serde.String, serde.String)
			fmt.Println(topic, out.ReadKeyValuesToList())
		}
	})
	// Output:
	// click-events [{e1 click:home}]
	// view-events [{e2 view:cart}]
}

func ExampleKStream_Process() {
	b := dsl.NewBuilder()
	b.AddStateStore(state.KeyValueStoreBuilder("totals", serde.String, serde.Int64))
	dsl.Stream(b, "payments", serde.String, serde.Int64).
		Process(processor.Func[string, int64, string, string](func(ctx processor.Context[string, string], rec processor.Record[string, int64]) error {
			totals, err := state.GetKeyValueStore[string, int64](ctx, "totals")
			if err != nil {
				return err
			}
			total, _, err := totals.Get(rec.Key)
			if err != nil {
				return err
			}
			total += rec.Value
			if err := totals.Put(rec.Key, total); err != nil {
				return err
			}
			md, _ := ctx.RecordMetadata()
			msg := fmt.Sprintf("total %d after %s offset %d", total, md.Topic, md.Offset)
			return ctx.Forward(processor.NewRecord("statement-"+rec.Key, msg, rec.Timestamp))
		}), dsl.WithStores("totals")).
		To("statements")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "payments", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "statements", serde.String, serde.String)
		in.PipeInput("alice", 10)
		in.PipeInput("alice", 5)
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{statement-alice total 10 after payments offset 0} {statement-alice total 15 after payments offset 1}]
}

func ExampleKStream_ProcessValues() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "events", serde.String, serde.String).
		ProcessValues(processor.Func[string, string, string, string](func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
			source, _ := rec.Header("source")
			return ctx.Forward(rec.WithValue(fmt.Sprintf("%s (from %s)", rec.Value, source)))
		})).
		To("tagged-events")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "events", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "tagged-events", serde.String, serde.String)
		in.PipeRecord(processor.Record[string, string]{
			Key:     "e1",
			Value:   "click",
			Headers: processor.NewHeaders(processor.Header{Key: "source", Value: []byte("web")}),
		})
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{e1 click (from web)}]
}

func ExampleKStream_GroupByKey() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "page-views", serde.String, serde.String).
		GroupByKey().
		Count().
		ToStream().
		To("views-per-user")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "page-views", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "views-per-user", serde.String, serde.Int64)
		in.PipeInput("alice", "/home")
		in.PipeInput("bob", "/home")
		in.PipeInput("alice", "/cart")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{alice 1} {bob 1} {alice 2}]
}

func ExampleKStream_GroupBy() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "page-views", serde.String, serde.String).
		GroupBy(func(_, page string) string { return page }, dsl.GroupedWith(serde.String, serde.String)).
		Count().
		ToStream().
		To("views-per-page")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "page-views", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "views-per-page", serde.String, serde.Int64)
		in.PipeInput("alice", "/home")
		in.PipeInput("bob", "/home")
		in.PipeInput("alice", "/cart")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{/home 1} {/home 2} {/cart 1}]
}

func ExampleKGroupedStream_Count() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "logins", serde.String, serde.String).
		GroupByKey().
		Count(dsl.MaterializedAs[string, int64]("logins-per-user"))

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "logins", serde.String, serde.String)
		in.PipeInput("alice", "web")
		in.PipeInput("alice", "app")
		in.PipeTombstone("alice") // aggregations skip null values
		n, _, _ := testdriver.KeyValueStore[string, int64](td, "logins-per-user").Get("alice")
		fmt.Println("alice logged in", n, "times")
	})
	// Output:
	// alice logged in 2 times
}

func ExampleKGroupedStream_Reduce() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "temperatures", serde.String, serde.Float64).
		GroupByKey().
		Reduce(func(highest, t float64) float64 { return max(highest, t) }).
		ToStream().
		To("highest-temperatures")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "temperatures", serde.String, serde.Float64)
		out := testdriver.OutputTopic(td, "highest-temperatures", serde.String, serde.Float64)
		in.PipeInput("paris", 21.5)
		in.PipeInput("paris", 19)
		in.PipeInput("paris", 24)
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{paris 21.5} {paris 21.5} {paris 24}]
}

func ExampleKGroupedStream_Aggregate() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "purchases", serde.String, serde.String).
		GroupByKey().
		Aggregate(
			func() string { return "" },
			func(_ string, item, basket string) string { return strings.TrimPrefix(basket+","+item, ",") },
			dsl.MaterializedAs[string, string]("baskets"),
		).
		ToStream().
		To("basket-updates")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "purchases", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "basket-updates", serde.String, serde.String)
		in.PipeInput("alice", "book")
		in.PipeInput("alice", "pen")
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{alice book} {alice book,pen}]
}

func ExampleKTable_Filter() {
	b := dsl.NewBuilder()
	dsl.Table(b, "balances", serde.String, serde.Int64).
		Filter(func(_ string, balance int64) bool { return balance < 0 }).
		ToStream().
		To("overdrawn")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "balances", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "overdrawn", serde.String, serde.Int64)
		in.PipeInput("alice", -20)
		in.PipeInput("alice", 50) // no longer passes: a delete
		for _, r := range out.ReadRecordsToList() {
			fmt.Println(r.Key, r.Value, "deleted:", r.NullValue)
		}
	})
	// Output:
	// alice -20 deleted: false
	// alice 0 deleted: true
}

func ExampleKTable_FilterNot() {
	b := dsl.NewBuilder()
	dsl.Table(b, "accounts", serde.String, serde.String).
		FilterNot(func(_, status string) bool { return status == "closed" }).
		ToStream().
		To("open-accounts")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "accounts", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "open-accounts", serde.String, serde.String)
		in.PipeInput("a1", "open")
		in.PipeInput("a1", "closed")
		fmt.Println(testdriver.ReadKeyValuesToMap(out))
	})
	// Output:
	// map[]
}

func ExampleKTable_MapValues() {
	b := dsl.NewBuilder()
	dsl.Table(b, "user-names", serde.String, serde.String).
		MapValues(strings.ToUpper).
		ToStream().
		To("shouted-names")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "user-names", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "shouted-names", serde.String, serde.String)
		in.PipeInput("u1", "alice")
		in.PipeTombstone("u1") // deletes stay deletes
		for _, r := range out.ReadRecordsToList() {
			fmt.Printf("%s %q deleted: %v\n", r.Key, r.Value, r.NullValue)
		}
	})
	// Output:
	// u1 "ALICE" deleted: false
	// u1 "" deleted: true
}

func ExampleKTable_ToStream() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "votes", serde.String, serde.String).
		GroupBy(func(_, candidate string) string { return candidate }).
		Count().
		ToStream().
		Filter(func(_ string, votes int64) bool { return votes == 2 }).
		To("second-vote")

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "votes", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "second-vote", serde.String, serde.Int64)
		in.PipeValueList([]string{"x", "y", "x", "y", "x"})
		fmt.Println(out.ReadKeyValuesToList())
	})
	// Output:
	// [{x 2} {y 2}]
}

func ExampleMaterialized() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "clicks", serde.String, serde.String).
		GroupByKey().
		Count(dsl.MaterializedAs[string, int64]("clicks-per-user").WithKeySerde(serde.String).InMemory())

	drive(b, func(td *testdriver.Driver) {
		in := testdriver.InputTopic(td, "clicks", serde.String, serde.String)
		in.PipeInput("alice", "/home")
		in.PipeInput("alice", "/cart")
		store := testdriver.KeyValueStore[string, int64](td, "clicks-per-user")
		n, _, _ := store.Get("alice")
		fmt.Println("alice:", n, "persistent:", store.Persistent())
	})
	// Output:
	// alice: 2 persistent: false
}

// Named names the node of any operation, beside the operation's parameter
// object if it takes one; a parameter object's WithName names what Kafka
// Streams' "as" names (here the repartition topic).
func ExampleNamed() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "clicks", serde.String, serde.String, dsl.Named("read-clicks")).
		Filter(func(_, page string) bool { return page != "" }, dsl.Named("drop-empty")).
		GroupBy(func(_, page string) string { return page }, dsl.Named("by-page"), dsl.GroupedWith(serde.String, serde.String).WithName("pages")).
		Count(dsl.Named("count-pages"), dsl.MaterializedAs[string, int64]("page-counts")).
		ToStream().
		To("page-counts", dsl.Named("write-counts"))
	topo, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range topo.Describe().Subtopologies {
		for _, n := range st.Nodes {
			fmt.Println(st.ID, n.Name)
		}
	}
	// Output:
	// 0 read-clicks
	// 0 drop-empty
	// 0 by-page
	// 0 pages-repartition-filter
	// 0 pages-repartition-sink
	// 1 pages-repartition-source
	// 1 count-pages
	// 1 KTABLE-TOSTREAM-0000000007
	// 1 write-counts
}
