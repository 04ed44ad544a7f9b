package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// With caching, word count on a broker writes one update per word and
// commit to its output and changelog, instead of one per occurrence, and
// the final counts are right under both guarantees.
func TestCachedWordCount(t *testing.T) {
	for _, eos := range []bool{false, true} {
		name := map[bool]string{false: "at-least-once", true: "exactly-once"}[eos]
		t.Run(name, func(t *testing.T) {
			c := testfix.WordCountBroker(t, 2)
			const n = 400
			lines := make([]string, n)
			for i := range lines {
				lines[i] = "tick tock"
			}
			testfix.ProduceLines(t, c, lines...)
			topo := testfix.WordCountCached(t, 1<<20)
			opts := []runtime.Option{runtime.ApplicationID("cached"), runtime.CommitInterval(300 * time.Millisecond)}
			if eos {
				opts = append(opts, runtime.ExactlyOnce())
			}
			app, done := runApp(t, c, topo, t.TempDir(), opts...)
			testfix.ReadCounts(t, c, map[string]int64{"tick": n, "tock": n}, 30*time.Second)
			closeApp(t, app, done)

			// 2n updates were made; the cache folds them per commit.
			for _, topic := range []string{"word-counts", "cached-counts-changelog"} {
				if got := countRecords(t, c, topic); got < 2 || got > n/4 {
					t.Errorf("%s holds %d records for %d updates; want between 2 and %d", topic, got, 2*n, n/4)
				}
			}
		})
	}
}

// countRecords reads topic from the start, read_committed, to its end and
// returns how many data records it holds (transaction markers aside).
func countRecords(t testing.TB, c *kafkatest.Broker, topic string) int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	n := 0
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records of %s; partitions %v not read to their end", n, topic, left)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				n++
			}
			if r.Offset+1 >= left[r.Partition] {
				delete(left, r.Partition)
			}
		})
	}
	return n
}
