package topology_test

import (
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
)

// rates writes each record of the global topic to the global store.
type rates struct {
	ctx processor.Context[struct{}, struct{}]
	kv  *state.KeyValueStore[string, int64]
}

func (p *rates) Init(ctx processor.Context[struct{}, struct{}]) error {
	p.ctx = ctx
	var err error
	p.kv, err = state.GetKeyValueStore[string, int64](ctx, "rates")
	return err
}

func (p *rates) Process(rec processor.Record[string, int64]) error {
	return p.kv.Put(rec.Key, rec.Value)
}
func (p *rates) Close() error { return nil }

// A global store built with the processor API: filled by its processor,
// read through its view by a processor of the tasks, which sees every
// update.
func TestGlobalStore(t *testing.T) {
	topo := topology.New()
	topo.AddGlobalStore(state.KeyValueStoreBuilder("rates", serde.String, serde.Int64).WithLoggingDisabled(),
		"rates-source", serde.String, serde.Int64, "rates", "rates-processor",
		processor.SupplierFunc[string, int64, struct{}, struct{}](func() processor.Processor[string, int64, struct{}, struct{}] { return &rates{} }))
	topo.AddSource("prices", serde.String, serde.Int64, "prices")
	topo.AddProcessor("convert", processor.Func[string, int64, string, int64](func(ctx processor.Context[string, int64], rec processor.Record[string, int64]) error {
		view, err := state.GetReadOnlyKeyValueStore[string, int64](ctx, "rates")
		if err != nil {
			return err
		}
		rate, _, err := view.Get("EUR")
		if err != nil {
			return err
		}
		return ctx.Forward(rec.WithValue(rec.Value * rate))
	}), "prices")
	topo.ConnectProcessorAndStateStores("convert", "rates")
	topo.AddSink("out", "converted", serde.String, serde.Int64, "convert")
	td := testdriver.New(t, topo, testdriver.WithWallClock(time.UnixMilli(0)))
	r := testdriver.InputTopic(td, "rates", serde.String, serde.Int64)
	p := testdriver.InputTopic(td, "prices", serde.String, serde.Int64)
	out := testdriver.OutputTopic(td, "converted", serde.String, serde.Int64)
	r.PipeInput("EUR", 2)
	p.PipeInput("tea", 5)
	r.PipeInput("EUR", 3)
	p.PipeInput("tea", 5)
	if got := out.ReadValuesToList(); len(got) != 2 || got[0] != 10 || got[1] != 15 {
		t.Fatalf("converted %v, want [10 15]", got)
	}
}

// A global store must not be logged, and its nodes stand apart from the
// tasks'.
func TestGlobalStoreMistakes(t *testing.T) {
	sup := processor.SupplierFunc[string, int64, struct{}, struct{}](func() processor.Processor[string, int64, struct{}, struct{}] { return &rates{} })
	topo := topology.New()
	topo.AddGlobalStore(state.KeyValueStoreBuilder("rates", serde.String, serde.Int64),
		"rates-source", serde.String, serde.Int64, "rates", "rates-processor", sup)
	topo.AddProcessor("tap", processor.Func[string, int64, string, int64](func(ctx processor.Context[string, int64], rec processor.Record[string, int64]) error {
		return ctx.Forward(rec)
	}), "rates-source")
	topo.AddSink("out", "out", serde.String, serde.Int64, "tap")
	err := topo.Build()
	if err == nil {
		t.Fatal("Build succeeded")
	}
	for _, want := range []string{`global store "rates" is logged`, `global node "rates-source" and node "tap" are connected`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Build error does not say %q:\n%v", want, err)
		}
	}
}

func TestDescribeGlobalStore(t *testing.T) {
	topo := topology.New()
	topo.AddSource("orders", serde.String, serde.String, "orders")
	topo.AddSink("sink", "out", serde.String, serde.String, "orders")
	topo.AddGlobalStore(state.KeyValueStoreBuilder("rates", serde.String, serde.Int64).WithLoggingDisabled(),
		"rates-source", serde.String, serde.Int64, "rates", "rates-processor",
		processor.SupplierFunc[string, int64, struct{}, struct{}](func() processor.Processor[string, int64, struct{}, struct{}] { return &rates{} }))
	want := `Topologies:
   Sub-topology: 0
    Source: orders (topics: [orders])
      --> sink
    Sink: sink (topic: out)
      <-- orders

  Sub-topology: 1 for global store (will not generate tasks)
    Source: rates-source (topics: [rates])
      --> rates-processor
    Processor: rates-processor (stores: [rates])
      --> none
      <-- rates-source
`
	if got := topo.Describe().String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
