package runtime

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// catchUp tells a stream thread whether a poll that came back empty means
// it has caught up with its input, so that it commits at once instead of
// waiting out the commit interval, or only that the next fetch is still on
// its way, which a commit would only delay.
//
// Each fetched partition carries its high watermark and last stable offset
// as of that fetch: a partition whose last record fetched ends before them
// is behind, and records of it are on their way. An empty poll while no
// partition is behind means the thread has caught up. A partition can look
// behind for ever when what follows its last record is no record at all:
// the marker of a transaction read uncommitted, records of aborted
// transactions, or a partition revoked since. So the thread also counts as
// caught up once its polls have come back empty for longer than idleFor,
// which no fetch of a partition really behind takes; the partitions then
// start afresh.
type catchUp struct {
	behind map[topicPartition]bool
	// nBehind counts the true values of behind.
	nBehind int
	// busy is when the thread last processed fetched records.
	busy time.Time
}

type topicPartition struct {
	topic     string
	partition int32
}

// idleFor is how long a thread's polls may come back empty, with some
// partition seemingly behind, before it counts as caught up: the longest a
// poll waits (maxPollWait), much longer than a fetch of records the broker
// holds takes.
const idleFor = maxPollWait

// saw notes a fetched partition's position against its end, read
// committed or not.
func (c *catchUp) saw(p kgo.FetchTopicPartition, readCommitted bool) {
	if len(p.Records) == 0 {
		return
	}
	if c.behind == nil {
		c.behind = map[topicPartition]bool{}
	}
	tp := topicPartition{p.Topic, p.Partition}
	was := c.behind[tp]
	now := fetchLag(p, readCommitted) > 0
	if was == now {
		return
	}
	c.behind[tp] = now
	if now {
		c.nBehind++
	} else {
		c.nBehind--
	}
}

// worked notes that the thread processed fetched records at now.
func (c *catchUp) worked(now time.Time) { c.busy = now }

// caughtUp reports whether a poll that came back empty at now means the
// thread has caught up with its input.
func (c *catchUp) caughtUp(now time.Time) bool {
	if c.nBehind == 0 {
		return true
	}
	if now.Sub(c.busy) < idleFor {
		return false
	}
	c.reset()
	return true
}

// reset forgets the partitions: the consumer moved (an abort rewound it, a
// new client joined), or what they showed is stale.
func (c *catchUp) reset() {
	clear(c.behind)
	c.nBehind = 0
}

// fetchLag is how many records of p's partition were past its last fetched
// record when it was fetched: up to its high watermark, or, read
// committed, its last stable offset.
func fetchLag(p kgo.FetchTopicPartition, readCommitted bool) int64 {
	last := p.Records[len(p.Records)-1]
	if !readCommitted {
		return p.HighWatermark - (last.Offset + 1)
	}
	// Less the marker that follows the transaction of a transactional
	// record, which takes an offset but is no record: a consumer that
	// caught up has no lag.
	lag := p.LastStableOffset - (last.Offset + 1)
	if last.Attrs.IsTransactional() {
		lag--
	}
	return lag
}
