package testdriver_test

import (
	"context"
	"encoding/binary"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// runtimeLines is the input of BenchmarkWordCountDriverVsRuntime: lines of
// wordLines, ten words each, a million words in all.
const runtimeLines = 100_000

// batchedCommitLines is how many lines the driver's batched side pipes
// between two commits.
const batchedCommitLines = 10_000

// BenchmarkWordCountDriverVsRuntime runs word count over the same lines
// through the test driver (in-memory and Pebble stores) and through the
// runtime on the in-process broker (kfake), each with its defaults, on one
// partition, and reports words/s of each and the driver's words/s over the
// runtime's. A third driver side, on Pebble, commits every
// batchedCommitLines lines instead of after each (WithCommitEvery): the
// runtime commits every 30 s, which over this input is once or twice, and
// each of the driver's commits is a Pebble batch. The driver's time is
// piping every line and reading every output; the runtime's runs from Run until a consumer has read every
// final count, group join included ("runtime-words/s"), and from the first
// count read ("runtime-processing-words/s"). Every side's final counts are
// checked against the lines', outside the timing.
//
//	GOTOOLCHAIN=auto go test ./testdriver -run '^$' -bench DriverVsRuntime -benchtime 1x
func BenchmarkWordCountDriverVsRuntime(b *testing.B) {
	lines := make([]string, runtimeLines)
	want := map[string]int64{}
	for i := range lines {
		lines[i] = wordLines[i%len(wordLines)]
		for _, w := range strings.Fields(strings.ToLower(lines[i])) {
			want[w]++
		}
	}
	words := float64(runtimeLines * wordsPerLine)
	for range b.N {
		mem := driverWordCount(b, lines, want)
		peb := driverWordCount(b, lines, want, testdriver.WithPebbleStores())
		pebBatched := driverWordCount(b, lines, want, testdriver.WithPebbleStores(), testdriver.WithCommitEvery(batchedCommitLines))
		total, processing := runtimeWordCount(b, lines, want)
		b.ReportMetric(words/mem.Seconds(), "driver-memory-words/s")
		b.ReportMetric(words/peb.Seconds(), "driver-pebble-words/s")
		b.ReportMetric(words/pebBatched.Seconds(), "driver-pebble-batched-words/s")
		b.ReportMetric(words/total.Seconds(), "runtime-words/s")
		b.ReportMetric(words/processing.Seconds(), "runtime-processing-words/s")
		b.ReportMetric(total.Seconds()/mem.Seconds(), "memory/runtime")
		b.ReportMetric(total.Seconds()/peb.Seconds(), "pebble/runtime")
		b.ReportMetric(total.Seconds()/pebBatched.Seconds(), "pebble-batched/runtime")
		b.ReportMetric(processing.Seconds()/mem.Seconds(), "memory/runtime-processing")
		b.ReportMetric(processing.Seconds()/peb.Seconds(), "pebble/runtime-processing")
	}
}

// driverWordCount pipes lines, keyed by their index as the runtime's input
// is, reads every count, and returns how long that took.
func driverWordCount(b *testing.B, lines []string, want map[string]int64, opts ...testdriver.Option) time.Duration {
	td := testdriver.New(b, testfix.WordCount(b), opts...)
	in := testdriver.InputTopic(td, testfix.InputTopic, serde.String, serde.String)
	out := testdriver.OutputTopic(td, testfix.OutputTopic, serde.String, serde.Int64)
	got := map[string]int64{}
	start := time.Now()
	read := func() {
		for !out.IsEmpty() {
			r, err := out.TryReadRecord()
			if err != nil {
				b.Fatal(err)
			}
			got[r.Key] = r.Value
		}
	}
	for i, l := range lines {
		in.PipeInput(strconv.Itoa(i), l)
		read()
	}
	// What the last commit left uncommitted.
	td.Commit()
	read()
	took := time.Since(start)
	if !maps.Equal(got, want) {
		b.Fatalf("driver counts = %v, want %v", got, want)
	}
	return took
}

// runtimeWordCount produces lines to a broker of its own, runs the
// runtime on them and reads the counts until they are want. It returns the
// time from Run to the last count, and from the first count to the last.
func runtimeWordCount(b *testing.B, lines []string, want map[string]int64) (total, processing time.Duration) {
	c := testfix.WordCountBroker(b, 1)
	pr, err := c.Client(kgo.DefaultProduceTopic(testfix.InputTopic))
	if err != nil {
		b.Fatal(err)
	}
	for i, l := range lines {
		pr.Produce(context.Background(), &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte(l)}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
		})
	}
	if err := pr.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	pr.Close()
	cl, err := c.Client(kgo.ConsumeTopics(testfix.OutputTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()

	app, err := runtime.New(testfix.WordCount(b), runtime.ApplicationID("driver-vs-runtime"),
		runtime.Brokers(c.Addrs()...), runtime.StateDir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- app.Run(ctx) }()
	got := map[string]int64{}
	var first time.Time
	for !maps.Equal(got, want) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			b.Fatalf("runtime counts = %v, want %v", got, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if first.IsZero() {
				first = time.Now()
			}
			if len(r.Value) != 8 {
				b.Fatalf("count of %q is %d bytes, want 8", r.Key, len(r.Value))
			}
			got[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
		})
	}
	end := time.Now()
	if err := app.Close(ctx); err != nil {
		b.Fatal(err)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return end.Sub(start), end.Sub(first)
}
