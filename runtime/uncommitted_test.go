package runtime_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
)

// Past UncommittedMaxBytes a thread commits without waiting for the
// commit interval. The input, all one key, is there before the app starts,
// so the thread's polls come back full until it has read it all, and only
// then empty: with an hour's commit interval and no bound it commits once,
// when it catches up, and the changelog, which carries each key's last
// write per commit, holds one record. With a bound of one byte it commits
// after every poll, each commit logging the count reached so far.
func TestUncommittedMaxBytesCommitsEarly(t *testing.T) {
	const n = 6000 // three polls of 2000 at least
	for _, tc := range []struct {
		name  string
		bound int64
	}{{"default", 16 << 20}, {"one byte", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			c := kafkatest.NewBroker(t, kafkatest.Topics(1, "keys", "key-counts"), kafkatest.Partitions(1))
			cl, err := c.Client(kgo.DefaultProduceTopic("keys"))
			if err != nil {
				t.Fatal(err)
			}
			for range n {
				cl.Produce(context.Background(), &kgo.Record{Key: []byte("a"), Value: []byte("x")}, nil)
			}
			if err := cl.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			cl.Close()

			b := dsl.NewBuilder()
			dsl.Stream(b, "keys", serde.String, serde.String).
				GroupByKey().
				Count(dsl.MaterializedAs[string, int64]("counts")).
				ToStream().
				To("key-counts", dsl.ProducedWith(serde.String, serde.Int64))
			topo, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			appID := "bound-" + fmt.Sprint(tc.bound)
			app, done := runApp(t, c, topo, t.TempDir(), runtime.ApplicationID(appID),
				runtime.CommitInterval(time.Hour), runtime.UncommittedMaxBytes(tc.bound))
			waitCommittedCount(t, c, appID+"-counts-changelog", "a", n)
			closeApp(t, app, done)
			got := countRecords(t, c, appID+"-counts-changelog")
			switch {
			case tc.bound == 1 && got < 3:
				t.Errorf("changelog holds %d records; want one per poll, at least 3", got)
			case tc.bound > 1 && got != 1:
				t.Errorf("changelog holds %d records; want 1, from the one commit", got)
			}
		})
	}
}

// waitCommittedCount reads topic until the count of key in it is want.
func waitCommittedCount(t *testing.T, c *kafkatest.Broker, topic, key string, want int64) {
	t.Helper()
	cl, err := c.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got int64
	for got != want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("count of %q in %s is %d, want %d", key, topic, got, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Key) == key && len(r.Value) == 8 {
				got = int64(binary.BigEndian.Uint64(r.Value))
			}
		})
	}
}
