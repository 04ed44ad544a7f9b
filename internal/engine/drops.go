package engine

import (
	"sync"
	"sync/atomic"
)

// DropCounts counts the records one task dropped, by reason. The task's
// goroutine adds to it; any goroutine may read it. A host that closes and
// reopens a task (a rebalance, a rewind, a crash in the test driver) hands
// each incarnation the same DropCounts (Config.Drops), so the counts and
// the rate limit of their log lines carry over.
type DropCounts struct {
	mu      sync.Mutex
	reasons []*dropCount
}

// dropCount is one reason's count. Every field is atomic: incarnations of a
// task on different goroutines share it, one after the other.
type dropCount struct {
	reason string
	n      atomic.Int64
	// logged is n at the last log line; at is the task's wall clock then.
	logged atomic.Int64
	at     atomic.Int64
}

// Snapshot returns the counts by reason.
func (d *DropCounts) Snapshot() map[string]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := make(map[string]int64, len(d.reasons))
	for _, c := range d.reasons {
		m[c.reason] = c.n.Load()
	}
	return m
}

func (d *DropCounts) counter(reason string) *dropCount {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.reasons {
		if c.reason == reason {
			return c
		}
	}
	c := &dropCount{reason: reason}
	d.reasons = append(d.reasons, c)
	return c
}

// dropLogInterval is the least time between two log lines of one reason
// of one task, in milliseconds of the task's wall clock. The first drop is
// logged at once, with the record and the error; later lines give the count.
const dropLogInterval = 60_000

// Dropped returns how many records the task dropped, by reason.
func (t *Task) Dropped() map[string]int64 { return t.drops.Snapshot() }

// DropRecord counts a record dropped for reason. Processors reach it
// through their context.
func (t *Task) DropRecord(reason string) { t.drop(reason, t.nodeName(), nil) }

// drop counts a dropped record and logs it, rate-limited: once per reason
// and task at first, then at most every dropLogInterval with the count.
// node dropped it; cause is the error a handler dropped it for, if any.
func (t *Task) drop(reason, node string, cause error) {
	var c *dropCount
	for _, x := range t.dropList {
		if x.reason == reason {
			c = x
			break
		}
	}
	if c == nil {
		c = t.drops.counter(reason)
		t.dropList = append(t.dropList, c)
	}
	n, unlogged, log := c.add(t.wallClock)
	if !log || t.cfg.Logger == nil {
		return
	}
	attrs := []any{"task", t.ID.String(), "reason", reason}
	if n > 1 {
		t.cfg.Logger.Warn("dropped records", append(attrs, "dropped", unlogged, "total", n)...)
		return
	}
	if r := t.raw; r != nil {
		attrs = append(attrs, "topic", r.Topic, "partition", r.Partition, "offset", r.Offset)
	}
	if node != "" {
		attrs = append(attrs, "node", node)
	}
	if cause != nil {
		attrs = append(attrs, "err", cause.Error())
	}
	t.cfg.Logger.Warn("dropping records; further drops of this reason in this task are logged at most once a minute", attrs...)
}

// add counts a drop at wall-clock time now (ms). It returns the count, how
// many drops the last log line did not report, and whether to log now: at
// the first drop, and at most every dropLogInterval after.
func (c *dropCount) add(now int64) (n, unlogged int64, log bool) {
	n = c.n.Add(1)
	logged := c.logged.Load()
	if logged > 0 && now-c.at.Load() < dropLogInterval {
		return n, n - logged, false
	}
	c.logged.Store(n)
	c.at.Store(now)
	return n, n - logged, true
}

// Add counts a drop for reason that the host made (a record the brokers
// refused), at wall-clock time now (ms), with the rate limit of the task's
// own log lines: log says whether to log it, n is the count and unlogged
// how many drops the line reports (since the last one).
func (d *DropCounts) Add(reason string, now int64) (n, unlogged int64, log bool) {
	return d.counter(reason).add(now)
}
