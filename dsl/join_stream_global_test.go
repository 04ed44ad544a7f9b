package dsl_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// A stream joins a global table by a key it computes from each record, on
// every partition: each task reads the whole table. Updates of the table
// emit nothing; a tombstone deletes the row.
func TestStreamGlobalJoin(t *testing.T) {
	for _, partitions := range []int{1, 3} {
		eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
			b := dsl.NewBuilder()
			products := dsl.GlobalTable(b, "products", serde.String, serde.String, dsl.MaterializedAs[string, string]("products"))
			if products.StoreName() != "products" {
				t.Fatalf("StoreName = %q", products.StoreName())
			}
			orders := dsl.Stream(b, "orders", serde.String, serde.String) // order id → product id
			byProduct := func(_, product string) string { return product }
			orders.JoinGlobal(products, byProduct, func(p, name string) string { return p + "=" + name }).To("inner-joined")
			orders.LeftJoinGlobal(products, byProduct, func(p, name string, ok bool) string {
				if !ok {
					name = "?"
				}
				return p + "=" + name
			}).To("left-joined")
			td := newDriver(t, b, append(opts, testdriver.WithPartitions(partitions))...)
			prod := testdriver.InputTopic(td, "products", serde.String, serde.String)
			ord := testdriver.InputTopic(td, "orders", serde.String, serde.String)
			inner := testdriver.OutputTopic(td, "inner-joined", serde.String, serde.String)
			left := testdriver.OutputTopic(td, "left-joined", serde.String, serde.String)
			sorted := func(out *testdriver.TestOutputTopic[string, string]) []string {
				got := read(out)
				slices.Sort(got)
				return got
			}

			prod.PipeRecord(at("p1", "tea", 1))
			prod.PipeRecord(at("p2", "cake", 2))
			ord.PipeRecordList([]processor.Record[string, string]{
				at("o1", "p1", 3), at("o2", "p2", 4, header("h", "1")), at("o3", "p9", 5),
				tombstone[string, string]("o4", 6), keyless[string]("p1", 7),
			})
			prod.PipeRecord(at("p1", "green tea", 8)) // emits nothing
			prod.PipeRecord(tombstone[string, string]("p2", 9))
			ord.PipeRecord(at("o5", "p1", 10))
			ord.PipeRecord(at("o6", "p2", 11))
			if got, want := sorted(inner), []string{"o1:p1=tea@3", "o2:p2=cake@4 h=1", "o5:p1=green tea@10"}; !slices.Equal(got, want) {
				t.Fatalf("inner join: got %q, want %q", got, want)
			}
			if got, want := sorted(left), []string{"<null>:p1=tea@7", "o1:p1=tea@3", "o2:p2=cake@4 h=1", "o3:p9=?@5", "o5:p1=green tea@10", "o6:p2=?@11"}; !slices.Equal(got, want) {
				t.Fatalf("left join: got %q, want %q", got, want)
			}
			if got := td.DroppedRecords(); !maps.Equal(got, map[string]int64{"null-key": 1, "null-value": 2}) {
				t.Fatalf("dropped %v", got)
			}
		})
	}
}

// A global table's records with a null key are dropped and counted.
func TestGlobalTableNullKey(t *testing.T) {
	b := dsl.NewBuilder()
	g := dsl.GlobalTable(b, "products", serde.String, serde.String)
	dsl.Stream(b, "orders", serde.String, serde.String).
		JoinGlobal(g, func(_, p string) string { return p }, func(p, name string) string { return name }).
		To("out")
	td := newDriver(t, b)
	testdriver.InputTopic(td, "products", serde.String, serde.String).PipeRecord(keyless[string]("tea", 1))
	expectDropped(t, td, map[string]int64{"null-key": 1})
}

// Out of order: a global table is not synchronised with the stream by
// time (Kafka Streams reads it ahead of the tasks): a stream record joins
// the row the table holds when it arrives, whatever the two timestamps,
// an update older than the row replaces it, and the result keeps the
// stream record's timestamp.
func TestStreamGlobalJoinOutOfOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		products := dsl.GlobalTable(b, "products", serde.String, serde.String)
		orders := dsl.Stream(b, "orders", serde.String, serde.String)
		byProduct := func(_, product string) string { return product }
		orders.JoinGlobal(products, byProduct, func(p, name string) string { return p + "=" + name }).To("inner-joined")
		orders.LeftJoinGlobal(products, byProduct, func(p, name string, ok bool) string {
			if !ok {
				name = "?"
			}
			return p + "=" + name
		}).To("left-joined")
		td := newDriver(t, b, opts...)
		prod := testdriver.InputTopic(td, "products", serde.String, serde.String)
		ord := testdriver.InputTopic(td, "orders", serde.String, serde.String)
		inner := testdriver.OutputTopic(td, "inner-joined", serde.String, serde.String)
		left := testdriver.OutputTopic(td, "left-joined", serde.String, serde.String)

		ord.PipeRecord(at("o1", "p1", 20)) // before the row exists
		prod.PipeRecord(at("p1", "tea", 10))
		ord.PipeRecord(at("o2", "p1", 5)) // older than the row and than o1
		prod.PipeRecord(at("p1", "green tea", 3))
		ord.PipeRecord(at("o3", "p1", 4))
		prod.PipeRecord(tombstone[string, string]("p1", 1))
		ord.PipeRecord(at("o4", "p1", 30))
		expect(t, inner, "o2:p1=tea@5", "o3:p1=green tea@4")
		expect(t, left, "o1:p1=?@20", "o2:p1=tea@5", "o3:p1=green tea@4", "o4:p1=?@30")
	})
}
