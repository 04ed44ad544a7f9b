package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-go/samsa/internal/assign"
	"github.com/samsa-go/samsa/processor"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// thread is one stream thread: one franz-go client, one group member, and
// the tasks the group gave it. The poll loop owns the tasks; group
// callbacks, which franz-go runs on its own goroutine while the loop is
// between polls (BlockRebalanceOnPoll), take mu to change them.
type thread struct {
	app  *App
	name string
	log  *slog.Logger
	cl   *kgo.Client

	mu sync.Mutex
	// active tasks process; pending ones were assigned and are created and
	// restored by the loop before it processes again; suspended ones were
	// revoked and are resumed if assigned back, closed otherwise.
	active    map[processor.TaskID]*task
	pending   []processor.TaskID
	suspended map[processor.TaskID]*task
	owned     []assign.TaskID
	assigned  atomic.Bool

	produceMu  sync.Mutex
	produceErr error

	lastCommit time.Time
}

func newThread(a *App, idx int) (*thread, error) {
	t := &thread{
		app:       a,
		name:      fmt.Sprintf("%s-StreamThread-%d", a.cfg.appID, idx+1),
		active:    map[processor.TaskID]*task{},
		suspended: map[processor.TaskID]*task{},
	}
	t.log = a.log.With("thread", t.name)
	bal, err := assign.NewBalancer(assign.Config{
		Subtopologies: a.assignSubs,
		ProcessID:     a.processID,
		Owned:         t.ownedTasks,
		StateOnDisk:   a.tasksOnDisk,
	})
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	opts := a.clientOpts(t.name)
	opts = append(opts,
		kgo.ConsumerGroup(a.cfg.appID),
		kgo.ConsumeTopics(a.sourceTopics...),
		kgo.Balancers(bal),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(a.cfg.sessionTimeout),
		kgo.RecordPartitioner(a.partitioner()),
		kgo.OnPartitionsAssigned(t.onAssigned),
		kgo.OnPartitionsRevoked(t.onRevoked),
		kgo.OnPartitionsLost(t.onLost),
	)
	opts = append(opts, a.cfg.kgoOpts...)
	t.cl, err = kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("runtime: thread %s: %w", t.name, err)
	}
	return t, nil
}

func (t *thread) ownedTasks() []assign.TaskID {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]assign.TaskID(nil), t.owned...)
}

// run polls and processes until ctx is cancelled or an error occurs. It
// leaves the group cleanly, committing first, unless the error was fatal.
func (t *thread) run(ctx context.Context) error {
	t.lastCommit = time.Now()
	err := t.loop(ctx)
	if err == nil {
		// A clean close: commit what was processed, then leave the group.
		t.mu.Lock()
		err = t.commitAll(context.Background())
		t.closeAll(t.active, err != nil)
		t.active = map[processor.TaskID]*task{}
		t.closeAll(t.suspended, err != nil)
		t.suspended = map[processor.TaskID]*task{}
		t.owned = nil
		t.mu.Unlock()
	} else {
		t.mu.Lock()
		t.closeAll(t.active, true)
		t.closeAll(t.suspended, true)
		t.mu.Unlock()
	}
	t.cl.Close()
	return err
}

// errCrash stops a thread as a crash would: no commit, stores closed as
// they are.
var errCrash = errors.New("runtime: crashed on purpose")

func (t *thread) loop(ctx context.Context) error {
	for {
		if t.app.crashed.Load() {
			t.cl.AllowRebalance()
			return errCrash
		}
		fetches := t.cl.PollRecords(ctx, 2000)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			t.cl.AllowRebalance()
			return nil
		}
		if err := t.fetchErrors(fetches); err != nil {
			t.cl.AllowRebalance()
			return err
		}
		t.mu.Lock()
		err := t.step(ctx, fetches)
		t.mu.Unlock()
		t.cl.AllowRebalance()
		if err != nil {
			if ctx.Err() != nil {
				// Interrupted by shutdown (a restore, say): a clean close.
				return nil
			}
			return err
		}
	}
}

// step creates pending tasks, queues the fetched records, processes them
// and commits when the interval is up. mu is held.
func (t *thread) step(ctx context.Context, fetches kgo.Fetches) error {
	if err := t.createPending(ctx); err != nil {
		return err
	}
	fetches.EachRecord(func(r *kgo.Record) {
		logical, ok := t.app.logical[r.Topic]
		if !ok {
			return
		}
		id := processor.TaskID{Subtopology: t.app.subOf[logical], Partition: r.Partition}
		if tk := t.active[id]; tk != nil {
			tk.enqueue(logical, r)
		}
	})
	for _, tk := range t.active {
		if err := tk.processQueued(); err != nil {
			return err
		}
		if err := tk.AdvanceWallClock(time.Now().UnixMilli()); err != nil {
			return err
		}
	}
	if err := t.checkProduce(); err != nil {
		return err
	}
	if time.Since(t.lastCommit) >= t.app.cfg.commitInterval {
		if err := t.commitAll(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (t *thread) fetchErrors(fetches kgo.Fetches) error {
	var errs []error
	fetches.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.Canceled) {
			return
		}
		// Retriable errors are retried by the client; what reaches here is
		// worth a log line, and data loss or authorization is fatal.
		t.log.Warn("fetch error", "topic", topic, "partition", p, "err", err)
		var de *kgo.ErrDataLoss
		if errors.As(err, &de) {
			errs = append(errs, fmt.Errorf("runtime: topic %q partition %d: %w", topic, p, err))
		}
	})
	return errors.Join(errs...)
}

// onAssigned records the new assignment; the loop creates and restores the
// tasks, so a long restore never runs inside the group protocol.
func (t *thread) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := assign.TasksOf(assigned, t.app.assignSubs)
	t.owned = ids
	t.assigned.Store(true)
	keep := map[processor.TaskID]bool{}
	for _, a := range ids {
		id := processor.TaskID{Subtopology: a.Subtopology, Partition: a.Partition}
		keep[id] = true
		if tk := t.suspended[id]; tk != nil {
			delete(t.suspended, id)
			t.active[id] = tk
			tk.resume()
			continue
		}
		if t.active[id] == nil {
			t.pending = append(t.pending, id)
		}
	}
	t.closeAll(t.suspended, false)
	t.suspended = map[processor.TaskID]*task{}
	t.log.Info("tasks assigned", "tasks", fmt.Sprint(ids))
	t.app.threadAssigned()
}

// onRevoked commits the tasks (eager protocol: everything is revoked) and
// suspends them until the new assignment says which to keep.
func (t *thread) onRevoked(ctx context.Context, _ *kgo.Client, _ map[string][]int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.app.rebalancing()
	if err := t.commitAll(ctx); err != nil {
		t.log.Warn("commit on revocation failed", "err", err)
	}
	for id, tk := range t.active {
		t.suspended[id] = tk
	}
	t.active = map[processor.TaskID]*task{}
	t.pending = nil
	t.owned = nil
}

// onLost drops the tasks without committing: another member owns them now.
func (t *thread) onLost(_ context.Context, _ *kgo.Client, _ map[string][]int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.app.rebalancing()
	t.log.Warn("partitions lost; closing tasks without commit")
	t.closeAll(t.active, true)
	t.closeAll(t.suspended, true)
	t.active = map[processor.TaskID]*task{}
	t.suspended = map[processor.TaskID]*task{}
	t.pending = nil
	t.owned = nil
}

func (t *thread) closeAll(tasks map[processor.TaskID]*task, dirty bool) {
	for id, tk := range tasks {
		if err := tk.close(dirty); err != nil {
			t.log.Warn("closing task", "task", id.String(), "err", err)
		}
		t.app.released(id)
	}
}

// createPending creates the tasks assigned since the last step and restores
// their stores. mu is held.
func (t *thread) createPending(ctx context.Context) error {
	if len(t.pending) == 0 {
		return nil
	}
	var created []*task
	for _, id := range t.pending {
		tk, err := t.app.newTask(t, id)
		if err != nil {
			for _, c := range created {
				c.close(true)
			}
			return err
		}
		created = append(created, tk)
	}
	t.pending = nil
	if err := t.app.restore(ctx, t, created); err != nil {
		for _, c := range created {
			c.close(true)
		}
		return err
	}
	for _, tk := range created {
		if err := tk.Init(); err != nil {
			return err
		}
		t.active[tk.ID] = tk
	}
	return nil
}

// produce sends a record of a sink or a changelog. Errors surface at the
// next step or commit.
func (t *thread) produce(r *kgo.Record) {
	t.cl.Produce(context.Background(), r, t.produced)
}

func (t *thread) produced(r *kgo.Record, err error) {
	if err == nil {
		return
	}
	t.produceMu.Lock()
	if t.produceErr == nil {
		t.produceErr = fmt.Errorf("runtime: produce to topic %q partition %d: %w", r.Topic, r.Partition, err)
	}
	t.produceMu.Unlock()
}

func (t *thread) checkProduce() error {
	t.produceMu.Lock()
	defer t.produceMu.Unlock()
	return t.produceErr
}

// commitAll commits every active task: flush stores → wait for produced
// records → commit input offsets → record changelog offsets. mu is held.
func (t *thread) commitAll(ctx context.Context) error {
	t.lastCommit = time.Now()
	offsets := map[string]map[int32]kgo.EpochOffset{}
	var dirty []*task
	for _, tk := range t.active {
		if err := tk.Flush(); err != nil {
			return err
		}
		if tk.collectOffsets(offsets) {
			dirty = append(dirty, tk)
		}
	}
	if len(dirty) == 0 {
		return nil
	}
	if err := t.cl.Flush(ctx); err != nil {
		return fmt.Errorf("runtime: flush producer: %w", err)
	}
	if err := t.checkProduce(); err != nil {
		return err
	}
	var commitErr error
	t.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			commitErr = err
			return
		}
		for _, topic := range resp.Topics {
			for _, p := range topic.Partitions {
				if e := kerr.ErrorForCode(p.ErrorCode); e != nil && commitErr == nil {
					commitErr = fmt.Errorf("topic %q partition %d: %w", topic.Topic, p.Partition, e)
				}
			}
		}
	})
	if commitErr != nil {
		return fmt.Errorf("runtime: commit offsets: %w", commitErr)
	}
	for _, tk := range dirty {
		if err := tk.committed(); err != nil {
			return err
		}
	}
	t.app.purgeLater(offsets)
	return nil
}
