package engine_test

import (
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/serde"
)

// Stateless operations allocate nothing per record of their own, fused
// (in a chain, or changing types) or not (with two children).
func TestStatelessAllocs(t *testing.T) {
	values := []int64{1, 2}
	for _, tc := range []struct {
		name string
		ops  func(dsl.KStream[int64, int64])
	}{
		{"steps", func(s dsl.KStream[int64, int64]) {
			s.Filter(func(_, v int64) bool { return v >= 0 }).
				MapValues(func(v int64) int64 { return v + 1 }).
				SelectKey(func(k, _ int64) int64 { return k }).
				Peek(func(_, _ int64) {}).
				To("out")
		}},
		{"functions", func(s dsl.KStream[int64, int64]) {
			s.MapValues(func(v int64) uint64 { return uint64(v) }).
				FlatMapValues(func(uint64) []int64 { return values }).
				To("out")
		}},
		{"not-fused", func(s dsl.KStream[int64, int64]) {
			f := s.Filter(func(_, v int64) bool { return v >= 0 })
			f.To("out")
			m := f.MapValues(func(v int64) int64 { return v + 1 })
			m.To("out")
			fm := m.FlatMapValues(func(int64) []int64 { return values })
			fm.To("out")
			fm.Peek(func(_, _ int64) {}).To("out")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bld := dsl.NewBuilder()
			tc.ops(dsl.Stream(bld, "in", serde.Int64, serde.Int64))
			topo, err := bld.Build()
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
			r := &engine.RawRecord{Topic: "in", Key: make([]byte, 8), Value: make([]byte, 8)}
			if n := testing.AllocsPerRun(100, func() {
				if err := task.Process(r); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("%v allocations per record, want 0", n)
			}
		})
	}
}
