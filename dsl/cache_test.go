package dsl_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// With caching, an aggregation forwards once per key and flush. The test
// driver flushes after each input record, as Kafka's TopologyTestDriver
// commits after each one, so the updates one line causes fold into one per
// word, with the time of the line.
func TestCachedCountForwardsOnFlush(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		dsl.Stream(b, "lines", serde.String, serde.String).
			FlatMapValues(strings.Fields).
			GroupBy(func(_, w string) string { return w }, dsl.GroupedWith(serde.String, serde.String)).
			Count(dsl.MaterializedAs[string, int64]("counts").WithCachingEnabled(1<<20)).
			ToStream().
			To("out", dsl.ProducedWith(serde.String, serde.Int64))
		td := newDriver(t, b, opts...)
		in := testdriver.InputTopic(td, "lines", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)

		in.PipeRecord(at("", "a b a a", 10))
		// First written order: a then b.
		expect(t, out, "a:3@10", "b:1@10")
		in.PipeRecord(at("", "b b", 20))
		expect(t, out, "b:3@20")
		if got := storeContents[string, int64](t, td, "counts"); !maps.Equal(got, map[string]int64{"a": 3, "b": 3}) {
			t.Fatalf("store = %v", got)
		}
	})
}

// The change a cached aggregation forwards has as its old value the one
// before the writes it folded: a table downstream retracts that.
func TestCachedAggregateOldValue(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		FlatMapValues(strings.Fields).
		GroupBy(func(_, w string) string { return w }, dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.MaterializedAs[string, int64]("counts").WithCachingEnabled(1<<20)).
		// A filter sees new and old: it forwards a delete when the old
		// row passed and the new one does not.
		Filter(func(_ string, n int64) bool { return n < 3 }).
		ToStream().
		To("out", dsl.ProducedWith(serde.String, serde.Int64))
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)
	in.PipeRecord(at("", "x x", 1))
	expect(t, out, "x:2@1")
	in.PipeRecord(at("", "x x", 2)) // 2 → 4 in one flush: the row leaves the filter
	expect(t, out, "x:<null>@2")
}

// A small cache writes down, and forwards, its oldest dirty entries as new
// keys push it over its size, before the flush.
func TestCachedCountEvicts(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.Stream(b, "lines", serde.String, serde.String).
		FlatMapValues(strings.Fields).
		GroupBy(func(_, w string) string { return w }, dsl.GroupedWith(serde.String, serde.String)).
		// Room for about one entry: each new key evicts the one before.
		Count(dsl.MaterializedAs[string, int64]("counts").WithCachingEnabled(100)).
		ToStream().
		To("out", dsl.ProducedWith(serde.String, serde.Int64))
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "lines", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)
	// a is evicted (a:1) when b comes, b when a comes back; the flush
	// writes a:2. Without eviction it would be a:2, b:1.
	in.PipeRecord(at("", "a b a", 5))
	expect(t, out, "a:1@5", "b:1@5", "a:2@5")
}

// A cached source table forwards its rows on flush; a tombstone of a row it
// holds is forwarded as a delete, one of a key it never held is not.
func TestCachedTableSource(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		dsl.Table(b, "in", serde.String, serde.String, dsl.MaterializedAs[string, string]("rows").WithCachingEnabled(1<<20)).
			ToStream().
			To("out")
		td := newDriver(t, b, opts...)
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.String, serde.String)
		in.PipeRecordList([]processor.Record[string, string]{
			at("a", "1", 1),
			at("a", "2", 2),
			tombstone[string, string]("a", 3),
			tombstone[string, string]("never", 4),
			at("b", "1", 5),
		})
		expect(t, out, "a:1@1", "a:2@2", "a:<null>@3", "b:1@5")
		if got := storeContents[string, string](t, td, "rows"); !maps.Equal(got, map[string]string{"b": "1"}) {
			t.Fatalf("store = %v", got)
		}
	})
}

// A cached table feeding a cached aggregation in the same task: one flush
// writes both down, the downstream one dirtied by the upstream's flush.
func TestCachedTableIntoCachedCount(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.Table(b, "in", serde.String, serde.String, dsl.MaterializedAs[string, string]("rows").WithCachingEnabled(1<<20)).
		ToStream().
		GroupByKey(dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.MaterializedAs[string, int64]("updates").WithCachingEnabled(1<<20)).
		ToStream().
		To("out", dsl.ProducedWith(serde.String, serde.Int64))
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)
	in.PipeRecord(at("k", "1", 1))
	in.PipeRecord(at("k", "2", 2))
	expect(t, out, "k:1@1", "k:2@2")
	if got := storeContents[string, int64](t, td, "updates"); !maps.Equal(got, map[string]int64{"k": 2}) {
		t.Fatalf("store = %v", got)
	}
}
