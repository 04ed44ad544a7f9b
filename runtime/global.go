package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/internal/statedir"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
	"github.com/twmb/franz-go/pkg/kgo"
)

// globalThread keeps the instance's global stores, as Kafka Streams'
// GlobalStreamThread: one client, in no group, assigned every partition of
// the global stores' topics, feeding the engine's global task. It
// bootstraps the stores to the topics' last stable offsets before any
// stream thread starts, then keeps reading while the app runs, flushing
// after every fetch so that the stream tasks' read-only views see the
// updates, and checkpointing the offsets reached every commit interval and
// when it stops, so that a restart resumes from there.
//
// It reads read_committed, whatever the guarantee: a global store is a
// table of what its topic committed. Its goroutine owns the task; the
// stream threads only read the stores' views, and stop before it closes
// them.
type globalThread struct {
	app  *App
	name string
	log  *slog.Logger
	task *engine.GlobalTask
	cl   *kgo.Client
	// parts are the partitions read, by topic and partition.
	parts map[string][]*globalPart
	raw   engine.RawRecord
	// updated says whether records were applied since the last
	// checkpoint.
	updated        bool
	lastCheckpoint time.Time
}

// globalPart is one partition of a global store's topic.
type globalPart struct {
	topic, store string
	partition    int32
	// start is where this run began reading; next is the offset after the
	// last record or transaction marker read; end is the last stable
	// offset to bootstrap to.
	start, next, end int64
	restored         int64
}

// startGlobal opens the global task and bootstraps its stores. It returns
// once every partition of their topics was read up to its last stable
// offset: the stream threads start after it. An error, or ctx ending,
// leaves nothing open.
func (a *App) startGlobal(ctx context.Context) (*globalThread, error) {
	g := &globalThread{app: a, name: a.cfg.appID + "-GlobalStreamThread"}
	g.log = a.log.With("thread", g.name)
	if err := g.open(ctx, true); err != nil {
		return nil, err
	}
	if err := g.bootstrap(ctx); err != nil {
		g.close()
		return nil, err
	}
	return g, nil
}

// open opens the task and the client, reading each partition from the
// offset the task checkpointed. A checkpoint beyond a partition's end means
// the topic was recreated or truncated: the state is then wiped, once
// (retry), and rebuilt from the start, as Kafka Streams does on an invalid
// offset.
func (g *globalThread) open(ctx context.Context, retry bool) error {
	a := g.app
	cfg := engine.Config{
		ApplicationID: a.cfg.appID,
		OpenDB:        a.openGlobalDB,
		// The global thread produces nothing: a record its handlers drop
		// is counted and logged, never sent to a dead-letter topic.
		DeserializationHandler: a.cfg.deserialization,
		ProcessingHandler:      a.cfg.processing,
		Logger:                 g.log,
	}
	tk, err := engine.NewGlobalTask(a.graph, cfg)
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	if err := tk.Start(); err != nil {
		tk.Close()
		return fmt.Errorf("runtime: %w", err)
	}
	g.task = tk
	topics := tk.Topics()
	lso, err := a.adm.ListCommittedOffsets(ctx, topics...)
	if err != nil {
		tk.Close()
		return fmt.Errorf("runtime: list the stable offsets of the global stores' topics %q: %w", topics, err)
	}
	g.parts = map[string][]*globalPart{}
	assignments := map[string]map[int32]kgo.Offset{}
	var beyond []string
	for _, gs := range a.graph.Globals {
		n := a.layout.Partitions[gs.Topic]
		assignments[gs.Topic] = map[int32]kgo.Offset{}
		for p := int32(0); p < n; p++ {
			l, ok := lso.Lookup(gs.Topic, p)
			if !ok || l.Err != nil {
				tk.Close()
				return fmt.Errorf("runtime: stable offset of topic %q partition %d of global store %q: %v", gs.Topic, p, gs.Store, l.Err)
			}
			start, err := tk.StartOffset(gs.Topic, p)
			if err != nil {
				tk.Close()
				return fmt.Errorf("runtime: %w", err)
			}
			if start > l.Offset {
				beyond = append(beyond, fmt.Sprintf("%s[%d] at %d, checkpoint %d", gs.Topic, p, l.Offset, start))
			}
			gp := &globalPart{topic: gs.Topic, store: gs.Store, partition: p, start: start, next: start, end: l.Offset}
			g.parts[gs.Topic] = append(g.parts[gs.Topic], gp)
			assignments[gs.Topic][p] = kgo.NewOffset().At(start)
		}
	}
	if len(beyond) > 0 {
		tk.Close()
		g.task = nil
		if !retry {
			return fmt.Errorf("runtime: global stores' topics end before their checkpoints after wiping the state: %s", strings.Join(beyond, "; "))
		}
		g.log.Warn("global stores' topics end before their checkpoints; wiping the global state and rebuilding it", "partitions", strings.Join(beyond, "; "))
		if err := a.dir.Remove(statedir.GlobalName); err != nil {
			return fmt.Errorf("runtime: wipe the global state: %w", err)
		}
		return g.open(ctx, false)
	}
	opts := a.clientOpts(g.name)
	opts = append(opts,
		kgo.ConsumePartitions(assignments),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Control records (transaction markers) show how far the
		// consumer got when a marker ends a partition.
		kgo.KeepControlRecords(),
		// Records below a checkpoint may be gone (retention): start from
		// the first one left.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	opts = append(opts, a.cfg.kgoOpts...)
	if g.cl, err = kgo.NewClient(opts...); err != nil {
		tk.Close()
		return fmt.Errorf("runtime: global consumer: %w", err)
	}
	return nil
}

// openGlobalDB opens the global stores' database in the global state
// directory; one that cannot be read is wiped, and the stores rebuilt from
// their topics.
func (a *App) openGlobalDB(processor.TaskID) (*state.DB, error) {
	dir, err := a.dir.GlobalDir()
	if err != nil {
		return nil, fmt.Errorf("runtime: global stores: %w", err)
	}
	db, err := state.OpenDB(dir, a.dbOptions())
	if err == nil {
		return db, nil
	}
	a.log.Warn("state of the global stores is unreadable; wiping it and rebuilding it from their topics", "dir", dir, "err", err)
	if rerr := a.dir.Remove(statedir.GlobalName); rerr != nil {
		return nil, fmt.Errorf("runtime: global stores: wipe corrupt state in %s: %w", dir, rerr)
	}
	if dir, err = a.dir.GlobalDir(); err != nil {
		return nil, fmt.Errorf("runtime: global stores: %w", err)
	}
	db, err = state.OpenDB(dir, a.dbOptions())
	if err != nil {
		return nil, fmt.Errorf("runtime: global stores: open state in %s after wiping it: %w", dir, err)
	}
	return db, nil
}

// bootstrap reads every partition up to its end, then checkpoints. The
// restore listener hears of it as of a restore of the global task.
func (g *globalThread) bootstrap(ctx context.Context) error {
	l := g.app.cfg.restoreListener
	left := 0
	for _, ps := range g.parts {
		for _, gp := range ps {
			if gp.next < gp.end {
				left++
				if l != nil {
					l.OnRestoreStart(gp.progress(0))
				}
			}
		}
	}
	began := time.Now()
	var total int64
	for left > 0 {
		fetches := g.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := g.fetchErrors(fetches); err != nil {
			return err
		}
		var err error
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if err != nil || len(p.Records) == 0 {
				return
			}
			gp := g.part(p.Topic, p.Partition)
			if gp == nil {
				return
			}
			before, was := gp.restored, gp.next < gp.end
			if err = g.apply(gp, p.Records); err != nil {
				return
			}
			total += gp.restored - before
			if !was {
				return
			}
			if l != nil {
				l.OnBatchRestored(gp.progress(gp.restored - before))
			}
			if gp.next >= gp.end {
				left--
				if l != nil {
					l.OnRestoreEnd(gp.progress(0))
				}
			}
		})
		if err != nil {
			return err
		}
		if err := g.task.Flush(); err != nil {
			return fmt.Errorf("runtime: %w", err)
		}
	}
	if err := g.checkpoint(); err != nil {
		return err
	}
	g.log.Info("global stores bootstrapped", "records", total, "took", time.Since(began))
	return nil
}

// run keeps the stores up to date until ctx ends, then checkpoints; it
// returns the error that stopped it otherwise. The stream threads must
// have stopped before close.
func (g *globalThread) run(ctx context.Context) error {
	interval := g.app.cfg.commitInterval
	for {
		wait := max(min(interval-time.Since(g.lastCheckpoint), maxPollWait), time.Millisecond)
		pollCtx, cancel := context.WithTimeout(ctx, wait)
		fetches := g.cl.PollFetches(pollCtx)
		cancel()
		if ctx.Err() != nil {
			return g.checkpoint()
		}
		if err := g.fetchErrors(fetches); err != nil {
			return err
		}
		var err error
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if err != nil || len(p.Records) == 0 {
				return
			}
			if gp := g.part(p.Topic, p.Partition); gp != nil {
				err = g.apply(gp, p.Records)
			}
		})
		if err != nil {
			return err
		}
		if g.updated {
			if err := g.task.Flush(); err != nil {
				return fmt.Errorf("runtime: %w", err)
			}
		}
		if time.Since(g.lastCheckpoint) >= interval {
			if err := g.checkpoint(); err != nil {
				return err
			}
		}
	}
}

func (g *globalThread) part(topic string, p int32) *globalPart {
	ps := g.parts[topic]
	if int(p) >= len(ps) {
		return nil // a partition added since the start: not assigned
	}
	return ps[p]
}

// apply runs the records of one partition through the global task.
func (g *globalThread) apply(gp *globalPart, recs []*kgo.Record) error {
	r := &g.raw
	for _, rec := range recs {
		if rec.Offset < gp.next {
			continue
		}
		gp.next = rec.Offset + 1
		if rec.Attrs.IsControl() {
			continue
		}
		*r = engine.RawRecord{
			Topic:     rec.Topic,
			Partition: rec.Partition,
			Offset:    rec.Offset,
			Timestamp: rec.Timestamp.UnixMilli(),
			Key:       rec.Key,
			Value:     rec.Value,
		}
		if len(rec.Headers) > 0 {
			r.Headers = make([]processor.Header, len(rec.Headers))
			for i, h := range rec.Headers {
				r.Headers[i] = processor.Header{Key: h.Key, Value: h.Value}
			}
		}
		err := g.task.Update(r)
		g.updated = true
		gp.restored++
		if err != nil {
			return fmt.Errorf("runtime: global stores: %w", err)
		}
	}
	return nil
}

// checkpoint flushes the stores and records the offsets reached.
func (g *globalThread) checkpoint() error {
	g.lastCheckpoint = time.Now()
	if !g.updated {
		return nil
	}
	if err := g.task.Checkpoint(); err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	g.updated = false
	return nil
}

func (g *globalThread) fetchErrors(fetches kgo.Fetches) error {
	var errs []error
	fetches.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		g.log.Warn("fetch error", "topic", topic, "partition", p, "err", err)
		var de *kgo.ErrDataLoss
		if errors.As(err, &de) {
			errs = append(errs, fmt.Errorf("runtime: global store topic %q partition %d: %w", topic, p, err))
		}
	})
	return errors.Join(errs...)
}

// close closes the client and the task, after the stream threads stopped.
func (g *globalThread) close() {
	if g.cl != nil {
		g.cl.Close()
	}
	if g.task != nil {
		if err := g.task.Close(); err != nil {
			g.log.Warn("closing the global stores", "err", err)
		}
	}
}

func (gp *globalPart) progress(batch int64) RestoreProgress {
	return RestoreProgress{
		Task: engine.GlobalTaskID, Store: gp.store, Topic: gp.topic, Partition: gp.partition,
		Start: gp.start, End: gp.end, Offset: gp.next - 1, Restored: gp.restored, Batch: batch,
	}
}
