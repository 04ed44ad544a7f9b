package conformance_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Suppress(UntilWindowCloses) across a restart on kfake: an application
// is stopped mid-stream, after a commit, and a new one on the same topics
// (on the old state directory, or on an empty one that restores the
// buffer and the window store from their changelogs) goes on. Together
// they emit exactly one final result per window and key, only once the
// window closed, the same records as the test driver running the inputs
// without a stop; a record late before the stop is dropped after it.

const (
	restartSize  = 10 // ms
	restartGrace = 3  // ms
)

func suppressedCounts(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	dsl.WindowedBy(dsl.Stream(b, "orders", serde.String, serde.String).GroupByKey(),
		dsl.TimeWindowsOfSizeAndGrace(restartSize*time.Millisecond, restartGrace*time.Millisecond)).
		Count(dsl.MaterializedAs[string, int64]("order-counts")).
		Suppress(dsl.UntilWindowCloses[dsl.Windowed[string]](dsl.Unbounded()).WithName("final-orders")).
		ToStream().
		To("final-counts", dsl.ProducedWith(serde.TimeWindowed(serde.String, restartSize*time.Millisecond), serde.Int64))
	return build(t, b)
}

// restartInputs are, per half, records of keys a (even timestamps) and b
// (odd), each timestamp once, shuffled within the grace period; the second
// half adds a late record and one that closes every window.
func restartInputs() (first, second []input) {
	var all []input
	for ts := int64(0); ts < 60; ts++ {
		k := "a"
		if ts%2 == 1 {
			k = "b"
		}
		all = append(all, input{"orders", k, "x", ts})
	}
	// Swap neighbours: each record is at most 1ms out of order.
	for i := 1; i+1 < len(all); i += 3 {
		all[i], all[i+1] = all[i+1], all[i]
	}
	first, second = all[:30], slices.Clone(all[30:])
	// Late after stream time 29 ([0,10) closed at 13), and the first
	// record the new application sees.
	second = slices.Insert(second, 0, input{"orders", "a", "x", 4})
	second = append(second, input{"orders", "z", "x", 1000})
	return first, second
}

// finalCounts are the results in closed form: every window of a and b
// counts 5 records, stamped with its last.
func finalCounts() map[string]string {
	want := map[string]string{}
	for start := int64(0); start < 60; start += restartSize {
		want[windowKey("a", start)] = fmt.Sprintf("5@%d", start+8)
		want[windowKey("b", start)] = fmt.Sprintf("5@%d", start+9)
	}
	return want
}

func TestSuppressAcrossRestart(t *testing.T) {
	first, second := restartInputs()
	spec := topicSpec{"final-counts", long}

	// The driver, without a stop, gives the order of the results.
	td := testdriver.New(t, suppressedCounts(t), testdriver.WithApplicationID(appID), testdriver.WithWallClock(time.UnixMilli(0)))
	in := testdriver.InputTopic(td, "orders", serde.String, serde.String)
	for _, r := range append(slices.Clone(first), second...) {
		in.PipeInputAt(r.key, r.value, time.UnixMilli(r.ts))
	}
	var want []string
	for _, r := range testdriver.OutputTopic(td, "final-counts", serde.Bytes, serde.Bytes).ReadRecordsToList() {
		want = append(want, show(spec, r.Key, r.Value, r.Timestamp))
	}
	checkFinal(t, "driver", want)

	for _, fresh := range []bool{false, true} {
		name := "same state directory"
		if fresh {
			name = "empty state directory"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := kafkatest.NewBroker(t, kafkatest.Topics(1, "orders", "final-counts"), kafkatest.Partitions(1))
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			produce(ctx, t, c, first)
			dir := t.TempDir()

			// The first application emits what the first half closes
			// ([0,10) and [10,20) of both keys) and is stopped once they
			// are committed, with later windows held in its buffer.
			for i, r := range want {
				if start := int64(binary.BigEndian.Uint64([]byte(r[1:9]))); (start < 20) != (i < 4) {
					t.Fatalf("the first half should close the 4 windows before 20; the driver's results: %q", want)
				}
			}
			stop := runApp(t, c, dir)
			got := consume(ctx, t, c, spec, want[:4])
			stop()
			if !slices.Equal(got, want[:4]) {
				t.Fatalf("before the stop:\n got %q\nwant %q", got, want[:4])
			}

			produce(ctx, t, c, second)
			if fresh {
				dir = t.TempDir()
			}
			stop = runApp(t, c, dir)
			defer stop()
			got = consume(ctx, t, c, spec, want)
			if !slices.Equal(got, want) {
				t.Fatalf("across the restart:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// checkFinal checks results against finalCounts: each window once, none
// missing, the far-future window not closed.
func checkFinal(t *testing.T, host string, got []string) {
	t.Helper()
	want := finalCounts()
	seen := map[string]bool{}
	for _, r := range got {
		k, v := r[:len(windowKey("a", 0))], r[len(windowKey("a", 0))+1:]
		if seen[k] {
			t.Fatalf("%s: window %q emitted twice: %q", host, k, got)
		}
		seen[k] = true
		if want[k] != v {
			t.Fatalf("%s: window %q = %s, want %q: %q", host, k, v, want[k], got)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%s: %d windows, want %d: %q", host, len(seen), len(want), got)
	}
}

func produce(ctx context.Context, t *testing.T, c *kafkatest.Broker, inputs []input) {
	t.Helper()
	cl, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, in := range inputs {
		r := &kgo.Record{Topic: in.topic, Key: []byte(in.key), Value: []byte(in.value), Timestamp: time.UnixMilli(in.ts)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// runApp starts the suppressed count under exactly-once on c with state
// in dir; stop closes it cleanly, once.
func runApp(t *testing.T, c *kafkatest.Broker, dir string) (stop func()) {
	t.Helper()
	app, err := runtime.New(suppressedCounts(t), runtime.ApplicationID(appID), runtime.Brokers(c.Addrs()...),
		runtime.ExactlyOnce(), runtime.CommitInterval(50*time.Millisecond),
		runtime.StateDir(dir), runtime.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(context.Background()) }()
	stopped := false
	return func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := app.Close(ctx); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
