package engine_test

import (
	"errors"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// KAFKA-8972: a zombie that goes on processing after its task was closed
// must get an error from the closed store, not write to it or panic.
func TestZombieWritesToClosedStore(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).GroupByKey().Count(dsl.MaterializedAs[string, int64]("counts"))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	task, err := engine.NewTask(engine.GraphOf(topo), 0, 0, engine.Config{Collector: nopCollector{}, InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(); err != nil {
		t.Fatal(err)
	}
	rec := &engine.RawRecord{Topic: "in", Key: []byte("k"), Value: []byte("v")}
	if err := task.Process(rec); err != nil {
		t.Fatal(err)
	}
	if err := task.Close(); err != nil {
		t.Fatal(err)
	}
	err = task.Process(rec)
	if !errors.Is(err, state.ErrClosed) {
		t.Fatalf("Process after Close = %v, want an error wrapping state.ErrClosed", err)
	}
}
