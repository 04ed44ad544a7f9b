package runtime

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/twmb/franz-go/pkg/kgo"
)

// stableEnds returns, for each changelog partition to restore, its last
// stable offset once no transaction is open on it. A previous owner of the
// task may have left a transaction open: if it commits, the input offsets
// the group hands this task include its records, so the restore must wait
// for its outcome and include its changelog records too. The wait is
// bounded by the transaction timeout, after which the broker aborts it.
// Errors that may pass (a broker restarting, a partition moving) are
// retried within the same bound.
func (a *App) stableEnds(ctx context.Context, todo []*restoring, topics []string) (map[*restoring]int64, error) {
	deadline := time.Now().Add(2*a.cfg.txnTimeout + 10*time.Second)
	for {
		ends, open, err := a.listStable(ctx, todo, topics)
		switch {
		case err != nil && (!transient(err) || time.Now().After(deadline)):
			return nil, err
		case err == nil && len(open) == 0:
			return ends, nil
		case err == nil && time.Now().After(deadline):
			return nil, fmt.Errorf("runtime: changelogs %v still have an open transaction after %v", open, 2*a.cfg.txnTimeout+10*time.Second)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// listStable lists the last stable offsets of the changelog partitions to
// restore, and those whose end is past it: a transaction is open there.
func (a *App) listStable(ctx context.Context, todo []*restoring, topics []string) (map[*restoring]int64, []string, error) {
	lso, err := a.adm.ListCommittedOffsets(ctx, topics...)
	if err != nil {
		return nil, nil, fmt.Errorf("runtime: list changelog stable offsets: %w", err)
	}
	hw, err := a.adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, nil, fmt.Errorf("runtime: list changelog end offsets: %w", err)
	}
	ends := map[*restoring]int64{}
	var open []string
	for _, r := range todo {
		l, ok1 := lso.Lookup(r.topic, r.tk.ID.Partition)
		h, ok2 := hw.Lookup(r.topic, r.tk.ID.Partition)
		switch {
		case !ok1 || !ok2:
			return nil, nil, fmt.Errorf("runtime: task %s: changelog %q partition %d is not listed", r.tk.ID, r.topic, r.tk.ID.Partition)
		case l.Err != nil:
			return nil, nil, fmt.Errorf("runtime: task %s: stable offset of changelog %q partition %d: %w", r.tk.ID, r.topic, r.tk.ID.Partition, l.Err)
		case h.Err != nil:
			return nil, nil, fmt.Errorf("runtime: task %s: end offset of changelog %q partition %d: %w", r.tk.ID, r.topic, r.tk.ID.Partition, h.Err)
		case l.Offset < h.Offset:
			open = append(open, fmt.Sprintf("%s[%d]", r.topic, r.tk.ID.Partition))
		}
		ends[r] = l.Offset
	}
	return ends, open, nil
}

// restoring is one changelog partition being replayed into a store.
type restoring struct {
	tk    *engine.Task
	cl    *engine.Changelog
	topic string
	start int64
	end   int64
	last  int64
	n     int64
	batch []engine.ChangelogRecord
}

// restore replays the changelogs of the tasks' logged stores from the
// offset each store recorded (the start, for in-memory stores) to the
// changelog's end, with a consumer assigned directly to those partitions.
// Tasks process nothing before it returns.
func (a *App) restore(ctx context.Context, th *thread, tasks []*engine.Task) error {
	var todo []*restoring
	var topicsOf []string
	for _, tk := range tasks {
		for _, cl := range tk.Changelogs() {
			start, err := tk.RestoreFrom(cl)
			if err != nil {
				return fmt.Errorf("runtime: %w", err)
			}
			todo = append(todo, &restoring{tk: tk, cl: cl, topic: cl.Topic, start: start, last: start - 1})
			topicsOf = append(topicsOf, cl.Topic)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	ends, err := a.stableEnds(ctx, todo, topicsOf)
	if err != nil {
		return err
	}
	assignments := map[string]map[int32]kgo.Offset{}
	byTP := map[string]map[int32]*restoring{}
	var left int
	for _, r := range todo {
		r.end = ends[r]
		if r.start >= r.end {
			continue
		}
		if assignments[r.topic] == nil {
			assignments[r.topic] = map[int32]kgo.Offset{}
			byTP[r.topic] = map[int32]*restoring{}
		}
		assignments[r.topic][r.tk.ID.Partition] = kgo.NewOffset().At(r.start)
		byTP[r.topic][r.tk.ID.Partition] = r
		left++
	}
	if left == 0 {
		return nil
	}
	l := a.cfg.restoreListener
	if l != nil {
		for _, r := range todo {
			if r.start < r.end {
				l.OnRestoreStart(r.progress(0))
			}
		}
	}
	began := time.Now()
	opts := a.clientOpts(th.name + "-restore")
	opts = append(opts, kgo.ConsumePartitions(assignments),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Control records (transaction markers) show how far the
		// consumer got when a transaction's marker ends the changelog.
		kgo.KeepControlRecords())
	opts = append(opts, a.cfg.kgoOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("runtime: restore consumer: %w", err)
	}
	defer cl.Close()
	ap := newApplier(l)
	defer ap.wait()
	var total int64
	for left > 0 {
		ap.recycle()
		if ap.failed.Load() {
			break
		}
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) {
			if ferr == nil {
				ferr = fmt.Errorf("runtime: restore from changelog %q partition %d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		var last *restoring
		fetches.EachRecord(func(rec *kgo.Record) {
			r := last
			if r == nil || r.topic != rec.Topic || r.tk.ID.Partition != rec.Partition {
				r = byTP[rec.Topic][rec.Partition]
				last = r
			}
			if r == nil || rec.Offset >= r.end {
				return
			}
			if !rec.Attrs.IsControl() {
				if r.batch == nil {
					r.batch = ap.buffer()
				}
				r.batch = append(r.batch, changelogRecord(rec))
				r.n++
				total++
			}
			r.last = rec.Offset
			if rec.Offset+1 >= r.end {
				left--
			}
		})
		// Each fetch is applied as one batch per store.
		ap.apply(todo)
	}
	if err := ap.wait(); err != nil {
		return err
	}
	for _, r := range todo {
		if r.n == 0 && r.last < r.start {
			continue
		}
		if err := r.tk.RestoreDone(r.cl, r.last); err != nil {
			return fmt.Errorf("runtime: %w", err)
		}
		a.log.Info("restored store", "task", r.tk.ID.String(), "store", r.cl.Store, "records", r.n, "from", r.start, "to", r.end)
		if l != nil {
			l.OnRestoreEnd(r.progress(0))
		}
	}
	a.log.Info("restore done", "records", total, "took", time.Since(began))
	return nil
}

// applier applies fetched changelog records to their stores on a goroutine
// of its own, in the order they were fetched, so that the restore consumer
// polls the next fetch while the last one is written to the stores: the
// consumer's client fetches only one fetch ahead. It is one fetch behind at
// most; the poll goroutine waits for it past that. Each batch it applies
// is told to the listener from its goroutine. The poll goroutine hands it
// each fetch with apply, reuses the record buffers it gives back, and must
// wait for it before it ends the restore of any store.
type applier struct {
	jobs, back chan []applyJob
	l          StateRestoreListener
	// failed is set once a batch failed; err is its error, the
	// goroutine's until wait returns.
	failed atomic.Bool
	err    error
	// free holds record buffers and job lists given back, for the poll
	// goroutine to fill again.
	free  [][]engine.ChangelogRecord
	lists [][]applyJob
}

// applyJob is one fetch's records of one store, and the progress the
// listener is told once they are applied.
type applyJob struct {
	r    *restoring
	recs []engine.ChangelogRecord
	prog RestoreProgress
}

func newApplier(l StateRestoreListener) *applier {
	ap := &applier{jobs: make(chan []applyJob, 1), back: make(chan []applyJob, 4), l: l}
	go ap.run(ap.jobs, ap.back)
	return ap
}

func (ap *applier) run(jobs <-chan []applyJob, back chan<- []applyJob) {
	defer close(back)
	for js := range jobs {
		for _, j := range js {
			if ap.failed.Load() {
				break
			}
			if err := j.r.tk.Restore(j.r.cl, j.recs); err != nil {
				ap.err = fmt.Errorf("runtime: %w", err)
				ap.failed.Store(true)
				break
			}
			if ap.l != nil {
				ap.l.OnBatchRestored(j.prog)
			}
		}
		back <- js
	}
}

// buffer returns an empty record buffer.
func (ap *applier) buffer() []engine.ChangelogRecord {
	if n := len(ap.free); n > 0 {
		b := ap.free[n-1]
		ap.free = ap.free[:n-1]
		return b
	}
	return nil
}

// apply hands the records the stores of todo collected to the goroutine,
// waiting while it is a fetch behind.
func (ap *applier) apply(todo []*restoring) {
	var js []applyJob
	if n := len(ap.lists); n > 0 {
		js = ap.lists[n-1]
		ap.lists = ap.lists[:n-1]
	}
	for _, r := range todo {
		if len(r.batch) == 0 {
			continue
		}
		js = append(js, applyJob{r: r, recs: r.batch, prog: r.progress(int64(len(r.batch)))})
		r.batch = nil
	}
	if len(js) > 0 {
		ap.jobs <- js
	}
}

// recycle takes back, without waiting, the buffers of the batches applied.
func (ap *applier) recycle() {
	for {
		select {
		case js, ok := <-ap.back:
			if !ok {
				return
			}
			ap.giveBack(js)
		default:
			return
		}
	}
}

func (ap *applier) giveBack(js []applyJob) {
	for i := range js {
		recs := js[i].recs
		// The records point into fetched data, which they would keep.
		clear(recs)
		ap.free = append(ap.free, recs[:0])
	}
	clear(js)
	ap.lists = append(ap.lists, js[:0])
}

// wait waits for the goroutine to apply what it was handed, ends it, and
// returns the first failure. Calling it again does nothing more.
func (ap *applier) wait() error {
	if ap.jobs != nil {
		close(ap.jobs)
		for js := range ap.back {
			ap.giveBack(js)
		}
		ap.jobs = nil
	}
	return ap.err
}

func (r *restoring) progress(batch int64) RestoreProgress {
	return RestoreProgress{
		Task: r.tk.ID, Store: r.cl.Store, Topic: r.topic, Partition: r.cl.Partition,
		Start: r.start, End: r.end, Offset: r.last, Restored: r.n, Batch: batch,
	}
}

// changelogRecord is what restore applies of a changelog record.
func changelogRecord(rec *kgo.Record) engine.ChangelogRecord {
	c := engine.ChangelogRecord{Key: rec.Key, Value: rec.Value, Timestamp: rec.Timestamp.UnixMilli(), Offset: rec.Offset}
	if len(rec.Headers) > 0 {
		c.Headers = make([]processor.Header, len(rec.Headers))
		for i, h := range rec.Headers {
			c.Headers[i] = processor.Header{Key: h.Key, Value: h.Value}
		}
	}
	return c
}
