package topology_test

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
)

// wordCount is the WordCount application of Kafka Streams' tutorial
// ("Tutorial: Write a Kafka Streams Application"), with its topic and store
// names.
func wordCount(t testing.TB) *topology.Topology {
	t.Helper()
	b := dsl.NewBuilder()
	dsl.Stream(b, "streams-plaintext-input", serde.String, serde.String).
		FlatMapValues(func(line string) []string { return strings.Fields(strings.ToLower(line)) }).
		GroupBy(func(_, word string) string { return word }, dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.MaterializedAs[string, int64]("counts-store")).
		ToStream().
		To("streams-wordcount-output", dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// wordCountDescription is what Kafka Streams prints for wordCount today. The
// repartition nodes are named after the user-named store, as Kafka Streams
// has named them since 2.1 (KIP-372).
const wordCountDescription = `Topologies:
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

func TestDescribeWordCount(t *testing.T) {
	d := wordCount(t).Describe()
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if got := d.String(); got != wordCountDescription {
		t.Errorf("Describe().String() =\n%s\nwant\n%s", got, wordCountDescription)
	}

	// The structured form says the same.
	if len(d.Subtopologies) != 2 {
		t.Fatalf("%d sub-topologies, want 2", len(d.Subtopologies))
	}
	agg := d.Subtopologies[1].Nodes[1]
	want := topology.NodeDescription{
		Name:         "KSTREAM-AGGREGATE-0000000003",
		Kind:         topology.ProcessorNode,
		Stores:       []string{"counts-store"},
		Predecessors: []string{"counts-store-repartition-source"},
		Successors:   []string{"KTABLE-TOSTREAM-0000000007"},
	}
	if !reflect.DeepEqual(agg, want) {
		t.Errorf("aggregate node = %+v, want %+v", agg, want)
	}
	if sink := d.Subtopologies[0].Nodes[4]; sink.Kind != topology.SinkNode || sink.Topic != "counts-store-repartition" {
		t.Errorf("last node of sub-topology 0 = %+v, want the repartition sink", sink)
	}
	if src := d.Subtopologies[0].Nodes[0]; src.Kind != topology.SourceNode || len(src.Topics) != 1 || src.Topics[0] != "streams-plaintext-input" || src.Predecessors != nil {
		t.Errorf("first node of sub-topology 0 = %+v, want the source", src)
	}
}

// kafkaDocsWordCount is the word-count description printed in Kafka's
// tutorial, verbatim. The tutorial dates from Kafka 1.0: it prints a
// condensed layout that no Kafka release's TopologyDescription#toString
// produces, and it shows the repartition nodes with the generated names they
// had before Kafka 2.1.
const kafkaDocsWordCount = `Sub-topologies:
  Sub-topology: 0
    Source: KSTREAM-SOURCE-0000000000(topics: streams-plaintext-input) --> KSTREAM-FLATMAPVALUES-0000000001
    Processor: KSTREAM-FLATMAPVALUES-0000000001(stores: []) --> KSTREAM-KEY-SELECT-0000000002 <-- KSTREAM-SOURCE-0000000000
    Processor: KSTREAM-KEY-SELECT-0000000002(stores: []) --> KSTREAM-FILTER-0000000005 <-- KSTREAM-FLATMAPVALUES-0000000001
    Processor: KSTREAM-FILTER-0000000005(stores: []) --> KSTREAM-SINK-0000000004 <-- KSTREAM-KEY-SELECT-0000000002
    Sink: KSTREAM-SINK-0000000004(topic: counts-store-repartition) <-- KSTREAM-FILTER-0000000005
  Sub-topology: 1
    Source: KSTREAM-SOURCE-0000000006(topics: counts-store-repartition) --> KSTREAM-AGGREGATE-0000000003
    Processor: KSTREAM-AGGREGATE-0000000003(stores: [counts-store]) --> KTABLE-TOSTREAM-0000000007 <-- KSTREAM-SOURCE-0000000006
    Processor: KTABLE-TOSTREAM-0000000007(stores: []) --> KSTREAM-SINK-0000000008 <-- KSTREAM-AGGREGATE-0000000003
    Sink: KSTREAM-SINK-0000000008(topic: streams-wordcount-output) <-- KTABLE-TOSTREAM-0000000007
Global Stores:
  none`

// TestDescribeWordCountAsKafkaDocs checks the description, node by node and
// edge by edge, against the one in Kafka's tutorial: rendered in the
// tutorial's layout, with the repartition nodes under their pre-2.1 names,
// it is the tutorial's text.
func TestDescribeWordCountAsKafkaDocs(t *testing.T) {
	oldNames := strings.NewReplacer(
		"counts-store-repartition-sink", "KSTREAM-SINK-0000000004",
		"counts-store-repartition-filter", "KSTREAM-FILTER-0000000005",
		"counts-store-repartition-source", "KSTREAM-SOURCE-0000000006",
	)
	got := oldNames.Replace(docsLayout(wordCount(t).Describe()))
	if got != kafkaDocsWordCount {
		t.Errorf("in the tutorial's layout:\n%s\nwant\n%s", got, kafkaDocsWordCount)
	}
}

// docsLayout renders d as Kafka's tutorial shows descriptions: one line per
// node.
func docsLayout(d topology.Description) string {
	var b strings.Builder
	b.WriteString("Sub-topologies:\n")
	for _, st := range d.Subtopologies {
		b.WriteString("  Sub-topology: " + strconv.Itoa(st.ID) + "\n")
		for _, n := range st.Nodes {
			b.WriteString("    " + n.Kind.String() + ": " + n.Name)
			switch n.Kind {
			case topology.SourceNode:
				b.WriteString("(topics: " + strings.Join(n.Topics, ", ") + ") --> " + names(n.Successors))
			case topology.ProcessorNode:
				b.WriteString("(stores: [" + strings.Join(n.Stores, ", ") + "]) --> " + names(n.Successors) + " <-- " + names(n.Predecessors))
			case topology.SinkNode:
				b.WriteString("(topic: " + n.Topic + ") <-- " + names(n.Predecessors))
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("Global Stores:\n  none")
	return b.String()
}

func names(ns []string) string {
	if len(ns) == 0 {
		return "none"
	}
	return strings.Join(ns, ", ")
}

// node is one node of a processor-API topology built by build.
type node struct {
	kind    string // source, processor or sink
	name    string
	topics  []string // a source's topics, or a sink's one topic
	parents []string
	stores  []string
}

var forward = processor.Func[string, string, string, string](func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
	return ctx.Forward(rec)
})

// build adds nodes in order, as Kafka Streams' Topology#addSource,
// addProcessor, addSink and connectProcessorAndStateStores would.
func build(stores []string, nodes []node) *topology.Topology {
	t := topology.New()
	for _, s := range stores {
		t.AddStateStore(state.KeyValueStoreBuilder(s, serde.String, serde.String))
	}
	for _, n := range nodes {
		switch n.kind {
		case "source":
			t.AddSource(n.name, serde.String, serde.String, n.topics...)
		case "processor":
			t.AddProcessor(n.name, forward, n.parents...)
			t.ConnectProcessorAndStateStores(n.name, n.stores...)
		case "sink":
			t.AddSink(n.name, n.topics[0], serde.String, serde.String, n.parents...)
		}
	}
	return t
}

func TestDescribeProcessorAPI(t *testing.T) {
	topo := build([]string{"seen"}, []node{
		{kind: "source", name: "orders-source", topics: []string{"orders"}},
		{kind: "processor", name: "validate", parents: []string{"orders-source"}, stores: []string{"seen"}},
		{kind: "processor", name: "enrich", parents: []string{"validate"}},
		{kind: "sink", name: "enriched-sink", topics: []string{"orders-enriched"}, parents: []string{"enrich"}},
		{kind: "sink", name: "alerts-sink", topics: []string{"alerts"}, parents: []string{"validate"}},
	})
	const want = `Topologies:
   Sub-topology: 0
    Source: orders-source (topics: [orders])
      --> validate
    Processor: validate (stores: [seen])
      --> enrich, alerts-sink
      <-- orders-source
    Processor: enrich (stores: [])
      --> enriched-sink
      <-- validate
    Sink: alerts-sink (topic: alerts)
      <-- validate
    Sink: enriched-sink (topic: orders-enriched)
      <-- enrich

`
	d := topo.Describe()
	if got := d.String(); got != want {
		t.Errorf("Describe().String() =\n%s\nwant\n%s", got, want)
	}
	validate := d.Subtopologies[0].Nodes[1]
	if !reflect.DeepEqual(validate, topology.NodeDescription{
		Name:         "validate",
		Kind:         topology.ProcessorNode,
		Stores:       []string{"seen"},
		Predecessors: []string{"orders-source"},
		Successors:   []string{"enrich", "alerts-sink"},
	}) {
		t.Errorf("validate = %+v", validate)
	}
}

// TestDescribeKafkaTopologies rebuilds, with the processor API, topologies
// whose descriptions Kafka Streams' own tests pin down, and expects the same
// text. They cover what is easy to get wrong: nodes with several
// successors or predecessors, whose order Kafka derives from the order in
// which it linked the edges, sources with equal sizes, sets of stores and
// sub-topologies joined by shared stores.
func TestDescribeKafkaTopologies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stores []string
		nodes  []node
		want   string
	}{{
		// CogroupedKStreamImplTest#shouldInsertRepartitionsTopicForUpstreamKeyModification:
		// two aggregations share a store and meet in a merge node.
		name:   "cogroup",
		stores: []string{"store"},
		nodes: []node{
			{kind: "source", name: "KSTREAM-SOURCE-0000000000", topics: []string{"one"}},
			{kind: "source", name: "KSTREAM-SOURCE-0000000001", topics: []string{"two"}},
			{kind: "processor", name: "KSTREAM-MAP-0000000002", parents: []string{"KSTREAM-SOURCE-0000000000"}},
			{kind: "processor", name: "store-repartition-filter", parents: []string{"KSTREAM-MAP-0000000002"}},
			{kind: "sink", name: "store-repartition-sink", topics: []string{"store-repartition"}, parents: []string{"store-repartition-filter"}},
			{kind: "source", name: "store-repartition-source", topics: []string{"store-repartition"}},
			{kind: "processor", name: "test-cogroup-agg-0", parents: []string{"store-repartition-source"}, stores: []string{"store"}},
			{kind: "processor", name: "test-cogroup-agg-1", parents: []string{"KSTREAM-SOURCE-0000000001"}, stores: []string{"store"}},
			{kind: "processor", name: "test-cogroup-merge", parents: []string{"test-cogroup-agg-0", "test-cogroup-agg-1"}},
			{kind: "processor", name: "KTABLE-TOSTREAM-0000000009", parents: []string{"test-cogroup-merge"}},
			{kind: "sink", name: "KSTREAM-SINK-0000000010", topics: []string{"output"}, parents: []string{"KTABLE-TOSTREAM-0000000009"}},
		},
		want: "Topologies:\n" +
			"   Sub-topology: 0\n" +
			"    Source: KSTREAM-SOURCE-0000000000 (topics: [one])\n" +
			"      --> KSTREAM-MAP-0000000002\n" +
			"    Processor: KSTREAM-MAP-0000000002 (stores: [])\n" +
			"      --> store-repartition-filter\n" +
			"      <-- KSTREAM-SOURCE-0000000000\n" +
			"    Processor: store-repartition-filter (stores: [])\n" +
			"      --> store-repartition-sink\n" +
			"      <-- KSTREAM-MAP-0000000002\n" +
			"    Sink: store-repartition-sink (topic: store-repartition)\n" +
			"      <-- store-repartition-filter\n\n" +
			"  Sub-topology: 1\n" +
			"    Source: KSTREAM-SOURCE-0000000001 (topics: [two])\n" +
			"      --> test-cogroup-agg-1\n" +
			"    Source: store-repartition-source (topics: [store-repartition])\n" +
			"      --> test-cogroup-agg-0\n" +
			"    Processor: test-cogroup-agg-0 (stores: [store])\n" +
			"      --> test-cogroup-merge\n" +
			"      <-- store-repartition-source\n" +
			"    Processor: test-cogroup-agg-1 (stores: [store])\n" +
			"      --> test-cogroup-merge\n" +
			"      <-- KSTREAM-SOURCE-0000000001\n" +
			"    Processor: test-cogroup-merge (stores: [])\n" +
			"      --> KTABLE-TOSTREAM-0000000009\n" +
			"      <-- test-cogroup-agg-0, test-cogroup-agg-1\n" +
			"    Processor: KTABLE-TOSTREAM-0000000009 (stores: [])\n" +
			"      --> KSTREAM-SINK-0000000010\n" +
			"      <-- test-cogroup-merge\n" +
			"    Sink: KSTREAM-SINK-0000000010 (topic: output)\n" +
			"      <-- KTABLE-TOSTREAM-0000000009\n\n",
	}, {
		// RepartitionTopicNamingTest's EXPECTED_UNOPTIMIZED_TOPOLOGY: one
		// stream feeds four repartition topics and a stream-stream join.
		name: "repartition naming",
		stores: []string{
			"KSTREAM-AGGREGATE-STATE-STORE-0000000006", "KSTREAM-AGGREGATE-STATE-STORE-0000000013",
			"KSTREAM-REDUCE-STATE-STORE-0000000022", "joined-stream-this-join-store", "joined-stream-other-join-store",
		},
		nodes: []node{
			{kind: "source", name: "KSTREAM-SOURCE-0000000000", topics: []string{"input"}},
			{kind: "processor", name: "KSTREAM-MAP-0000000001", parents: []string{"KSTREAM-SOURCE-0000000000"}},
			{kind: "processor", name: "KSTREAM-FILTER-0000000002", parents: []string{"KSTREAM-MAP-0000000001"}},
			{kind: "processor", name: "KSTREAM-MAPVALUES-0000000003", parents: []string{"KSTREAM-FILTER-0000000002"}},
			{kind: "processor", name: "KSTREAM-PROCESSOR-0000000004", parents: []string{"KSTREAM-MAPVALUES-0000000003"}},
			{kind: "processor", name: "count-stream-repartition-filter", parents: []string{"KSTREAM-MAP-0000000001"}},
			{kind: "sink", name: "count-stream-repartition-sink", topics: []string{"count-stream-repartition"}, parents: []string{"count-stream-repartition-filter"}},
			{kind: "source", name: "count-stream-repartition-source", topics: []string{"count-stream-repartition"}},
			{kind: "processor", name: "KSTREAM-AGGREGATE-0000000007", parents: []string{"count-stream-repartition-source"}, stores: []string{"KSTREAM-AGGREGATE-STATE-STORE-0000000006"}},
			{kind: "processor", name: "KTABLE-TOSTREAM-0000000011", parents: []string{"KSTREAM-AGGREGATE-0000000007"}},
			{kind: "sink", name: "KSTREAM-SINK-0000000012", topics: []string{"outputTopic_0"}, parents: []string{"KTABLE-TOSTREAM-0000000011"}},
			{kind: "processor", name: "aggregate-stream-repartition-filter", parents: []string{"KSTREAM-MAP-0000000001"}},
			{kind: "sink", name: "aggregate-stream-repartition-sink", topics: []string{"aggregate-stream-repartition"}, parents: []string{"aggregate-stream-repartition-filter"}},
			{kind: "source", name: "aggregate-stream-repartition-source", topics: []string{"aggregate-stream-repartition"}},
			{kind: "processor", name: "KSTREAM-AGGREGATE-0000000014", parents: []string{"aggregate-stream-repartition-source"}, stores: []string{"KSTREAM-AGGREGATE-STATE-STORE-0000000013"}},
			{kind: "processor", name: "KTABLE-TOSTREAM-0000000018", parents: []string{"KSTREAM-AGGREGATE-0000000014"}},
			{kind: "sink", name: "KSTREAM-SINK-0000000019", topics: []string{"outputTopic_1"}, parents: []string{"KTABLE-TOSTREAM-0000000018"}},
			{kind: "processor", name: "KSTREAM-FILTER-0000000020", parents: []string{"KSTREAM-MAP-0000000001"}},
			{kind: "processor", name: "KSTREAM-PEEK-0000000021", parents: []string{"KSTREAM-FILTER-0000000020"}},
			{kind: "processor", name: "reduced-stream-repartition-filter", parents: []string{"KSTREAM-PEEK-0000000021"}},
			{kind: "sink", name: "reduced-stream-repartition-sink", topics: []string{"reduced-stream-repartition"}, parents: []string{"reduced-stream-repartition-filter"}},
			{kind: "source", name: "reduced-stream-repartition-source", topics: []string{"reduced-stream-repartition"}},
			{kind: "processor", name: "KSTREAM-REDUCE-0000000023", parents: []string{"reduced-stream-repartition-source"}, stores: []string{"KSTREAM-REDUCE-STATE-STORE-0000000022"}},
			{kind: "processor", name: "KTABLE-TOSTREAM-0000000027", parents: []string{"KSTREAM-REDUCE-0000000023"}},
			{kind: "sink", name: "KSTREAM-SINK-0000000028", topics: []string{"outputTopic_2"}, parents: []string{"KTABLE-TOSTREAM-0000000027"}},
			{kind: "processor", name: "KSTREAM-FILTER-0000000029", parents: []string{"KSTREAM-MAP-0000000001"}},
			{kind: "processor", name: "joined-stream-left-repartition-filter", parents: []string{"KSTREAM-FILTER-0000000029"}},
			{kind: "sink", name: "joined-stream-left-repartition-sink", topics: []string{"joined-stream-left-repartition"}, parents: []string{"joined-stream-left-repartition-filter"}},
			{kind: "source", name: "joined-stream-left-repartition-source", topics: []string{"joined-stream-left-repartition"}},
			{kind: "processor", name: "joined-stream-this-windowed", parents: []string{"joined-stream-left-repartition-source"}, stores: []string{"joined-stream-this-join-store"}},
			{kind: "processor", name: "joined-stream-other-windowed", parents: []string{"KTABLE-TOSTREAM-0000000011"}, stores: []string{"joined-stream-other-join-store"}},
			{kind: "processor", name: "joined-stream-this-join", parents: []string{"joined-stream-this-windowed"}, stores: []string{"joined-stream-other-join-store"}},
			{kind: "processor", name: "joined-stream-other-join", parents: []string{"joined-stream-other-windowed"}, stores: []string{"joined-stream-this-join-store"}},
			{kind: "processor", name: "joined-stream-merge", parents: []string{"joined-stream-this-join", "joined-stream-other-join"}},
			{kind: "sink", name: "KSTREAM-SINK-0000000038", topics: []string{"outputTopicForJoin"}, parents: []string{"joined-stream-merge"}},
		},
		want: "Topologies:\n" +
			"   Sub-topology: 0\n" +
			"    Source: KSTREAM-SOURCE-0000000000 (topics: [input])\n" +
			"      --> KSTREAM-MAP-0000000001\n" +
			"    Processor: KSTREAM-MAP-0000000001 (stores: [])\n" +
			"      --> KSTREAM-FILTER-0000000029, KSTREAM-FILTER-0000000002, KSTREAM-FILTER-0000000020, aggregate-stream-repartition-filter, count-stream-repartition-filter\n" +
			"      <-- KSTREAM-SOURCE-0000000000\n" +
			"    Processor: KSTREAM-FILTER-0000000020 (stores: [])\n" +
			"      --> KSTREAM-PEEK-0000000021\n" +
			"      <-- KSTREAM-MAP-0000000001\n" +
			"    Processor: KSTREAM-FILTER-0000000002 (stores: [])\n" +
			"      --> KSTREAM-MAPVALUES-0000000003\n" +
			"      <-- KSTREAM-MAP-0000000001\n" +
			"    Processor: KSTREAM-FILTER-0000000029 (stores: [])\n" +
			"      --> joined-stream-left-repartition-filter\n" +
			"      <-- KSTREAM-MAP-0000000001\n" +
			"    Processor: KSTREAM-PEEK-0000000021 (stores: [])\n" +
			"      --> reduced-stream-repartition-filter\n" +
			"      <-- KSTREAM-FILTER-0000000020\n" +
			"    Processor: KSTREAM-MAPVALUES-0000000003 (stores: [])\n" +
			"      --> KSTREAM-PROCESSOR-0000000004\n" +
			"      <-- KSTREAM-FILTER-0000000002\n" +
			"    Processor: aggregate-stream-repartition-filter (stores: [])\n" +
			"      --> aggregate-stream-repartition-sink\n" +
			"      <-- KSTREAM-MAP-0000000001\n" +
			"    Processor: count-stream-repartition-filter (stores: [])\n" +
			"      --> count-stream-repartition-sink\n" +
			"      <-- KSTREAM-MAP-0000000001\n" +
			"    Processor: joined-stream-left-repartition-filter (stores: [])\n" +
			"      --> joined-stream-left-repartition-sink\n" +
			"      <-- KSTREAM-FILTER-0000000029\n" +
			"    Processor: reduced-stream-repartition-filter (stores: [])\n" +
			"      --> reduced-stream-repartition-sink\n" +
			"      <-- KSTREAM-PEEK-0000000021\n" +
			"    Processor: KSTREAM-PROCESSOR-0000000004 (stores: [])\n" +
			"      --> none\n" +
			"      <-- KSTREAM-MAPVALUES-0000000003\n" +
			"    Sink: aggregate-stream-repartition-sink (topic: aggregate-stream-repartition)\n" +
			"      <-- aggregate-stream-repartition-filter\n" +
			"    Sink: count-stream-repartition-sink (topic: count-stream-repartition)\n" +
			"      <-- count-stream-repartition-filter\n" +
			"    Sink: joined-stream-left-repartition-sink (topic: joined-stream-left-repartition)\n" +
			"      <-- joined-stream-left-repartition-filter\n" +
			"    Sink: reduced-stream-repartition-sink (topic: reduced-stream-repartition)\n" +
			"      <-- reduced-stream-repartition-filter\n" +
			"\n" +
			"  Sub-topology: 1\n" +
			"    Source: count-stream-repartition-source (topics: [count-stream-repartition])\n" +
			"      --> KSTREAM-AGGREGATE-0000000007\n" +
			"    Processor: KSTREAM-AGGREGATE-0000000007 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000006])\n" +
			"      --> KTABLE-TOSTREAM-0000000011\n" +
			"      <-- count-stream-repartition-source\n" +
			"    Processor: KTABLE-TOSTREAM-0000000011 (stores: [])\n" +
			"      --> KSTREAM-SINK-0000000012, joined-stream-other-windowed\n" +
			"      <-- KSTREAM-AGGREGATE-0000000007\n" +
			"    Source: joined-stream-left-repartition-source (topics: [joined-stream-left-repartition])\n" +
			"      --> joined-stream-this-windowed\n" +
			"    Processor: joined-stream-other-windowed (stores: [joined-stream-other-join-store])\n" +
			"      --> joined-stream-other-join\n" +
			"      <-- KTABLE-TOSTREAM-0000000011\n" +
			"    Processor: joined-stream-this-windowed (stores: [joined-stream-this-join-store])\n" +
			"      --> joined-stream-this-join\n" +
			"      <-- joined-stream-left-repartition-source\n" +
			"    Processor: joined-stream-other-join (stores: [joined-stream-this-join-store])\n" +
			"      --> joined-stream-merge\n" +
			"      <-- joined-stream-other-windowed\n" +
			"    Processor: joined-stream-this-join (stores: [joined-stream-other-join-store])\n" +
			"      --> joined-stream-merge\n" +
			"      <-- joined-stream-this-windowed\n" +
			"    Processor: joined-stream-merge (stores: [])\n" +
			"      --> KSTREAM-SINK-0000000038\n" +
			"      <-- joined-stream-this-join, joined-stream-other-join\n" +
			"    Sink: KSTREAM-SINK-0000000012 (topic: outputTopic_0)\n" +
			"      <-- KTABLE-TOSTREAM-0000000011\n" +
			"    Sink: KSTREAM-SINK-0000000038 (topic: outputTopicForJoin)\n" +
			"      <-- joined-stream-merge\n" +
			"\n" +
			"  Sub-topology: 2\n" +
			"    Source: aggregate-stream-repartition-source (topics: [aggregate-stream-repartition])\n" +
			"      --> KSTREAM-AGGREGATE-0000000014\n" +
			"    Processor: KSTREAM-AGGREGATE-0000000014 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000013])\n" +
			"      --> KTABLE-TOSTREAM-0000000018\n" +
			"      <-- aggregate-stream-repartition-source\n" +
			"    Processor: KTABLE-TOSTREAM-0000000018 (stores: [])\n" +
			"      --> KSTREAM-SINK-0000000019\n" +
			"      <-- KSTREAM-AGGREGATE-0000000014\n" +
			"    Sink: KSTREAM-SINK-0000000019 (topic: outputTopic_1)\n" +
			"      <-- KTABLE-TOSTREAM-0000000018\n" +
			"\n" +
			"  Sub-topology: 3\n" +
			"    Source: reduced-stream-repartition-source (topics: [reduced-stream-repartition])\n" +
			"      --> KSTREAM-REDUCE-0000000023\n" +
			"    Processor: KSTREAM-REDUCE-0000000023 (stores: [KSTREAM-REDUCE-STATE-STORE-0000000022])\n" +
			"      --> KTABLE-TOSTREAM-0000000027\n" +
			"      <-- reduced-stream-repartition-source\n" +
			"    Processor: KTABLE-TOSTREAM-0000000027 (stores: [])\n" +
			"      --> KSTREAM-SINK-0000000028\n" +
			"      <-- KSTREAM-REDUCE-0000000023\n" +
			"    Sink: KSTREAM-SINK-0000000028 (topic: outputTopic_2)\n" +
			"      <-- KTABLE-TOSTREAM-0000000027\n\n",
	}, {
		// Kafka prints a processor's stores, and a source's topics, in the
		// order of a java.util.HashSet, whatever order they were given in;
		// the names and orders are those of TopologyTest's
		// streamStreamLeftJoinTopologyWithDefaultStoresNames and
		// streamStreamLeftJoinTopologyWithCustomStoresSuppliers.
		name:   "store and topic order",
		stores: []string{"KSTREAM-OUTERSHARED-0000000004-store", "KSTREAM-OUTEROTHER-0000000005-store"},
		nodes: []node{
			{kind: "source", name: "src", topics: []string{"in-memory-join-store-left-shared-join-store", "in-memory-join-store"}},
			{kind: "processor", name: "KSTREAM-JOINTHIS-0000000004", parents: []string{"src"}, stores: []string{"KSTREAM-OUTERSHARED-0000000004-store", "KSTREAM-OUTEROTHER-0000000005-store"}},
		},
		want: "Topologies:\n" +
			"   Sub-topology: 0\n" +
			"    Source: src (topics: [in-memory-join-store, in-memory-join-store-left-shared-join-store])\n" +
			"      --> KSTREAM-JOINTHIS-0000000004\n" +
			"    Processor: KSTREAM-JOINTHIS-0000000004 (stores: [KSTREAM-OUTEROTHER-0000000005-store, KSTREAM-OUTERSHARED-0000000004-store])\n" +
			"      --> none\n" +
			"      <-- src\n\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			d := build(tc.stores, tc.nodes).Describe()
			if err := d.Err(); err != nil {
				t.Fatal(err)
			}
			if got := d.String(); got != tc.want {
				t.Errorf("Describe().String() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestDescribeDynamicSink(t *testing.T) {
	topo := topology.New().
		AddSource("KSTREAM-SOURCE-0000000000", serde.String, serde.String, "input-topic").
		AddDynamicSink("KSTREAM-SINK-0000000001", func(rec processor.Record[string, string]) string { return "out-" + rec.Key },
			serde.String, serde.String, "KSTREAM-SOURCE-0000000000")
	const want = "Topologies:\n" +
		"   Sub-topology: 0\n" +
		"    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n" +
		"      --> KSTREAM-SINK-0000000001\n" +
		"    Sink: KSTREAM-SINK-0000000001 (extractor class: topic extractor)\n" +
		"      <-- KSTREAM-SOURCE-0000000000\n\n"
	d := topo.Describe()
	if got := d.String(); got != want {
		t.Errorf("Describe().String() =\n%s\nwant\n%s", got, want)
	}
	if sink := d.Subtopologies[0].Nodes[1]; sink.Kind != topology.SinkNode || sink.Topic != "" {
		t.Errorf("sink = %+v, want a sink without a topic", sink)
	}
}

func TestDescribeBuildError(t *testing.T) {
	topo := topology.New().
		AddSource("source", serde.String, serde.String, "in").
		AddProcessor("orphan", forward, "nowhere")
	d := topo.Describe()
	err := d.Err()
	if !errors.Is(err, topology.ErrUnknownNode) {
		t.Fatalf("Err() = %v, want ErrUnknownNode", err)
	}
	if d.Subtopologies != nil {
		t.Errorf("Subtopologies = %+v, want none", d.Subtopologies)
	}
	if got := d.String(); got != err.Error() || !strings.HasPrefix(got, "topology: ") {
		t.Errorf("String() = %q, want the error %q", got, err.Error())
	}
	const wantChart = "flowchart TD\n" +
		`    err["topology: unknown node: processor #quot;orphan#quot; names parent #quot;nowhere#quot;, which does not exist"]` + "\n"
	if got := topo.Mermaid(); got != wantChart {
		t.Errorf("Mermaid() =\n%s\nwant\n%s", got, wantChart)
	}
}

func TestMermaidWordCount(t *testing.T) {
	const want = `flowchart TD
    t0[/"streams-plaintext-input"/]
    t1[/"counts-store-repartition"/]
    t2[/"streams-wordcount-output"/]
    subgraph sub0["Sub-topology: 0"]
        n0["Source: KSTREAM-SOURCE-0000000000"]
        n1["Processor: KSTREAM-FLATMAPVALUES-0000000001"]
        n2["Processor: KSTREAM-KEY-SELECT-0000000002"]
        n3["Processor: counts-store-repartition-filter"]
        n4["Sink: counts-store-repartition-sink"]
    end
    subgraph sub1["Sub-topology: 1"]
        n5["Source: counts-store-repartition-source"]
        n6["Processor: KSTREAM-AGGREGATE-0000000003"]
        s0[("counts-store")]
        n7["Processor: KTABLE-TOSTREAM-0000000007"]
        n8["Sink: KSTREAM-SINK-0000000008"]
    end
    t0 --> n0
    n0 --> n1
    n1 --> n2
    n2 --> n3
    n3 --> n4
    n4 --> t1
    t1 --> n5
    n5 --> n6
    n6 --> n7
    n6 -.- s0
    n7 --> n8
    n8 --> t2
`
	got := wordCount(t).Mermaid()
	if got != want {
		t.Errorf("Mermaid() =\n%s\nwant\n%s", got, want)
	}
	// The repartition topic is one node, written in one subgraph and read
	// in the other.
	if !strings.Contains(got, "n4 --> t1\n") || !strings.Contains(got, "t1 --> n5\n") {
		t.Error("the repartition topic does not connect the sub-topologies")
	}
}

func TestMermaidEscapesNames(t *testing.T) {
	topo := topology.New().
		AddSource(`in "quoted" <b>#1</b> & co`, serde.String, serde.String, "in").
		AddDynamicSink("end", func(processor.Record[string, string]) string { return "x" },
			serde.String, serde.String, `in "quoted" <b>#1</b> & co`)
	const want = `flowchart TD
    t0[/"in"/]
    subgraph sub0["Sub-topology: 0"]
        n0["Source: in #quot;quoted#quot; #lt;b#gt;#35;1#lt;/b#gt; #amp; co"]
        n1["Sink: end"]
        r0[/"topic chosen per record"/]
    end
    t0 --> n0
    n0 --> n1
    n1 --> r0
`
	if got := topo.Mermaid(); got != want {
		t.Errorf("Mermaid() =\n%s\nwant\n%s", got, want)
	}
}
