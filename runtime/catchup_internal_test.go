package runtime

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// fetched is a fetch of partition p of topic "in" whose last record, not
// transactional, is at offset last, with the given high watermark and last
// stable offset.
func fetched(p int32, last, hwm, lso int64) kgo.FetchTopicPartition {
	r := &kgo.Record{Topic: "in", Partition: p, Offset: last}
	return kgo.FetchTopicPartition{Topic: "in", FetchPartition: kgo.FetchPartition{
		Partition: p, HighWatermark: hwm, LastStableOffset: lso, Records: []*kgo.Record{r},
	}}
}

// An empty poll means the thread caught up only once no partition fetched
// was behind its end, or once the polls have been empty for idleFor.
func TestCatchUp(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name          string
		fetches       []kgo.FetchTopicPartition
		readCommitted bool
		after         time.Duration
		want          bool
	}{
		{"nothing fetched", nil, false, 0, true},
		{"at the high watermark", []kgo.FetchTopicPartition{fetched(0, 9, 10, 10)}, false, 0, true},
		{"behind the high watermark", []kgo.FetchTopicPartition{fetched(0, 9, 20, 20)}, false, 0, false},
		{"behind, then caught up", []kgo.FetchTopicPartition{fetched(0, 9, 20, 20), fetched(0, 19, 20, 20)}, false, 0, true},
		{"one of two behind", []kgo.FetchTopicPartition{fetched(0, 9, 10, 10), fetched(1, 9, 20, 20)}, false, 0, false},
		{"behind, polls empty long enough", []kgo.FetchTopicPartition{fetched(0, 9, 20, 20)}, false, idleFor, true},
		{"behind, polls empty not long enough", []kgo.FetchTopicPartition{fetched(0, 9, 20, 20)}, false, idleFor - time.Millisecond, false},
		{"read committed, at the last stable offset", []kgo.FetchTopicPartition{fetched(0, 9, 30, 10)}, true, 0, true},
		{"read committed, behind the last stable offset", []kgo.FetchTopicPartition{fetched(0, 9, 30, 20)}, true, 0, false},
		{"read uncommitted, behind the high watermark", []kgo.FetchTopicPartition{fetched(0, 9, 30, 10)}, false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c catchUp
			for _, p := range tc.fetches {
				c.saw(p, tc.readCommitted)
			}
			c.worked(t0)
			if got := c.caughtUp(t0.Add(tc.after)); got != tc.want {
				t.Errorf("caught up %v, want %v", got, tc.want)
			}
		})
	}
}

// Once polls stayed empty long enough, the partitions start afresh: one
// that looked behind does not hold back the next empty poll's commit.
func TestCatchUpForgetsAfterIdle(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var c catchUp
	c.saw(fetched(0, 9, 20, 20), false)
	c.worked(t0)
	if !c.caughtUp(t0.Add(idleFor)) {
		t.Fatal("not caught up after idleFor")
	}
	c.worked(t0.Add(2 * idleFor))
	if !c.caughtUp(t0.Add(2 * idleFor)) {
		t.Error("a partition forgotten still holds back an empty poll")
	}
	c.saw(fetched(0, 15, 20, 20), false)
	if c.caughtUp(t0.Add(2 * idleFor)) {
		t.Error("caught up with a partition behind again")
	}
}
