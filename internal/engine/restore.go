package engine

import (
	"fmt"

	"github.com/samsa-go/samsa/state"
)

// ChangelogRecord is one record read back from a changelog topic.
type ChangelogRecord = state.ChangelogRecord

// Changelogs returns the changelog partitions of the task's logged stores,
// which the host restores before the task starts.
func (t *Task) Changelogs() []*Changelog { return t.changelogs }

// RestoreFrom returns the offset to restore cl from: the one after the
// offset the task's database recorded for a persistent store, 0 for an
// in-memory store or one with no offset recorded.
func (t *Task) RestoreFrom(cl *Changelog) (from int64, err error) {
	if t.db == nil || !t.storeList[cl.store].Bytes().Persistent() {
		return 0, nil
	}
	defer t.recoverFault(&err)
	off, ok, err := t.db.ChangelogOffset(cl.Store)
	if err != nil {
		return 0, t.faulted(fmt.Errorf("engine: task %s: read changelog offset of %q: %w", t.ID, cl.Store, err))
	}
	if !ok {
		return 0, nil
	}
	return off + 1, nil
}

// Restore applies records read from cl, in offset order, to its store.
// Hosts read the changelog (read_committed) from RestoreFrom to its end and
// call Restore once per batch they fetched, then RestoreDone.
func (t *Task) Restore(cl *Changelog, recs []ChangelogRecord) (err error) {
	t.flushed = false
	defer t.recoverFault(&err)
	if err := applyChangelog(t.storeList[cl.store], recs); err != nil {
		return t.faulted(fmt.Errorf("engine: task %s: restore store %q: %w", t.ID, cl.Store, err))
	}
	return nil
}

// applyChangelog writes changelog records straight into the innermost
// store, below caching, changelogging and the transaction buffer: the
// store rebuilds its own layout from each record.
func applyChangelog(s state.Store, recs []ChangelogRecord) error { return s.RestoreBatch(recs) }

// RestoreDone ends the restore of cl, whose last record read had offset
// last (-1 if none was read): the store is flushed, which applies what it
// held back of the restore (see state.Store.RestoreBatch), and, if
// persistent, the offset recorded after it, so that the next restore
// starts after it.
func (t *Task) RestoreDone(cl *Changelog, last int64) (err error) {
	if last < 0 {
		return nil
	}
	defer t.recoverFault(&err)
	b := t.storeList[cl.store].Bytes()
	if err := b.Flush(); err != nil {
		return fmt.Errorf("engine: task %s: flush restored store %q: %w", t.ID, cl.Store, err)
	}
	if t.db != nil && b.Persistent() {
		if err := t.db.SetChangelogOffset(cl.Store, last); err != nil {
			return fmt.Errorf("engine: task %s: record changelog offset of %q: %w", t.ID, cl.Store, err)
		}
	}
	return nil
}
