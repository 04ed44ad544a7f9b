package testfix

import (
	"strings"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

// Topics and store of the word count.
const (
	InputTopic  = "text-lines"
	OutputTopic = "word-counts"
	CountsStore = "counts"
)

// AddWordCount adds word count to b: each line of InputTopic is split into
// lower-case words, each word counted in CountsStore (through the
// repartition topic "counts-repartition", as the key changes), and every
// new count written to OutputTopic as a Java long.
func AddWordCount(b *dsl.Builder) { AddWordCountCached(b, 0) }

// AddWordCountCached is AddWordCount with a cache of cacheBytes in front of
// the store; 0 means none.
func AddWordCountCached(b *dsl.Builder, cacheBytes int) {
	AddWordCountOn(b, InputTopic, OutputTopic, cacheBytes)
}

// AddWordCountOn is AddWordCountCached reading input and writing output,
// for tests that share a cluster with others and so need topics of their
// own.
func AddWordCountOn(b *dsl.Builder, input, output string, cacheBytes int) {
	counts := dsl.MaterializedAs[string, int64](CountsStore)
	if cacheBytes > 0 {
		counts = counts.WithCachingEnabled(cacheBytes)
	}
	dsl.Stream(b, input, serde.String, serde.String).
		FlatMapValues(func(line string) []string { return strings.Fields(strings.ToLower(line)) }).
		GroupBy(func(_, word string) string { return word }, dsl.GroupedWith(serde.String, serde.String)).
		Count(counts).
		ToStream().
		To(output, dsl.ProducedWith(serde.String, serde.Int64))
}

// WordCount returns the word-count topology of AddWordCount, uncached.
func WordCount(tb testing.TB) *topology.Topology {
	tb.Helper()
	return WordCountCached(tb, 0)
}

// WordCountCached returns the word-count topology with a cache of
// cacheBytes in front of its store.
func WordCountCached(tb testing.TB, cacheBytes int) *topology.Topology {
	tb.Helper()
	b := dsl.NewBuilder()
	AddWordCountCached(b, cacheBytes)
	topo, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	return topo
}

// WordCountBroker starts a broker for tb whose InputTopic and OutputTopic
// have partitions partitions, as have topics created on first use.
func WordCountBroker(tb testing.TB, partitions int32, opts ...kafkatest.Option) *kafkatest.Broker {
	tb.Helper()
	return kafkatest.NewBroker(tb, append([]kafkatest.Option{
		kafkatest.Topics(partitions, InputTopic, OutputTopic),
		kafkatest.Partitions(partitions),
	}, opts...)...)
}

// Corpus returns n lines over a small vocabulary, starting at line from,
// and the counts they make. Consecutive ranges add up: Corpus(0, 10) and
// Corpus(10, 10) make the counts of Corpus(0, 20).
func Corpus(from, n int) ([]string, map[string]int64) {
	vocab := strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu")
	counts := map[string]int64{}
	lines := make([]string, n)
	for i := range lines {
		var ws []string
		for j := 0; j < 4; j++ {
			w := vocab[((from+i)*5+j*7)%len(vocab)]
			ws = append(ws, w)
			counts[w]++
		}
		lines[i] = strings.Join(ws, " ")
	}
	return lines, counts
}

// Add returns the sum of two sets of counts.
func Add(a, b map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range a {
		out[k] += v
	}
	for k, v := range b {
		out[k] += v
	}
	return out
}
