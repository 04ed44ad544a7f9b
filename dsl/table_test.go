package dsl_test

import (
	"github.com/samsa-go/samsa/topology"
	"maps"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

func TestTableSource(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		users := dsl.Table(b, "users", serde.String, serde.String, dsl.MaterializedAs[string, string]("users"))
		if users.StoreName() != "users" {
			t.Fatalf("StoreName = %q", users.StoreName())
		}
		users.ToStream().To("out")
		td := newDriver(t, b, opts...)
		in := testdriver.InputTopic(td, "users", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.String, serde.String)
		rows := func(want map[string]string) {
			t.Helper()
			if got := storeContents[string, string](t, td, "users"); !maps.Equal(got, want) {
				t.Fatalf("table = %v, want %v", got, want)
			}
		}

		in.PipeRecord(at("alice", "EU", 1))
		in.PipeRecord(at("bob", "US", 2))
		in.PipeRecord(at("alice", "ASIA", 3, header("h", "1")))
		expect(t, out, "alice:EU@1", "bob:US@2", "alice:ASIA@3 h=1")
		rows(map[string]string{"alice": "ASIA", "bob": "US"})

		// A tombstone deletes the row and is forwarded as a null value.
		in.PipeRecord(tombstone[string, string]("alice", 4, header("h", "2")))
		expect(t, out, "alice:<null>@4 h=2")
		rows(map[string]string{"bob": "US"})

		// A null key cannot address a row: dropped and counted.
		in.PipeRecord(keyless[string]("EU", 5))
		expect(t, out)
		rows(map[string]string{"bob": "US"})
		expectDropped(t, td, map[string]int64{"null-key": 1})

		// An empty value is a value: the row stays.
		in.PipeRecord(at("bob", "", 6))
		expect(t, out, "bob:@6")
		rows(map[string]string{"bob": ""})

		// Deleting a row that is not there changes nothing: there is
		// nothing to forward.
		in.PipeRecord(tombstone[string, string]("carol", 7))
		expect(t, out)
	})
}

func TestKTableFilter(t *testing.T) {
	for _, not := range []bool{false, true} {
		name := "Filter"
		if not {
			name = "FilterNot"
		}
		t.Run(name, func(t *testing.T) {
			// Either way, amounts of 10 or more are kept.
			pred := func(_ string, v int64) bool { return (v >= 10) != not }
			b := dsl.NewBuilder()
			table := dsl.Table(b, "amounts", serde.String, serde.Int64)
			if not {
				table = table.FilterNot(pred)
			} else {
				table = table.Filter(pred)
			}
			if table.StoreName() != "" {
				t.Fatalf("the filtered table is materialized in %q", table.StoreName())
			}
			table.ToStream().To("out")
			td := newDriver(t, b)
			in := testdriver.InputTopic(td, "amounts", serde.String, serde.Int64)
			out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)

			in.PipeRecordList([]processor.Record[string, int64]{
				at("a", int64(15), 1, header("h", "1")),
				at("b", int64(5), 2),             // never passed: still a delete
				at("a", int64(3), 3),             // stops passing: a delete
				tombstone[string, int64]("a", 4), // a delete stays a delete
				at("c", int64(20), 5),
			})
			// Rows that do not pass are forwarded as deletes, as Kafka Streams
			// does when old values are not sent.
			expect(t, out, "a:15@1 h=1", "b:<null>@2", "a:<null>@3", "a:<null>@4", "c:20@5")
		})
	}
}

func TestKTableMapValues(t *testing.T) {
	b := dsl.NewBuilder()
	lengths := dsl.Table(b, "names", serde.String, serde.String).
		MapValues(func(v string) int64 { return int64(len(v)) })
	if lengths.StoreName() != "" {
		t.Fatalf("the mapped table is materialized in %q", lengths.StoreName())
	}
	lengths.ToStream().To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "names", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)

	in.PipeRecordList([]processor.Record[string, string]{
		at("a", "alice", 1, header("h", "1")),
		at("a", "", 2),
		tombstone[string, string]("a", 3),
		keyless[string]("x", 4),
	})
	expect(t, out, "a:5@1 h=1", "a:0@2", "a:<null>@3")
	expectDropped(t, td, map[string]int64{"null-key": 1})
}

func TestKTableToStream(t *testing.T) {
	b := dsl.NewBuilder()
	table := dsl.Table(b, "in", serde.String, serde.String)
	stream := table.ToStream(dsl.Named("changes"))
	if stream.Name() != "changes" {
		t.Fatalf("ToStream node is %q", stream.Name())
	}
	// The stream carries the table's serdes and is a stream like any other.
	stream.Filter(func(_, v string) bool { return v != "skip" }).To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.String)

	in.PipeRecord(at("a", "1", 1, header("h", "1")))
	in.PipeRecord(at("a", "skip", 2))
	in.PipeRecord(tombstone[string, string]("a", 3))
	expect(t, out, "a:1@1 h=1", "a:<null>@3")
}

// A materialized Filter keeps the rows that pass in a store that can be
// queried, and forwards a delete only for a row it held.
func TestKTableFilterMaterialized(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		big := dsl.Table(b, "amounts", serde.String, serde.Int64).
			Filter(func(_ string, v int64) bool { return v >= 10 }, dsl.MaterializedAs[string, int64]("big"))
		if big.StoreName() != "big" {
			t.Fatalf("StoreName = %q", big.StoreName())
		}
		big.ToStream().To("out")
		td := newDriver(t, b, opts...)
		in := testdriver.InputTopic(td, "amounts", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)

		in.PipeRecordList([]processor.Record[string, int64]{
			at("a", int64(15), 1, header("h", "1")),
			at("b", int64(5), 2),             // never passed: nothing to delete
			at("a", int64(3), 3),             // stops passing: a delete
			tombstone[string, int64]("a", 4), // already gone
			at("c", int64(20), 5),
			tombstone[string, int64]("b", 6), // never passed
		})
		expect(t, out, "a:15@1 h=1", "a:<null>@3", "c:20@5")
		if got := storeContents[string, int64](t, td, "big"); !maps.Equal(got, map[string]int64{"c": 20}) {
			t.Fatalf("store = %v", got)
		}
	})
}

// Any Materialized setting gives a table operation a store, named after
// the operation when no name is given; MapValues to a type without a
// built-in serde needs MaterializedWith.
func TestKTableMapValuesMaterialized(t *testing.T) {
	b := dsl.NewBuilder()
	lengths := dsl.Table(b, "names", serde.String, serde.String).
		MapValues(func(v string) int64 { return int64(len(v)) }, dsl.Materialized[string, int64]{}.InMemory())
	if !strings.HasPrefix(lengths.StoreName(), "KTABLE-MAPVALUES-STATE-STORE-") {
		t.Fatalf("StoreName = %q", lengths.StoreName())
	}
	lengths.ToStream().To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "names", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)
	in.PipeRecordList([]processor.Record[string, string]{
		at("a", "alice", 1),
		at("b", "bob", 2),
		tombstone[string, string]("a", 3),
		tombstone[string, string]("a", 4),
	})
	expect(t, out, "a:5@1", "b:3@2", "a:<null>@3")
	if got := storeContents[string, int64](t, td, lengths.StoreName()); !maps.Equal(got, map[string]int64{"b": 3}) {
		t.Fatalf("store = %v", got)
	}

	type user struct{ Name string }
	b = dsl.NewBuilder()
	dsl.Table(b, "names", serde.String, serde.String).
		MapValues(func(v string) user { return user{v} }, dsl.MaterializedAs[string, user]("users"))
	buildError(t, b, []error{topology.ErrMissingSerde}, `"users"`, "dsl.MaterializedWith")
}
