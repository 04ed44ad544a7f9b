package testdriver_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
)

// chainTopology is source → n stateless operators → sink over int64 values.
func chainTopology(b testing.TB, n int) *topology.Topology {
	bld := dsl.NewBuilder()
	s := dsl.Stream(bld, "in", serde.Int64, serde.Int64)
	ops := []func(dsl.KStream[int64, int64]) dsl.KStream[int64, int64]{
		func(s dsl.KStream[int64, int64]) dsl.KStream[int64, int64] {
			return s.Filter(func(_, v int64) bool { return v >= 0 })
		},
		func(s dsl.KStream[int64, int64]) dsl.KStream[int64, int64] {
			return s.MapValues(func(v int64) int64 { return v + 1 })
		},
		func(s dsl.KStream[int64, int64]) dsl.KStream[int64, int64] {
			return s.FilterNot(func(k, _ int64) bool { return k < 0 })
		},
		func(s dsl.KStream[int64, int64]) dsl.KStream[int64, int64] {
			return s.MapValues(func(v int64) int64 { return v * 2 })
		},
		func(s dsl.KStream[int64, int64]) dsl.KStream[int64, int64] {
			return s.Peek(func(_, _ int64) {})
		},
	}
	for i := 0; i < n; i++ {
		s = ops[i%len(ops)](s)
	}
	s.To("out")
	topo, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	return topo
}

// BenchmarkStatelessChain measures what five stateless operators (Filter,
// MapValues, FilterNot, MapValues, Peek) add per record through the test
// driver: subtract ns/op of ops=0 (source → sink) from ns/op of ops=5, and
// compare allocs/op (the one allocation on both is the driver's copy of the
// output record). The two run one after the other, so load on a shared
// machine can slow one and not the other: compare the medians of -count 6
// or more with benchstat, or read BenchmarkStatelessChainAdded.
func BenchmarkStatelessChain(b *testing.B) {
	for _, n := range []int{0, 5} {
		b.Run(map[int]string{0: "ops=0", 5: "ops=5"}[n], func(b *testing.B) {
			td := testdriver.New(b, chainTopology(b, n), testdriver.WithWallClock(time.UnixMilli(0)))
			in := testdriver.InputTopic(td, "in", serde.Int64, serde.Int64)
			out := testdriver.OutputTopic(td, "out", serde.Int64, serde.Int64)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				in.PipeInput(int64(i), int64(i))
				if _, err := out.TryReadRecord(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStatelessChainAdded reports ns/chain, what the five operators of
// BenchmarkStatelessChain add per record, measured against the source → sink
// baseline in the same run: the two drivers take turns in blocks of
// chainBlock records, and ns/chain is the median, over pairs of consecutive
// blocks, of the chain's block time minus the baseline's, per record. Load
// that comes and goes on the machine hits both blocks of a pair alike, and
// the median leaves out pairs it hit unevenly. base-ns/record is the median
// baseline block per record; ns/op and allocs/op average the two drivers.
func BenchmarkStatelessChainAdded(b *testing.B) {
	base, chain := newChainPipe(b, 0), newChainPipe(b, 5)
	var baseNs, added []float64
	var blockStart time.Time
	var baseBlock time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		pos := i % (2 * chainBlock)
		switch pos {
		case 0:
			blockStart = time.Now()
		case chainBlock:
			now := time.Now()
			baseBlock, blockStart = now.Sub(blockStart), now
		}
		if pos < chainBlock {
			base.pipe(b, int64(i))
		} else {
			chain.pipe(b, int64(i))
		}
		if pos == 2*chainBlock-1 {
			chainBlockTime := time.Since(blockStart)
			baseNs = append(baseNs, float64(baseBlock.Nanoseconds())/chainBlock)
			added = append(added, float64((chainBlockTime-baseBlock).Nanoseconds())/chainBlock)
		}
	}
	if len(added) > 0 {
		b.ReportMetric(median(added), "ns/chain")
		b.ReportMetric(median(baseNs), "base-ns/record")
	}
}

const chainBlock = 256

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// chainPipe pipes records through chainTopology and reads them back.
type chainPipe struct {
	in  *testdriver.TestInputTopic[int64, int64]
	out *testdriver.TestOutputTopic[int64, int64]
}

func newChainPipe(b *testing.B, ops int) chainPipe {
	td := testdriver.New(b, chainTopology(b, ops), testdriver.WithWallClock(time.UnixMilli(0)))
	return chainPipe{
		in:  testdriver.InputTopic(td, "in", serde.Int64, serde.Int64),
		out: testdriver.OutputTopic(td, "out", serde.Int64, serde.Int64),
	}
}

func (p chainPipe) pipe(b *testing.B, v int64) {
	p.in.PipeInput(v, v)
	if _, err := p.out.TryReadRecord(); err != nil {
		b.Fatal(err)
	}
}

var wordLines = func() []string {
	words := strings.Fields("the quick brown fox jumps over the lazy dog kafka streams go samsa pebble state store changelog topic partition offset commit")
	lines := make([]string, 1000)
	for i := range lines {
		var sb strings.Builder
		for j := 0; j < 10; j++ {
			if j > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(words[(i*7+j*3)%len(words)])
		}
		lines[i] = sb.String()
	}
	return lines
}()

const wordsPerLine = 10

// BenchmarkWordCount reports words/s for word count through the test driver
// on the in-memory and Pebble stores, and for a hand-written loop that
// splits and counts the same lines in a Go map; ratio is words/s over the
// hand-written loop's, measured in the same run. Outside the timing, each
// side's counts are checked against those of the lines it was given: the
// loop's map, and the driver's store and number of outputs.
func BenchmarkWordCount(b *testing.B) {
	var baseline float64
	b.Run("handwritten", func(b *testing.B) {
		counts := map[string]int64{}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			for _, w := range strings.Fields(strings.ToLower(wordLines[i%len(wordLines)])) {
				counts[w]++
			}
		}
		baseline = float64(b.N*wordsPerLine) / b.Elapsed().Seconds()
		b.ReportMetric(baseline, "words/s")
		if want := wordLineCounts(b.N); !maps.Equal(counts, want) {
			b.Fatalf("counts = %v, want %v", counts, want)
		}
	})
	for _, store := range []string{"memory", "pebble"} {
		b.Run(store, func(b *testing.B) {
			var opts []testdriver.Option
			if store == "pebble" {
				opts = append(opts, testdriver.WithPebbleStores())
			}
			td := testdriver.New(b, testfix.WordCount(b), opts...)
			in := testdriver.InputTopic(td, testfix.InputTopic, serde.String, serde.String)
			out := testdriver.OutputTopic(td, testfix.OutputTopic, serde.String, serde.Int64)
			outputs := 0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				in.PipeValue(wordLines[i%len(wordLines)])
				for !out.IsEmpty() {
					if _, err := out.TryReadRecord(); err != nil {
						b.Fatal(err)
					}
					outputs++
				}
			}
			wps := float64(b.N*wordsPerLine) / b.Elapsed().Seconds()
			b.ReportMetric(wps, "words/s")
			if baseline > 0 {
				b.ReportMetric(wps/baseline, "ratio")
			}
			if outputs != b.N*wordsPerLine {
				b.Fatalf("%d outputs, want one per word, %d", outputs, b.N*wordsPerLine)
			}
			if got, want := storeCounts(b, td), wordLineCounts(b.N); !maps.Equal(got, want) {
				b.Fatalf("store counts = %v, want %v", got, want)
			}
		})
	}
}

// wordLineCounts counts the words of the first n lines of wordLines, over
// and over.
func wordLineCounts(n int) map[string]int64 {
	per := map[string]int64{}
	for _, l := range wordLines {
		for _, w := range strings.Fields(strings.ToLower(l)) {
			per[w]++
		}
	}
	counts := map[string]int64{}
	if full := int64(n / len(wordLines)); full > 0 {
		for w, c := range per {
			counts[w] = c * full
		}
	}
	for _, l := range wordLines[:n%len(wordLines)] {
		for _, w := range strings.Fields(strings.ToLower(l)) {
			counts[w]++
		}
	}
	return counts
}

// storeCounts reads every count of the word-count store.
func storeCounts(b *testing.B, td *testdriver.Driver) map[string]int64 {
	it, err := testdriver.KeyValueStore[string, int64](td, testfix.CountsStore).All()
	if err != nil {
		b.Fatal(err)
	}
	defer it.Close()
	got := map[string]int64{}
	for it.Next() {
		got[it.Key()] = it.Value()
	}
	if err := it.Err(); err != nil {
		b.Fatal(err)
	}
	return got
}
