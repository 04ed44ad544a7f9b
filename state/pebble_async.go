package state

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// dbJob is a write of a database applied on a goroutine of its own, after
// every job submitted to the database before it: the database's writes
// reach Pebble in the order they were submitted, so that a changelog
// offset submitted after the data it covers is written after it (see
// DB.SetChangelogOffset), while the task's goroutine goes on. A job whose
// predecessor failed applies nothing and fails the same way, and the
// database fails every later write (see DB.failed): what follows a
// failed write must not claim it.
type dbJob struct {
	prev *dbJob
	done chan struct{}
	err  error
	// panicked is what the job panicked with, other than a fault of
	// storage (which is err): it panics again where the job is waited on.
	panicked any
}

// jobFailure is the first failure of a database's jobs.
type jobFailure struct{ err error }

// submit starts fn as the database's next job.
func (db *DB) submit(fn func() error) *dbJob {
	j := &dbJob{prev: db.tail, done: make(chan struct{})}
	db.tail = j
	go j.run(db, fn)
	return j
}

func (j *dbJob) run(db *DB, fn func() error) {
	defer close(j.done)
	if p := j.prev; p != nil {
		<-p.done
		j.prev = nil
		if p.err != nil || p.panicked != nil {
			j.err = fmt.Errorf("an earlier write of the database failed: %w", errors.Join(p.err, panicErr(p.panicked)))
			return
		}
	}
	defer func() {
		if v := recover(); v != nil {
			if fe, ok := v.(*fatalError); ok {
				j.err = fe
				db.jobErr.CompareAndSwap(nil, &jobFailure{fe})
				return
			}
			j.panicked = v
		}
	}()
	if err := db.failed(); err != nil {
		j.err = err
		return
	}
	j.err = fn()
	if j.err != nil {
		db.jobErr.CompareAndSwap(nil, &jobFailure{j.err})
	}
}

// wait waits until the job is done and returns its error; a job that
// panicked other than on a fault of storage panics here again.
func (j *dbJob) wait() error {
	<-j.done
	if j.panicked != nil {
		panic(j.panicked)
	}
	return j.err
}

func panicErr(v any) error {
	if v == nil {
		return nil
	}
	return fmt.Errorf("panic: %v", v)
}

// settle waits until every job submitted is done, and returns the first
// failure among them.
func (db *DB) settle() error {
	j := db.tail
	if j == nil {
		return nil
	}
	db.tail = nil
	err := j.wait()
	if werr := db.wrote(); err == nil {
		err = werr
	}
	return err
}

// landed forgets j as the database's last job once it is done: a later
// write need not wait for it.
func (db *DB) landed(j *dbJob) {
	if db.tail == j {
		db.tail = nil
	}
}

// asyncWriter is a bytes store that applies a transaction buffer's
// commits on its database's job goroutine (see TxnStore.commitAsync).
type asyncWriter interface {
	// noteWrite records, before the job starts, that key will be written.
	noteWrite(key []byte)
	// applyAsync submits a job that runs write, whose put adds one write
	// to the job's batches. The keys and values must stay as they are
	// until the job is done.
	applyAsync(write func(put func(key string, value []byte, deleted bool) error) error) *dbJob
	// landed ends a job applyAsync returned, once done: the store's reads
	// see its writes from now on.
	landed(j *dbJob) error
}

func (s *pebbleStore) noteWrite(key []byte) { s.filter.add(key) }

func (s *pebbleStore) applyAsync(write func(put func(key string, value []byte, deleted bool) error) error) *dbJob {
	// A filter not yet decided must not be built from a store that has
	// not got the job's writes: it waits, as for an open batch.
	s.filter.batches++
	pdb, prefix, name := s.db.pdb, s.prefix, s.name
	return s.db.submit(func() error {
		b := pdb.NewBatch()
		defer func() { b.Close() }()
		kbuf := append(make([]byte, 0, len(prefix)+64), prefix...)
		size := 0
		put := func(key string, value []byte, deleted bool) error {
			kbuf = append(kbuf[:len(prefix)], key...)
			var err error
			if deleted {
				err = b.Delete(kbuf, nil)
			} else {
				err = b.Set(kbuf, value, nil)
			}
			if err != nil {
				return err
			}
			if size += len(key) + len(value) + txnBatchEntryOverhead; size >= txnBatchBytes {
				if err := b.Commit(pebble.NoSync); err != nil {
					return err
				}
				b.Close()
				b = pdb.NewBatch()
				size = 0
			}
			return nil
		}
		if err := write(put); err != nil {
			return storeErr(name, "apply", err)
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			return storeErr(name, "apply", err)
		}
		return nil
	})
}

func (s *pebbleStore) landed(j *dbJob) error {
	s.filter.batches--
	s.db.landed(j)
	return s.db.wrote()
}
