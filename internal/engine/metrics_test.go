package engine_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// tally is an Observer and a Counter that counts what it is given.
type tally struct {
	n   atomic.Int64
	sum atomic.Int64 // nanoseconds observed
}

func (c *tally) Observe(v float64) {
	c.n.Add(1)
	c.sum.Add(int64(v * 1e9))
}
func (c *tally) Add(v float64) { c.n.Add(int64(v)) }

type taskTallies struct {
	process, punctuate                 tally
	put, get, rng, flush, hits, misses tally
	stores                             []string
}

func (tt *taskTallies) metrics() *engine.Metrics {
	return &engine.Metrics{
		Process:   &tt.process,
		Punctuate: &tt.punctuate,
		Store: func(name string) *state.StoreMetrics {
			tt.stores = append(tt.stores, name)
			return &state.StoreMetrics{Put: &tt.put, Get: &tt.get, Range: &tt.rng, Flush: &tt.flush, CacheHits: &tt.hits, CacheMisses: &tt.misses}
		},
	}
}

// countTask is a task counting the keys of "words" in a cached store,
// as the counting half of word count.
func countTask(tb testing.TB, m *engine.Metrics) *engine.Task {
	tb.Helper()
	b := dsl.NewBuilder()
	dsl.Stream(b, "words", serde.String, serde.String).
		GroupByKey().
		Count(dsl.MaterializedAs[string, int64]("counts").WithCachingEnabled(1<<20)).
		ToStream().
		To("counted", dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	tk, err := engine.NewTask(engine.GraphOf(topo), 0, 0, engine.Config{Collector: nopCollector{}, InMemory: true, Metrics: m})
	if err != nil {
		tb.Fatal(err)
	}
	if err := tk.Start(); err != nil {
		tb.Fatal(err)
	}
	return tk
}

// feed queues n records over keys distinct keys and processes them.
func feed(tb testing.TB, tk *engine.Task, from, n, keys int, keyBufs [][]byte) {
	tb.Helper()
	in := tk.Input("words")
	for i := from; i < from+n; i++ {
		in.Add(&engine.RawRecord{Offset: int64(i), Timestamp: int64(i), Key: keyBufs[i%keys], Value: keyBufs[i%keys]})
	}
	if got, err := tk.ProcessReady(int64(from+n), 0); err != nil || got != n {
		tb.Fatalf("ProcessReady = %d, %v; want %d", got, err, n)
	}
}

func wordKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("word-%d", i))
	}
	return keys
}

func TestMetricsSampleAndCount(t *testing.T) {
	var tt taskTallies
	tk := countTask(t, tt.metrics())
	defer tk.Close()
	const n, keys = 10 * engine.SampleEvery, 10
	kb := wordKeys(keys)
	feed(t, tk, 0, n, keys, kb)
	// A second call: its first record is timed.
	feed(t, tk, n, 3, keys, kb)
	if err := tk.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(tt.stores) != 1 || tt.stores[0] != "counts" {
		t.Errorf("store metrics asked for %v, want [counts]", tt.stores)
	}
	// The first record of each call is timed, then one in SampleEvery;
	// the store's get and put of each timed record with it.
	for _, c := range []struct {
		what string
		got  *tally
		want int64
	}{
		{"process", &tt.process, n/engine.SampleEvery + 1},
		{"get", &tt.get, n/engine.SampleEvery + 1},
		{"put", &tt.put, n/engine.SampleEvery + 1},
		{"flush", &tt.flush, 1},
		{"cache hits", &tt.hits, n + 3 - keys},
		{"cache misses", &tt.misses, keys},
		{"range", &tt.rng, 0},
	} {
		if got := c.got.n.Load(); got != c.want {
			t.Errorf("%s: %d observations, want %d", c.what, got, c.want)
		}
	}
	if tt.process.sum.Load() <= 0 {
		t.Error("process latencies sum to nothing")
	}
}

// BenchmarkMetrics is the counting half of word count, records queued and
// processed per batch as a stream thread does, without and with metrics:
// what measuring costs per record.
func BenchmarkMetrics(b *testing.B) {
	const batch, keys = 1000, 10000
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%v", on), func(b *testing.B) {
			var m *engine.Metrics
			if on {
				m = (&taskTallies{}).metrics()
			}
			tk := countTask(b, m)
			defer tk.Close()
			kb := wordKeys(keys)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				feed(b, tk, i, batch, keys, kb)
				i += batch
				if i%(100*batch) == 0 {
					if err := tk.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/record")
		})
	}
}

// scanner ranges over the store "seen" for each record, then puts the
// key, and has a stream-time punctuator every 10ms: a punctuator and
// ranges for the metrics to see.
type scanner struct {
	ctx   processor.Context[string, string]
	store *state.KeyValueStore[string, int64]
}

func (p *scanner) Init(ctx processor.Context[string, string]) error {
	p.ctx = ctx
	var err error
	if p.store, err = state.GetKeyValueStore[string, int64](ctx, "seen"); err != nil {
		return err
	}
	_, err = ctx.Schedule(10*time.Millisecond, processor.StreamTime, func(int64) error { return nil })
	return err
}

func (p *scanner) Process(rec processor.Record[string, string]) error {
	it, err := p.store.All()
	if err != nil {
		return err
	}
	for it.Next() {
	}
	if err := it.Close(); err != nil {
		return err
	}
	return p.store.Put(rec.Key, 1)
}

func (p *scanner) Close() error { return nil }

func TestMetricsTimePunctuatorsAndRanges(t *testing.T) {
	b := dsl.NewBuilder()
	b.AddStateStore(state.KeyValueStoreBuilder("seen", serde.String, serde.Int64))
	dsl.Stream(b, "words", serde.String, serde.String).
		Process(processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] {
			return &scanner{}
		}), dsl.WithStores("seen"))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var tt taskTallies
	tk, err := engine.NewTask(engine.GraphOf(topo), 0, 0, engine.Config{Collector: nopCollector{}, InMemory: true, Metrics: tt.metrics()})
	if err != nil {
		t.Fatal(err)
	}
	defer tk.Close()
	if err := tk.Start(); err != nil {
		t.Fatal(err)
	}
	// Stream time 0, 1, ..., n-1: the punctuator fires at 0 and every
	// 10ms, each call timed; a range per record, timed with its record.
	const n = 10 * engine.SampleEvery
	feed(t, tk, 0, n, 7, wordKeys(7))
	if got, want := tt.punctuate.n.Load(), int64(n/10); got != want {
		t.Errorf("punctuate: %d observations, want %d", got, want)
	}
	if got, want := tt.rng.n.Load(), int64(n/engine.SampleEvery); got != want {
		t.Errorf("range: %d observations, want %d (those of the timed records)", got, want)
	}
	if tt.hits.n.Load()+tt.misses.n.Load() != 0 {
		t.Error("a store without a cache counted cache reads")
	}
}
