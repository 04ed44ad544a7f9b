package state

import (
	"bytes"

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
type TxnStore struct {
	inner   KeyValueBytesStore
	entries map[string]*cacheEntry
	index   *btree.BTreeG[*cacheEntry]
	probe   cacheEntry
	closed  bool
}

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

// Pending is the number of keys written in the open transaction.
func (s *TxnStore) Pending() int { return len(s.entries) }

func (s *TxnStore) Get(key []byte) ([]byte, bool, error) {
	if err := s.check("get"); err != nil {
		return nil, false, err
	}
	if e, ok := s.entries[string(key)]; ok {
		return e.value, !e.deleted, nil
	}
	return s.inner.Get(key)
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
	return mergeRange(s.inner, from, to, reverse, pending)
}

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
	for _, e := range s.entries {
		_, found, err := s.inner.Get(e.key)
		if err != nil {
			return 0, err
		}
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
	s.index.Ascend(func(e *cacheEntry) bool {
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
