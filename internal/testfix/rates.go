package testfix

import (
	"errors"
	"testing"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
)

// Topics and store of the rates topology: a global store of exchange rates
// by currency, and orders priced with it.
const (
	RatesTopic  = "rates"
	RatesStore  = "rates"
	OrdersTopic = "orders"
	PricedTopic = "priced"
)

// ErrBadRate is what the rates store's processor fails with on a rate
// keyed "boom".
var ErrBadRate = errors.New("testfix: bad rate")

// RatesStoreBuilder is the rates store, persistent and unlogged, as a
// global store must be.
func RatesStoreBuilder() *state.KeyValueBuilder[string, string] {
	return state.KeyValueStoreBuilder(RatesStore, serde.String, serde.String).WithLoggingDisabled()
}

// Rates returns the rates topology of AddRates, built.
func Rates(tb testing.TB, store *state.KeyValueBuilder[string, string]) *topology.Topology {
	tb.Helper()
	topo := AddRates(topology.New(), store)
	if err := topo.Build(); err != nil {
		tb.Fatal(err)
	}
	return topo
}

// AddRates adds the rates topology over store (RatesStoreBuilder, or a
// variant of it) to topo: the global store, added first to a new topology,
// so it is sub-topology 0 and the orders' sub-topology is 1, keeps the last
// rate of each currency of RatesTopic (a tombstone deletes it); each order
// of OrdersTopic, whose value is a currency, goes to PricedTopic as
// "<currency>@<rate>", "?" for a currency without a rate.
func AddRates(topo *topology.Topology, store *state.KeyValueBuilder[string, string]) *topology.Topology {
	return topo.
		AddGlobalStore(store, "rates-source", serde.String, serde.String, RatesTopic, "rates-keeper", RateKeeper()).
		AddSource("orders-source", serde.String, serde.String, OrdersTopic).
		AddProcessor("pricer", Pricer(), "orders-source").
		AddSink("priced-sink", PricedTopic, serde.String, serde.String, "pricer")
}

// RateKeeper supplies the processor that keeps RatesStore: a rate puts, a
// tombstone deletes, and a rate keyed "boom" fails with ErrBadRate.
func RateKeeper() processor.Supplier[string, string, string, string] {
	return processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] {
		return &rateKeeper{}
	})
}

type rateKeeper struct {
	kv *state.KeyValueStore[string, string]
}

func (p *rateKeeper) Init(ctx processor.Context[string, string]) (err error) {
	p.kv, err = state.GetKeyValueStore[string, string](ctx, RatesStore)
	return err
}

func (p *rateKeeper) Process(rec processor.Record[string, string]) error {
	switch {
	case rec.Key == "boom":
		return ErrBadRate
	case rec.NullValue:
		_, _, err := p.kv.Delete(rec.Key)
		return err
	}
	return p.kv.Put(rec.Key, rec.Value)
}

func (p *rateKeeper) Close() error { return nil }

// Pricer supplies the processor that prices orders: it reads RatesStore,
// read-only, as any processor reads a global store.
func Pricer() processor.Supplier[string, string, string, string] {
	return processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] {
		return &pricer{}
	})
}

type pricer struct {
	ctx   processor.Context[string, string]
	rates *state.ReadOnlyKeyValueStore[string, string]
}

func (p *pricer) Init(ctx processor.Context[string, string]) (err error) {
	p.ctx = ctx
	p.rates, err = state.GetReadOnlyKeyValueStore[string, string](ctx, RatesStore)
	return err
}

func (p *pricer) Process(rec processor.Record[string, string]) error {
	rate, ok, err := p.rates.Get(rec.Value)
	if err != nil {
		return err
	}
	if !ok {
		rate = "?"
	}
	return p.ctx.Forward(rec.WithValue(rec.Value + "@" + rate))
}

func (p *pricer) Close() error { return nil }
