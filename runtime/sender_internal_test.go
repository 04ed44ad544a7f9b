package runtime

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/kafkatest"
)

// Once drain returned, every record the thread sent is in franz-go's hands,
// whatever part of a batch it filled, and the records reach the partition
// in the order the thread sent them; after stopSender the thread produces
// directly.
func TestSenderDrainKeepsOrder(t *testing.T) {
	br := kafkatest.NewBroker(t, kafkatest.Topics(1, "out"))
	cl, err := br.Client(kgo.ManualFlushing(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	th := &thread{cl: cl}
	th.out.th = th
	send := func(from, to int) {
		for i := from; i < to; i++ {
			r, b := th.out.record(nil, []byte(strconv.Itoa(i)))
			r.Topic = "out"
			th.produce(r, b)
		}
	}
	const n = 3*senderBatch + 17
	send(0, n)
	th.drain()
	if got := cl.BufferedProduceRecords(); got != n {
		t.Fatalf("after drain franz-go holds %d records, want %d", got, n)
	}
	th.stopSender()
	send(n, n+5)
	if got := cl.BufferedProduceRecords(); got != n+5 {
		t.Fatalf("after stopSender franz-go holds %d records, want %d", got, n+5)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := th.checkProduce(); err != nil {
		t.Fatal(err)
	}

	rd, err := br.Client(kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	next := 0
	for next < n+5 {
		fs := rd.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if want := strconv.Itoa(next); string(r.Value) != want {
				t.Fatalf("offset %d holds %q, want %q", r.Offset, r.Value, want)
			}
			next++
		})
	}
}
