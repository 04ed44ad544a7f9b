package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
	"github.com/twmb/franz-go/pkg/kgo"
)

// restoreHook, when set by a test, runs after each batch of restored
// records.
var restoreHook func()

// stableEnds returns, for each changelog partition to restore, its last
// stable offset once no transaction is open on it. A previous owner of the
// task may have left a transaction open: if it commits, the input offsets
// the group hands this task include its records, so the restore must wait
// for its outcome and include its changelog records too. The wait is
// bounded by the transaction timeout, after which the broker aborts it.
func (a *App) stableEnds(ctx context.Context, todo []*restoring, topics []string) (map[*restoring]int64, error) {
	deadline := time.Now().Add(2*a.cfg.txnTimeout + 10*time.Second)
	for {
		lso, err := a.adm.ListCommittedOffsets(ctx, topics...)
		if err != nil {
			return nil, fmt.Errorf("runtime: list changelog stable offsets: %w", err)
		}
		hw, err := a.adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			return nil, fmt.Errorf("runtime: list changelog end offsets: %w", err)
		}
		ends := map[*restoring]int64{}
		var open []string
		for _, r := range todo {
			l, ok1 := lso.Lookup(r.topic, r.tk.ID.Partition)
			h, ok2 := hw.Lookup(r.topic, r.tk.ID.Partition)
			switch {
			case !ok1 || l.Err != nil:
				return nil, fmt.Errorf("runtime: task %s: stable offset of changelog %q partition %d: %v", r.tk.ID, r.topic, r.tk.ID.Partition, l.Err)
			case !ok2 || h.Err != nil:
				return nil, fmt.Errorf("runtime: task %s: end offset of changelog %q partition %d: %v", r.tk.ID, r.topic, r.tk.ID.Partition, h.Err)
			case l.Offset < h.Offset:
				open = append(open, fmt.Sprintf("%s[%d]", r.topic, r.tk.ID.Partition))
			}
			ends[r] = l.Offset
		}
		if len(open) == 0 {
			return ends, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("runtime: changelogs %v still have an open transaction after %v", open, 2*a.cfg.txnTimeout+10*time.Second)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// restoring is one changelog partition being replayed into a store.
type restoring struct {
	tk    *task
	store string
	st    state.Store
	bytes state.KeyValueBytesStore
	// batch collects the records of one fetch for st.RestoreBatch.
	batch []state.ChangelogRecord
	topic string
	start int64
	end   int64
	last  int64
	n     int64
}

// restore replays the changelogs of the tasks' logged stores from the
// offset each store recorded (the start, for in-memory stores) to the
// changelog's end, with a consumer assigned directly to those partitions.
// Tasks process nothing before it returns.
func (a *App) restore(ctx context.Context, th *thread, tasks []*task) error {
	var todo []*restoring
	var topicsOf []string
	for _, tk := range tasks {
		for _, s := range tk.Stores() {
			topic, ok := a.layout.Changelogs[s.Name()]
			if !ok {
				continue
			}
			r := &restoring{tk: tk, store: s.Name(), st: s, bytes: s.Bytes(), topic: topic, last: -1}
			if r.bytes.Persistent() && tk.db != nil {
				off, ok, err := tk.db.ChangelogOffset(r.store)
				if err != nil {
					return fmt.Errorf("runtime: task %s: read changelog offset of %q: %w", tk.ID, r.store, err)
				}
				if ok {
					r.start = off + 1
					r.last = off
				}
			}
			todo = append(todo, r)
			topicsOf = append(topicsOf, topic)
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
	var total int64
	for left > 0 {
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
		// Each fetch is applied as one batch per store: the store rebuilds
		// its layout from each record's key, value, timestamp and headers.
		var aerr error
		var last *restoring
		fetches.EachRecord(func(rec *kgo.Record) {
			r := last
			if r == nil || r.topic != rec.Topic || r.tk.ID.Partition != rec.Partition {
				r = byTP[rec.Topic][rec.Partition]
				last = r
			}
			if r == nil || aerr != nil || rec.Offset >= r.end {
				return
			}
			if !rec.Attrs.IsControl() {
				cr := state.ChangelogRecord{Key: rec.Key, Value: rec.Value, Timestamp: rec.Timestamp.UnixMilli(), Offset: rec.Offset}
				if len(rec.Headers) > 0 {
					cr.Headers = make([]processor.Header, len(rec.Headers))
					for i, h := range rec.Headers {
						cr.Headers[i] = processor.Header{Key: h.Key, Value: h.Value}
					}
				}
				r.batch = append(r.batch, cr)
				r.n++
				total++
			}
			r.last = rec.Offset
			if rec.Offset+1 >= r.end {
				left--
			}
		})
		for _, r := range todo {
			if len(r.batch) == 0 {
				continue
			}
			if err := r.st.RestoreBatch(r.batch); err != nil && aerr == nil {
				aerr = err
			}
			clear(r.batch)
			r.batch = r.batch[:0]
		}
		if aerr != nil {
			return fmt.Errorf("runtime: restore: %w", aerr)
		}
		if restoreHook != nil {
			restoreHook()
		}
	}
	for _, r := range todo {
		if r.n == 0 {
			continue
		}
		if err := r.bytes.Flush(); err != nil {
			return fmt.Errorf("runtime: task %s: flush restored store %q: %w", r.tk.ID, r.store, err)
		}
		if r.bytes.Persistent() && r.tk.db != nil {
			if err := r.tk.db.SetChangelogOffset(r.store, r.last); err != nil {
				return fmt.Errorf("runtime: task %s: record changelog offset of %q: %w", r.tk.ID, r.store, err)
			}
		}
		a.log.Info("restored store", "task", r.tk.ID.String(), "store", r.store, "records", r.n, "from", r.start, "to", r.end)
	}
	a.log.Info("restore done", "records", total, "took", time.Since(began))
	return nil
}
