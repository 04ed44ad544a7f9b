package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ratesBroker has the rates topology's topics: rates on three partitions,
// orders on two.
func ratesBroker(t *testing.T) *kafkatest.Broker {
	return kafkatest.NewBroker(t,
		kafkatest.Topics(3, testfix.RatesTopic),
		kafkatest.Topics(2, testfix.OrdersTopic),
		kafkatest.Topics(1, testfix.PricedTopic))
}

// produceKV writes key=value pairs to topic, partitioned by key as Java's
// producer does; a value "" is a tombstone.
func produceKV(t *testing.T, b *kafkatest.Broker, topic string, kvs ...string) {
	t.Helper()
	cl, err := b.Client(kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		r := &kgo.Record{Topic: topic, Key: []byte(k)}
		if v != "" {
			r.Value = []byte(v)
		}
		if err := cl.ProduceSync(t.Context(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// produceTxn writes key=value pairs to topic in one transaction, committed
// or aborted.
func produceTxn(t *testing.T, b *kafkatest.Broker, topic string, commit bool, kvs ...string) {
	t.Helper()
	cl, err := b.Client(kgo.TransactionalID(fmt.Sprint("rates-writer-", commit)), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		if err := cl.ProduceSync(t.Context(), &kgo.Record{Topic: topic, Key: []byte(k), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.EndTransaction(t.Context(), kgo.TransactionEndTry(commit)); err != nil {
		t.Fatal(err)
	}
}

// pricedReader reads the priced topic from the start.
type pricedReader struct {
	cl  *kgo.Client
	got map[string]string
}

func readPriced(t *testing.T, b *kafkatest.Broker) *pricedReader {
	t.Helper()
	cl, err := b.Client(kgo.ConsumeTopics(testfix.PricedTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &pricedReader{cl: cl, got: map[string]string{}}
}

// until polls until done says the orders priced so far are enough, or
// fails the test after d.
func (r *pricedReader) until(t *testing.T, d time.Duration, done func(map[string]string) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	for !done(r.got) {
		fs := r.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("after %v: priced %v", d, r.got)
		}
		fs.EachRecord(func(rec *kgo.Record) { r.got[string(rec.Key)] = string(rec.Value) })
	}
}

// globalRestores records what the restore listener hears of the global
// task, per partition of its topic.
type globalRestores struct {
	mu    sync.Mutex
	start map[int32]int64
	end   map[int32]int64
	done  map[int32]int64 // records restored, at the end
	other int
}

func newGlobalRestores() *globalRestores {
	return &globalRestores{start: map[int32]int64{}, end: map[int32]int64{}, done: map[int32]int64{}}
}

func (g *globalRestores) OnRestoreStart(p runtime.RestoreProgress) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p.Task != engine.GlobalTaskID || p.Store != testfix.RatesStore || p.Topic != testfix.RatesTopic {
		g.other++
		return
	}
	g.start[p.Partition], g.end[p.Partition] = p.Start, p.End
}

func (g *globalRestores) OnBatchRestored(runtime.RestoreProgress) {}

func (g *globalRestores) OnRestoreEnd(p runtime.RestoreProgress) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p.Task == engine.GlobalTaskID {
		g.done[p.Partition] = p.Restored
	}
}

func (g *globalRestores) restored() (n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.done {
		n += r
	}
	return n
}

func currencies(n int, value string) []string {
	var kvs []string
	for i := range n {
		kvs = append(kvs, fmt.Sprintf("C%02d=%s", i, value))
	}
	return kvs
}

// Orders waiting on the broker when the app starts are priced with the
// rates committed before it started, on every partition: the global store
// is bootstrapped, read_committed, before any task processes.
func TestGlobalStoreBootstrapsBeforeProcessing(t *testing.T) {
	b := ratesBroker(t)
	produceKV(t, b, testfix.RatesTopic, currencies(30, "v1")...)
	var updates []string
	for i := 0; i < 30; i += 2 {
		updates = append(updates, fmt.Sprintf("C%02d=v2", i))
	}
	produceKV(t, b, testfix.RatesTopic, updates...)
	produceKV(t, b, testfix.RatesTopic, "C29=")
	produceTxn(t, b, testfix.RatesTopic, false, "C00=aborted", "C03=aborted")
	produceTxn(t, b, testfix.RatesTopic, true, "C01=txn")
	var orders []string
	for i := range 30 {
		orders = append(orders, fmt.Sprintf("o%02d=C%02d", i, i))
	}
	produceKV(t, b, testfix.OrdersTopic, orders...)

	restores := newGlobalRestores()
	app, done := runApp(t, b, testfix.Rates(t, testfix.RatesStoreBuilder()), t.TempDir(),
		runtime.ApplicationID("rates"), runtime.RestoreListener(restores))
	out := readPriced(t, b)
	out.until(t, 60*time.Second, func(got map[string]string) bool { return len(got) >= 30 })
	for i := range 30 {
		want := "v1"
		switch {
		case i == 1:
			want = "txn"
		case i == 29:
			want = "?"
		case i%2 == 0:
			want = "v2"
		}
		if got, w := out.got[fmt.Sprintf("o%02d", i)], fmt.Sprintf("C%02d@%s", i, want); got != w {
			t.Errorf("order o%02d priced %q, want %q", i, got, w)
		}
	}
	if n := restores.restored(); n != 30+15+1+1 {
		t.Errorf("bootstrap applied %d records, want %d (the aborted ones skipped)", n, 30+15+1+1)
	}
	restores.mu.Lock()
	if len(restores.start) != 3 || restores.other != 0 {
		t.Errorf("bootstrap of partitions %v (others %d), want 3 partitions of the rates store", restores.start, restores.other)
	}
	restores.mu.Unlock()
	closeApp(t, app, done)
}

// Rates produced while the app runs reach the tasks, under either
// guarantee.
func TestGlobalStoreKeepsUpdating(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []runtime.Option
	}{
		{"at least once", nil},
		{"exactly once", []runtime.Option{runtime.ExactlyOnce()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := ratesBroker(t)
			app, done := runApp(t, b, testfix.Rates(t, testfix.RatesStoreBuilder()), t.TempDir(), append(tc.opts, runtime.ApplicationID("rates"))...)
			waitState(t, app, runtime.Running)
			out := readPriced(t, b)
			produceKV(t, b, testfix.OrdersTopic, "first=EUR")
			out.until(t, 30*time.Second, func(got map[string]string) bool { return got["first"] != "" })
			if got := out.got["first"]; got != "EUR@?" {
				t.Errorf("first order priced %q, want EUR@?", got)
			}
			produceKV(t, b, testfix.RatesTopic, "EUR=1.1", "GBP=1.3")
			deadline := time.Now().Add(30 * time.Second)
			for i := 0; ; i++ {
				produceKV(t, b, testfix.OrdersTopic, fmt.Sprintf("o%d=EUR", i), fmt.Sprintf("p%d=GBP", i))
				time.Sleep(100 * time.Millisecond)
				out.until(t, 30*time.Second, func(got map[string]string) bool {
					return got[fmt.Sprintf("o%d", i)] != "" && got[fmt.Sprintf("p%d", i)] != ""
				})
				if out.got[fmt.Sprintf("o%d", i)] == "EUR@1.1" && out.got[fmt.Sprintf("p%d", i)] == "GBP@1.3" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the new rates never reached the orders: %v", out.got)
				}
			}
			closeApp(t, app, done)
		})
	}
}

// A restart on the same state directory resumes a persistent global store
// from its checkpoint: only the rates produced since are read again. An
// in-memory store is read from the start every time.
func TestGlobalStoreResumesFromCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store *state.KeyValueBuilder[string, string]
	}{
		{"pebble", testfix.RatesStoreBuilder()},
		{"memory", testfix.RatesStoreBuilder().InMemory()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := ratesBroker(t)
			dir := t.TempDir()
			topo := func() *topology.Topology { return testfix.Rates(t, tc.store) }
			produceKV(t, b, testfix.RatesTopic, currencies(12, "v1")...)
			first := newGlobalRestores()
			app, done := runApp(t, b, topo(), dir, runtime.ApplicationID("rates"), runtime.RestoreListener(first))
			waitState(t, app, runtime.Running)
			closeApp(t, app, done)
			if n := first.restored(); n != 12 {
				t.Fatalf("first run bootstrapped %d records, want 12", n)
			}

			produceKV(t, b, testfix.RatesTopic, "C00=v2", "C05=v2", "C11=v2")
			second := newGlobalRestores()
			app, done = runApp(t, b, topo(), dir, runtime.ApplicationID("rates"), runtime.RestoreListener(second))
			waitState(t, app, runtime.Running)
			out := readPriced(t, b)
			produceKV(t, b, testfix.OrdersTopic, "a=C00", "b=C01", "c=C11")
			out.until(t, 30*time.Second, func(got map[string]string) bool { return len(got) == 3 })
			if got := fmt.Sprint(out.got); got != "map[a:C00@v2 b:C01@v1 c:C11@v2]" {
				t.Errorf("priced %s", got)
			}
			closeApp(t, app, done)

			want := int64(3)
			if tc.name == "memory" {
				want = 15
			}
			if n := second.restored(); n != want {
				t.Errorf("second run bootstrapped %d records, want %d", n, want)
			}
			first.mu.Lock()
			second.mu.Lock()
			defer first.mu.Unlock()
			defer second.mu.Unlock()
			for p, start := range second.start {
				wantStart := first.end[p]
				if tc.name == "memory" {
					wantStart = 0
				}
				if start != wantStart {
					t.Errorf("partition %d: second run read from %d, want %d (the first ended at %v)", p, start, wantStart, first.end)
				}
			}
		})
	}
}

// A topology of a global store alone runs no stream thread: it is running
// once the store is bootstrapped, and closes cleanly.
func TestGlobalStoreAlone(t *testing.T) {
	b := ratesBroker(t)
	produceKV(t, b, testfix.RatesTopic, currencies(5, "v1")...)
	topo := topology.New().AddGlobalStore(testfix.RatesStoreBuilder(), "rates-source", serde.String, serde.String, testfix.RatesTopic, "rates-keeper", testfix.RateKeeper())
	restores := newGlobalRestores()
	app, done := runApp(t, b, topo, t.TempDir(), runtime.ApplicationID("rates-only"), runtime.RestoreListener(restores))
	waitState(t, app, runtime.Running)
	if n := restores.restored(); n != 5 {
		t.Errorf("bootstrapped %d records, want 5", n)
	}
	if tasks := app.ActiveTasks(); len(tasks) != 0 {
		t.Errorf("active tasks %v", tasks)
	}
	closeApp(t, app, done)
}

// A global store's topic that does not exist stops Run at once with
// ErrMissingSourceTopic, naming the topic and the store.
func TestGlobalStoreTopicMissing(t *testing.T) {
	b := kafkatest.NewBroker(t, kafkatest.Topics(1, testfix.OrdersTopic, testfix.PricedTopic))
	err := runErr(t, testfix.Rates(t, testfix.RatesStoreBuilder()), b.Addrs())
	if !errors.Is(err, runtime.ErrMissingSourceTopic) || !strings.Contains(err.Error(), `source topic "rates" (read by global store "rates") does not exist`) {
		t.Fatalf("Run = %v, want ErrMissingSourceTopic naming the rates topic and store", err)
	}
}

// An error of the global store's processor fails the app, during the
// bootstrap or later, naming the global task and the record.
func TestGlobalStoreUpdateError(t *testing.T) {
	b := ratesBroker(t)
	produceKV(t, b, testfix.RatesTopic, "boom=1")
	err := runErr(t, testfix.Rates(t, testfix.RatesStoreBuilder()), b.Addrs())
	var pe *processor.Error
	if !errors.Is(err, testfix.ErrBadRate) || !errors.As(err, &pe) || pe.Task != engine.GlobalTaskID || pe.Topic != testfix.RatesTopic {
		t.Fatalf("Run = %v, want the rates keeper's error, from task -1_-1", err)
	}

	b = ratesBroker(t)
	app, done := runApp(t, b, testfix.Rates(t, testfix.RatesStoreBuilder()), t.TempDir(), runtime.ApplicationID("rates"))
	waitState(t, app, runtime.Running)
	produceKV(t, b, testfix.RatesTopic, "boom=2")
	select {
	case err := <-done:
		if !errors.Is(err, testfix.ErrBadRate) || !errors.As(err, &pe) || pe.Task != engine.GlobalTaskID {
			t.Fatalf("Run = %v, want the rates keeper's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the app kept running after its global store failed")
	}
	if s := app.State(); s != runtime.Error {
		t.Errorf("state = %v, want ERROR", s)
	}
}

// A global store's topic recreated with fewer records than the store's
// checkpoint claims makes the restart wipe the global state and rebuild it
// from the new topic, as Kafka Streams does on an invalid offset.
func TestGlobalStoreTopicRecreated(t *testing.T) {
	b := ratesBroker(t)
	dir := t.TempDir()
	produceKV(t, b, testfix.RatesTopic, currencies(12, "v1")...)
	app, done := runApp(t, b, testfix.Rates(t, testfix.RatesStoreBuilder()), dir, runtime.ApplicationID("rates"))
	waitState(t, app, runtime.Running)
	closeApp(t, app, done)

	adm, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	if _, err := kadm.NewClient(adm).DeleteTopic(t.Context(), testfix.RatesTopic); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.CreateTopic(testfix.RatesTopic, 3) != nil {
		if time.Now().After(deadline) {
			t.Fatal("cannot recreate the rates topic")
		}
		time.Sleep(50 * time.Millisecond)
	}
	produceKV(t, b, testfix.RatesTopic, "C00=new")

	restores := newGlobalRestores()
	app, done = runApp(t, b, testfix.Rates(t, testfix.RatesStoreBuilder()), dir, runtime.ApplicationID("rates"), runtime.RestoreListener(restores))
	waitState(t, app, runtime.Running)
	out := readPriced(t, b)
	produceKV(t, b, testfix.OrdersTopic, "a=C00", "b=C01")
	out.until(t, 30*time.Second, func(got map[string]string) bool { return len(got) == 2 })
	if got := fmt.Sprint(out.got); got != "map[a:C00@new b:C01@?]" {
		t.Errorf("priced %s after the topic was recreated", got)
	}
	if n := restores.restored(); n != 1 {
		t.Errorf("bootstrapped %d records, want the 1 of the new topic", n)
	}
	closeApp(t, app, done)
}
