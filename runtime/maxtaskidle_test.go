package runtime_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kgo"
)

// mergeTopology merges "left" and "right" into "merged", and copies "other"
// to "other-out" in a subtopology of its own.
func mergeTopology(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	dsl.Stream(b, "left", serde.String, serde.String).Merge(dsl.Stream(b, "right", serde.String, serde.String)).To("merged")
	dsl.Stream(b, "other", serde.String, serde.String).To("other-out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func mergeBroker(t testing.TB) *kafkatest.Broker {
	return kafkatest.NewBroker(t, kafkatest.Topics(1, "left", "right", "merged", "other", "other-out"))
}

func produce(t testing.TB, c *kafkatest.Broker, topic, value string, ts int64) {
	t.Helper()
	cl, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r := &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte(value), Timestamp: time.UnixMilli(ts)}
	if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// reader reads a topic read_committed from the start, across calls.
type reader struct {
	t  testing.TB
	cl *kgo.Client
}

func newReader(t testing.TB, c *kafkatest.Broker, topic string) *reader {
	cl, err := c.Client(kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &reader{t: t, cl: cl}
}

// read returns the values that arrive within d.
func (r *reader) read(d time.Duration) []string {
	var out []string
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for ctx.Err() == nil {
		r.cl.PollFetches(ctx).EachRecord(func(rec *kgo.Record) { out = append(out, string(rec.Value)) })
	}
	return out
}

// readN waits up to d for n values.
func (r *reader) readN(n int, d time.Duration) []string {
	r.t.Helper()
	var out []string
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for len(out) < n {
		fs := r.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			r.t.Fatalf("read %q, want %d values", out, n)
		}
		fs.EachRecord(func(rec *kgo.Record) { out = append(out, string(rec.Value)) })
	}
	return out
}

// A task whose other input is empty waits MaxTaskIdle for it: a record
// arriving in time with an earlier timestamp is processed first.
func TestMaxTaskIdleWaitsForEmptyPartition(t *testing.T) {
	c := mergeBroker(t)
	app, _ := runApp(t, c, mergeTopology(t), t.TempDir(), runtime.ApplicationID("merge"), runtime.MaxTaskIdle(2*time.Second))
	waitState(t, app, runtime.Running)
	merged := newReader(t, c, "merged")
	produce(t, c, "left", "l10", 10)
	if got := merged.read(700 * time.Millisecond); len(got) != 0 {
		t.Fatalf("processed %q while right was empty", got)
	}
	produce(t, c, "right", "r5", 5)
	if got := merged.readN(1, 10*time.Second); !slices.Equal(got, []string{"r5"}) {
		t.Fatalf("merged %q, want [r5]", got)
	}
	// right is empty again: l10 waits out the idle time.
	began := time.Now()
	if got := merged.readN(1, 10*time.Second); !slices.Equal(got, []string{"l10"}) {
		t.Fatalf("merged %q, want [l10]", got)
	}
	if waited := time.Since(began); waited < time.Second {
		t.Fatalf("l10 went %v after r5, before the idle time", waited)
	}
	// Until right has records again, left's go at once, as in Kafka
	// Streams' enforced processing.
	began = time.Now()
	produce(t, c, "left", "l20", 20)
	if got := merged.readN(1, 10*time.Second); !slices.Equal(got, []string{"l20"}) {
		t.Fatalf("merged %q, want [l20]", got)
	}
	if waited := time.Since(began); waited > time.Second {
		t.Fatalf("l20 waited %v", waited)
	}
}

// Under exactly-once, a record a task holds back when the transaction
// commits keeps its offset uncommitted: after a restart it is processed,
// once.
func TestMaxTaskIdleExactlyOnceKeepsHeldRecord(t *testing.T) {
	c := mergeBroker(t)
	dir := t.TempDir()
	app, done := runApp(t, c, mergeTopology(t), dir, runtime.ApplicationID("merge"), runtime.ExactlyOnce(), runtime.MaxTaskIdle(time.Minute))
	waitState(t, app, runtime.Running)
	produce(t, c, "left", "l10", 10)
	time.Sleep(300 * time.Millisecond) // l10 is fetched and held
	// Other work makes the thread commit while l10 is held.
	produce(t, c, "other", "o1", 1)
	if got := newReader(t, c, "other-out").readN(1, 10*time.Second); !slices.Equal(got, []string{"o1"}) {
		t.Fatalf("other-out %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := app.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	merged := newReader(t, c, "merged")
	if got := merged.read(300 * time.Millisecond); len(got) != 0 {
		t.Fatalf("merged %q before the restart", got)
	}
	runApp(t, c, mergeTopology(t), dir, runtime.ApplicationID("merge"), runtime.ExactlyOnce(), runtime.MaxTaskIdle(100*time.Millisecond))
	if got := merged.readN(1, 20*time.Second); !slices.Equal(got, []string{"l10"}) {
		t.Fatalf("merged %q, want [l10]", got)
	}
	if got := merged.read(time.Second); len(got) != 0 {
		t.Fatalf("l10 processed again: %q", got)
	}
}
