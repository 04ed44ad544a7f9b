package state

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// restoreWriter is implemented by bytes stores with a restore path of their
// own, cheaper than Put and Delete: they may hold a restore's writes back
// and apply them in bulk, before any other operation of the store (and at
// the latest on Flush, which ends a restore). restoreRecords writes recs in
// order, a tombstone as a delete; with timestamped, each value is stored in
// the timestamped layout, behind its record's timestamp.
type restoreWriter interface {
	restoreRecords(recs []ChangelogRecord, timestamped bool) error
}

// restoreRunBytes bounds the keys and values a Pebble restore holds before
// it applies them: two memtables' worth, what Pebble's own write path
// holds with one memtable filling and one flushing, so that each ingested
// run, when its keys overlap the last run's, makes one level-0 table of
// the size of such a pair's flush.
const restoreRunBytes = 2 * memTableSize

// restoreBatchBytes bounds the batches a restore into a store holding keys
// commits: well under Pebble's large-batch threshold (half a memtable),
// past which a batch is not inserted into the memtable but queued as a
// memtable of its own, which rotates the memtable and, a few batches on,
// stalls commits until flushes catch up.
const restoreBatchBytes = memTableSize / 16

// orderedRunBytes bounds a run whose keys came in order. Its table
// overlaps no other run's, so Pebble puts it in the lowest level, where
// its size costs nothing; a smaller run leaves less to write once the
// changelog's last record is in.
const orderedRunBytes = 4 << 20

// pebbleRestore is a restore in progress into one pebbleStore.
//
// Into a store that held no key when the restore began, it collects the
// records in runs, each sorted and folded to one write per key (the last),
// written as an sstable and ingested: the writes bypass the batch, the WAL
// and the memtable, which a restore pays for three times over (copied into
// a batch, the WAL and the skiplist, then flushed to a table all the same).
// Each ingest gets newer sequence numbers than everything before it, so a
// later run overrides an earlier one as the changelog's later records do; a
// tombstone is written as a delete, except in the first run, which has
// nothing under it to delete. An ingested table is synced, and Pebble
// records it in its manifest: it is as durable as a flushed memtable.
//
// Full runs are written by a goroutine of the restore's own, in order,
// while the next ones fill, so that the restore's consumer goes on fetching
// while tables are written; runs wait for it only when those it has not yet
// written hold restoreQueueBytes. The tables are ingested in changelog
// order, as late as that allows: together, once the restore ends, while
// each run's keys lie above the last run's (a changelog in key order, whose
// tables Pebble then puts straight in the lowest level), or before the
// first run whose keys overlap them. A failure of that goroutine surfaces
// at the restore's next write or at its end.
//
// Into a store that held keys, it writes Pebble batches of up to
// restoreBatchBytes, whatever the size of the batches of records the
// restore is handed.
type pebbleRestore struct {
	ingest bool
	// batch collects the writes of batch mode.
	batch *pebble.Batch
	// cur is the run filling, free the runs written, to fill again.
	cur  *restoreRun
	free []*restoreRun
	// todo takes runs to the writer goroutine, which hands each back on
	// done once written; queued counts the runs and bytes handed on and
	// not yet back. todo is nil while no writer runs.
	todo, done  chan *restoreRun
	queued      int
	queuedBytes int
	// err is the writer's first failure, once a run brought it back.
	err error
	// runs counts the runs handed on.
	runs int
	// group holds the paths of the tables written and not yet ingested,
	// whose keys do not overlap: each run's smallest key was greater than
	// groupEnd, the largest key of the run before. The writer owns them
	// while it runs.
	group    []groupTable
	groupEnd []byte
}

// groupTable is a table written and not yet ingested, whose sync delivers
// its outcome on synced (nil once received).
type groupTable struct {
	path   string
	synced chan error
}

// restoreQueueBytes bounds the runs a restore has handed on to be written
// and its writer has not yet written.
const restoreQueueBytes = 2 * restoreRunBytes

// restoreRun is the records of one run: arena holds their keys (with the
// store's prefix) and values, ents indexes them in the order written.
type restoreRun struct {
	arena []byte
	ents  []runEntry
	// ordered says every key of the run was greater than the one before:
	// the run needs neither sorting nor folding.
	ordered bool
	// first says no run was ingested before this one.
	first bool
	// buf is the write buffer of the run's file.
	buf []byte
	err error
}

func newRestoreRun() *restoreRun {
	// Room for an ordered run and the record that ends it; a run of keys
	// in no order grows its arena once.
	return &restoreRun{arena: make([]byte, 0, orderedRunBytes+64<<10), ordered: true}
}

func (r *restoreRun) reset() {
	r.arena, r.ents, r.ordered, r.err = r.arena[:0], r.ents[:0], true, nil
}

// runEntry is one write of a run: arena[key:val] is the prefixed key and
// arena[val:end] the value; end < 0 marks a tombstone.
type runEntry struct{ key, val, end int32 }

func (e runEntry) tombstone() bool { return e.end < 0 }

// beginRestore starts a restore, ingesting if the store holds no key.
func (s *pebbleStore) beginRestore() error {
	it, err := s.db.pdb.NewIter(&pebble.IterOptions{LowerBound: s.prefix, UpperBound: s.end})
	if err != nil {
		return storeErr(s.name, "restore", err)
	}
	empty := !it.First()
	err = errors.Join(it.Error(), it.Close())
	if err == nil && empty {
		// Empty only if Pebble read what it had to (see Get): ingesting
		// into a store that holds keys would put them under the restore.
		if fe := s.db.broken.Load(); fe != nil {
			err = fe
		}
	}
	if err != nil {
		return storeErr(s.name, "restore", err)
	}
	r := s.restore
	if r == nil {
		r = &pebbleRestore{}
		s.restore = r
	}
	r.ingest, r.runs, r.err = empty, 0, nil
	s.restoring = true
	if empty && s.filter.batches == 0 {
		// The restore adds each key it writes (restoreRecords), so that
		// the restored store answers Gets of keys it lacks as one filled
		// by Put does.
		s.filter.restart()
	} else {
		// A restore into a store holding keys writes past the filter.
		s.filter.drop()
	}
	return nil
}

func (s *pebbleStore) restoreRecords(recs []ChangelogRecord, timestamped bool) error {
	if s.invalid != nil {
		return s.invalid
	}
	if s.closed || s.db.closed {
		return closedErr(s.name, "restore")
	}
	if err := s.db.failed(); err != nil {
		return storeErr(s.name, "restore", err)
	}
	if !s.restoring {
		// A restore writes past the database's jobs: they finish first.
		if err := s.db.settle(); err != nil {
			return storeErr(s.name, "restore", err)
		}
		if err := s.beginRestore(); err != nil {
			return err
		}
	}
	// Nothing reads until finishRestore, which closes them again.
	if err := s.db.wrote(); err != nil {
		return err
	}
	r := s.restore
	if !r.ingest {
		return s.restoreBatched(recs, timestamped)
	}
	s.filter.addRestoredKeys(recs)
	run := r.cur
	for i := range recs {
		rec := &recs[i]
		if run == nil {
			if n := len(r.free); n > 0 {
				run = r.free[n-1]
				r.free = r.free[:n-1]
			} else {
				run = newRestoreRun()
			}
			r.cur = run
		}
		e := runEntry{key: int32(len(run.arena))}
		run.arena = append(append(run.arena, s.prefix...), rec.Key...)
		e.val = int32(len(run.arena))
		e.end = -1
		if rec.Value != nil {
			if timestamped {
				run.arena = appendTimestamped(run.arena, rec.Timestamp)
			}
			run.arena = append(run.arena, rec.Value...)
			e.end = int32(len(run.arena))
		}
		if n := len(run.ents); run.ordered && n > 0 {
			last := run.ents[n-1]
			run.ordered = bytes.Compare(run.arena[last.key:last.val], run.arena[e.key:e.val]) < 0
		}
		run.ents = append(run.ents, e)
		if len(run.arena) >= restoreRunBytes || run.ordered && len(run.arena) >= orderedRunBytes {
			if err := s.handOff(); err != nil {
				return fmt.Errorf("changelog offset %d: %w", rec.Offset, err)
			}
			run = nil
		}
	}
	return nil
}

// restoreBatched writes recs to the restore's batch, committing it each
// time it holds restoreBatchBytes.
func (s *pebbleStore) restoreBatched(recs []ChangelogRecord, timestamped bool) error {
	r := s.restore
	for i := range recs {
		rec := &recs[i]
		if r.batch == nil {
			// One batch for the whole restore, reset after each commit:
			// a batch grown from nothing for each commit allocates
			// several times its size.
			r.batch = s.db.pdb.NewBatchWithSize(restoreBatchBytes+64<<10, pebble.WithMaxRetainedSizeBytes(2*restoreBatchBytes))
		}
		var err error
		switch {
		case rec.Value == nil:
			err = r.batch.Delete(s.key(rec.Key), nil)
		case timestamped:
			// Encoded in place in the batch, not assembled first.
			op := r.batch.SetDeferred(len(s.prefix)+len(rec.Key), timestampedHeader+len(rec.Value))
			copy(op.Key[copy(op.Key, s.prefix):], rec.Key)
			appendTimestamped(op.Value[:0], rec.Timestamp) // within op.Value's room
			copy(op.Value[timestampedHeader:], rec.Value)
			err = op.Finish()
		default:
			err = r.batch.Set(s.key(rec.Key), rec.Value, nil)
		}
		if err == nil && r.batch.Len() >= restoreBatchBytes {
			err = s.commitRestoreBatch(false)
		}
		if err != nil {
			return fmt.Errorf("changelog offset %d: %w", rec.Offset, err)
		}
	}
	return nil
}

// handOff hands the current run on to the writer goroutine, started if
// need be, once the runs it has not yet written leave room for it.
func (s *pebbleStore) handOff() error {
	r := s.restore
	run := r.cur
	if run == nil || len(run.ents) == 0 {
		return r.collect(false)
	}
	r.cur = nil
	for r.queued > 0 && r.queuedBytes+len(run.arena) > restoreQueueBytes {
		if err := r.collect(true); err != nil {
			r.free = append(r.free, run)
			return err
		}
	}
	if err := r.collect(false); err != nil {
		r.free = append(r.free, run)
		return err
	}
	if r.todo == nil {
		// Buffered past what the queue can hold, so that neither side
		// blocks on the other's channel.
		r.todo = make(chan *restoreRun, restoreQueueBytes/orderedRunBytes+1)
		r.done = make(chan *restoreRun, restoreQueueBytes/orderedRunBytes+1)
		go s.writeRuns(r.todo, r.done)
	}
	run.first = r.runs == 0
	r.runs++
	r.queued++
	r.queuedBytes += len(run.arena)
	r.todo <- run
	return nil
}

// collect takes back the runs the writer has written, waiting for one if
// wait is set, and returns the writer's first failure.
func (r *pebbleRestore) collect(wait bool) error {
	for r.queued > 0 {
		var run *restoreRun
		if wait {
			run = <-r.done
			wait = false
		} else {
			select {
			case run = <-r.done:
			default:
				return r.err
			}
		}
		r.queued--
		r.queuedBytes -= len(run.arena)
		if r.err == nil {
			r.err = run.err
		}
		run.reset()
		r.free = append(r.free, run)
	}
	return r.err
}

// stopWriter waits for the writer to write every run handed on, and ends
// it.
func (r *pebbleRestore) stopWriter() error {
	if r.todo == nil {
		return r.err
	}
	close(r.todo)
	for r.queued > 0 {
		r.collect(true)
	}
	r.todo, r.done = nil, nil
	return r.err
}

// writeRuns is the writer goroutine: it writes each run from todo, and
// hands it back on done. After a failure it writes nothing more.
func (s *pebbleStore) writeRuns(todo <-chan *restoreRun, done chan<- *restoreRun) {
	var failed bool
	for run := range todo {
		if !failed {
			run.err = s.ingestRun(run)
			failed = run.err != nil
		}
		done <- run
	}
}

// finishRestore applies what the restore holds and ends it.
func (s *pebbleStore) finishRestore() error {
	s.restoring = false
	r := s.restore
	if !r.ingest {
		return s.commitRestoreBatch(true)
	}
	// The last run, if small, is cheaper as a batch than as a table, whose
	// sync and ingest (two more syncs) cost milliseconds however few its
	// records: a restore of a few records, the usual one, writes no table.
	last := r.cur
	var err error
	if last != nil && len(last.arena) < smallRunBytes {
		r.cur = nil
	} else {
		last = nil
		err = s.handOff()
	}
	if werr := r.stopWriter(); err == nil {
		err = werr
	}
	if err == nil {
		err = s.ingestGroup()
	} else {
		err = errors.Join(err, s.removeGroup())
	}
	if err == nil && last != nil {
		// After the tables: its records came after theirs.
		err = s.commitRun(last)
	}
	// A restore's runs are megabytes each: kept, they would outlive it
	// for as long as the store.
	r.cur, r.free = nil, nil
	return err
}

// smallRunBytes is the size under which the last run of a restore is
// written as a batch rather than a table.
const smallRunBytes = 1 << 20

// commitRun writes run's records in one batch, in the order they came.
func (s *pebbleStore) commitRun(run *restoreRun) error {
	b := s.db.pdb.NewBatch()
	defer b.Close()
	a := run.arena
	for _, e := range run.ents {
		var err error
		if e.tombstone() {
			err = b.Delete(a[e.key:e.val], nil)
		} else {
			err = b.Set(a[e.key:e.val], a[e.val:e.end], nil)
		}
		if err != nil {
			return storeErr(s.name, "restore", err)
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return storeErr(s.name, "restore", err)
	}
	return nil
}

// dropRestore drops what the restore holds, unapplied, once the run being
// ingested, if any, is.
func (s *pebbleStore) dropRestore() {
	s.restoring = false
	r := s.restore
	if r == nil {
		return
	}
	r.stopWriter()
	s.removeGroup()
	if r.batch != nil {
		r.batch.Close()
		r.batch = nil
	}
	r.cur, r.free = nil, nil
}

// commitRestoreBatch commits the restore's batch, then resets it for the
// next writes, or closes it if last.
func (s *pebbleStore) commitRestoreBatch(last bool) error {
	r := s.restore
	b := r.batch
	if b == nil {
		return nil
	}
	err := b.Commit(pebble.NoSync)
	if last || err != nil {
		r.batch = nil
		b.Close()
	} else {
		b.Reset()
	}
	if err != nil {
		return storeErr(s.name, "restore", err)
	}
	return nil
}

// ingestRun writes run as an sstable, and ingests the tables written
// before it if its keys overlap theirs. It runs on the writer goroutine,
// which Pebble's fatal path would end: the panic it makes is returned as
// the error it is instead.
func (s *pebbleStore) ingestRun(run *restoreRun) (err error) {
	defer func() {
		if v := recover(); v != nil {
			fe, ok := v.(*fatalError)
			if !ok {
				panic(v)
			}
			err = storeErr(s.name, "restore", fe)
		}
	}()
	ents := run.ents
	if !run.ordered {
		ents = run.fold()
	}
	if run.first {
		ents = slices.DeleteFunc(ents, runEntry.tombstone)
	}
	if len(ents) == 0 {
		return nil
	}
	r := s.restore
	path, f, err := s.db.writeRun(run, ents)
	if err != nil {
		return storeErr(s.name, "restore", fmt.Errorf("write %d records as an sstable: %w", len(ents), err))
	}
	// Syncs wait on the disk, not on the CPU: several at a time, while
	// the writer goes on, take a fraction of the time of one after
	// another. Past maxSyncs, the oldest is waited for, which bounds the
	// files held open.
	if err := r.waitSyncs(maxSyncs - 1); err != nil {
		f.Close()
		return errors.Join(err, s.db.fs.Remove(path))
	}
	synced := make(chan error, 1)
	go func() { synced <- errors.Join(f.Sync(), f.Close()) }()
	lo, hi := ents[0], ents[len(ents)-1]
	if len(r.group) > 0 && bytes.Compare(run.arena[lo.key:lo.val], r.groupEnd) <= 0 {
		// The tables before this one must be in first.
		if err := s.ingestGroup(); err != nil {
			<-synced
			return errors.Join(err, s.db.fs.Remove(path))
		}
	}
	r.group = append(r.group, groupTable{path: path, synced: synced})
	r.groupEnd = append(r.groupEnd[:0], run.arena[hi.key:hi.val]...)
	return nil
}

// maxSyncs bounds the syncs of a restore's tables under way at once.
const maxSyncs = 8

// waitSyncs waits for the oldest syncs of the group's tables until at most
// n are under way, and returns the first failure.
func (r *pebbleRestore) waitSyncs(n int) error {
	busy := 0
	for i := range r.group {
		if r.group[i].synced != nil {
			busy++
		}
	}
	var err error
	for i := 0; busy > n && i < len(r.group); i++ {
		g := &r.group[i]
		if g.synced == nil {
			continue
		}
		if serr := <-g.synced; err == nil {
			err = serr
		}
		g.synced = nil
		busy--
	}
	return err
}

// ingestGroup ingests the tables written and not yet ingested. Their keys
// do not overlap, which lets Pebble take them in one ingest, in the lowest
// level their keys overlap nothing of.
func (s *pebbleStore) ingestGroup() error {
	r := s.restore
	if len(r.group) == 0 {
		return nil
	}
	err := r.waitSyncs(0)
	paths := make([]string, len(r.group))
	for i := range r.group {
		paths[i] = r.group[i].path
	}
	if err == nil {
		err = s.db.pdb.Ingest(context.Background(), paths)
	}
	if err != nil {
		// Pebble removes the files once it ingested them, and leaves
		// them otherwise.
		n := len(r.group)
		err = errors.Join(err, s.removeGroup())
		return storeErr(s.name, "restore", fmt.Errorf("ingest %d sstables: %w", n, err))
	}
	r.group = r.group[:0]
	return nil
}

// removeGroup removes the tables written and not ingested.
func (s *pebbleStore) removeGroup() error {
	r := s.restore
	var errs []error
	for _, g := range r.group {
		if g.synced != nil {
			<-g.synced
		}
		errs = append(errs, s.db.fs.Remove(g.path))
	}
	r.group = r.group[:0]
	return errors.Join(errs...)
}

// fold sorts the run by key and keeps the last write of each key.
func (r *restoreRun) fold() []runEntry {
	a := r.arena
	// The arena offset orders writes of one key as they were made.
	slices.SortFunc(r.ents, func(x, y runEntry) int {
		if c := bytes.Compare(a[x.key:x.val], a[y.key:y.val]); c != 0 {
			return c
		}
		return cmp.Compare(x.key, y.key)
	})
	out := r.ents[:0]
	for i, e := range r.ents {
		if i+1 < len(r.ents) {
			next := r.ents[i+1]
			if bytes.Equal(a[e.key:e.val], a[next.key:next.val]) {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// restoreFilePrefix starts the names of the sstables a restore writes in
// the database's directory before Pebble ingests (and removes) them.
const restoreFilePrefix = "samsa-restore-"

// writeRun writes ents, in key order, as an sstable in the database's
// directory and returns its path and its file, open, for the caller to
// sync and close.
func (db *DB) writeRun(run *restoreRun, ents []runEntry) (path string, f vfs.File, err error) {
	path = db.fs.PathJoin(db.dir, fmt.Sprintf("%s%06d.sst", restoreFilePrefix, db.runFiles.Add(1)))
	f, err = db.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return "", nil, err
	}
	if run.buf == nil {
		run.buf = make([]byte, 0, runFileBuffer)
	}
	arena := run.arena
	w := sstable.NewWriter(&runFile{f: f, buf: run.buf[:0]}, db.writerOpts)
	for _, e := range ents {
		if e.tombstone() {
			err = w.Delete(arena[e.key:e.val])
		} else {
			err = w.Set(arena[e.key:e.val], arena[e.val:e.end])
		}
		if err != nil {
			break
		}
	}
	// Close finishes the table, or after an error abandons it, closing
	// the file.
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", nil, errors.Join(err, db.fs.Remove(path))
	}
	return path, f, nil
}

// runFileBuffer is how much of an sstable a restore writes per write
// call: Pebble's own buffer of 4 KiB, one block, costs a system call per
// block.
const runFileBuffer = 1 << 20

// runFile is the objstorage.Writable of a restore's sstable: a file written
// through a buffer of runFileBuffer bytes. Finishing it writes what the
// buffer holds and leaves the file open, for writeRun's caller to sync;
// abandoning it closes the file.
type runFile struct {
	f   vfs.File
	buf []byte
}

func (w *runFile) Write(p []byte) error {
	if len(w.buf)+len(p) > cap(w.buf) {
		if err := w.flush(); err != nil {
			return err
		}
		if len(p) >= cap(w.buf) {
			_, err := w.f.Write(p)
			return err
		}
	}
	w.buf = append(w.buf, p...)
	return nil
}

func (w *runFile) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.f.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}

func (w *runFile) Finish() error {
	if err := w.flush(); err != nil {
		w.Abort()
		return err
	}
	w.f = nil
	return nil
}

func (w *runFile) Abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// removeRunFiles removes the sstables of a restore that stopped before
// Pebble ingested them.
func removeRunFiles(fs vfs.FS, dir string) error {
	names, err := fs.List(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if strings.HasPrefix(n, restoreFilePrefix) {
			errs = append(errs, fs.Remove(fs.PathJoin(dir, n)))
		}
	}
	return errors.Join(errs...)
}
