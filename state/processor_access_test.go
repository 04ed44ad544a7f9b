package state_test

import (
	"testing"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
)

// prober is a user processor that checks, on every record, what it can do
// with the store its context gives it.
type prober struct {
	t     *testing.T
	ctx   processor.Context[string, string]
	store *state.KeyValueStore[string, int64]
}

func (p *prober) Init(ctx processor.Context[string, string]) error {
	p.ctx = ctx
	st, err := ctx.StateStore("counts")
	if err != nil {
		return err
	}
	checkUserStore(p.t, st)
	p.store, err = state.GetKeyValueStore[string, int64](ctx, "counts")
	return err
}

func (p *prober) Process(rec processor.Record[string, string]) error {
	n, _, err := p.store.Get(rec.Key)
	if err != nil {
		return err
	}
	return p.store.Put(rec.Key, n+1)
}

func (p *prober) Close() error { return nil }

// checkUserStore fails t if st offers what only the task may do: flush,
// close, reach the layers below or set listeners.
func checkUserStore(t *testing.T, st processor.StateStore) {
	t.Helper()
	if _, ok := st.(interface{ Close() error }); ok {
		t.Errorf("a processor can close its %T", st)
	}
	if _, ok := st.(interface{ Flush() error }); ok {
		t.Errorf("a processor can flush its %T", st)
	}
	if _, ok := st.(interface {
		Bytes() state.KeyValueBytesStore
	}); ok {
		t.Errorf("a processor can reach the bytes store of its %T", st)
	}
	if _, ok := st.(interface{ Txn() *state.TxnStore }); ok {
		t.Errorf("a processor can reach the transaction buffer of its %T", st)
	}
	if _, ok := st.(interface{ Cache() *state.CachingStore }); ok {
		t.Errorf("a processor can reach the cache of its %T", st)
	}
	if _, ok := st.(state.Store); ok {
		t.Errorf("a processor gets the task's Store")
	}
}

// TestUserProcessorCannotCloseOrFlush runs a processor-API topology whose
// processor checks the store it is given, through the test driver (the
// engine's storeFor), cached and not.
func TestUserProcessorCannotCloseOrFlush(t *testing.T) {
	for _, cached := range []bool{false, true} {
		b := state.KeyValueStoreBuilder("counts", serde.String, serde.Int64)
		if cached {
			b.WithCachingEnabled(1 << 20)
		}
		topo := topology.New().
			AddSource("src", serde.String, serde.String, "in").
			AddProcessor("count", processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] {
				return &prober{t: t}
			}), "src").
			AddStateStore(b, "count")
		td := testdriver.New(t, topo)
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		in.PipeInput("a", "x")
		in.PipeInput("a", "y")
		checkUserStore(t, td.StateStore("counts"))
		if n, _, err := testdriver.KeyValueStore[string, int64](td, "counts").Get("a"); err != nil || n != 2 {
			t.Fatalf("cached %v: count of a = %d, %v", cached, n, err)
		}
	}
}
