package state

import (
	"bytes"
	"errors"
	"slices"

	"github.com/google/btree"
)

// TxnStore holds the writes of an open Kafka transaction above a bytes
// store, so that under exactly-once a store is never ahead of its
// changelog: reads see the pending writes, Commit applies them once the
// transaction that carried their changelog records has committed, and
// Abort drops them. Flush does not apply them: it only asks the layers
// above to push their writes down to here.
//
// Pending writes cost one allocation each (a copy of key and value); the
// buffer holds at most one entry per key written in the transaction.
//
// A DeleteRange is held as a range tombstone: reads see through it, and
// Commit applies it in order with the point writes. Because it drops the
// pending writes it covers, every pending write inside a tombstone came
// after it, so Commit applies the tombstones first, then the writes.
type TxnStore struct {
	inner   KeyValueBytesStore
	entries map[string]*cacheEntry
	index   *btree.BTreeG[*cacheEntry]
	probe   cacheEntry
	// dels are the transaction's range tombstones, sorted and disjoint.
	dels   []keyRange
	closed bool
}

// keyRange is [from, to); nil bounds are unbounded.
type keyRange struct{ from, to []byte }

// NewTxnStore wraps inner with a transaction buffer.
func NewTxnStore(inner KeyValueBytesStore) *TxnStore {
	return &TxnStore{
		inner:   inner,
		entries: map[string]*cacheEntry{},
		index: btree.NewG(32, func(a, b *cacheEntry) bool {
			return bytes.Compare(a.key, b.key) < 0
		}),
	}
}

func (s *TxnStore) Name() string     { return s.inner.Name() }
func (s *TxnStore) Persistent() bool { return s.inner.Persistent() }

func (s *TxnStore) check(op string) error {
	if s.closed {
		return storeErr(s.inner.Name(), op, ErrClosed)
	}
	return nil
}

// Pending is the number of writes of the open transaction: keys written,
// and range deletions.
func (s *TxnStore) Pending() int { return len(s.entries) + len(s.dels) }

func (s *TxnStore) Get(key []byte) ([]byte, bool, error) {
	if err := s.check("get"); err != nil {
		return nil, false, err
	}
	if e, ok := s.entries[string(key)]; ok {
		return e.value, !e.deleted, nil
	}
	if len(s.dels) > 0 && covered(s.dels, key) {
		return nil, false, nil
	}
	return s.inner.Get(key)
}

// DeleteRange drops the pending writes in [from, to) and records a range
// tombstone over it.
func (s *TxnStore) DeleteRange(from, to []byte) error {
	if err := s.check("delete range"); err != nil {
		return err
	}
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return nil
	}
	var doomed []*cacheEntry
	within := func(e *cacheEntry) bool {
		if to != nil && bytes.Compare(e.key, to) >= 0 {
			return false
		}
		doomed = append(doomed, e)
		return true
	}
	if from != nil {
		s.probe.key = from
		s.index.AscendGreaterOrEqual(&s.probe, within)
		s.probe.key = nil
	} else {
		s.index.Ascend(within)
	}
	for _, e := range doomed {
		delete(s.entries, string(e.key))
		s.index.Delete(e)
	}
	var r keyRange
	if from != nil {
		r.from = bytes.Clone(from)
	}
	if to != nil {
		r.to = bytes.Clone(to)
	}
	s.dels = addRange(s.dels, r)
	return nil
}

// addRange adds r to the sorted, disjoint ranges rs, merging the ranges it
// overlaps or touches.
func addRange(rs []keyRange, r keyRange) []keyRange {
	out := rs[:0:0]
	placed := false
	for _, x := range rs {
		switch {
		case x.to != nil && cmpFrom(x.to, r.from) < 0:
			// x ends before r starts.
			out = append(out, x)
		case r.to != nil && cmpFrom(r.to, x.from) < 0:
			// r ends before x starts.
			if !placed {
				out, placed = append(out, r), true
			}
			out = append(out, x)
		default:
			// Overlapping or touching: r grows to cover x.
			if cmpFrom(x.from, r.from) < 0 {
				r.from = x.from
			}
			if r.to != nil && (x.to == nil || bytes.Compare(x.to, r.to) > 0) {
				r.to = x.to
			}
		}
	}
	if !placed {
		// Every range left starts before r.
		out = append(out, r)
	}
	return out
}

// cmpFrom compares a bound with a range start, nil being minus infinity.
func cmpFrom(a, from []byte) int {
	switch {
	case from == nil && a == nil:
		return 0
	case from == nil:
		return 1
	case a == nil:
		return -1
	}
	return bytes.Compare(a, from)
}

// covered reports whether key is in one of the ranges rs.
func covered(rs []keyRange, key []byte) bool {
	for _, r := range rs {
		if inRange(key, r.from, r.to) {
			return true
		}
	}
	return false
}

func (s *TxnStore) set(key, value []byte, deleted bool) {
	if e, ok := s.entries[string(key)]; ok {
		e.value = append(e.value[:0], value...)
		e.deleted = deleted
		return
	}
	buf := make([]byte, len(key)+len(value))
	copy(buf, key)
	copy(buf[len(key):], value)
	e := &cacheEntry{key: buf[:len(key):len(key)], value: buf[len(key):], deleted: deleted, dirty: true}
	s.entries[string(e.key)] = e
	s.index.ReplaceOrInsert(e)
}

func (s *TxnStore) Put(key, value []byte) error {
	if err := s.check("put"); err != nil {
		return err
	}
	s.set(key, value, false)
	return nil
}

func (s *TxnStore) Delete(key []byte) error {
	if err := s.check("delete"); err != nil {
		return err
	}
	s.set(key, nil, true)
	return nil
}

func (s *TxnStore) Range(from, to []byte) (BytesIterator, error) {
	return s.newIter("range", from, to, false)
}

func (s *TxnStore) ReverseRange(from, to []byte) (BytesIterator, error) {
	return s.newIter("reverse range", from, to, true)
}

func (s *TxnStore) newIter(op string, from, to []byte, reverse bool) (BytesIterator, error) {
	if err := s.check(op); err != nil {
		return nil, err
	}
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return emptyIterator{}, nil
	}
	var pending []cachedKV
	within := func(e *cacheEntry) bool {
		if to != nil && bytes.Compare(e.key, to) >= 0 {
			return false
		}
		// Entries may change while the iterator is open; it reads a copy.
		pending = append(pending, cachedKV{key: bytes.Clone(e.key), value: bytes.Clone(e.value), deleted: e.deleted})
		return true
	}
	if from != nil {
		s.probe.key = from
		s.index.AscendGreaterOrEqual(&s.probe, within)
		s.probe.key = nil
	} else {
		s.index.Ascend(within)
	}
	if reverse {
		for i, j := 0, len(pending)-1; i < j; i, j = i+1, j-1 {
			pending[i], pending[j] = pending[j], pending[i]
		}
	}
	var it BytesIterator
	var err error
	if reverse {
		it, err = s.inner.ReverseRange(from, to)
	} else {
		it, err = s.inner.Range(from, to)
	}
	if err != nil {
		return nil, err
	}
	if len(s.dels) > 0 {
		// The iterator may outlive the transaction's tombstones.
		it = &tombstoneFilter{it: it, dels: slices.Clone(s.dels)}
	}
	return &mergeIterator{cached: pending, inner: it, reverse: reverse}, nil
}

// tombstoneFilter hides the keys of an iterator that range tombstones
// cover.
type tombstoneFilter struct {
	it   BytesIterator
	dels []keyRange
}

func (f *tombstoneFilter) Next() bool {
	for f.it.Next() {
		if !covered(f.dels, f.it.Key()) {
			return true
		}
	}
	return false
}

func (f *tombstoneFilter) Key() []byte   { return f.it.Key() }
func (f *tombstoneFilter) Value() []byte { return f.it.Value() }
func (f *tombstoneFilter) Err() error    { return f.it.Err() }
func (f *tombstoneFilter) Close() error  { return f.it.Close() }

// ApproximateNumEntries counts inner's entries corrected by the pending
// writes.
func (s *TxnStore) ApproximateNumEntries() (int64, error) {
	if err := s.check("count"); err != nil {
		return 0, err
	}
	n, err := s.inner.ApproximateNumEntries()
	if err != nil {
		return 0, err
	}
	for _, r := range s.dels {
		it, err := s.inner.Range(r.from, r.to)
		if err != nil {
			return 0, err
		}
		for it.Next() {
			n--
		}
		if err := errors.Join(it.Err(), it.Close()); err != nil {
			return 0, err
		}
	}
	for _, e := range s.entries {
		_, found, err := s.inner.Get(e.key)
		if err != nil {
			return 0, err
		}
		found = found && !covered(s.dels, e.key)
		switch {
		case e.deleted && found:
			n--
		case !e.deleted && !found:
			n++
		}
	}
	return n, nil
}

// Flush does nothing: pending writes reach inner only on Commit.
func (s *TxnStore) Flush() error { return s.check("flush") }

// Commit applies the pending writes to inner and flushes it. Call it only
// after the transaction that logged them committed.
func (s *TxnStore) Commit() error {
	if err := s.check("commit"); err != nil {
		return err
	}
	bw, batched := s.inner.(BatchWriter)
	if batched {
		bw.BeginBatch()
	}
	var err error
	for _, r := range s.dels {
		if err = s.inner.DeleteRange(r.from, r.to); err != nil {
			break
		}
	}
	s.index.Ascend(func(e *cacheEntry) bool {
		if err != nil {
			return false
		}
		if e.deleted {
			err = s.inner.Delete(e.key)
		} else {
			err = s.inner.Put(e.key, e.value)
		}
		return err == nil
	})
	if batched {
		if cerr := bw.CommitBatch(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	s.Abort()
	return s.inner.Flush()
}

// Abort drops the pending writes.
func (s *TxnStore) Abort() {
	clear(s.entries)
	s.index.Clear(false)
	clear(s.dels)
	s.dels = s.dels[:0]
}

func (s *TxnStore) Close() error {
	if s.closed {
		return nil
	}
	s.Abort()
	s.closed = true
	return s.inner.Close()
}

var _ KeyValueBytesStore = (*TxnStore)(nil)
