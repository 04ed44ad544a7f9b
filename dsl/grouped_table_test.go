package dsl_test

import (
	"maps"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
)

// userRegions is the input of the Kafka Streams developer guide's example
// of table aggregation semantics: user profiles keyed by user name, the
// value a region ("E" Europe, "A" Asia).
func userRegions() []processor.Record[string, string] {
	return []processor.Record[string, string]{
		at("alice", "E", 1),
		at("bob", "A", 2),
		at("charlie", "A", 3),
		at("alice", "A", 4),                     // alice moves from E to A
		tombstone[string, string]("charlie", 5), // charlie leaves A
		keyless[string]("E", 6),                 // ignored
		at("bob", "E", 7),                       // bob moves from A to E
	}
}

// TestKGroupedTableGuideExample runs the developer guide's table
// aggregation example record for record: users re-grouped by region, the
// value the length of the user's name, summed with an adder and a
// subtractor. A row that moves is subtracted from its old group first,
// then added to its new one, both at the time of the change.
func TestKGroupedTableGuideExample(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		var adds, subs calls
		b := dsl.NewBuilder()
		dsl.Table(b, "user-profiles", serde.String, serde.String).
			GroupBy(func(user, region string) (string, int32) { return region, int32(len(user)) },
				dsl.GroupedWith(serde.String, serde.Int32)).
			Aggregate(
				func() int32 { return 0 },
				func(region string, v, agg int32) int32 { adds.add(region, v); return agg + v },
				func(region string, v, agg int32) int32 { subs.add(region, v); return agg - v },
				dsl.MaterializedAs[string, int32]("aggregated-table-store").WithValueSerde(serde.Int32)).
			ToStream().
			To("aggregated", dsl.ProducedWith(serde.String, serde.Int32))
		td := newDriver(t, b, opts...)
		in := testdriver.InputTopic(td, "user-profiles", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "aggregated", serde.String, serde.Int32)
		state := func(want map[string]int32) {
			t.Helper()
			if got := storeContents[string, int32](t, td, "aggregated-table-store"); !maps.Equal(got, want) {
				t.Fatalf("aggregated = %v, want %v", got, want)
			}
		}

		recs := userRegions()
		in.PipeRecord(recs[0])
		adds.check(t, "E:5")
		expect(t, out, "E:5@1")
		state(map[string]int32{"E": 5})

		in.PipeRecord(recs[1])
		adds.check(t, "A:3")
		expect(t, out, "A:3@2")
		state(map[string]int32{"A": 3, "E": 5})

		in.PipeRecord(recs[2])
		adds.check(t, "A:7")
		expect(t, out, "A:10@3")
		state(map[string]int32{"A": 10, "E": 5})

		in.PipeRecord(recs[3])
		subs.check(t, "E:5")
		adds.check(t, "A:5")
		expect(t, out, "E:0@4", "A:15@4")
		state(map[string]int32{"A": 15, "E": 0})

		in.PipeRecord(recs[4])
		subs.check(t, "A:7")
		adds.check(t)
		expect(t, out, "A:8@5")
		state(map[string]int32{"A": 8, "E": 0})

		in.PipeRecord(recs[5])
		subs.check(t)
		adds.check(t)
		expect(t, out)
		state(map[string]int32{"A": 8, "E": 0})
		expectDropped(t, td, map[string]int64{"null-key": 1})

		in.PipeRecord(recs[6])
		subs.check(t, "A:3")
		adds.check(t, "E:3")
		expect(t, out, "A:5@7", "E:3@7")
		state(map[string]int32{"A": 5, "E": 3})
	})
}

// Count and Reduce on the guide's input: the number of users per region,
// and the sum of their names' lengths as the guide's Aggregate computes
// it.
func TestKGroupedTableCountAndReduce(t *testing.T) {
	b := dsl.NewBuilder()
	grouped := dsl.Table(b, "user-profiles", serde.String, serde.String).
		GroupBy(func(user, region string) (string, int64) { return region, int64(len(user)) })
	grouped.Count(dsl.MaterializedAs[string, int64]("users-per-region")).
		ToStream().To("counts")
	grouped.Reduce(
		func(agg, v int64) int64 { return agg + v },
		func(agg, v int64) int64 { return agg - v },
		dsl.MaterializedAs[string, int64]("name-lengths")).
		ToStream().To("sums")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "user-profiles", serde.String, serde.String)
	counts := testdriver.OutputTopic(td, "counts", serde.String, serde.Int64)
	sums := testdriver.OutputTopic(td, "sums", serde.String, serde.Int64)
	in.PipeRecordList(userRegions())
	expect(t, counts, "E:1@1", "A:1@2", "A:2@3", "E:0@4", "A:3@4", "A:2@5", "A:1@7", "E:1@7")
	expect(t, sums, "E:5@1", "A:3@2", "A:10@3", "E:0@4", "A:15@4", "A:8@5", "A:5@7", "E:3@7")
}

// A change that keeps its row in the same group goes through the topic as
// one record: the group's aggregate is updated once, never showing the
// row taken out.
func TestKGroupedTableSameGroup(t *testing.T) {
	var subs calls
	b := dsl.NewBuilder()
	dsl.Table(b, "scores", serde.String, serde.Int64).
		GroupBy(func(player string, score int64) (string, int64) { return player[:1], score }).
		Reduce(func(agg, v int64) int64 { return agg + v },
			func(agg, v int64) int64 { subs.add("", v); return agg - v }).
		ToStream().To("team-scores")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "scores", serde.String, serde.Int64)
	out := testdriver.OutputTopic(td, "team-scores", serde.String, serde.Int64)
	in.PipeRecord(at("a1", int64(10), 1))
	in.PipeRecord(at("a2", int64(5), 2))
	in.PipeRecord(at("a1", int64(12), 3))
	subs.check(t, ":10")
	expect(t, out, "a:10@1", "a:15@2", "a:17@3")
}

// A filtered table asked for old values forwards nothing for a row that
// neither passed nor passes, and the retraction of a row that stops
// passing: the count follows the rows that pass.
func TestKGroupedTableAfterFilter(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.Table(b, "accounts", serde.String, serde.String).
		Filter(func(_, status string) bool { return status != "closed" }).
		GroupBy(func(_, status string) (string, string) { return status, status }).
		Count().
		ToStream().To("by-status")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "accounts", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "by-status", serde.String, serde.Int64)
	in.PipeRecordList([]processor.Record[string, string]{
		at("a1", "open", 1),
		at("a2", "closed", 2), // never passed: nothing
		at("a1", "frozen", 3), // moves from open to frozen
		at("a1", "closed", 4), // leaves the filter: out of frozen
		tombstone[string, string]("a2", 5),
	})
	expect(t, out, "open:1@1", "open:0@3", "frozen:1@3", "frozen:0@4")
}

// A cached source table gives old values as its cache writes rows down:
// the re-grouping sees each key's folded change once per flush.
func TestKGroupedTableCachedSource(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		dsl.Table(b, "user-profiles", serde.String, serde.String,
			dsl.MaterializedAs[string, string]("profiles").WithCachingEnabled(1<<20)).
			GroupBy(func(user, region string) (string, string) { return region, user }).
			Count(dsl.MaterializedAs[string, int64]("per-region").WithCachingEnabled(1 << 20)).
			ToStream().To("counts")
		td := newDriver(t, b, opts...)
		in := testdriver.InputTopic(td, "user-profiles", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "counts", serde.String, serde.Int64)
		in.PipeRecordList(userRegions())
		expect(t, out, "E:1@1", "A:1@2", "A:2@3", "E:0@4", "A:3@4", "A:2@5", "A:1@7", "E:1@7")
		if got := storeContents[string, int64](t, td, "per-region"); !maps.Equal(got, map[string]int64{"A": 1, "E": 1}) {
			t.Fatalf("per-region = %v", got)
		}
	})
}

// The repartition topic of a re-grouping needs serdes for the new keys and
// values; without built-in ones, GroupedWith must give them.
func TestKGroupedTableMissingSerde(t *testing.T) {
	type regionID struct{ N int }
	b := dsl.NewBuilder()
	dsl.Table(b, "users", serde.String, serde.String).
		GroupBy(func(_, region string) (regionID, string) { return regionID{len(region)}, region }).
		Count(dsl.MaterializedAs[regionID, int64]("per-region"))
	buildError(t, b, []error{topology.ErrMissingSerde}, `"per-region-repartition"`, "dsl.GroupedWith", "no key serde")
}
