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
// the latest on Flush, which ends a restore). A restore writes nothing else
// to the store meanwhile and reads nothing from it.
type restoreWriter interface {
	restorePut(key, value []byte) error
	restoreDelete(key []byte) error
}

// restoreRunBytes bounds the keys and values a Pebble restore holds before
// it applies them: a memtable's worth, so that a restore needs no more
// memory than Pebble's own write path would, and each ingested run, when
// its keys overlap the last run's, makes one level-0 table of the size a
// memtable flush would have.
const restoreRunBytes = memTableSize

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
// A full run is written on a goroutine of its own while the next one
// fills, so that the restore's consumer goes on fetching while the table is
// written; a run waits for the one before it before it is handed on. The
// tables are ingested in changelog order, as late as that allows: together,
// once the restore ends, while each run's keys lie above the last run's (a
// changelog in key order, whose tables Pebble then puts straight in the
// lowest level), or before the first run that overlaps them. A failure of
// that goroutine surfaces at the restore's next write or at its end.
//
// Into a store that held keys, it writes Pebble batches of up to
// restoreRunBytes, one commit each rather than one per fetched batch of
// records.
type pebbleRestore struct {
	ingest bool
	// batch collects the writes of batch mode.
	batch *pebble.Batch
	// cur is the run filling; busy the one being ingested, whose outcome
	// done delivers; spare a run to fill next.
	cur, busy, spare *restoreRun
	done             chan error
	// runs counts the runs handed on to be ingested.
	runs int
	// group holds the paths of the tables written and not yet ingested,
	// whose keys do not overlap: each run's smallest key was greater than
	// groupEnd, the largest key of the run before.
	group    []string
	groupEnd []byte
}

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
}

func newRestoreRun() *restoreRun {
	// Room for a run and the record that ends it, so that a run seldom
	// grows its arena.
	return &restoreRun{arena: make([]byte, 0, restoreRunBytes+64<<10), ordered: true}
}

func (r *restoreRun) reset() {
	r.arena, r.ents, r.ordered = r.arena[:0], r.ents[:0], true
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
	if err != nil {
		return storeErr(s.name, "restore", err)
	}
	r := s.restore
	if r == nil {
		r = &pebbleRestore{done: make(chan error, 1)}
		s.restore = r
	}
	r.ingest, r.runs = empty, 0
	s.restoring = true
	return nil
}

func (s *pebbleStore) restorePut(key, value []byte) error {
	return s.restoreWrite(key, value, false)
}

func (s *pebbleStore) restoreDelete(key []byte) error {
	return s.restoreWrite(key, nil, true)
}

func (s *pebbleStore) restoreWrite(key, value []byte, tombstone bool) error {
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
		if err := s.beginRestore(); err != nil {
			return err
		}
	}
	r := s.restore
	if !r.ingest {
		if r.batch == nil {
			r.batch = s.db.pdb.NewBatch()
		}
		var err error
		if tombstone {
			err = r.batch.Delete(s.key(key), nil)
		} else {
			err = r.batch.Set(s.key(key), value, nil)
		}
		if err != nil {
			return storeErr(s.name, "restore", err)
		}
		if r.batch.Len() >= restoreRunBytes {
			return s.commitRestoreBatch()
		}
		return nil
	}
	run := r.cur
	if run == nil {
		if run = r.spare; run == nil {
			run = newRestoreRun()
		}
		r.cur, r.spare = run, nil
	}
	e := runEntry{key: int32(len(run.arena))}
	run.arena = append(append(run.arena, s.prefix...), key...)
	e.val = int32(len(run.arena))
	e.end = -1
	if !tombstone {
		run.arena = append(run.arena, value...)
		e.end = int32(len(run.arena))
	}
	if n := len(run.ents); run.ordered && n > 0 {
		last := run.ents[n-1]
		run.ordered = bytes.Compare(run.arena[last.key:last.val], run.arena[e.key:e.val]) < 0
	}
	run.ents = append(run.ents, e)
	if len(run.arena) >= restoreRunBytes || run.ordered && len(run.arena) >= orderedRunBytes {
		return s.handOff()
	}
	return nil
}

// handOff has the current run ingested on a goroutine of its own, once the
// run before it is.
func (s *pebbleStore) handOff() error {
	r := s.restore
	if err := r.wait(); err != nil {
		return err
	}
	run := r.cur
	r.cur = nil
	if run == nil || len(run.ents) == 0 {
		r.spare = run
		return nil
	}
	run.first = r.runs == 0
	r.runs++
	r.busy = run
	go func() { r.done <- s.ingestRun(run) }()
	return nil
}

// wait waits for the run being ingested, if one is, and returns its
// outcome.
func (r *pebbleRestore) wait() error {
	if r.busy == nil {
		return nil
	}
	err := <-r.done
	r.busy.reset()
	r.spare, r.busy = r.busy, nil
	return err
}

// finishRestore applies what the restore holds and ends it.
func (s *pebbleStore) finishRestore() error {
	s.restoring = false
	r := s.restore
	if !r.ingest {
		return s.commitRestoreBatch()
	}
	err := s.handOff()
	if werr := r.wait(); err == nil {
		err = werr
	}
	if err == nil {
		err = s.ingestGroup()
	} else {
		err = errors.Join(err, s.removeGroup())
	}
	// A restore's runs are a memtable's worth each: kept, they would
	// outlive it for as long as the store.
	r.cur, r.spare = nil, nil
	return err
}

// dropRestore drops what the restore holds, unapplied, once the run being
// ingested, if any, is.
func (s *pebbleStore) dropRestore() {
	s.restoring = false
	r := s.restore
	if r == nil {
		return
	}
	r.wait()
	s.removeGroup()
	if r.batch != nil {
		r.batch.Close()
		r.batch = nil
	}
	r.cur, r.spare = nil, nil
}

func (s *pebbleStore) commitRestoreBatch() error {
	r := s.restore
	b := r.batch
	if b == nil {
		return nil
	}
	r.batch = nil
	defer b.Close()
	if err := b.Commit(pebble.NoSync); err != nil {
		return storeErr(s.name, "restore", err)
	}
	return nil
}

// ingestRun writes run as an sstable, and ingests the tables written
// before it if its keys overlap theirs. It runs on a goroutine of its own,
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
	lo, hi := ents[0], ents[len(ents)-1]
	if len(r.group) > 0 && bytes.Compare(run.arena[lo.key:lo.val], r.groupEnd) <= 0 {
		if err := s.ingestGroup(); err != nil {
			return err
		}
	}
	path, err := s.db.writeRun(run, ents)
	if err != nil {
		return storeErr(s.name, "restore", fmt.Errorf("write %d records as an sstable: %w", len(ents), err))
	}
	r.group = append(r.group, path)
	r.groupEnd = append(r.groupEnd[:0], run.arena[hi.key:hi.val]...)
	return nil
}

// ingestGroup ingests the tables written and not yet ingested. Their keys
// do not overlap, which lets Pebble take them in one ingest, in the lowest
// level their keys overlap nothing of.
func (s *pebbleStore) ingestGroup() error {
	r := s.restore
	if len(r.group) == 0 {
		return nil
	}
	err := s.db.pdb.Ingest(context.Background(), r.group)
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
	for _, path := range r.group {
		errs = append(errs, s.db.fs.Remove(path))
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
// directory and returns its path.
func (db *DB) writeRun(run *restoreRun, ents []runEntry) (path string, err error) {
	path = db.fs.PathJoin(db.dir, fmt.Sprintf("%s%06d.sst", restoreFilePrefix, db.runFiles.Add(1)))
	f, err := db.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return "", err
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
	// Close finishes the table and syncs it; after an error it abandons it.
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", errors.Join(err, db.fs.Remove(path))
	}
	return path, nil
}

// runFileBuffer is how much of an sstable a restore writes per write
// call: Pebble's own buffer of 4 KiB, one block, costs a system call per
// block.
const runFileBuffer = 1 << 20

// runFile is the objstorage.Writable of a restore's sstable: a file written
// through a buffer of runFileBuffer bytes and synced when finished.
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
	err := w.flush()
	if err == nil {
		err = w.f.Sync()
	}
	return errors.Join(err, w.f.Close())
}

func (w *runFile) Abort() { w.f.Close() }

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
