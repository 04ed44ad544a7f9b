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

func BenchmarkHops(b *testing.B) {
	for _, n := range []int{0, 5} {
		b.Run(string(rune('0'+n)), func(b *testing.B) {
			bld := dsl.NewBuilder()
			s := dsl.Stream(bld, "in", serde.Int64, serde.Int64)
			for i := 0; i < n; i++ {
				s = s.Filter(func(_, v int64) bool { return v >= 0 })
			}
			s.To("out")
			topo, err := bld.Build()
			if err != nil {
				b.Fatal(err)
			}
			task, err := engine.NewTask(engine.GraphOf(topo), 0, 0, engine.Config{Collector: nopCollector{}})
			if err != nil {
				b.Fatal(err)
			}
			if err := task.Init(); err != nil {
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
