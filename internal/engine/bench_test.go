package engine_test

import (
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

type nopCollector struct{}

func (nopCollector) Send(string, []byte, []byte, int64, []processor.Header) error { return nil }
func (nopCollector) SendChangelog(*engine.Changelog, []byte, []byte, int64, []processor.Header) error {
	return nil
}

// BenchmarkHops measures the engine alone, without the test driver: a source
// (int64 keys and values), n stateless operations and a sink writing to a
// collector that drops what it gets. Subtract ns/op of n=0 from that of n=5
// for what five hops cost. "filters" are five Filters, which a task fuses
// into one loop of steps; "retyped" are five MapValues alternating between
// int64 and uint64 values, which it fuses into nested function calls.
func BenchmarkHops(b *testing.B) {
	for _, tc := range []struct {
		name string
		ops  func(dsl.KStream[int64, int64]) dsl.KStream[int64, int64]
	}{
		{"n=0", func(s dsl.KStream[int64, int64]) dsl.KStream[int64, int64] { return s }},
		{"n=5/filters", func(s dsl.KStream[int64, int64]) dsl.KStream[int64, int64] {
			for range 5 {
				s = s.Filter(func(_, v int64) bool { return v >= 0 })
			}
			return s
		}},
		{"n=5/retyped", func(s dsl.KStream[int64, int64]) dsl.KStream[int64, int64] {
			for range 2 {
				u := s.MapValues(func(v int64) uint64 { return uint64(v) })
				s = u.MapValues(func(v uint64) int64 { return int64(v) })
			}
			return s.MapValues(func(v int64) int64 { return v + 1 }).
				MapValues(func(v int64) uint64 { return uint64(v) }).
				MapValues(func(v uint64) int64 { return int64(v) })
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			bld := dsl.NewBuilder()
			tc.ops(dsl.Stream(bld, "in", serde.Int64, serde.Int64)).To("out")
			topo, err := bld.Build()
			if err != nil {
				b.Fatal(err)
			}
			task, err := engine.NewTask(engine.GraphOf(topo), 0, 0, engine.Config{Collector: nopCollector{}, InMemory: true})
			if err != nil {
				b.Fatal(err)
			}
			if err := task.Start(); err != nil {
				b.Fatal(err)
			}
			r := &engine.RawRecord{Topic: "in", Key: make([]byte, 8), Value: make([]byte, 8)}
			b.ReportAllocs()
			for b.Loop() {
				if err := task.Process(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
