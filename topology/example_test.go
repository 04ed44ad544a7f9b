package topology_test

import (
	"fmt"
	"strings"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
)

// The word count of Kafka Streams' tutorial, described as Kafka Streams
// describes it: the repartition topic splits it into two sub-topologies.
func ExampleTopology_Describe() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "streams-plaintext-input", serde.String, serde.String).
		FlatMapValues(func(line string) []string { return strings.Fields(strings.ToLower(line)) }).
		GroupBy(func(_, word string) string { return word }, dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.MaterializedAs[string, int64]("counts-store")).
		ToStream().
		To("streams-wordcount-output", dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(topo.Describe())
	// Output:
	// Topologies:
	//    Sub-topology: 0
	//     Source: KSTREAM-SOURCE-0000000000 (topics: [streams-plaintext-input])
	//       --> KSTREAM-FLATMAPVALUES-0000000001
	//     Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])
	//       --> KSTREAM-KEY-SELECT-0000000002
	//       <-- KSTREAM-SOURCE-0000000000
	//     Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])
	//       --> counts-store-repartition-filter
	//       <-- KSTREAM-FLATMAPVALUES-0000000001
	//     Processor: counts-store-repartition-filter (stores: [])
	//       --> counts-store-repartition-sink
	//       <-- KSTREAM-KEY-SELECT-0000000002
	//     Sink: counts-store-repartition-sink (topic: counts-store-repartition)
	//       <-- counts-store-repartition-filter
	//
	//   Sub-topology: 1
	//     Source: counts-store-repartition-source (topics: [counts-store-repartition])
	//       --> KSTREAM-AGGREGATE-0000000003
	//     Processor: KSTREAM-AGGREGATE-0000000003 (stores: [counts-store])
	//       --> KTABLE-TOSTREAM-0000000007
	//       <-- counts-store-repartition-source
	//     Processor: KTABLE-TOSTREAM-0000000007 (stores: [])
	//       --> KSTREAM-SINK-0000000008
	//       <-- KSTREAM-AGGREGATE-0000000003
	//     Sink: KSTREAM-SINK-0000000008 (topic: streams-wordcount-output)
	//       <-- KTABLE-TOSTREAM-0000000007
}

// Walking a description: which sub-topology reads which topics.
func ExampleDescription() {
	b := dsl.NewBuilder()
	dsl.Stream(b, "text-lines", serde.String, serde.String).
		GroupBy(func(_, line string) string { return line }, dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.MaterializedAs[string, int64]("line-counts"))
	topo, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range topo.Describe().Subtopologies {
		for _, n := range st.Nodes {
			if len(n.Topics) > 0 {
				fmt.Printf("sub-topology %d reads %v with %s\n", st.ID, n.Topics, n.Name)
			}
		}
	}
	// Output:
	// sub-topology 0 reads [text-lines] with KSTREAM-SOURCE-0000000000
	// sub-topology 1 reads [line-counts-repartition] with line-counts-repartition-source
}

// A global store of exchange rates, filled from every partition of the
// topic "rates" by its keeper, for any processor to read: a sub-topology
// that makes no tasks.
func ExampleTopology_AddGlobalStore() {
	keeper := processor.Func[string, float64, string, float64](func(ctx processor.Context[string, float64], rec processor.Record[string, float64]) error {
		return nil // a real keeper puts rec in the store, deleting on a tombstone
	})
	topo := topology.New().
		AddGlobalStore(state.KeyValueStoreBuilder("rates", serde.String, serde.Float64).WithLoggingDisabled(),
			"rates-source", serde.String, serde.Float64, "rates", "rates-keeper", keeper).
		AddSource("orders-source", serde.String, serde.String, "orders").
		AddSink("orders-sink", "orders-copy", serde.String, serde.String, "orders-source")
	fmt.Print(topo.Describe())
	// Output:
	// Topologies:
	//    Sub-topology: 0 for global store (will not generate tasks)
	//     Source: rates-source (topics: [rates])
	//       --> rates-keeper
	//     Processor: rates-keeper (stores: [rates])
	//       --> none
	//       <-- rates-source
	//   Sub-topology: 1
	//     Source: orders-source (topics: [orders])
	//       --> orders-sink
	//     Sink: orders-sink (topic: orders-copy)
	//       <-- orders-source
}
