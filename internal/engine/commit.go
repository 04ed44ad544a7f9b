package engine

import (
	"context"
	"fmt"

	"github.com/samsa-go/samsa/state"
)

// Group is a set of tasks that commit together: the active tasks of one
// stream thread, or every task of the test driver. The host sets Tasks
// before each Commit; the group keeps buffers from one commit to the next.
type Group struct {
	Tasks []*Task
	// DeferApply, when positive, lets what a commit made durable wait in
	// a task's transaction buffers after the commit, rather than be
	// applied to Pebble at once, until they hold more than DeferApply
	// bytes (see Task.UncommittedBytes): the commit that finds them past
	// it applies them, and records the changelog offsets they reached.
	// Reads see the buffers first, so nothing a processor or a host reads
	// changes; what it costs is a restore after a crash that starts
	// further back, from the offsets last recorded, since a store is only
	// ever behind its changelog, never ahead. The test driver, which
	// commits after every record it is piped, sets it: a Pebble batch per
	// record costs more than the record. 0, the runtime's, applies at
	// every commit.
	DeferApply int64
	// HoldCommits, without DeferApply, lets each store keep what a commit
	// wrote among its clean entries rather than write it to Pebble, where
	// it fits (see state.TxnStore.CommitDeferred): a store whose keys
	// repeat from commit to commit, word count's, then writes Pebble once
	// per several commits, folded. Reads and views see the held writes as
	// they see Pebble; the changelog offset a store's database records
	// stays at the last commit it applied whole, so that a restore after a
	// crash reads the rest again (a bounded number of records).
	// The runtime sets it; closing a task cleanly applies what its stores
	// hold (ApplyCommitted).
	HoldCommits bool
	offsets     []Offset
}

// Commit runs the commit sequence over the group's tasks:
//
//  1. flush every task's stores, until no cache is dirty: cached writes go
//     down through the changelog layer, which sends them, and caches forward
//     what they flush to the processors downstream (a task its host has
//     just flushed, and has not processed, punctuated nor restored since,
//     has nothing to flush: it is skipped);
//  2. host.Commit with the input offsets the tasks reached: the host makes
//     every record sent durable and commits the offsets (one transaction
//     under exactly-once);
//  3. once that committed, apply each store's transaction buffer to Pebble
//     (unless DeferApply lets it wait, or HoldCommits lets a store hold
//     it);
//  4. record in each task's database the changelog offset each persistent
//     store reached, which restore starts from, when step 3 applied.
//
// Since the offsets are written after the data they cover (3 before 4), a
// database never claims changes it lost in a crash. Tasks that neither
// processed nor punctuated since their last commit have nothing to commit;
// when none has, the host is not called.
//
// committed is false when the host aborted instead: the tasks then hold state
// that never committed, and the caller closes them and opens them anew, so
// that they restore what did commit. An error leaves the tasks in no known
// state: the caller closes them too.
func (g *Group) Commit(ctx context.Context, host Committer) (committed bool, err error) {
	tasks := g.Tasks
	dirty := false
	for _, t := range tasks {
		if !t.flushed {
			if err := t.Flush(); err != nil {
				return false, err
			}
		}
		dirty = dirty || t.dirty
	}
	if !dirty {
		// Nothing to commit: what earlier commits left for the databases'
		// jobs to apply lands now, so that a failure of theirs shows.
		for _, t := range tasks {
			if err := t.land(); err != nil {
				return false, err
			}
		}
		return true, nil
	}
	offsets := g.offsets[:0]
	for _, t := range tasks {
		for _, in := range t.inputs {
			if in.moved {
				offsets = append(offsets, Offset{Topic: in.Topic, Partition: in.Partition, Next: in.next, Input: in})
			}
		}
	}
	g.offsets = offsets
	ok, err := host.Commit(ctx, offsets)
	if err != nil || !ok {
		return false, err
	}
	for _, t := range tasks {
		if err := t.committed(host, g.DeferApply, g.HoldCommits); err != nil {
			return false, err
		}
	}
	return true, nil
}

// committed finishes a commit that took effect: steps 3 and 4 of Commit,
// or, while the buffers hold no more than deferApply bytes, the note of
// the changelog offsets that step 4 records once they are applied.
func (t *Task) committed(host Committer, deferApply int64, hold bool) error {
	for _, cl := range t.changelogs {
		if !cl.sent {
			continue
		}
		cl.sent = false
		if t.db == nil || !t.storeList[cl.store].Bytes().Persistent() {
			continue
		}
		if off, ok := host.ChangelogOffset(cl); ok {
			cl.unapplied, cl.hasUnapplied = off, true
		}
	}
	for _, in := range t.inputs {
		in.moved = false
	}
	t.dirty = false
	if deferApply > 0 && t.UncommittedBytes() <= deferApply {
		t.deferred = true
		return nil
	}
	err := t.apply(hold && deferApply <= 0)
	for _, s := range t.storeList {
		if x := s.Txn(); x != nil && x.Flying() {
			t.flying = true
		}
	}
	return err
}

// ApplyCommitted applies what commits left waiting in the task's
// transaction buffers (see Group.DeferApply) and records the changelog
// offsets it reached, as a host shutting down cleanly does, so that the
// task's database holds every commit. A task that processed since its
// last commit holds writes that did not commit mixed in: it applies
// nothing then, and its next opening restores the rest.
//
// What stores hold of earlier commits (Group.HoldCommits) it applies
// whether or not the task processed since: it is apart from the open
// transaction.
func (t *Task) ApplyCommitted() error {
	if t.closed {
		return nil
	}
	if t.deferred {
		if t.dirty {
			return nil
		}
		return t.apply(false)
	}
	held := false
	for _, s := range t.storeList {
		if x := s.Txn(); x != nil && x.Holds() {
			held = true
			if err := t.applyHeld(s, x); err != nil {
				return err
			}
		}
	}
	if !held {
		return nil
	}
	return t.recordOffsets()
}

// apply writes the transaction buffers to Pebble, then records the
// changelog offsets their writes reached. A fault of storage comes back
// as a *StoreFault: the stores are behind their changelogs then, never
// ahead, and a restore catches them up.
//
// With hold, each store may hold the commit's writes instead (see
// Group.HoldCommits); the offset of a store that holds any is not recorded
// until it applies them.
func (t *Task) apply(hold bool) error {
	t.deferred = false
	for _, s := range t.storeList {
		if x := s.Txn(); x != nil {
			if err := t.applyTxn(s, x, hold); err != nil {
				return err
			}
		}
	}
	return t.recordOffsets()
}

// recordOffsets records the changelog offsets commits reached for the
// stores whose Pebble holds every commit.
func (t *Task) recordOffsets() error {
	for _, cl := range t.changelogs {
		if !cl.hasUnapplied {
			continue
		}
		if x := t.storeList[cl.store].Txn(); x != nil && x.Holds() {
			continue
		}
		cl.hasUnapplied = false
		if err := t.db.SetChangelogOffset(cl.Store, cl.unapplied); err != nil {
			return t.faulted(fmt.Errorf("engine: task %s: record changelog offset of %q: %w", t.ID, cl.Store, err))
		}
	}
	return nil
}

// applyTxn writes the transaction buffer x of store s to Pebble, the one
// write of a commit that reaches the disk: Pebble's fatal path is
// recovered here, as everything else it reports, into a *StoreFault.
func (t *Task) applyTxn(s state.Store, x *state.TxnStore, hold bool) (err error) {
	defer t.recoverFault(&err)
	if hold {
		_, err = x.CommitDeferred()
	} else {
		err = x.Commit()
	}
	if err != nil {
		return fmt.Errorf("engine: task %s: apply committed writes of %q: %w", t.ID, s.Name(), err)
	}
	return nil
}

// land waits until the writes of commits the task's databases apply on
// jobs of their own (state.TxnStore.Flying) are applied, their faults
// recovered as applyTxn's.
func (t *Task) land() error { return t.landWhere((*state.TxnStore).Flying) }

// landDone lands the commits whose jobs are done, without waiting for the
// others.
func (t *Task) landDone() error { return t.landWhere((*state.TxnStore).FlightDone) }

func (t *Task) landWhere(ready func(*state.TxnStore) bool) (err error) {
	defer t.recoverFault(&err)
	flying := false
	for _, s := range t.storeList {
		x := s.Txn()
		if x == nil || !x.Flying() {
			continue
		}
		if !ready(x) {
			flying = true
			continue
		}
		if err := x.Land(); err != nil {
			return fmt.Errorf("engine: task %s: apply committed writes of %q: %w", t.ID, s.Name(), err)
		}
	}
	t.flying = flying
	return nil
}

// applyHeld writes to Pebble what store s holds of earlier commits (see
// Group.HoldCommits), its faults recovered as applyTxn's.
func (t *Task) applyHeld(s state.Store, x *state.TxnStore) (err error) {
	defer t.recoverFault(&err)
	if err := x.ApplyDeferred(); err != nil {
		return fmt.Errorf("engine: task %s: apply held writes of %q: %w", t.ID, s.Name(), err)
	}
	return nil
}
