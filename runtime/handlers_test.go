package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// upperOrPanic upper-cases "in" to "out" and panics on "boom".
func upperOrPanic(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		MapValues(func(v string) string {
			if v == "boom" {
				panic("cannot upper " + v)
			}
			return strings.ToUpper(v)
		}, dsl.Named("upper")).
		To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// produceValues produces values to topic with key "k", a header, and
// timestamps 1, 2, ...
func produceValues(t testing.TB, c *kafkatest.Broker, topic string, values ...[]byte) {
	t.Helper()
	cl, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i, v := range values {
		r := &kgo.Record{Topic: topic, Key: []byte("k"), Value: v, Timestamp: time.UnixMilli(int64(i + 1)),
			Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t-1")}}}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func strs(vs ...string) [][]byte {
	out := make([][]byte, len(vs))
	for i, v := range vs {
		out[i] = []byte(v)
	}
	return out
}

// readRecords reads n records of topic from the start within d, with the
// given isolation.
func readRecords(t testing.TB, c *kafkatest.Broker, topic string, n int, d time.Duration, committed bool) []*kgo.Record {
	t.Helper()
	opts := []kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := c.Client(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

func headerOf(r *kgo.Record, key string) (string, bool) {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == key {
			return string(r.Headers[i].Value), true
		}
	}
	return "", false
}

// checkDeadLetter checks that d is the input record value at offset, as
// produced by produceValues, with headers naming the error.
func checkDeadLetter(t testing.TB, d *kgo.Record, value []byte, offset int64, node string) {
	t.Helper()
	if string(d.Key) != "k" || !bytes.Equal(d.Value, value) || d.Timestamp.UnixMilli() != offset+1 {
		t.Fatalf("dead-letter record %q:%q@%d, want the original k:%q@%d", d.Key, d.Value, d.Timestamp.UnixMilli(), value, offset+1)
	}
	want := map[string]string{
		"trace":                       "t-1",
		processor.DeadLetterTopic:     "in",
		processor.DeadLetterPartition: "0",
		processor.DeadLetterOffset:    string(rune('0' + offset)),
		processor.DeadLetterNode:      node,
		processor.DeadLetterTask:      "0_0",
	}
	for k, v := range want {
		if got, ok := headerOf(d, k); !ok || got != v {
			t.Errorf("header %s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	for _, k := range []string{processor.DeadLetterException, processor.DeadLetterMessage} {
		if got, _ := headerOf(d, k); got == "" {
			t.Errorf("no header %s", k)
		}
	}
}

// committedOffset returns the offset group committed on partition 0 of
// topic, -1 if none.
func committedOffset(t testing.TB, c *kafkatest.Broker, group, topic string) int64 {
	t.Helper()
	resp, err := admin(t, c).FetchOffsets(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := resp.Lookup(topic, 0); ok && o.Err == nil {
		return o.At
	}
	return -1
}

// A poison record under the deserialization handler's LogAndContinue goes
// to the dead-letter topic as it was produced, with the error's headers.
func TestDeserializationDeadLetter(t *testing.T) {
	c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out", "dlq"))
	produceValues(t, c, "in", long(1), []byte{1, 2, 3}, long(2))
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.Int64, dsl.Named("longs")).To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, _ := runApp(t, c, topo, t.TempDir(), runtime.ApplicationID("dlq-deser"),
		runtime.DeserializationHandler(processor.LogAndContinue), runtime.DeadLetterQueue("dlq"))
	if got := readRecords(t, c, "out", 2, 30*time.Second, true); len(got) != 2 {
		t.Fatalf("out has %d records, want 2", len(got))
	}
	dl := readRecords(t, c, "dlq", 1, 30*time.Second, true)
	if len(dl) != 1 {
		t.Fatalf("dlq has %d records, want 1", len(dl))
	}
	checkDeadLetter(t, dl[0], []byte{1, 2, 3}, 1, "longs")
	if got := app.DroppedRecords()[processor.DropDeserializationError]; got != 1 {
		t.Fatalf("DroppedRecords = %v, want one deserialization error", app.DroppedRecords())
	}
}

// A dead-letter topic that does not exist fails Run at once.
func TestDeadLetterTopicMustExist(t *testing.T) {
	c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out"))
	_, done := runApp(t, c, upperOrPanic(t), t.TempDir(), runtime.ApplicationID("dlq-missing"), runtime.DeadLetterQueue("nowhere"))
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), `dead-letter topic "nowhere" does not exist`) {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run goes on without its dead-letter topic")
	}
}

// A panic in MapValues under the default handler moves the app to ERROR
// with an error naming the node, task, topic, partition and offset, the
// process goes on, and no offset past the record is committed. Under
// LogAndContinue the record is dropped, dead-lettered with its stack, and
// the rest processed.
func TestProcessingPanic(t *testing.T) {
	t.Run("fail", func(t *testing.T) {
		c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out"))
		produceValues(t, c, "in", strs("a", "b", "boom", "c")...)
		app, done := runApp(t, c, upperOrPanic(t), t.TempDir(), runtime.ApplicationID("panics"))
		var err error
		select {
		case err = <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the app goes on after a panic under LogAndFail")
		}
		var pe *processor.Error
		if !errors.As(err, &pe) || !errors.Is(err, processor.ErrPanic) {
			t.Fatalf("Run = %v, want a *processor.Error holding the panic", err)
		}
		for _, want := range []string{`node "upper"`, "task 0_0", `topic "in" partition 0 offset 2`, "cannot upper boom"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %s", err, want)
			}
		}
		if s := app.State(); s != runtime.Error {
			t.Errorf("state %v, want ERROR", s)
		}
		if off := committedOffset(t, c, "panics", "in"); off > 2 {
			t.Fatalf("committed offset %d: past the record that failed (offset 2)", off)
		}
	})
	t.Run("continue", func(t *testing.T) {
		c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out", "dlq"))
		produceValues(t, c, "in", strs("a", "b", "boom", "c")...)
		app, _ := runApp(t, c, upperOrPanic(t), t.TempDir(), runtime.ApplicationID("panics"),
			runtime.ProcessingHandler(processor.LogAndContinue), runtime.DeadLetterQueue("dlq"))
		var got []string
		for _, r := range readRecords(t, c, "out", 3, 30*time.Second, true) {
			got = append(got, string(r.Value))
		}
		if !slices.Equal(got, []string{"A", "B", "C"}) {
			t.Fatalf("out = %q, want A B C", got)
		}
		dl := readRecords(t, c, "dlq", 1, 30*time.Second, true)
		if len(dl) != 1 {
			t.Fatalf("dlq has %d records", len(dl))
		}
		checkDeadLetter(t, dl[0], []byte("boom"), 2, "upper")
		if st, _ := headerOf(dl[0], processor.DeadLetterStacktrace); !strings.Contains(st, "upperOrPanic") {
			t.Errorf("stack trace header does not reach the function that panicked:\n%s", st)
		}
		if got := app.DroppedRecordsByTask()[processor.TaskID{}][processor.DropProcessingError]; got != 1 {
			t.Fatalf("DroppedRecordsByTask = %v", app.DroppedRecordsByTask())
		}
		if s := app.State(); s != runtime.Running {
			t.Fatalf("state %v, want RUNNING", s)
		}
	})
}

// copyStrings copies "in" to "out".
func copyStrings(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// Records the broker refuses go to the production handler: a retriable
// error is retried and the record delivered; a non-retriable one fails the
// app by default, and is dropped and dead-lettered under LogAndContinue; a
// retriable one that lasts past DeliveryTimeout reaches the handler too.
func TestProductionHandler(t *testing.T) {
	refuse := func(c *kafkatest.Broker, err *kerr.Error, count int) *kfake.FaultHandle {
		return c.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Err: err, Count: count})
	}
	t.Run("retriable", func(t *testing.T) {
		c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out"))
		h := refuse(c, kerr.NotEnoughReplicas, 3)
		produceValues(t, c, "in", strs("a", "b")...)
		// A produce retry waits for fresh metadata: at most 5s old, unless
		// told otherwise.
		app, _ := runApp(t, c, copyStrings(t), t.TempDir(), runtime.ApplicationID("produce"),
			runtime.KgoOpts(kgo.MetadataMinAge(50*time.Millisecond)))
		if got := readRecords(t, c, "out", 2, 30*time.Second, true); len(got) != 2 {
			t.Fatalf("out has %d records, want 2", len(got))
		}
		if h.Hits() != 3 {
			t.Fatalf("the fault answered %d produce requests, want 3", h.Hits())
		}
		if d := app.DroppedRecords(); len(d) != 0 {
			t.Fatalf("dropped %v", d)
		}
	})
	t.Run("fail", func(t *testing.T) {
		c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out"))
		refuse(c, kerr.InvalidRecord, 1)
		produceValues(t, c, "in", strs("a")...)
		_, done := runApp(t, c, copyStrings(t), t.TempDir(), runtime.ApplicationID("produce"))
		select {
		case err := <-done:
			if !errors.Is(err, kerr.InvalidRecord) || !strings.Contains(err.Error(), `topic "out"`) {
				t.Fatalf("Run = %v, want the refusal of topic out", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the app goes on after a refused record under LogAndFail")
		}
		if off := committedOffset(t, c, "produce", "in"); off > 0 {
			t.Fatalf("committed offset %d past the record the broker refused", off)
		}
	})
	t.Run("continue", func(t *testing.T) {
		c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out", "dlq"))
		refuse(c, kerr.InvalidRecord, 1)
		var ctxs []processor.ErrorContext
		handler := func(ctx processor.ErrorContext, err error) processor.HandlerResponse {
			if !errors.Is(err, kerr.InvalidRecord) {
				t.Errorf("handler got %v", err)
			}
			ctxs = append(ctxs, ctx)
			return processor.Continue
		}
		produceValues(t, c, "in", strs("a")...)
		app, _ := runApp(t, c, copyStrings(t), t.TempDir(), runtime.ApplicationID("produce"),
			runtime.ProductionHandler(handler), runtime.DeadLetterQueue("dlq"))
		dl := readRecords(t, c, "dlq", 1, 30*time.Second, true)
		if len(dl) != 1 || string(dl[0].Value) != "a" {
			t.Fatalf("dlq = %v", dl)
		}
		if topic, _ := headerOf(dl[0], processor.DeadLetterTopic); topic != "out" {
			t.Errorf("dead-letter topic header %q, want the topic refused, out", topic)
		}
		produceValues(t, c, "in", strs("b")...)
		if got := readRecords(t, c, "out", 1, 30*time.Second, true); len(got) != 1 || string(got[0].Value) != "b" {
			t.Fatalf("out = %v, want b alone", got)
		}
		if got := app.DroppedRecords()[processor.DropProductionError]; got != 1 {
			t.Fatalf("DroppedRecords = %v", app.DroppedRecords())
		}
		if len(ctxs) != 1 || ctxs[0].Topic != "out" || ctxs[0].Task.String() != "0_0" || string(ctxs[0].Value) != "a" {
			t.Fatalf("handler contexts %+v", ctxs)
		}
	})
	t.Run("delivery timeout", func(t *testing.T) {
		c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out"))
		h := refuse(c, kerr.NotEnoughReplicas, -1)
		var handled atomic.Int32
		handler := func(ctx processor.ErrorContext, err error) processor.HandlerResponse {
			if !errors.Is(err, kgo.ErrRecordTimeout) {
				t.Errorf("handler got %v, want a timeout", err)
			}
			handled.Add(1)
			return processor.Continue
		}
		produceValues(t, c, "in", strs("a")...)
		start := time.Now()
		app, _ := runApp(t, c, copyStrings(t), t.TempDir(), runtime.ApplicationID("produce"),
			runtime.ProductionHandler(handler), runtime.DeliveryTimeout(2*time.Second))
		eventually(t, 30*time.Second, "the handler sees the timed-out record", func() (bool, string) {
			return handled.Load() == 1, ""
		})
		if took := time.Since(start); took < 2*time.Second {
			t.Fatalf("timed out after %v, before the delivery timeout", took)
		}
		h.Remove()
		produceValues(t, c, "in", strs("b")...)
		if got := readRecords(t, c, "out", 1, 30*time.Second, true); len(got) != 1 || string(got[0].Value) != "b" {
			t.Fatalf("out = %v, want b alone", got)
		}
		if got := app.DroppedRecords()[processor.DropProductionError]; got != 1 {
			t.Fatalf("DroppedRecords = %v", app.DroppedRecords())
		}
	})
}

// Under exactly-once a dead-letter record is in the transaction of the
// offsets that skip its record: read_committed sees it only once that
// commits, and one sent in a transaction that aborted is never seen.
func TestExactlyOnceDeadLetter(t *testing.T) {
	c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out", "dlq"))
	cluster := c.Cluster()
	// The first transaction's offset commit is refused, so that it
	// aborts; the second's EndTxn waits until the test let it go.
	cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.TxnOffsetCommit}, Err: kerr.IllegalGeneration, Count: 1})
	release := make(chan struct{})
	var ended atomic.Int32
	cluster.ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if req.(*kmsg.EndTxnRequest).Commit {
			if ended.Add(1) == 1 {
				cluster.SleepControl(func() { <-release })
			}
		}
		cluster.KeepControl()
		return nil, nil, false
	})
	produceValues(t, c, "in", strs("a", "boom", "c")...)
	runApp(t, c, upperOrPanic(t), t.TempDir(), runtime.ApplicationID("eos-dlq"), runtime.ExactlyOnce(),
		runtime.ProcessingHandler(processor.LogAndContinue), runtime.DeadLetterQueue("dlq"))

	// Written, aborted once, written again; not committed yet.
	eventually(t, 30*time.Second, "the dead-letter record is written twice", func() (bool, string) {
		return ended.Load() >= 1 && len(readRecords(t, c, "dlq", 2, time.Second, false)) == 2, ""
	})
	if got := readRecords(t, c, "dlq", 1, 2*time.Second, true); len(got) != 0 {
		t.Fatalf("read_committed sees %d dead-letter records before the transaction committed", len(got))
	}
	close(release)
	dl := readRecords(t, c, "dlq", 2, 5*time.Second, true)
	if len(dl) != 1 {
		t.Fatalf("read_committed sees %d dead-letter records after the commit, want 1 (the aborted one never)", len(dl))
	}
	checkDeadLetter(t, dl[0], []byte("boom"), 1, "upper")
	if got := readRecords(t, c, "out", 2, 10*time.Second, true); len(got) != 2 {
		t.Fatalf("out has %d committed records, want 2", len(got))
	}
}
