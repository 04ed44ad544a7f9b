package dsl_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

// buildError builds b, checks that it fails with an error wrapping each
// sentinel and naming each of mentions, and returns the error.
func buildError(t *testing.T, b *dsl.Builder, sentinels []error, mentions ...string) error {
	t.Helper()
	topo, err := b.Build()
	if err == nil {
		t.Fatalf("Build succeeded, want %v", sentinels)
	}
	if topo != nil {
		t.Errorf("Build returned a topology along with %v", err)
	}
	for _, s := range sentinels {
		if !errors.Is(err, s) {
			t.Errorf("Build error does not wrap %q:\n%v", s, err)
		}
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("Build error does not name %s:\n%v", m, err)
		}
	}
	return err
}

type region struct{ Name string }

func TestBuildErrors(t *testing.T) {
	pass := processor.Func[string, string, string, string](func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		return ctx.Forward(rec)
	})
	tests := []struct {
		name      string
		build     func(b *dsl.Builder)
		sentinels []error
		mentions  []string
	}{
		{
			name: "duplicate processor name",
			build: func(b *dsl.Builder) {
				s := dsl.Stream(b, "in", serde.String, serde.String)
				s.Filter(func(_, v string) bool { return v != "" }, dsl.Named("clean")).To("a")
				s.MapValues(strings.ToUpper, dsl.Named("clean")).To("b")
			},
			sentinels: []error{topology.ErrDuplicateName},
			mentions:  []string{`"clean"`},
		},
		{
			name: "duplicate store name",
			build: func(b *dsl.Builder) {
				dsl.Stream(b, "a", serde.String, serde.String).GroupByKey().Count(dsl.MaterializedAs[string, int64]("x"))
				dsl.Stream(b, "b", serde.String, serde.String).GroupByKey().Count(dsl.MaterializedAs[string, int64]("x"))
			},
			sentinels: []error{topology.ErrDuplicateName},
			mentions:  []string{`store "x"`},
		},
		{
			name: "unknown store",
			build: func(b *dsl.Builder) {
				dsl.Stream(b, "in", serde.String, serde.String).
					Process(pass, dsl.Named("enrich"), dsl.WithStores("nope")).
					To("out")
			},
			sentinels: []error{topology.ErrUnknownStore},
			mentions:  []string{`"enrich"`, `"nope"`},
		},
		{
			name: "missing sink serde",
			build: func(b *dsl.Builder) {
				dsl.Stream(b, "in", serde.String, serde.Int64).
					Map(func(k string, v int64) (string, order) { return k, order{ID: k, Amount: v} }).
					To("orders-out", dsl.Named("write-orders"))
			},
			sentinels: []error{topology.ErrMissingSerde},
			mentions:  []string{`"write-orders"`, `"orders-out"`, "value serde"},
		},
		{
			name: "missing grouping serde",
			build: func(b *dsl.Builder) {
				dsl.Stream(b, "in", serde.String, serde.String).
					GroupBy(func(_, v string) region { return region{Name: v} }).
					Count(dsl.MaterializedAs[region, int64]("by-region"))
			},
			sentinels: []error{topology.ErrMissingSerde},
			mentions:  []string{`store "by-region"`, `"by-region-repartition"`, "key serde"},
		},
		{
			name: "not co-partitioned",
			build: func(b *dsl.Builder) {
				two := dsl.Stream(b, "a", serde.String, serde.String).
					Repartition(dsl.RepartitionedWith(serde.String, serde.String).WithName("two").WithNumberOfPartitions(2))
				three := dsl.Stream(b, "b", serde.String, serde.String).
					Repartition(dsl.Named("three"), dsl.Repartitioned[string, string]{}.WithNumberOfPartitions(3))
				two.Merge(three).GroupByKey().Count()
			},
			sentinels: []error{topology.ErrNotCopartitioned},
			mentions:  []string{`"two-repartition" (2)`, `"three-repartition" (3)`},
		},
		{
			name: "topic read and written by one sub-topology",
			build: func(b *dsl.Builder) {
				dsl.Stream(b, "a", serde.String, serde.String, dsl.Named("read-a")).To("a", dsl.Named("write-a"))
			},
			sentinels: []error{topology.ErrCycle},
			mentions:  []string{`topic "a"`, `"read-a"`, `"write-a"`},
		},
		{
			name: "option converted to another option type",
			build: func(b *dsl.Builder) {
				s := dsl.Stream(b, "in", serde.String, serde.String)
				// Go converts between option types, since they share an
				// underlying type; the setting then means nothing where it
				// arrives.
				s.To("out", dsl.Named("write"), dsl.Produced[string, string](dsl.MaterializedAs[string, string]("x").InMemory()))
			},
			mentions: []string{`dsl: To "write": a store name, InMemory means nothing here`},
		},
		{
			name: "serde converted to another type",
			build: func(b *dsl.Builder) {
				dsl.Stream(b, "in", serde.String, serde.String).
					To("out", dsl.Named("write"), dsl.Produced[string, string](dsl.ProducedWith(serde.String, serde.Int64)))
			},
			sentinels: []error{topology.ErrTypeMismatch},
			mentions:  []string{`"write"`, "serde.Serde[string]", "int64"},
		},
		{
			name: "several errors",
			build: func(b *dsl.Builder) {
				s := dsl.Stream(b, "in", serde.String, serde.String)
				s.Filter(func(_, v string) bool { return true }, dsl.Named("twice")).To("a")
				s.Filter(func(_, v string) bool { return true }, dsl.Named("twice")).To("b")
				s.Process(pass, dsl.Named("enrich"), dsl.WithStores("nope")).To("c")
				s.MapValues(func(v string) region { return region{Name: v} }).To("regions", dsl.Named("write-regions"))
			},
			sentinels: []error{topology.ErrDuplicateName, topology.ErrUnknownStore, topology.ErrMissingSerde},
			mentions:  []string{`"twice"`, `"nope"`, `"write-regions"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			tt.build(b)
			err := buildError(t, b, tt.sentinels, tt.mentions...)
			t.Log(err)
		})
	}
}

// internalTopics lists the repartition topics of topo with their partition
// counts.
func internalTopics(topo *topology.Topology) []string {
	var out []string
	for _, it := range topo.RepartitionTopics() {
		out = append(out, fmt.Sprintf("%s (%d partitions)", it.Name, it.Partitions))
	}
	return out
}

// layout renders what topo is made of: its description (nodes, edges,
// topics, stores) and its repartition topics.
func layout(topo *topology.Topology) string {
	var sb strings.Builder
	sb.WriteString(topo.Describe().String())
	for _, it := range internalTopics(topo) {
		fmt.Fprintf(&sb, "internal %s\n", it)
	}
	return sb.String()
}

// app builds a topology using every operation with generated names, and
// returns the names the DSL hands back.
func app(b *dsl.Builder) []string {
	var names []string
	s := dsl.Stream(b, "in", serde.String, serde.String)
	other := dsl.Streams(b, []string{"in2", "in3"}, serde.String, serde.String)
	merged := s.Filter(func(_, v string) bool { return v != "" }).
		FilterNot(func(_, v string) bool { return v == "x" }).
		Merge(other).
		Peek(func(string, string) {})
	merged.Foreach(func(string, string) {})
	branches := merged.Split().
		Branch(func(_, v string) bool { return len(v) > 3 }).
		DefaultBranch()
	for name := range branches {
		names = append(names, name)
	}
	slices.Sort(names)
	long := branches[names[0]]
	counts := long.FlatMapValues(strings.Fields).
		GroupBy(func(_, w string) string { return w }).
		Count()
	lengths := long.MapValues(func(v string) int64 { return int64(len(v)) }).
		Map(func(k string, n int64) (string, int64) { return k, n }).
		GroupByKey().
		Reduce(func(a, b int64) int64 { return a + b })
	sizes := long.SelectKey(func(_, v string) string { return v }).
		FlatMap(func(k, v string) []dsl.KeyValue[string, string] { return []dsl.KeyValue[string, string]{dsl.KV(k, v)} }).
		Repartition().
		GroupByKey().
		Aggregate(func() int64 { return 0 }, func(_, v string, n int64) int64 { return n + 1 })
	table := dsl.Table(b, "table", serde.String, serde.String)
	filtered := table.Filter(func(_, v string) bool { return true }).
		FilterNot(func(_, v string) bool { return false }).
		MapValues(func(v string) int64 { return 0 })
	processed := counts.ToStream().
		Process(processor.Func[string, int64, string, int64](func(ctx processor.Context[string, int64], rec processor.Record[string, int64]) error {
			return ctx.Forward(rec)
		})).
		ProcessValues(processor.Func[string, int64, string, int64](func(ctx processor.Context[string, int64], rec processor.Record[string, int64]) error {
			return ctx.Forward(rec)
		}))
	processed.To("out")
	filtered.ToStream().ToDynamic(func(processor.Record[string, int64]) string { return "dyn" })
	names = append(names,
		s.Name(), other.Name(), merged.Name(), long.Name(),
		counts.Name(), counts.StoreName(), lengths.Name(), lengths.StoreName(),
		sizes.Name(), sizes.StoreName(), table.Name(), table.StoreName(),
		filtered.Name(), processed.Name())
	return names
}

func TestGeneratedNamesAreStable(t *testing.T) {
	build := func() ([]string, *topology.Topology) {
		b := dsl.NewBuilder()
		names := app(b)
		topo, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		return names, topo
	}
	names1, topo1 := build()
	names2, topo2 := build()
	if !slices.Equal(names1, names2) {
		t.Fatalf("names differ between builds:\n%q\n%q", names1, names2)
	}
	if l1, l2 := layout(topo1), layout(topo2); l1 != l2 {
		t.Fatalf("graphs differ between builds:\n%s\n%s", l1, l2)
	}
	if d1, d2 := topo1.Describe().String(), topo2.Describe().String(); d1 != d2 {
		t.Fatalf("Describe differs between builds:\n%s\n%s", d1, d2)
	}
}

// TestGeneratedNamesFollowKafkaStreams checks generated names against
// topologies Kafka Streams describes. Store and repartition topic names
// become topic names on the broker, so they must match for an application
// to be ported without losing its state.
func TestGeneratedNamesFollowKafkaStreams(t *testing.T) {
	t.Run("word count", func(t *testing.T) {
		// The word count of the Kafka Streams tutorial
		// (https://kafka.apache.org/documentation/streams/tutorial), whose
		// described topology names every node below.
		b := dsl.NewBuilder()
		dsl.Stream(b, "streams-plaintext-input", serde.String, serde.String).
			FlatMapValues(strings.Fields).
			GroupBy(func(_, w string) string { return w }).
			Count(dsl.MaterializedAs[string, int64]("counts-store")).
			ToStream().
			To("streams-wordcount-output")
		topo, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		// The tutorial's output, with its sub-topologies' indentation.
		const want = `Topologies:
   Sub-topology: 0
    Source: KSTREAM-SOURCE-0000000000 (topics: [streams-plaintext-input])
      --> KSTREAM-FLATMAPVALUES-0000000001
    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000002
      <-- KSTREAM-SOURCE-0000000000
    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])
      --> counts-store-repartition-filter
      <-- KSTREAM-FLATMAPVALUES-0000000001
    Processor: counts-store-repartition-filter (stores: [])
      --> counts-store-repartition-sink
      <-- KSTREAM-KEY-SELECT-0000000002
    Sink: counts-store-repartition-sink (topic: counts-store-repartition)
      <-- counts-store-repartition-filter

  Sub-topology: 1
    Source: counts-store-repartition-source (topics: [counts-store-repartition])
      --> KSTREAM-AGGREGATE-0000000003
    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [counts-store])
      --> KTABLE-TOSTREAM-0000000007
      <-- counts-store-repartition-source
    Processor: KTABLE-TOSTREAM-0000000007 (stores: [])
      --> KSTREAM-SINK-0000000008
      <-- KSTREAM-AGGREGATE-0000000003
    Sink: KSTREAM-SINK-0000000008 (topic: streams-wordcount-output)
      <-- KTABLE-TOSTREAM-0000000007

`
		if got := topo.Describe().String(); got != want {
			t.Fatalf("Describe:\n%s\nwant:\n%s", got, want)
		}
		if got := internalTopics(topo); !slices.Equal(got, []string{"counts-store-repartition (0 partitions)"}) {
			t.Fatalf("internal topics = %q", got)
		}
	})

	t.Run("table", func(t *testing.T) {
		// builder.table("input-topic") describes as KSTREAM-SOURCE-0000000001
		// --> KTABLE-SOURCE-0000000002 (stores: [input-topic-STATE-STORE-0000000000]).
		b := dsl.NewBuilder()
		table := dsl.Table(b, "input-topic", serde.String, serde.String)
		if table.StoreName() != "input-topic-STATE-STORE-0000000000" || table.Name() != "KTABLE-SOURCE-0000000002" {
			t.Fatalf("table %q in store %q", table.Name(), table.StoreName())
		}
	})

	t.Run("explicit names use up indices", func(t *testing.T) {
		// Kafka Streams generates, and discards, a name for a named
		// operation too, so naming one does not renumber those after it.
		b := dsl.NewBuilder()
		s := dsl.Stream(b, "in", serde.String, serde.String, dsl.Named("source")).
			Filter(func(_, v string) bool { return true }, dsl.Named("filter")).
			MapValues(strings.ToUpper)
		if s.Name() != "KSTREAM-MAPVALUES-0000000002" {
			t.Fatalf("MapValues after two named nodes is %q", s.Name())
		}
		// A named repartition uses up the indices of its three nodes.
		r := s.Repartition(dsl.Named("r")).Peek(func(string, string) {})
		if r.Name() != "KSTREAM-PEEK-0000000006" {
			t.Fatalf("Peek after a named repartition is %q", r.Name())
		}
	})
}

// TestNamedEverywhere passes Named to every operation, next to the
// parameter object of those that take one, and checks that each names its
// node.
func TestNamedEverywhere(t *testing.T) {
	b := dsl.NewBuilder()
	pass := processor.Func[string, string, string, string](func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		return ctx.Forward(rec)
	})
	s := dsl.Stream(b, "in", serde.String, serde.String, dsl.Named("source"))
	other := dsl.Streams(b, []string{"in2"}, serde.String, serde.String, dsl.Named("source2"), dsl.Consumed[string, string]{}.WithName("source2"))
	merged := s.Filter(func(_, v string) bool { return true }, dsl.Named("filter")).
		FilterNot(func(_, v string) bool { return false }, dsl.Named("filter-not")).
		Merge(other, dsl.Named("merge")).
		Peek(func(string, string) {}, dsl.Named("peek")).
		MapValues(strings.ToUpper, dsl.Named("map-values")).
		FlatMapValues(strings.Fields, dsl.Named("flat-map-values")).
		Map(func(k, v string) (string, string) { return k, v }, dsl.Named("map")).
		FlatMap(func(k, v string) []dsl.KeyValue[string, string] { return []dsl.KeyValue[string, string]{dsl.KV(k, v)} }, dsl.Named("flat-map")).
		SelectKey(func(_, v string) string { return v }, dsl.Named("select-key")).
		Process(pass, dsl.Named("process")).
		ProcessValues(pass, dsl.Named("process-values"))
	merged.Foreach(func(string, string) {}, dsl.Named("foreach"))
	branches := merged.Split(dsl.Named("split-")).
		Branch(func(_, v string) bool { return true }, dsl.Named("one")).
		DefaultBranch(dsl.Named("rest"))
	branches["split-one"].
		Repartition(dsl.Named("repartitioned"), dsl.RepartitionedWith(serde.String, serde.String)).
		To("out4")
	// The key may have changed: GroupByKey needs a repartition topic, which
	// Named names.
	branches["split-one"].
		GroupByKey(dsl.Named("grouped")).
		Count(dsl.Named("count"), dsl.MaterializedAs[string, int64]("counts")).
		ToStream(dsl.Named("to-stream")).
		To("out", dsl.Named("sink"), dsl.ProducedWith(serde.String, serde.Int64))
	branches["split-rest"].
		GroupBy(func(_, v string) string { return v }, dsl.Named("group-by"), dsl.GroupedWith(serde.String, serde.String).WithName("by-value")).
		Reduce(func(a, v string) string { return a + v }, dsl.Named("reduce")).
		ToStream().
		To("out2", dsl.ProducedWith(serde.String, serde.String).WithName("sink2"))
	dsl.Table(b, "table", serde.String, serde.String, dsl.Named("table"), dsl.MaterializedAs[string, string]("rows")).
		Filter(func(_, v string) bool { return true }, dsl.Named("table-filter")).
		FilterNot(func(_, v string) bool { return false }, dsl.Named("table-filter-not")).
		MapValues(strings.ToUpper, dsl.Named("table-map-values")).
		ToStream().
		To("out3")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var nodes []string
	for _, st := range topo.Describe().Subtopologies {
		for _, n := range st.Nodes {
			nodes = append(nodes, n.Name)
		}
	}
	for _, want := range []string{
		"source", "source2", "filter", "filter-not", "merge", "peek", "map-values", "flat-map-values",
		"map", "flat-map", "select-key", "process", "process-values", "foreach", "split-", "split-one",
		"split-rest", "repartitioned-repartition-source", "grouped-repartition-source", "count", "to-stream",
		"sink", "group-by", "by-value-repartition-source", "reduce", "sink2", "table", "table-filter",
		"table-filter-not", "table-map-values",
	} {
		if !slices.Contains(nodes, want) {
			t.Errorf("no node %q in %q", want, nodes)
		}
	}
}
