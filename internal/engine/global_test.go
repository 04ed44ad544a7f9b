package engine_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
)

// capture keeps what sinks send, as key=value.
type capture struct {
	nopCollector
	out []string
}

func (c *capture) Send(_ string, key, value []byte, _ int64, _ []processor.Header) error {
	c.out = append(c.out, string(key)+"="+string(value))
	return nil
}

func rate(key, value string, partition int32, offset int64) *engine.RawRecord {
	r := &engine.RawRecord{Topic: "rates", Partition: partition, Offset: offset, Key: []byte(key)}
	if value != "" {
		r.Value = []byte(value)
	}
	return r
}

func TestGlobalTaskFeedsTasks(t *testing.T) {
	g := engine.GraphOf(testfix.Rates(t, testfix.RatesStoreBuilder()))
	if _, err := engine.NewTask(g, 0, 0, engine.Config{Collector: nopCollector{}, InMemory: true}); err == nil {
		t.Fatal("NewTask made a task of the global store's id 0")
	}
	gt, err := engine.NewGlobalTask(g, engine.Config{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer gt.Close()
	if err := gt.Start(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(gt.Topics()); got != "[rates]" {
		t.Errorf("Topics() = %s", got)
	}
	for _, r := range []*engine.RawRecord{rate("EUR", "1.1", 0, 0), rate("GBP", "1.3", 1, 0), rate("JPY", "0.007", 1, 1)} {
		if err := gt.Update(r); err != nil {
			t.Fatal(err)
		}
	}
	out := &capture{}
	task, err := engine.NewTask(g, 1, 0, engine.Config{Collector: out, InMemory: true, Global: gt})
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	if task.ID.String() != "1_0" {
		t.Errorf("task id %s, want 1_0", task.ID)
	}
	if err := task.Start(); err != nil {
		t.Fatal(err)
	}
	order := func(currency string) {
		t.Helper()
		if err := task.Process(&engine.RawRecord{Topic: "orders", Key: []byte("o"), Value: []byte(currency)}); err != nil {
			t.Fatal(err)
		}
	}
	order("EUR")
	order("JPY")
	order("CHF")
	// Updates reach the tasks at once: the store has no cache.
	if err := gt.Update(rate("EUR", "1.2", 0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := gt.Update(rate("JPY", "", 1, 2)); err != nil {
		t.Fatal(err)
	}
	order("EUR")
	order("JPY")
	want := "[o=EUR@1.1 o=JPY@0.007 o=CHF@? o=EUR@1.2 o=JPY@?]"
	if got := fmt.Sprint(out.out); got != want {
		t.Errorf("priced %s, want %s", got, want)
	}
}

// A processor of a task cannot write a global store: it gets the store's
// read-only view, and asking for the writable store names the store.
func TestGlobalStoreIsReadOnlyToTasks(t *testing.T) {
	topo := topology.New().
		AddGlobalStore(state.KeyValueStoreBuilder("rates", serde.String, serde.String).WithLoggingDisabled(), "rates-source", serde.String, serde.String, "rates", "rates-keeper", testfix.RateKeeper()).
		AddSource("orders-source", serde.String, serde.String, "orders").
		AddProcessor("writer", testfix.RateKeeper(), "orders-source")
	if err := topo.Build(); err != nil {
		t.Fatal(err)
	}
	g := engine.GraphOf(topo)
	gt, err := engine.NewGlobalTask(g, engine.Config{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer gt.Close()
	task, err := engine.NewTask(g, 1, 0, engine.Config{Collector: nopCollector{}, InMemory: true, Global: gt})
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	err = task.Start()
	if !errors.Is(err, state.ErrWrongStoreType) || !strings.Contains(err.Error(), `store "rates"`) || !strings.Contains(err.Error(), "ReadOnlyKeyValueStore") {
		t.Fatalf("Start = %v, want a wrong store type error naming store \"rates\" and its read-only view", err)
	}
	var pe *processor.Error
	if !errors.As(err, &pe) || pe.Node != "writer" {
		t.Errorf("Start = %v, want a processor.Error naming node writer", err)
	}

	// Without a global task the store is not open.
	task2, err := engine.NewTask(g, 1, 0, engine.Config{Collector: nopCollector{}, InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer task2.Close()
	if err := task2.Start(); !errors.Is(err, state.ErrUnknownStore) {
		t.Errorf("Start without a global task = %v, want ErrUnknownStore", err)
	}
}

// The global task's processors cannot schedule punctuators, as in Kafka
// Streams.
func TestGlobalProcessorCannotPunctuate(t *testing.T) {
	topo := topology.New().
		AddGlobalStore(state.KeyValueStoreBuilder("rates", serde.String, serde.String).WithLoggingDisabled(), "rates-source", serde.String, serde.String, "rates", "rates-keeper",
			processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] { return &scheduler{} }))
	if err := topo.Build(); err != nil {
		t.Fatal(err)
	}
	gt, err := engine.NewGlobalTask(engine.GraphOf(topo), engine.Config{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer gt.Close()
	if err := gt.Start(); err == nil || !strings.Contains(err.Error(), `"rates-keeper" of global store "rates" cannot schedule punctuators`) {
		t.Fatalf("Start = %v, want a refused punctuator", err)
	}
}

type scheduler struct{}

func (s *scheduler) Init(ctx processor.Context[string, string]) error {
	_, err := ctx.Schedule(time.Second, processor.WallClockTime, func(int64) error { return nil })
	return err
}

func (s *scheduler) Process(processor.Record[string, string]) error { return nil }
func (s *scheduler) Close() error                                   { return nil }

// Errors of the global task's processors name the global task and the
// record.
func TestGlobalTaskErrors(t *testing.T) {
	g := engine.GraphOf(testfix.Rates(t, testfix.RatesStoreBuilder()))
	gt, err := engine.NewGlobalTask(g, engine.Config{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer gt.Close()
	if err := gt.Start(); err != nil {
		t.Fatal(err)
	}
	err = gt.Update(rate("boom", "1", 2, 7))
	var pe *processor.Error
	if !errors.As(err, &pe) || !errors.Is(err, testfix.ErrBadRate) || pe.Task != engine.GlobalTaskID || pe.Node != "rates-keeper" || pe.Topic != "rates" || pe.Partition != 2 || pe.Offset != 7 {
		t.Fatalf("Update = %#v, want a processor.Error of task -1_-1, node rates-keeper, rates[2]@7", err)
	}
	if err := gt.Update(&engine.RawRecord{Topic: "orders"}); err == nil || !strings.Contains(err.Error(), `no global store reads topic "orders"`) {
		t.Errorf("Update of another topic = %v", err)
	}
}

// A persistent global store records, at each checkpoint, the offsets its
// topic's partitions reached, so that a task opened on the same database
// resumes after them; an in-memory store starts over every time.
func TestGlobalTaskCheckpoint(t *testing.T) {
	fs := vfs.NewMem()
	cfg := engine.Config{OpenDB: func(processor.TaskID) (*state.DB, error) {
		return state.OpenDB("/global", state.DBOptions{FS: fs, Logger: slog.New(slog.DiscardHandler)})
	}}
	g := engine.GraphOf(testfix.Rates(t, testfix.RatesStoreBuilder()))
	open := func() *engine.GlobalTask {
		t.Helper()
		gt, err := engine.NewGlobalTask(g, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := gt.Start(); err != nil {
			t.Fatal(err)
		}
		return gt
	}
	starts := func(gt *engine.GlobalTask) string {
		t.Helper()
		var s []int64
		for p := int32(0); p < 3; p++ {
			off, err := gt.StartOffset("rates", p)
			if err != nil {
				t.Fatal(err)
			}
			s = append(s, off)
		}
		return fmt.Sprint(s)
	}

	gt := open()
	if got := starts(gt); got != "[0 0 0]" {
		t.Errorf("fresh start offsets %s", got)
	}
	for _, r := range []*engine.RawRecord{rate("EUR", "1.1", 0, 0), rate("EUR", "1.2", 0, 4), rate("GBP", "1.3", 1, 9)} {
		if err := gt.Update(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := gt.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	// Not checkpointed: a restart reads it again.
	if err := gt.Update(rate("GBP", "1.4", 1, 10)); err != nil {
		t.Fatal(err)
	}
	if err := gt.Close(); err != nil {
		t.Fatal(err)
	}

	gt = open()
	if got := starts(gt); got != "[5 10 0]" {
		t.Errorf("start offsets after a checkpoint %s, want [5 10 0]", got)
	}
	v, err := state.GetReadOnlyKeyValueStore[string, string](globalViews{gt}, "rates")
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := v.Get("EUR"); got != "1.2" {
		t.Errorf("EUR = %q after reopening, want 1.2", got)
	}
	if err := gt.Close(); err != nil {
		t.Fatal(err)
	}

	mem := engine.GraphOf(testfix.Rates(t, testfix.RatesStoreBuilder().InMemory()))
	mt, err := engine.NewGlobalTask(mem, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer mt.Close()
	if err := mt.Update(rate("EUR", "1.1", 0, 0)); err == nil {
		t.Error("Update before Start succeeded")
	}
	if err := mt.Start(); err != nil {
		t.Fatal(err)
	}
	if err := mt.Update(rate("EUR", "1.1", 0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := mt.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if off, err := mt.StartOffset("rates", 0); err != nil || off != 0 {
		t.Errorf("in-memory store's start offset %d, %v; want 0", off, err)
	}
}

// A cached global store's updates reach the tasks' views when the task
// flushes.
func TestGlobalTaskFlushesCache(t *testing.T) {
	g := engine.GraphOf(testfix.Rates(t, testfix.RatesStoreBuilder().WithCachingEnabled(1<<20)))
	gt, err := engine.NewGlobalTask(g, engine.Config{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer gt.Close()
	if err := gt.Start(); err != nil {
		t.Fatal(err)
	}
	if err := gt.Update(rate("EUR", "1.1", 0, 0)); err != nil {
		t.Fatal(err)
	}
	v, err := state.GetReadOnlyKeyValueStore[string, string](globalViews{gt}, "rates")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := v.Get("EUR"); ok {
		t.Error("the view saw a cached write")
	}
	if err := gt.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := v.Get("EUR"); !ok || got != "1.1" {
		t.Errorf("EUR = %q, %v after Flush", got, ok)
	}
}

// globalViews hands out a global store's view, as a task's processors get it.
type globalViews struct{ gt *engine.GlobalTask }

func (g globalViews) StateStore(name string) (processor.StateStore, error) {
	s := g.gt.Store(name)
	if s == nil {
		return nil, state.ErrUnknownStore
	}
	return s.View()
}
