package runtime_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
)

// rowWriter keeps each row of "rows" in a timestamped store, with its
// record's timestamp.
type rowWriter struct {
	rows *state.TimestampedKeyValueStore[string, string]
}

func (w *rowWriter) Init(ctx processor.Context[string, string]) (err error) {
	w.rows, err = state.GetTimestampedKeyValueStore[string, string](ctx, "rows")
	return err
}

func (w *rowWriter) Process(rec processor.Record[string, string]) error {
	return w.rows.Put(rec.Key, state.ValueAndTimestamp[string]{Value: rec.Value, Timestamp: rec.Timestamp})
}

func (w *rowWriter) Close() error { return nil }

// rowReader answers each probe with the row it names and that row's
// timestamp, "value@ts".
type rowReader struct {
	ctx  processor.Context[string, string]
	rows *state.TimestampedKeyValueStore[string, string]
}

func (r *rowReader) Init(ctx processor.Context[string, string]) (err error) {
	r.ctx = ctx
	r.rows, err = state.GetTimestampedKeyValueStore[string, string](ctx, "rows")
	return err
}

func (r *rowReader) Process(rec processor.Record[string, string]) error {
	vt, found, err := r.rows.Get(rec.Key)
	if err != nil {
		return err
	}
	answer := "missing"
	if found {
		answer = fmt.Sprintf("%s@%d", vt.Value, vt.Timestamp)
	}
	return r.ctx.Forward(processor.Record[string, string]{Key: rec.Key, Value: answer, Timestamp: rec.Timestamp})
}

func (r *rowReader) Close() error { return nil }

func rowsTopology(inMemory bool) *topology.Topology {
	rows := state.TimestampedKeyValueStoreBuilder("rows", serde.String, serde.String)
	if inMemory {
		rows.InMemory()
	}
	return topology.New().
		AddSource("rows-src", serde.String, serde.String, "rows").
		AddProcessor("write", processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] {
			return &rowWriter{}
		}), "rows-src").
		AddSource("probe-src", serde.String, serde.String, "probes").
		AddProcessor("read", processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] {
			return &rowReader{}
		}), "probe-src").
		AddSink("answers", "row-times", serde.String, serde.String, "read").
		AddStateStore(rows, "write", "read")
}

// TestRestoreKeepsRowTimestamps writes rows with known timestamps into a
// timestamped store, loses the local state (the state directory, or the
// memory of an in-memory store), and checks that the store restored from
// its changelog answers with the same timestamps.
func TestRestoreKeepsRowTimestamps(t *testing.T) {
	for _, inMemory := range []bool{false, true} {
		t.Run(fmt.Sprintf("inMemory=%v", inMemory), func(t *testing.T) {
			c := kafkatest.NewBroker(t, kafkatest.Topics(1, "rows", "probes", "row-times"))
			dir := t.TempDir()
			topo := rowsTopology(inMemory)
			app, done := runApp(t, c, topo, dir, runtime.ApplicationID("rowtimes"))
			produceAt(t, c, "rows", "a", "1", 1000)
			produceAt(t, c, "rows", "b", "2", 2000)
			// Probes go out once the rows reached the changelog, so that
			// the task has stored them when it reads the probes.
			consumeN(t, c, "rowtimes-rows-changelog", 2)
			produceAt(t, c, "probes", "a", "", 5000)
			produceAt(t, c, "probes", "b", "", 5001)
			want := []string{"a=1@1000", "b=2@2000"}
			if got := consumeN(t, c, "row-times", 2); !slices.Equal(got, want) {
				t.Fatalf("answers before the restore: %q, want %q", got, want)
			}
			closeApp(t, app, done)

			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			app, done = runApp(t, c, topo, dir, runtime.ApplicationID("rowtimes"))
			produceAt(t, c, "probes", "b", "", 6000)
			produceAt(t, c, "probes", "a", "", 6001)
			got := consumeN(t, c, "row-times", 4)
			if want := []string{"b=2@2000", "a=1@1000"}; !slices.Equal(got[2:], want) {
				t.Fatalf("answers after the restore: %q, want %q", got[2:], want)
			}
			closeApp(t, app, done)
		})
	}
}

func produceAt(t testing.TB, c *kafkatest.Broker, topic, key, value string, ts int64) {
	t.Helper()
	cl, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r := &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value), Timestamp: time.UnixMilli(ts)}
	if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// consumeN reads topic from its start until it has n records, as
// "key=value" strings, failing after 30 seconds.
func consumeN(t testing.TB, c *kafkatest.Broker, topic string, n int) []string {
	t.Helper()
	cl, err := c.Client(kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []string
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: %d records after 30s, want %d: %q", topic, len(got), n, got)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Key)+"="+string(r.Value)) })
	}
	return got
}
