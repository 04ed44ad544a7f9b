package state

import (
	"bytes"

	"github.com/google/btree"
)

// NewMemoryStore returns an in-memory bytes store: a B-tree sorted by key.
// Counts are exact. Iterators read a snapshot taken when they were opened
// (a copy-on-write clone of the tree), so writes during iteration are safe
// and not seen, as with Pebble. Closing the store drops its contents.
func NewMemoryStore(name string) KeyValueBytesStore {
	return &memoryStore{name: name, tree: btree.NewG(32, lessMemItem)}
}

type memItem struct{ key, value []byte }

func lessMemItem(a, b memItem) bool { return bytes.Compare(a.key, b.key) < 0 }

type memoryStore struct {
	name string
	tree *btree.BTreeG[memItem]
	// snapshots counts open iterators. While one is open its clone shares
	// value slices with the tree, so Put must not overwrite them in place.
	snapshots int
	closed    bool
}

func (s *memoryStore) Name() string     { return s.name }
func (s *memoryStore) Persistent() bool { return false }

func (s *memoryStore) check(op string) error {
	if s.closed {
		return closedErr(s.name, op)
	}
	return nil
}

func (s *memoryStore) Get(key []byte) ([]byte, bool, error) {
	if err := s.check("get"); err != nil {
		return nil, false, err
	}
	it, ok := s.tree.Get(memItem{key: key})
	if !ok {
		return nil, false, nil
	}
	return it.value, true, nil
}

func (s *memoryStore) Put(key, value []byte) error {
	if err := s.check("put"); err != nil {
		return err
	}
	old, ok := s.tree.Get(memItem{key: key})
	switch {
	case !ok:
		s.tree.ReplaceOrInsert(memItem{key: clone(key), value: clone(value)})
	case s.snapshots == 0 && cap(old.value) >= len(value):
		// Reusing the old value's array keeps updates of existing keys (the
		// usual aggregate) free of allocation.
		v := old.value[:len(value)]
		copy(v, value)
		if len(v) != len(old.value) {
			s.tree.ReplaceOrInsert(memItem{key: old.key, value: v})
		}
	default:
		s.tree.ReplaceOrInsert(memItem{key: old.key, value: clone(value)})
	}
	return nil
}

func (s *memoryStore) Delete(key []byte) error {
	if err := s.check("delete"); err != nil {
		return err
	}
	s.tree.Delete(memItem{key: key})
	return nil
}

func (s *memoryStore) Range(from, to []byte) (BytesIterator, error) {
	return s.newIter("range", from, to, false)
}

func (s *memoryStore) ReverseRange(from, to []byte) (BytesIterator, error) {
	return s.newIter("reverse range", from, to, true)
}

func (s *memoryStore) newIter(op string, from, to []byte, reverse bool) (BytesIterator, error) {
	if err := s.check(op); err != nil {
		return nil, err
	}
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return emptyIterator{}, nil
	}
	it := &memIterator{s: s, tree: s.tree.Clone(), reverse: reverse}
	if from != nil {
		it.from = clone(from)
	}
	if to != nil {
		it.to = clone(to)
	}
	if reverse && to != nil {
		it.pivot, it.havePivot = it.to, true
	}
	it.visitFn = it.visit
	s.snapshots++
	return it, nil
}

func (s *memoryStore) ApproximateNumEntries() (int64, error) {
	if err := s.check("count"); err != nil {
		return 0, err
	}
	return int64(s.tree.Len()), nil
}

func (s *memoryStore) Flush() error { return s.check("flush") }

func (s *memoryStore) Close() error {
	s.closed = true
	s.tree = nil
	return nil
}

// memBatch is how many items an iterator copies out of the tree per walk.
// The B-tree only offers callback walks; restarting one per batch, from the
// last key seen, gives a pull iterator without a goroutine.
const memBatch = 64

type memIterator struct {
	s        *memoryStore
	tree     *btree.BTreeG[memItem] // snapshot; nil once closed
	from, to []byte
	reverse  bool
	// pivot is the last key handed out (or, reverse, the exclusive upper
	// bound to start below); the next walk resumes strictly past it.
	pivot     []byte
	havePivot bool
	buf       []memItem
	pos       int
	exhausted bool
	visitFn   func(memItem) bool
	err       error
}

func (it *memIterator) Next() bool {
	if it.err != nil {
		return false
	}
	if it.s.closed {
		it.err = closedErr(it.s.name, "iterate")
		return false
	}
	if it.tree == nil {
		return false
	}
	if it.pos+1 < len(it.buf) {
		it.pos++
		return true
	}
	if it.exhausted {
		it.pos = len(it.buf)
		return false
	}
	it.fill()
	it.pos = 0
	return len(it.buf) > 0
}

func (it *memIterator) fill() {
	it.buf = it.buf[:0]
	pivot := memItem{key: it.pivot}
	switch {
	case it.reverse && it.havePivot:
		it.tree.DescendLessOrEqual(pivot, it.visitFn)
	case it.reverse:
		it.tree.Descend(it.visitFn)
	case it.havePivot:
		it.tree.AscendGreaterOrEqual(pivot, it.visitFn)
	case it.from != nil:
		it.tree.AscendGreaterOrEqual(memItem{key: it.from}, it.visitFn)
	default:
		it.tree.Ascend(it.visitFn)
	}
	if len(it.buf) < memBatch {
		it.exhausted = true
	}
	if n := len(it.buf); n > 0 {
		it.pivot, it.havePivot = it.buf[n-1].key, true
	}
}

func (it *memIterator) visit(item memItem) bool {
	if it.havePivot && bytes.Equal(item.key, it.pivot) {
		return true
	}
	if it.reverse {
		if it.from != nil && bytes.Compare(item.key, it.from) < 0 {
			return false
		}
	} else if it.to != nil && bytes.Compare(item.key, it.to) >= 0 {
		return false
	}
	it.buf = append(it.buf, item)
	return len(it.buf) < memBatch
}

func (it *memIterator) Key() []byte   { return it.buf[it.pos].key }
func (it *memIterator) Value() []byte { return it.buf[it.pos].value }
func (it *memIterator) Err() error    { return it.err }

func (it *memIterator) Close() error {
	if it.tree == nil {
		return nil
	}
	it.tree, it.buf = nil, nil
	it.s.snapshots--
	return nil
}

// clone copies b, returning a non-nil slice even for an empty b: a nil
// value would read as absent further up.
func clone(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}
