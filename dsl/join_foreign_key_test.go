package dsl_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// fkStep is one row of the developer guide's foreign-key join semantics
// table: a left record (key, foreign key, "" for a tombstone) or a right
// one (foreign key, value, "" for a tombstone), and what the inner and
// left joins emit, rendered "key:fk,value@ts" ("key:<null>@ts" a delete).
type fkStep struct {
	leftKey    string
	leftFK     int64
	rightFK    int64
	rightValue string
	tombstone  bool
	inner, lft []string
	ts         int64
	isRight    bool
}

// fkSemantics is the guide's table, in offset order; the timestamps are
// the offsets. At offset 1 the right record (1,foo) is there first, as
// the guide's single result for that row shows.
var fkSemantics = []fkStep{
	{ts: 1, isRight: true, rightFK: 1, rightValue: "foo"},
	{ts: 1, leftKey: "k", leftFK: 1, inner: []string{"k:1,foo@1"}, lft: []string{"k:1,foo@1"}},
	{ts: 2, leftKey: "k", leftFK: 2, inner: []string{"k:<null>@2"}, lft: []string{"k:2,null@2"}},
	{ts: 3, leftKey: "k", leftFK: 3, inner: []string{"k:<null>@3"}, lft: []string{"k:3,null@3"}},
	{ts: 4, isRight: true, rightFK: 3, rightValue: "bar", inner: []string{"k:3,bar@4"}, lft: []string{"k:3,bar@4"}},
	{ts: 5, leftKey: "k", tombstone: true, inner: []string{"k:<null>@5"}, lft: []string{"k:<null>@5"}},
	{ts: 6, leftKey: "k", leftFK: 1, inner: []string{"k:1,foo@6"}, lft: []string{"k:1,foo@6"}},
	{ts: 7, leftKey: "q", leftFK: 10, lft: []string{"q:10,null@7"}},
	{ts: 8, leftKey: "r", leftFK: 10, lft: []string{"r:10,null@8"}},
	{ts: 9, isRight: true, rightFK: 10, rightValue: "baz", inner: []string{"q:10,baz@9", "r:10,baz@9"}, lft: []string{"q:10,baz@9", "r:10,baz@9"}},
}

func fkIdentity(v int64) (int64, bool) { return v, true }

func fkJoiner(v int64, o string) string { return fmt.Sprintf("%d,%s", v, o) }

func fkLeftJoiner(v int64, o string, found bool) string {
	if !found {
		o = "null"
	}
	return fmt.Sprintf("%d,%s", v, o)
}

// fkJoin builds left ⋈fk right, the left values being the foreign keys.
func fkJoin(left bool, opts ...dsl.Materialized[string, string]) *dsl.Builder {
	b := dsl.NewBuilder()
	l := dsl.Table(b, "left", serde.String, serde.Int64)
	r := dsl.Table(b, "right", serde.Int64, serde.String)
	var joined dsl.KTable[string, string]
	if left {
		joined = l.LeftJoinForeignKey(r, fkIdentity, fkLeftJoiner, opts...)
	} else {
		joined = l.JoinForeignKey(r, fkIdentity, fkJoiner, opts...)
	}
	joined.ToStream().To("joined")
	return b
}

type fkInputs struct {
	l *testdriver.TestInputTopic[string, int64]
	r *testdriver.TestInputTopic[int64, string]
}

func (in fkInputs) pipe(st fkStep) {
	switch {
	case st.isRight && st.tombstone:
		in.r.PipeRecord(processor.Record[int64, string]{Key: st.rightFK, NullValue: true, Timestamp: st.ts})
	case st.isRight:
		in.r.PipeRecord(at(st.rightFK, st.rightValue, st.ts))
	case st.tombstone:
		in.l.PipeRecord(tombstone[string, int64](st.leftKey, st.ts))
	default:
		in.l.PipeRecord(at(st.leftKey, st.leftFK, st.ts))
	}
}

// TestForeignKeyJoinSemantics runs every row of the developer guide's
// foreign-key join semantics table, inner and left, record for record with
// timestamps, on one partition and on several, where subscriptions and
// answers cross between tasks.
func TestForeignKeyJoinSemantics(t *testing.T) {
	for _, left := range []bool{false, true} {
		name := map[bool]string{false: "JoinForeignKey", true: "LeftJoinForeignKey"}[left]
		t.Run(name, func(t *testing.T) {
			for _, partitions := range []int{1, 3} {
				t.Run(fmt.Sprint(partitions, " partitions"), func(t *testing.T) {
					eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
						td := newDriver(t, fkJoin(left), append(opts, testdriver.WithPartitions(partitions))...)
						in := fkInputs{testdriver.InputTopic(td, "left", serde.String, serde.Int64), testdriver.InputTopic(td, "right", serde.Int64, serde.String)}
						out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
						for _, st := range fkSemantics {
							in.pipe(st)
							want := st.inner
							if left {
								want = st.lft
							}
							got := read(out)
							if partitions > 1 {
								// Results for different keys may sit in different
								// partitions: compare them as a set.
								slices.Sort(got)
							}
							if !slices.Equal(got, want) {
								t.Fatalf("at %d: got %q, want %q", st.ts, got, want)
							}
						}
					})
				})
			}
		})
	}
}

// Materialized, the result is kept in a store and a delete is forwarded
// only for a row it held: the inner join's second delete of k, at 3, is
// not.
func TestForeignKeyJoinMaterialized(t *testing.T) {
	td := newDriver(t, fkJoin(false, dsl.MaterializedAs[string, string]("joined-store")))
	in := fkInputs{testdriver.InputTopic(td, "left", serde.String, serde.Int64), testdriver.InputTopic(td, "right", serde.Int64, serde.String)}
	out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
	var got []string
	for _, st := range fkSemantics {
		in.pipe(st)
		got = append(got, read(out)...)
	}
	want := []string{"k:1,foo@1", "k:<null>@2", "k:3,bar@4", "k:<null>@5", "k:1,foo@6", "q:10,baz@9", "r:10,baz@9"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if rows := storeContents[string, string](t, td, "joined-store"); !maps.Equal(rows, map[string]string{"k": "1,foo", "q": "10,baz", "r": "10,baz"}) {
		t.Fatalf("store = %v", rows)
	}
}

// The edge cases of a foreign-key join: a deleted foreign row, a foreign
// key that goes away and comes back, one foreign update fanning out to
// many rows, and a row whose foreign key changes again before its first
// answer comes back.
func TestForeignKeyJoinEdgeCases(t *testing.T) {
	// Orders name their customer, or none ("").
	type order struct{ Customer string }
	orderSerde := serde.JSON[order]()
	customerOf := func(o order) (string, bool) { return o.Customer, o.Customer != "" }
	build := func(left bool) *dsl.Builder {
		b := dsl.NewBuilder()
		orders := dsl.Table(b, "orders", serde.String, orderSerde)
		customers := dsl.Table(b, "customers", serde.String, serde.String)
		if left {
			orders.LeftJoinForeignKey(customers, customerOf, func(o order, name string, found bool) string {
				if !found {
					name = "?"
				}
				return o.Customer + "=" + name
			}).ToStream().To("joined")
		} else {
			orders.JoinForeignKey(customers, customerOf, func(o order, name string) string {
				return o.Customer + "=" + name
			}).ToStream().To("joined")
		}
		return b
	}
	for _, left := range []bool{false, true} {
		t.Run(map[bool]string{false: "inner", true: "left"}[left], func(t *testing.T) {
			td := newDriver(t, build(left))
			orders := testdriver.InputTopic(td, "orders", serde.String, orderSerde)
			customers := testdriver.InputTopic(td, "customers", serde.String, serde.String)
			out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
			pick := func(inner, leftWant []string) []string {
				if left {
					return leftWant
				}
				return inner
			}
			check := func(want ...string) {
				t.Helper()
				if got := read(out); !slices.Equal(got, want) {
					t.Fatalf("got %q\nwant %q", got, want)
				}
			}

			customers.PipeRecord(at("c1", "Ann", 1))
			for i, id := range []string{"o1", "o2", "o3"} {
				orders.PipeRecord(at(id, order{"c1"}, int64(2+i)))
			}
			check("o1:c1=Ann@2", "o2:c1=Ann@3", "o3:c1=Ann@4")

			// One update of the customer reaches every order of hers.
			customers.PipeRecord(at("c1", "Anna", 10))
			check("o1:c1=Anna@10", "o2:c1=Anna@10", "o3:c1=Anna@10")

			// The customer is deleted: the inner join deletes the results,
			// the left join keeps the orders without her.
			customers.PipeRecord(tombstone[string, string]("c1", 11))
			check(pick(
				[]string{"o1:<null>@11", "o2:<null>@11", "o3:<null>@11"},
				[]string{"o1:c1=?@11", "o2:c1=?@11", "o3:c1=?@11"})...)
			customers.PipeRecord(at("c1", "Ann", 12))
			check("o1:c1=Ann@12", "o2:c1=Ann@12", "o3:c1=Ann@12")

			// An order loses its customer, then gets one again.
			orders.PipeRecord(at("o1", order{}, 13))
			check(pick([]string{"o1:<null>@13"}, []string{"o1:=?@13"})...)
			customers.PipeRecord(at("c1", "Ann B.", 14)) // o1 no longer follows c1
			check("o2:c1=Ann B.@14", "o3:c1=Ann B.@14")
			orders.PipeRecord(at("o1", order{"c1"}, 15))
			check("o1:c1=Ann B.@15")

			// An order deleted leaves c1's subscribers.
			orders.PipeRecord(tombstone[string, order]("o2", 16))
			check("o2:<null>@16")
			customers.PipeRecord(at("c1", "Ann C.", 17))
			check("o1:c1=Ann C.@17", "o3:c1=Ann C.@17")
			orders.PipeRecord(tombstone[string, order]("never", 18))
			check()
		})
	}
}

// A row that changes again before the answer to its first change comes
// back: the first answer carries the hash of a value the row no longer
// has and is dropped, so the result never shows the first value. The
// table is an aggregation that updates its row twice for one input.
func TestForeignKeyJoinDropsStaleAnswers(t *testing.T) {
	b := dsl.NewBuilder()
	customers := dsl.Table(b, "customers", serde.String, serde.String)
	// Each move of an order, "c1 c2", passes through c1 to c2.
	dsl.Stream(b, "moves", serde.String, serde.String).
		FlatMapValues(func(v string) []string { return []string{v[:2], v[3:]} }).
		GroupByKey(dsl.GroupedWith(serde.String, serde.String)).
		Reduce(func(_, v string) string { return v }, dsl.MaterializedAs[string, string]("current")).
		JoinForeignKey(customers, func(c string) (string, bool) { return c, true },
			func(c, name string) string { return c + "=" + name }).
		ToStream().To("joined")
	td := newDriver(t, b)
	customers2 := testdriver.InputTopic(td, "customers", serde.String, serde.String)
	moves := testdriver.InputTopic(td, "moves", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
	customers2.PipeRecord(at("c1", "Ann", 1))
	customers2.PipeRecord(at("c2", "Bob", 2))
	moves.PipeRecord(at("o1", "c1 c2", 3))
	expect(t, out, "o1:c2=Bob@3")
	// c1 has no subscriber left.
	customers2.PipeRecord(at("c1", "Ann B.", 4))
	expect(t, out)
}

// A stream joins the result of a foreign-key join, which gets a store for
// it.
func TestStreamJoinsForeignKeyResult(t *testing.T) {
	b := dsl.NewBuilder()
	customers := dsl.Table(b, "customers", serde.String, serde.String)
	// Orders name their customer; shipments their carrier.
	withNames := dsl.Table(b, "orders", serde.String, serde.String).
		JoinForeignKey(customers, func(c string) (string, bool) { return c, true }, func(c, name string) string { return name })
	dsl.Stream(b, "shipments", serde.String, serde.String).
		JoinTable(withNames, func(carrier, name string) string { return carrier + " to " + name }).
		To("labels")
	td := newDriver(t, b)
	testdriver.InputTopic(td, "customers", serde.String, serde.String).PipeRecord(at("c1", "Ann", 1))
	testdriver.InputTopic(td, "orders", serde.String, serde.String).PipeRecord(at("o1", "c1", 2))
	testdriver.InputTopic(td, "shipments", serde.String, serde.String).PipeRecord(at("o1", "DHL", 3))
	expect(t, testdriver.OutputTopic(td, "labels", serde.String, serde.String), "o1:DHL to Ann@3")
}

// Out of order: a row's own update joins with the later of the two rows'
// timestamps; an update of the foreign row reaches its subscribers with
// its own, even an older one.
func TestForeignKeyJoinOutOfOrder(t *testing.T) {
	td := newDriver(t, fkJoin(false))
	in := fkInputs{testdriver.InputTopic(td, "left", serde.String, serde.Int64), testdriver.InputTopic(td, "right", serde.Int64, serde.String)}
	out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
	in.r.PipeRecord(at(int64(1), "foo", 10))
	in.l.PipeRecord(at("k", int64(1), 5))
	in.r.PipeRecord(at(int64(1), "old", 3))
	in.l.PipeRecord(at("k", int64(1), 20))
	expect(t, out, "k:1,foo@10", "k:1,old@3", "k:1,old@20")
}
