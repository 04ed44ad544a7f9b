package testdriver_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
)

// priced pipes an order for each currency and returns what they were
// priced at.
func priced(t *testing.T, td *testdriver.Driver, currencies ...string) []string {
	t.Helper()
	orders := testdriver.InputTopic(td, testfix.OrdersTopic, serde.String, serde.String)
	out := testdriver.OutputTopic(td, testfix.PricedTopic, serde.String, serde.String)
	for i, c := range currencies {
		orders.PipeInput(fmt.Sprint("order-", i), c)
	}
	var got []string
	for _, kv := range out.ReadKeyValuesToList() {
		got = append(got, kv.Value)
	}
	return got
}

func expectPriced(t *testing.T, td *testdriver.Driver, currencies []string, want ...string) {
	t.Helper()
	if got := priced(t, td, currencies...); !slices.Equal(got, want) {
		t.Fatalf("priced %q, want %q", got, want)
	}
}

// A record piped into a global store's topic updates the store before the
// pipe returns: the orders piped after it see it.
func TestGlobalStoreUpdatesBeforeLaterRecords(t *testing.T) {
	td := testdriver.New(t, testfix.Rates(t, testfix.RatesStoreBuilder()), testdriver.WithWallClock(epoch))
	if got := fmt.Sprint(td.Tasks()); got != "[1_0]" {
		t.Errorf("tasks %s, want [1_0]: the global store has sub-topology id 0", got)
	}
	rates := testdriver.InputTopic(td, testfix.RatesTopic, serde.String, serde.String)
	expectPriced(t, td, []string{"EUR"}, "EUR@?")
	rates.PipeInput("EUR", "1.1")
	rates.PipeInput("GBP", "1.3")
	expectPriced(t, td, []string{"EUR", "GBP"}, "EUR@1.1", "GBP@1.3")
	rates.PipeInput("EUR", "1.2")
	rates.PipeTombstone("GBP")
	expectPriced(t, td, []string{"EUR", "GBP"}, "EUR@1.2", "GBP@?")

	// Tests read the global store as any other.
	if got, _, err := testdriver.KeyValueStore[string, string](td, testfix.RatesStore).Get("EUR"); err != nil || got != "1.2" {
		t.Errorf("rates store EUR = %q, %v", got, err)
	}
}

// Every task sees every partition of a global store's topic.
func TestGlobalStoreOverPartitions(t *testing.T) {
	td := testdriver.New(t, testfix.Rates(t, testfix.RatesStoreBuilder()), testdriver.WithWallClock(epoch),
		testdriver.WithPartitions(3, testfix.RatesTopic), testdriver.WithPartitions(2, testfix.OrdersTopic))
	if got := fmt.Sprint(td.Tasks()); got != "[1_0 1_1]" {
		t.Fatalf("tasks %s, want [1_0 1_1]", got)
	}
	rates := testdriver.InputTopic(td, testfix.RatesTopic, serde.String, serde.String)
	currencies := []string{"EUR", "GBP", "JPY", "CHF", "SEK", "NOK"}
	var want []string
	for i, c := range currencies {
		rates.PipeInput(c, fmt.Sprint(i))
		want = append(want, fmt.Sprintf("%s@%d", c, i))
	}
	// The rates spread over the partitions, and the orders over the tasks.
	rp := map[int32]bool{}
	for _, c := range currencies {
		rp[engine.KeyPartition([]byte(c), 3)] = true
	}
	if len(rp) < 2 {
		t.Fatalf("the rates all hash to one partition")
	}
	orders := testdriver.InputTopic(td, testfix.OrdersTopic, serde.String, serde.String)
	out := testdriver.OutputTopic(td, testfix.PricedTopic, serde.String, serde.String)
	for i, c := range currencies {
		orders.PipeInput(fmt.Sprint("order-", i), c)
	}
	var got []string
	for _, r := range out.ReadOutputRecordsToList() {
		got = append(got, r.Value)
	}
	parts := map[int32]bool{}
	for i := range currencies {
		parts[engine.KeyPartition([]byte(fmt.Sprint("order-", i)), 2)] = true
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("priced %q, want %q", got, want)
	}
	if len(parts) < 2 {
		t.Errorf("the orders all went to one task")
	}
}

// A crash restarts the global task, which bootstraps its store again from
// its topic; losing the state directory too, a Pebble store starts over.
func TestGlobalStoreCrash(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []testdriver.Option
	}{
		{"memory", nil},
		{"pebble", []testdriver.Option{testdriver.WithPebbleStores()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			td := testdriver.New(t, testfix.Rates(t, testfix.RatesStoreBuilder()), append(tc.opts, testdriver.WithWallClock(epoch))...)
			rates := testdriver.InputTopic(td, testfix.RatesTopic, serde.String, serde.String)
			rates.PipeInput("EUR", "1.1")
			rates.PipeInput("GBP", "1.3")
			rates.PipeInput("EUR", "1.2")
			td.Crash()
			expectPriced(t, td, []string{"EUR", "GBP"}, "EUR@1.2", "GBP@1.3")
			rates.PipeTombstone("GBP")
			td.CrashLosingState()
			expectPriced(t, td, []string{"EUR", "GBP"}, "EUR@1.2", "GBP@?")
			// A crash of one task leaves the global store be.
			rates.PipeInput("GBP", "1.4")
			td.CrashTask(processorTaskID(1, 0))
			expectPriced(t, td, []string{"GBP"}, "GBP@1.4")
		})
	}
}

func processorTaskID(sub int, p int32) processor.TaskID {
	return processor.TaskID{Subtopology: sub, Partition: p}
}

// updateCounter keeps, per key, how many updates the global store's
// processor applied: a restart that resumes from its checkpoint applies
// none twice; one that rebuilds an in-memory store starts the counts over.
type updateCounter struct {
	kv *state.KeyValueStore[string, int64]
}

func (p *updateCounter) Init(ctx processor.Context[string, string]) (err error) {
	p.kv, err = state.GetKeyValueStore[string, int64](ctx, "updates")
	return err
}

func (p *updateCounter) Process(rec processor.Record[string, string]) error {
	n, _, err := p.kv.Get(rec.Key)
	if err != nil {
		return err
	}
	return p.kv.Put(rec.Key, n+1)
}

func (p *updateCounter) Close() error { return nil }

// A persistent global store checkpoints at every commit: a restart resumes
// after it, and reprocesses only what came after the last commit, as Kafka
// Streams' global stores do.
func TestGlobalStoreResumesFromCheckpoint(t *testing.T) {
	topo := topology.New().
		AddGlobalStore(state.KeyValueStoreBuilder("updates", serde.String, serde.Int64).WithLoggingDisabled(), "updates-source", serde.String, serde.String, "events", "updates-counter",
			processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] { return &updateCounter{} }))
	td := testdriver.New(t, topo, testdriver.WithWallClock(epoch), testdriver.WithPebbleStores(), testdriver.WithCommitEvery(0))
	if len(td.Tasks()) != 0 {
		t.Fatalf("tasks %v of a topology of a global store alone", td.Tasks())
	}
	events := testdriver.InputTopic(td, "events", serde.String, serde.String)
	updates := func() int64 {
		t.Helper()
		n, _, err := testdriver.KeyValueStore[string, int64](td, "updates").Get("k")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	events.PipeInput("k", "a")
	events.PipeInput("k", "b")
	td.Commit()
	td.Crash()
	if n := updates(); n != 2 {
		t.Errorf("after a crash at a checkpoint: %d updates, want 2", n)
	}
	// Updates after the checkpoint are in the store, and are applied again
	// after a crash: at least once.
	events.PipeInput("k", "c")
	td.Crash()
	if n := updates(); n != 4 {
		t.Errorf("after a crash past the checkpoint: %d updates, want 4", n)
	}
	td.CrashLosingState()
	if n := updates(); n != 3 {
		t.Errorf("after losing the state: %d updates, want 3", n)
	}
}

// Records a sink writes to a global store's topic update the store once
// they are committed, and not at all if a crash aborts them.
func TestGlobalStoreFedBySink(t *testing.T) {
	topo := testfix.AddRates(topology.New(), testfix.RatesStoreBuilder())
	topo.AddSource("rate-feed", serde.String, serde.String, "rate-feed").
		AddSink("rate-sink", testfix.RatesTopic, serde.String, serde.String, "rate-feed")
	if err := topo.Build(); err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, topo, testdriver.WithWallClock(epoch), testdriver.WithCommitEvery(0))
	feed := testdriver.InputTopic(td, "rate-feed", serde.String, serde.String)
	feed.PipeInput("EUR", "1.1")
	expectPriced(t, td, []string{"EUR"}) // not committed: nothing readable
	td.Commit()
	expectPriced(t, td, nil, "EUR@?")
	expectPriced(t, td, []string{"EUR"})
	td.Commit()
	expectPriced(t, td, nil, "EUR@1.1")

	feed.PipeInput("EUR", "9.9")
	td.Crash() // aborts what the feed wrote
	if got, _, _ := testdriver.KeyValueStore[string, string](td, testfix.RatesStore).Get("EUR"); got != "1.1" {
		t.Fatalf("EUR = %q after the crash, want 1.1: the aborted rate reached the store", got)
	}
	td.Commit()
	expectPriced(t, td, []string{"EUR"})
	td.Commit()
	// The crashed task reads its input again: the rate comes back, committed.
	expectPriced(t, td, nil, "EUR@9.9")
}

// An error in the global store's processor reaches the pipe, naming the
// global task; records the source serdes cannot read are dropped and
// counted like any task's.
func TestGlobalStoreErrors(t *testing.T) {
	td := testdriver.New(t, testfix.Rates(t, testfix.RatesStoreBuilder()), testdriver.WithWallClock(epoch))
	rates := testdriver.InputTopic(td, testfix.RatesTopic, serde.String, serde.String)
	err := rates.TryPipeRecord(processor.NewRecord("boom", "1", 5))
	var pe *processor.Error
	if !errors.As(err, &pe) || !errors.Is(err, testfix.ErrBadRate) || pe.Task != engine.GlobalTaskID || pe.Node != "rates-keeper" || pe.Topic != testfix.RatesTopic {
		t.Fatalf("pipe = %v, want the processor's error, from task -1_-1", err)
	}

	// Piping into a topic nothing reads names the global store's topic
	// among those that are read.
	other := testdriver.InputTopic(td, "nowhere", serde.String, serde.String)
	if err := other.TryPipeRecord(processor.NewRecord("k", "v", 1)); err == nil || !strings.Contains(err.Error(), "[orders rates]") {
		t.Errorf("pipe to an unread topic = %v", err)
	}

	topo := topology.New().
		AddGlobalStore(state.KeyValueStoreBuilder("updates", serde.String, serde.Int64).WithLoggingDisabled(), "updates-source", serde.String, serde.Int64, "events", "updates-keeper",
			processor.Func[string, int64, string, int64](func(processor.Context[string, int64], processor.Record[string, int64]) error { return nil }))
	td = testdriver.New(t, topo, testdriver.WithWallClock(epoch), testdriver.WithDeserializationHandler(processor.LogAndContinue))
	bad := testdriver.InputTopic(td, "events", serde.Bytes, serde.Bytes)
	if err := bad.TryPipeBytes([]byte("k"), []byte("not a long"), time.UnixMilli(1)); err != nil {
		t.Fatal(err)
	}
	if got := td.DroppedRecords(); got[processor.DropDeserializationError] != 1 {
		t.Errorf("dropped %v, want one record for its deserialization error", got)
	}
}
