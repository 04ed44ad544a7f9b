package dsl_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// Which stores' changelogs may land ahead of their outputs under
// at-least-once (engine.StoreSpec.LogsAhead): a stream aggregation's, a
// cogrouped one's or a re-grouped table's, unless a downstream asks its
// table for old values or another node reads its store; never a windowed
// aggregation's nor a source table's.
func TestChangelogAheadOfOutputs(t *testing.T) {
	counts := func(b *dsl.Builder) dsl.KTable[string, int64] {
		return dsl.Stream(b, "in", serde.String, serde.String).GroupByKey().
			Count(dsl.MaterializedAs[string, int64]("counts"))
	}
	cogroup := func(b *dsl.Builder) dsl.KTable[string, int64] {
		ins := dsl.Stream(b, "in", serde.String, serde.String).GroupByKey()
		others := dsl.Stream(b, "in2", serde.String, serde.Int64).GroupByKey()
		return dsl.Cogroup(ins, func(_, _ string, n int64) int64 { return n + 1 }).
			Cogroup(others, func(_ string, v, n int64) int64 { return n + v }).
			Aggregate(func() int64 { return 0 }, dsl.MaterializedAs[string, int64]("counts"))
	}
	// readCounts adds a node that reads the store too.
	readCounts := func(b *dsl.Builder) {
		dsl.Stream(b, "other", serde.String, serde.String).
			ProcessValues(processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] {
				return &changes{}
			}), dsl.WithStores("counts")).
			To("out")
	}
	cases := []struct {
		name  string
		build func(b *dsl.Builder)
		ahead bool
	}{
		{"count to a stream", func(b *dsl.Builder) {
			counts(b).ToStream().To("out", dsl.ProducedWith(serde.String, serde.Int64))
		}, true},
		{"reduce", func(b *dsl.Builder) {
			dsl.Stream(b, "in", serde.String, serde.String).GroupByKey().
				Reduce(func(a, v string) string { return a + v }, dsl.MaterializedAs[string, string]("counts"))
		}, true},
		{"count re-grouped, which asks old values", func(b *dsl.Builder) {
			counts(b).GroupBy(func(k string, n int64) (string, string) { return strconv.FormatInt(n, 10), k },
				dsl.GroupedWith(serde.String, serde.String)).Count()
		}, false},
		{"count read by another node", func(b *dsl.Builder) {
			counts(b)
			readCounts(b)
		}, false},
		{"table re-grouped and counted", func(b *dsl.Builder) {
			dsl.Table(b, "in", serde.String, serde.String).
				GroupBy(func(k, v string) (string, string) { return v, k }, dsl.GroupedWith(serde.String, serde.String)).
				Count(dsl.MaterializedAs[string, int64]("counts")).
				ToStream().To("out", dsl.ProducedWith(serde.String, serde.Int64))
		}, true},
		{"cogroup", func(b *dsl.Builder) {
			cogroup(b).ToStream().To("out", dsl.ProducedWith(serde.String, serde.Int64))
		}, true},
		{"cogroup read by another node", func(b *dsl.Builder) {
			cogroup(b)
			readCounts(b)
		}, false},
		{"windowed count", func(b *dsl.Builder) {
			dsl.WindowedBy(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
				dsl.TimeWindowsOfSizeAndGrace(time.Minute, 0)).
				Count(dsl.MaterializedAs[string, int64]("counts"))
		}, false},
		{"source table", func(b *dsl.Builder) {
			dsl.Table(b, "in", serde.String, serde.String, dsl.MaterializedAs[string, string]("counts")).
				ToStream().To("out")
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			c.build(b)
			topo, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			spec := engine.GraphOf(topo).Store("counts")
			if spec == nil {
				t.Fatal("no store counts")
			}
			if got := spec.LogsAhead(); got != c.ahead {
				t.Fatalf("LogsAhead = %v, want %v", got, c.ahead)
			}
		})
	}
}
