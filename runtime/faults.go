package runtime

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Faults of a task's storage (see engine.StoreFault): data on disk that
// fails its checksum, a write the disk refused, a fatal condition of
// Pebble's. The task's state cannot be trusted, but its changelogs can: the
// thread closes the task, its state directory is wiped, and the task is
// made anew, restoring from the changelogs and processing again from the
// committed offsets. Once: a task whose state fails again before it
// committed is beyond what a restore repairs (a disk that stays full or
// keeps corrupting), and the app stops with the error rather than loop.

// StateFailedError is what Run returns when the state of a task failed
// again after the runtime wiped it and restored it from its changelogs,
// before the task committed: a fault a restore does not repair, as a disk
// that stays full or keeps corrupting what it holds. Dir is the task's
// state directory; Err, the second failure, names the store and matches
// the error of the disk beneath (syscall.ENOSPC, say).
type StateFailedError struct {
	Task processor.TaskID
	Dir  string
	Err  error
}

func (e *StateFailedError) Error() string {
	return fmt.Sprintf("runtime: task %s: its state in %s failed again after it was wiped and restored from its changelogs: %v", e.Task, e.Dir, e.Err)
}

func (e *StateFailedError) Unwrap() error { return e.Err }

// storeFault repairs the task err blames, if err is a *engine.StoreFault
// and the task's state has not already been wiped since it last committed,
// and returns nil; else it returns err. mu is held.
func (t *thread) storeFault(ctx context.Context, err error) error {
	var sf *engine.StoreFault
	var again *StateFailedError
	if !errors.As(err, &sf) || errors.As(err, &again) {
		return err
	}
	id := sf.Task
	if !t.app.mayWipe(id) {
		return &StateFailedError{Task: id, Dir: filepath.Join(t.app.dir.Path(), id.String()), Err: err}
	}
	t.log.Error("the state of a task failed; wiping it and restoring it from its changelogs", "task", id.String(), "err", err)
	if t.eos && t.inTxn {
		// The open transaction may hold the task's work: it aborts, and
		// every task of the thread goes back to the last commit, as does
		// the consumer. With no transaction open there is no work to
		// undo but the task's.
		return t.abort(ctx, fmt.Sprintf("the state of task %s failed", id))
	}
	if tk := t.active[id]; tk != nil {
		t.closeTask(tk)
		delete(t.active, id)
		t.addPending(id)
		// What the task processed since the last commit is read again,
		// as the restored state has not seen it. (A task that failed
		// while it was made, still pending, processed nothing.)
		t.resetToCommitted(id)
	}
	return nil
}

// resetToCommitted moves the consumer back to the committed offsets of the
// partitions task id reads. mu is held.
func (t *thread) resetToCommitted(id processor.TaskID) {
	st := t.app.graph.SubtopologyByID(id.Subtopology)
	if st == nil {
		return
	}
	committed := t.cl.CommittedOffsets()
	reset := map[string]map[int32]kgo.EpochOffset{}
	for _, topic := range st.SourceTopics {
		real := t.app.realTopic(topic)
		eo, ok := committed[real][id.Partition]
		if !ok {
			// Nothing committed: from the start, as the reset policy.
			eo = kgo.EpochOffset{Epoch: -1, Offset: 0}
		}
		reset[real] = map[int32]kgo.EpochOffset{id.Partition: eo}
	}
	t.cl.SetOffsets(reset)
}

// mayWipe reports whether task id's state may be wiped for a fault, and
// marks it to be wiped when the task is made anew.
func (a *App) mayWipe(id processor.TaskID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.faults[id]; ok {
		return false
	}
	a.faults[id] = true
	return true
}

// wipeIfFaulted wipes the state of task id if a fault marked it.
func (a *App) wipeIfFaulted(id processor.TaskID) error {
	a.mu.Lock()
	wipe := a.faults[id]
	if wipe {
		a.faults[id] = false // wiped, until the task commits
	}
	a.mu.Unlock()
	if !wipe {
		return nil
	}
	if err := a.dir.Remove(id.String()); err != nil {
		return fmt.Errorf("runtime: task %s: wipe its failed state: %w", id, err)
	}
	return nil
}

// committed notes that tasks committed work: a fault of their state from
// now on may be repaired again. A task that committed nothing proved
// nothing about its storage.
func (a *App) committed(tasks []*engine.Task) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.faults) == 0 {
		return
	}
	for _, tk := range tasks {
		if wipe, ok := a.faults[tk.ID]; ok && !wipe {
			delete(a.faults, tk.ID)
		}
	}
}
