package runtime_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func wordCount(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	dsl.Stream(b, "text-lines", serde.String, serde.String).
		FlatMapValues(func(line string) []string { return strings.Fields(strings.ToLower(line)) }).
		GroupBy(func(_, word string) string { return word }, dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.MaterializedAs[string, int64]("counts")).
		ToStream().
		To("word-counts", dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func newCluster(t testing.TB, partitions int32) *kfake.Cluster {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "text-lines", "word-counts"), kfake.DefaultNumPartitions(int(partitions)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("SAMSA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func produceLines(t testing.TB, c *kfake.Cluster, lines ...string) {
	t.Helper()
	if err := produceLinesErr(c, lines...); err != nil {
		t.Fatal(err)
	}
}

// produceLinesErr writes lines to text-lines, keyed by line number so they
// spread over partitions; it may run on any goroutine.
func produceLinesErr(c *kfake.Cluster, lines ...string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("text-lines"))
	if err != nil {
		return err
	}
	defer cl.Close()
	for i, l := range lines {
		r := &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(l)}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			return err
		}
	}
	return nil
}

// readCounts consumes word-counts from the start, read_committed, until
// want holds or the deadline passes, decoding values as Java's
// LongDeserializer does.
func readCounts(t testing.TB, c *kfake.Cluster, want map[string]int64, timeout time.Duration) map[string]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("word-counts"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]int64{}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !countsEqual(got, want) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("counts = %v, want %v", got, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Value) != 8 {
				t.Fatalf("value of %q is %d bytes, want 8 (a Java long)", r.Key, len(r.Value))
			}
			got[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
		})
	}
	return got
}

// readCountsAtLeast reads until every word of want has at least its count
// and nothing changed for a second.
func readCountsAtLeast(t testing.TB, c *kfake.Cluster, want map[string]int64, timeout time.Duration) map[string]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("word-counts"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]int64{}
	deadline := time.Now().Add(timeout)
	last := time.Now()
	for {
		enough := len(got) == len(want)
		for w, n := range want {
			if got[w] < n {
				enough = false
			}
		}
		if enough && time.Since(last) > time.Second {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts = %v, want at least %v", got, want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			got[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
			last = time.Now()
		})
	}
}

func countsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// startApp runs word count as application "wordcount".
func startApp(t testing.TB, c *kfake.Cluster, dir string, opts ...runtime.Option) (*runtime.App, chan error) {
	t.Helper()
	return runApp(t, c, wordCount(t), dir, append([]runtime.Option{runtime.ApplicationID("wordcount")}, opts...)...)
}

// runApp runs topo on c with test settings; opts come last and win. The app
// is closed when the test ends.
func runApp(t testing.TB, c *kfake.Cluster, topo *topology.Topology, dir string, opts ...runtime.Option) (*runtime.App, chan error) {
	t.Helper()
	base := []runtime.Option{
		runtime.Brokers(c.ListenAddrs()...),
		runtime.StateDir(dir),
		runtime.CommitInterval(100 * time.Millisecond),
		runtime.Logger(testLogger(t)),
		runtime.SessionTimeout(6 * time.Second),
	}
	app, err := runtime.New(topo, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return app, launch(t, app)
}

// launch runs app until the test ends; the channel gets what Run returned.
func launch(t testing.TB, app *runtime.App) chan error {
	done := make(chan error, 1)
	go func() { done <- app.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		app.Close(ctx)
	})
	return done
}

func TestWordCountEndToEnd(t *testing.T) {
	c := newCluster(t, 3)
	app, done := startApp(t, c, t.TempDir())
	produceLines(t, c, "hello kafka hello", "all streams lead to kafka", "join kafka summit")
	readCounts(t, c, map[string]int64{"hello": 2, "kafka": 3, "all": 1, "streams": 1, "lead": 1, "to": 1, "join": 1, "summit": 1}, 30*time.Second)
	if s := app.State(); s != runtime.Running {
		t.Errorf("state = %v, want RUNNING", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := app.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s := app.State(); s != runtime.NotRunning {
		t.Errorf("state = %v, want NOT_RUNNING", s)
	}
}
