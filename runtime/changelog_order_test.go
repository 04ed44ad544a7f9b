package runtime_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
)

// Under at-least-once a store's changelog never gets ahead of the outputs
// of the state it holds. Here the outputs of a windowed count fail to land
// (retried past the delivery timeout) while its changelog partition takes
// records: the app fails. Had the changelog taken the commit's state, the
// next owner would restore windows whose stream time (30s) makes the input
// at 1s late, drop it again, and the count of its window would never be
// sent. It is, once the broker takes outputs again.
func TestChangelogWaitsForTheOutputs(t *testing.T) {
	c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out"))
	b := dsl.NewBuilder()
	windowed := serde.TimeWindowed(serde.String, 10*time.Second)
	dsl.WindowedBy(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
		dsl.TimeWindowsOfSizeAndGrace(10*time.Second, 0)).
		Count(dsl.MaterializedAs[string, int64]("counts")).
		ToStream().
		To("out", dsl.ProducedWith(windowed, serde.Int64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	h := c.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Err: kerr.NotEnoughReplicas, Count: -1})
	produceAt(t, c, "in", "k", "x", 1_000)
	produceAt(t, c, "in", "j", "x", 30_000)
	_, done := runApp(t, c, topo, t.TempDir(), runtime.ApplicationID("order"), runtime.DeliveryTimeout(2*time.Second))
	select {
	case err := <-done:
		if !errors.Is(err, kgo.ErrRecordTimeout) {
			t.Fatalf("Run = %v, want the outputs' delivery timeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the app goes on with outputs that never landed")
	}
	h.Remove()

	app, _ := runApp(t, c, topo, t.TempDir(), runtime.ApplicationID("order"))
	got := map[string]int64{}
	for _, r := range readRecords(t, c, "out", 2, 30*time.Second, false) {
		w, err := windowed.Deserialize("out", r.Key)
		if err != nil {
			t.Fatal(err)
		}
		n, err := serde.Int64.Deserialize("out", r.Value)
		if err != nil {
			t.Fatal(err)
		}
		got[w.Key] = max(got[w.Key], n)
	}
	if got["k"] < 1 || got["j"] < 1 {
		t.Fatalf("counts sent %v, want k and j counted", got)
	}
	if d := app.DroppedRecords()[processor.DropLateRecord]; d != 0 {
		t.Fatalf("%d records dropped as late after the restart, want none", d)
	}
}

// The changelog records a store hands over at a commit stay with the
// thread when the commit fails before sending them: here the app closes
// while the commit's flush retries an output, the flush gives up, and the
// commit that closes the app sends them before it commits the offsets.
// Dropped, they would leave committed offsets past an update the changelog
// lacks, and the next owner would count on from one short.
func TestChangelogOutlivesACommitCutShort(t *testing.T) {
	c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out"))
	b := dsl.NewBuilder()
	// Windowed, so that its changelog is held for the outputs.
	dsl.WindowedBy(dsl.Stream(b, "in", serde.String, serde.String).GroupByKey(),
		dsl.TimeWindowsOfSizeAndGrace(10*time.Second, time.Minute)).
		Count(dsl.MaterializedAs[string, int64]("counts")).
		ToStream().
		To("out", dsl.ProducedWith(serde.TimeWindowed(serde.String, 10*time.Second), serde.Int64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	h := c.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Err: kerr.NotEnoughReplicas, Count: -1})
	produceAt(t, c, "in", "k", "x", 1_000)
	app, done := runApp(t, c, topo, t.TempDir(), runtime.ApplicationID("cut"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The commit's flush is retrying the count when the close begins.
	if err := h.Wait(ctx, 2); err != nil {
		t.Fatal("the count was never produced:", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- app.Close(ctx) }()
	time.Sleep(300 * time.Millisecond)
	h.Remove()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if cl := readRecords(t, c, "cut-counts-changelog", 1, 10*time.Second, false); len(cl) != 1 {
		t.Fatalf("changelog holds %d records after the close, want the count of k", len(cl))
	}

	produceAt(t, c, "in", "k", "x", 2_000)
	runApp(t, c, topo, t.TempDir(), runtime.ApplicationID("cut"))
	var last int64
	for _, r := range readRecords(t, c, "out", 2, 30*time.Second, false) {
		n, err := serde.Int64.Deserialize("out", r.Value)
		if err != nil {
			t.Fatal(err)
		}
		last = n
	}
	if last != 2 {
		t.Fatalf("k counted %d after the restart, want 2", last)
	}
}

// A stream aggregation's changelog does not wait for its outputs: handed
// an input again past what a restore gave back, the aggregation sends its
// row again, updated. Here the count's output cannot land while its
// changelog takes the count; the app fails on the output's delivery
// timeout, and its next run restores the count and counts the input a
// second time, at-least-once's duplicate, and sends it.
func TestAggregationChangelogGoesAhead(t *testing.T) {
	c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out"))
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).GroupByKey().
		Count(dsl.MaterializedAs[string, int64]("counts")).
		ToStream().
		To("out", dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	h := c.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Err: kerr.NotEnoughReplicas, Count: -1})
	produceAt(t, c, "in", "k", "x", 1_000)
	_, done := runApp(t, c, topo, t.TempDir(), runtime.ApplicationID("ahead"), runtime.DeliveryTimeout(5*time.Second))
	if cl := readRecords(t, c, "ahead-counts-changelog", 1, 4*time.Second, false); len(cl) != 1 {
		t.Fatalf("changelog holds %d records while the output is refused, want the count of k", len(cl))
	}
	select {
	case err := <-done:
		if !errors.Is(err, kgo.ErrRecordTimeout) {
			t.Fatalf("Run = %v, want the output's delivery timeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the app goes on with an output that never landed")
	}
	h.Remove()

	runApp(t, c, topo, t.TempDir(), runtime.ApplicationID("ahead"))
	rs := readRecords(t, c, "out", 1, 30*time.Second, false)
	if len(rs) != 1 {
		t.Fatalf("%d counts sent after the restart, want 1", len(rs))
	}
	if n, err := serde.Int64.Deserialize("out", rs[0].Value); err != nil || n != 2 {
		t.Fatalf("k's count sent after the restart = %d (%v), want 2: the restored 1 and the input again", n, err)
	}
}
