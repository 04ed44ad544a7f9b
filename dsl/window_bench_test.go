package dsl_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// countPipe pipes records into a count, plain or over one-minute tumbling
// windows, and reads the updates back.
type countPipe struct {
	in   *testdriver.TestInputTopic[string, string]
	read func()
}

func newCountPipe(b *testing.B, windowed bool, opts ...testdriver.Option) countPipe {
	bld := dsl.NewBuilder()
	grouped := dsl.Stream(bld, "in", serde.String, serde.String).GroupByKey()
	if windowed {
		dsl.WindowedBy(grouped, dsl.TimeWindowsOfSizeWithNoGrace(time.Minute)).Count().ToStream().To("out")
	} else {
		grouped.Count().ToStream().To("out")
	}
	topo, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	td := testdriver.New(b, topo, append([]testdriver.Option{testdriver.WithWallClock(epoch)}, opts...)...)
	p := countPipe{in: testdriver.InputTopic(td, "in", serde.String, serde.String)}
	// Updates are read as bytes alike: the keys' serdes differ, and the
	// benchmark is of the aggregations.
	out := testdriver.OutputTopic(td, "out", serde.Bytes, serde.Bytes)
	p.read = func() { out.ReadRecord() }
	return p
}

const (
	benchKeys  = 10_000
	countBlock = 512
)

var benchKeyNames = func() []string {
	ks := make([]string, benchKeys)
	for i := range ks {
		ks[i] = fmt.Sprintf("key-%05d", i)
	}
	return ks
}()

// BenchmarkWindowedCount compares a count over one-minute tumbling windows
// with a plain count, through the test driver, on the same records (10k
// keys in turn, one record per millisecond, so each window sees every key
// six times) and the same kind of store. The two take turns in blocks of
// countBlock records; ratio is the windowed count's records/s over the
// plain count's (target ≥ 0.5), from the summed block times.
func BenchmarkWindowedCount(b *testing.B) {
	for _, store := range []string{"memory", "pebble"} {
		b.Run(store, func(b *testing.B) {
			var opts []testdriver.Option
			if store == "pebble" {
				opts = append(opts, testdriver.WithPebbleStores())
			}
			plain, windowed := newCountPipe(b, false, opts...), newCountPipe(b, true, opts...)
			var plainTime, windowedTime time.Duration
			var start time.Time
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				pos := i % (2 * countBlock)
				if pos == 0 || pos == countBlock {
					start = time.Now()
				}
				// Both see record n of the same sequence: n counts the
				// records each has had.
				n := i/(2*countBlock)*countBlock + pos%countBlock
				p := plain
				if pos >= countBlock {
					p = windowed
				}
				p.in.PipeRecord(at(benchKeyNames[n%benchKeys], "x", int64(n)))
				p.read()
				switch pos {
				case countBlock - 1:
					plainTime += time.Since(start)
				case 2*countBlock - 1:
					windowedTime += time.Since(start)
				}
			}
			if windowedTime > 0 && plainTime > 0 {
				b.ReportMetric(float64(plainTime)/float64(windowedTime), "ratio")
				b.ReportMetric(float64(windowedTime.Nanoseconds())/float64(b.N/2), "windowed-ns/record")
				b.ReportMetric(float64(plainTime.Nanoseconds())/float64(b.N/2), "plain-ns/record")
			}
		})
	}
}
