package topology_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
)

// ratesUpdater keeps the store it is given in step with its topic: a value
// puts, a tombstone deletes.
type ratesUpdater struct {
	store string
	kv    *state.KeyValueStore[string, string]
}

func updater(store string) processor.Supplier[string, string, string, string] {
	return processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] {
		return &ratesUpdater{store: store}
	})
}

func (u *ratesUpdater) Init(ctx processor.Context[string, string]) (err error) {
	u.kv, err = state.GetKeyValueStore[string, string](ctx, u.store)
	return err
}

func (u *ratesUpdater) Process(rec processor.Record[string, string]) error {
	if rec.NullValue {
		_, _, err := u.kv.Delete(rec.Key)
		return err
	}
	return u.kv.Put(rec.Key, rec.Value)
}

func (u *ratesUpdater) Close() error { return nil }

func globalBuilder(name string) *state.KeyValueBuilder[string, string] {
	return state.KeyValueStoreBuilder(name, serde.String, serde.String).WithLoggingDisabled()
}

func passThrough() processor.Func[string, string, string, string] {
	return func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		return ctx.Forward(rec)
	}
}

// A global store added between the nodes of a sub-topology takes the next
// id, as in Kafka Streams, whose ids follow the order nodes were added in;
// the stream's sub-topology keeps its id 0.
func TestDescribeGlobalStoreAfterStream(t *testing.T) {
	topo := topology.New().
		AddSource("orders-source", serde.String, serde.String, "orders").
		AddGlobalStore(globalBuilder("rates"), "rates-source", serde.String, serde.String, "rates", "rates-updater", updater("rates")).
		AddProcessor("pricer", passThrough(), "orders-source").
		AddSink("priced-sink", "priced", serde.String, serde.String, "pricer")
	const want = `Topologies:
   Sub-topology: 0
    Source: orders-source (topics: [orders])
      --> pricer
    Processor: pricer (stores: [])
      --> priced-sink
      <-- orders-source
    Sink: priced-sink (topic: priced)
      <-- pricer

  Sub-topology: 1 for global store (will not generate tasks)
    Source: rates-source (topics: [rates])
      --> rates-updater
    Processor: rates-updater (stores: [rates])
      --> none
      <-- rates-source
`
	d := topo.Describe()
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if got := d.String(); got != want {
		t.Errorf("Describe().String() =\n%s\nwant\n%s", got, want)
	}
	if len(d.Subtopologies) != 1 || d.Subtopologies[0].ID != 0 {
		t.Fatalf("sub-topologies %+v, want one, id 0", d.Subtopologies)
	}
	if len(d.GlobalStores) != 1 {
		t.Fatalf("global stores %+v, want one", d.GlobalStores)
	}
	gs := d.GlobalStores[0]
	if gs.ID != 1 || gs.Store != "rates" || gs.Source.Name != "rates-source" || gs.Processor.Name != "rates-updater" ||
		fmt.Sprint(gs.Source.Topics) != "[rates]" || fmt.Sprint(gs.Processor.Stores) != "[rates]" {
		t.Errorf("global store description %+v", gs)
	}
}

// Global stores added first take the first ids, so the sub-topology that
// makes tasks is number 2, and Kafka prints the global stores' blocks,
// which end without an empty line, before it.
func TestDescribeGlobalStoresFirst(t *testing.T) {
	topo := topology.New().
		AddGlobalStore(globalBuilder("rates"), "rates-source", serde.String, serde.String, "rates", "rates-updater", updater("rates")).
		AddGlobalStore(globalBuilder("fees"), "fees-source", serde.String, serde.String, "fees", "fees-updater", updater("fees")).
		AddSource("orders-source", serde.String, serde.String, "orders").
		AddSink("orders-sink", "orders-copy", serde.String, serde.String, "orders-source")
	const want = `Topologies:
   Sub-topology: 0 for global store (will not generate tasks)
    Source: rates-source (topics: [rates])
      --> rates-updater
    Processor: rates-updater (stores: [rates])
      --> none
      <-- rates-source
  Sub-topology: 1 for global store (will not generate tasks)
    Source: fees-source (topics: [fees])
      --> fees-updater
    Processor: fees-updater (stores: [fees])
      --> none
      <-- fees-source
  Sub-topology: 2
    Source: orders-source (topics: [orders])
      --> orders-sink
    Sink: orders-sink (topic: orders-copy)
      <-- orders-source

`
	if got := topo.Describe().String(); got != want {
		t.Errorf("Describe().String() =\n%s\nwant\n%s", got, want)
	}
	const chart = `flowchart TD
    t0[/"rates"/]
    t1[/"fees"/]
    t2[/"orders"/]
    t3[/"orders-copy"/]
    subgraph sub0["Sub-topology: 0 for global store"]
        n0["Source: rates-source"]
        n1["Processor: rates-updater"]
        s0[("rates")]
    end
    subgraph sub1["Sub-topology: 1 for global store"]
        n2["Source: fees-source"]
        n3["Processor: fees-updater"]
        s1[("fees")]
    end
    subgraph sub2["Sub-topology: 2"]
        n4["Source: orders-source"]
        n5["Sink: orders-sink"]
    end
    t0 --> n0
    n0 --> n1
    n1 -.- s0
    t1 --> n2
    n2 --> n3
    n3 -.- s1
    t2 --> n4
    n4 --> n5
    n5 --> t3
`
	if got := topo.Mermaid(); got != chart {
		t.Errorf("Mermaid() =\n%s\nwant\n%s", got, chart)
	}
}

// A topology of global stores alone builds: it has no sub-topology that
// makes tasks.
func TestGlobalStoreOnly(t *testing.T) {
	topo := topology.New().
		AddGlobalStore(globalBuilder("rates"), "rates-source", serde.String, serde.String, "rates", "rates-updater", updater("rates"))
	d := topo.Describe()
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if len(d.Subtopologies) != 0 || len(d.GlobalStores) != 1 || d.GlobalStores[0].ID != 0 {
		t.Errorf("description %+v", d)
	}
}

func TestGlobalStoreBuildErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(*topology.Topology)
		is    error
		says  []string
	}{
		{
			name: "logged store",
			build: func(topo *topology.Topology) {
				topo.AddGlobalStore(state.KeyValueStoreBuilder("rates", serde.String, serde.String), "rates-source", serde.String, serde.String, "rates", "rates-updater", updater("rates"))
			},
			is:   topology.ErrGlobalStore,
			says: []string{`global store "rates" is logged`, "WithLoggingDisabled"},
		},
		{
			name: "topic also read by a source",
			build: func(topo *topology.Topology) {
				topo.AddSource("rates-stream", serde.String, serde.String, "rates").
					AddSink("copy", "rates-copy", serde.String, serde.String, "rates-stream").
					AddGlobalStore(globalBuilder("rates"), "rates-source", serde.String, serde.String, "rates", "rates-updater", updater("rates"))
			},
			is:   topology.ErrDuplicateName,
			says: []string{`topic "rates"`, `source "rates-stream"`, `global store "rates"`},
		},
		{
			name: "two global stores on one topic",
			build: func(topo *topology.Topology) {
				topo.AddGlobalStore(globalBuilder("a"), "a-source", serde.String, serde.String, "rates", "a-updater", updater("a")).
					AddGlobalStore(globalBuilder("b"), "b-source", serde.String, serde.String, "rates", "b-updater", updater("b"))
			},
			is:   topology.ErrDuplicateName,
			says: []string{`topic "rates"`, `global store "a"`, `global store "b"`},
		},
		{
			name: "connected to a processor",
			build: func(topo *topology.Topology) {
				topo.AddGlobalStore(globalBuilder("rates"), "rates-source", serde.String, serde.String, "rates", "rates-updater", updater("rates")).
					AddSource("orders-source", serde.String, serde.String, "orders").
					AddProcessor("pricer", passThrough(), "orders-source").
					AddSink("priced", "priced", serde.String, serde.String, "pricer").
					ConnectProcessorAndStateStores("pricer", "rates")
			},
			is:   topology.ErrGlobalStore,
			says: []string{`global store "rates" is connected to "pricer"`, "without being connected"},
		},
		{
			name: "child of the processor",
			build: func(topo *topology.Topology) {
				topo.AddGlobalStore(globalBuilder("rates"), "rates-source", serde.String, serde.String, "rates", "rates-updater", updater("rates")).
					AddSink("leak", "out", serde.String, serde.String, "rates-updater")
			},
			is:   topology.ErrGlobalStore,
			says: []string{`"rates-updater" of global store "rates" has a child, "leak"`},
		},
		{
			name: "child of the source",
			build: func(topo *topology.Topology) {
				topo.AddGlobalStore(globalBuilder("rates"), "rates-source", serde.String, serde.String, "rates", "rates-updater", updater("rates")).
					AddSink("leak", "out", serde.String, serde.String, "rates-source")
			},
			is:   topology.ErrGlobalStore,
			says: []string{`"rates-source" of global store "rates" has a child, "leak"`},
		},
		{
			name: "processor with a store of its own",
			build: func(topo *topology.Topology) {
				topo.AddGlobalStore(globalBuilder("rates"), "rates-source", serde.String, serde.String, "rates", "rates-updater", updater("rates")).
					AddStateStore(state.KeyValueStoreBuilder("scratch", serde.String, serde.String), "rates-updater")
			},
			is:   topology.ErrGlobalStore,
			says: []string{`processor "rates-updater" of global store "rates" is connected to store "scratch"`},
		},
		{
			name: "repartition topic",
			build: func(topo *topology.Topology) {
				topo.AddRepartitionTopic(topology.RepartitionTopic{Name: "rates"}).
					AddGlobalStore(globalBuilder("rates"), "rates-source", serde.String, serde.String, "rates", "rates-updater", updater("rates"))
			},
			is:   topology.ErrGlobalStore,
			says: []string{`reads repartition topic "rates"`},
		},
		{
			name: "missing serde",
			build: func(topo *topology.Topology) {
				topo.AddGlobalStore(globalBuilder("rates"), "rates-source", nil, serde.String, "rates", "rates-updater", updater("rates"))
			},
			is:   topology.ErrMissingSerde,
			says: []string{`source "rates-source" (topic "rates" of global store "rates") has no key serde`},
		},
		{
			name: "no supplier",
			build: func(topo *topology.Topology) {
				topo.AddGlobalStore[string, string, string, string](globalBuilder("rates"), "rates-source", serde.String, serde.String, "rates", "rates-updater", nil)
			},
			is:   topology.ErrGlobalStore,
			says: []string{`processor "rates-updater" of global store "rates" has no supplier`},
		},
		{
			name: "store name taken",
			build: func(topo *topology.Topology) {
				topo.AddSource("orders-source", serde.String, serde.String, "orders").
					AddProcessor("p", passThrough(), "orders-source").
					AddSink("s", "out", serde.String, serde.String, "p").
					AddStateStore(state.KeyValueStoreBuilder("rates", serde.String, serde.String), "p").
					AddGlobalStore(globalBuilder("rates"), "rates-source", serde.String, serde.String, "rates", "rates-updater", updater("rates"))
			},
			is:   topology.ErrDuplicateName,
			says: []string{`store "rates" is defined twice`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			topo := topology.New()
			tc.build(topo)
			err := topo.Build()
			if !errors.Is(err, tc.is) {
				t.Fatalf("Build() = %v, want an error matching %v", err, tc.is)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Build() = %q, want it to say %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "topology: topology:") {
				t.Errorf("Build() = %q stutters", err)
			}
		})
	}
}
