package state

import (
	"bytes"
	"encoding/binary"
	"math"
	"sort"
	"sync"
)

// newSegmentedMemoryStore returns the in-memory bytes store of window and
// session stores: one in-memory store (a B-tree) per segment, the segment
// being a key's first 8 bytes (zero-padded when shorter), so that keys
// keep bytes.Compare order across segments. A DeleteRange covering whole
// segments drops their trees in one step each, whatever they hold; the
// plain in-memory store would walk and delete every key.
//
// Iterators open a segment's snapshot when they reach it. A dropped
// segment is unlinked, not cleared: iterators and views still reading it
// finish on what it held. Views lock the segment list as the in-memory
// store locks its tree, once one is handed out.
func newSegmentedMemoryStore(name string) *segmentedMemoryStore {
	return &segmentedMemoryStore{name: name}
}

type segmentedMemoryStore struct {
	name   string
	segs   []memSegment // by id
	closed bool
	// shared is set once a view is handed out: from then on changes to
	// segs hold mu, and new segments lock their trees.
	shared bool
	mu     sync.RWMutex
}

type memSegment struct {
	id uint64
	s  *memoryStore
}

// segmentOf returns the segment of key: its first 8 bytes, zero-padded.
func segmentOf(key []byte) uint64 {
	var b [8]byte
	copy(b[:], key)
	return binary.BigEndian.Uint64(b[:])
}

// segmentCovered reports whether [from, to) holds every key of segment id.
// The smallest key of a segment is its id's bytes without trailing zeros
// (shorter keys pad to the same id and sort first); every key of it sorts
// before the next id's bytes.
func segmentCovered(id uint64, from, to []byte) bool {
	if from != nil {
		lo := binary.BigEndian.AppendUint64(nil, id)
		lo = bytes.TrimRight(lo, "\x00")
		if bytes.Compare(from, lo) > 0 {
			return false
		}
	}
	if to == nil {
		return true
	}
	if id == math.MaxUint64 {
		return false
	}
	return bytes.Compare(to, binary.BigEndian.AppendUint64(nil, id+1)) >= 0
}

func (s *segmentedMemoryStore) Name() string     { return s.name }
func (s *segmentedMemoryStore) Persistent() bool { return false }

func (s *segmentedMemoryStore) check(op string) error {
	if s.closed {
		return closedErr(s.name, op)
	}
	return nil
}

// find returns the index of segment id in segs, and whether it is there.
func (s *segmentedMemoryStore) find(id uint64) (int, bool) {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].id >= id })
	return i, i < len(s.segs) && s.segs[i].id == id
}

// lookup returns the segment of key, or nil.
func (s *segmentedMemoryStore) lookup(key []byte) *memoryStore {
	if i, ok := s.find(segmentOf(key)); ok {
		return s.segs[i].s
	}
	return nil
}

// span returns the indexes [lo, hi) of the segments that can hold keys in
// [from, to).
func (s *segmentedMemoryStore) span(from, to []byte) (int, int) {
	lo := 0
	if from != nil {
		lo, _ = s.find(segmentOf(from))
	}
	hi := len(s.segs)
	if to != nil {
		last := segmentOf(to)
		hi = sort.Search(len(s.segs), func(i int) bool { return s.segs[i].id > last })
	}
	return lo, max(lo, hi)
}

func (s *segmentedMemoryStore) Get(key []byte) ([]byte, bool, error) {
	if err := s.check("get"); err != nil {
		return nil, false, err
	}
	seg := s.lookup(key)
	if seg == nil {
		return nil, false, nil
	}
	return seg.Get(key)
}

func (s *segmentedMemoryStore) Put(key, value []byte) error {
	if err := s.check("put"); err != nil {
		return err
	}
	id := segmentOf(key)
	i, ok := s.find(id)
	if !ok {
		seg := newMemoryStore(s.name, s.shared)
		s.lock()
		s.segs = append(s.segs, memSegment{})
		copy(s.segs[i+1:], s.segs[i:])
		s.segs[i] = memSegment{id: id, s: seg}
		s.unlock()
	}
	return s.segs[i].s.Put(key, value)
}

func (s *segmentedMemoryStore) Delete(key []byte) error {
	if err := s.check("delete"); err != nil {
		return err
	}
	if seg := s.lookup(key); seg != nil {
		return seg.Delete(key)
	}
	return nil
}

// DeleteRange unlinks the segments [from, to) covers and deletes the keys
// in range from the (at most two) segments it covers in part.
func (s *segmentedMemoryStore) DeleteRange(from, to []byte) error {
	if err := s.check("delete range"); err != nil {
		return err
	}
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return nil
	}
	s.lock()
	defer s.unlock()
	lo, hi := s.span(from, to)
	kept := lo
	for i := lo; i < hi; i++ {
		seg := s.segs[i]
		if segmentCovered(seg.id, from, to) {
			continue
		}
		if err := seg.s.DeleteRange(from, to); err != nil {
			return err
		}
		s.segs[kept] = seg
		kept++
	}
	n := copy(s.segs[kept:], s.segs[hi:])
	clear(s.segs[kept+n:])
	s.segs = s.segs[:kept+n]
	return nil
}

func (s *segmentedMemoryStore) lock() {
	if s.shared {
		s.mu.Lock()
	}
}

func (s *segmentedMemoryStore) unlock() {
	if s.shared {
		s.mu.Unlock()
	}
}

func (s *segmentedMemoryStore) Range(from, to []byte) (BytesIterator, error) {
	return s.newIter("range", from, to, false)
}

func (s *segmentedMemoryStore) ReverseRange(from, to []byte) (BytesIterator, error) {
	return s.newIter("reverse range", from, to, true)
}

func (s *segmentedMemoryStore) newIter(op string, from, to []byte, reverse bool) (BytesIterator, error) {
	if err := s.check(op); err != nil {
		return nil, err
	}
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return emptyIterator{}, nil
	}
	lo, hi := s.span(from, to)
	segs := make([]*memoryStore, 0, hi-lo)
	for _, seg := range s.segs[lo:hi] {
		segs = append(segs, seg.s)
	}
	return chainSegments(segs, from, to, reverse, func(m *memoryStore, from, to []byte, reverse bool) (BytesIterator, error) {
		return m.newIter(op, from, to, reverse)
	}), nil
}

// chainSegments walks segs (in key order) with open, in reverse when asked.
func chainSegments(segs []*memoryStore, from, to []byte, reverse bool, open func(m *memoryStore, from, to []byte, reverse bool) (BytesIterator, error)) BytesIterator {
	if len(segs) == 1 {
		it, err := open(segs[0], from, to, reverse)
		if err != nil {
			return &chainIterator{n: 1, open: func(int) (BytesIterator, error) { return nil, err }}
		}
		return it
	}
	return &chainIterator{n: len(segs), open: func(i int) (BytesIterator, error) {
		if reverse {
			i = len(segs) - 1 - i
		}
		return open(segs[i], from, to, reverse)
	}}
}

func (s *segmentedMemoryStore) ApproximateNumEntries() (int64, error) {
	if err := s.check("count"); err != nil {
		return 0, err
	}
	var n int64
	for _, seg := range s.segs {
		n += int64(seg.s.tree.Len())
	}
	return n, nil
}

func (s *segmentedMemoryStore) Flush() error { return s.check("flush") }

func (s *segmentedMemoryStore) Close() error {
	s.lock()
	defer s.unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	for _, seg := range s.segs {
		seg.s.Close()
	}
	s.segs = nil
	return nil
}

// view returns the store's read-only view; from here on its writes lock.
func (s *segmentedMemoryStore) view() BytesView {
	s.mu.Lock()
	s.shared = true
	for _, seg := range s.segs {
		seg.s.view()
	}
	s.mu.Unlock()
	return segmentedMemView{s}
}

// segmentedMemView reads a segmentedMemoryStore from other goroutines: it
// finds segments under the store's read lock and reads each through its
// own view (see memView).
type segmentedMemView struct{ s *segmentedMemoryStore }

func (v segmentedMemView) Name() string     { return v.s.name }
func (v segmentedMemView) Persistent() bool { return false }

func (v segmentedMemView) Get(key []byte) ([]byte, bool, error) {
	v.s.mu.RLock()
	if v.s.closed {
		v.s.mu.RUnlock()
		return nil, false, closedErr(v.s.name, "get")
	}
	seg := v.s.lookup(key)
	v.s.mu.RUnlock()
	if seg == nil {
		return nil, false, nil
	}
	return memView{seg}.Get(key)
}

func (v segmentedMemView) Range(from, to []byte) (BytesIterator, error) {
	return v.newIter("range", from, to, false)
}

func (v segmentedMemView) ReverseRange(from, to []byte) (BytesIterator, error) {
	return v.newIter("reverse range", from, to, true)
}

func (v segmentedMemView) newIter(op string, from, to []byte, reverse bool) (BytesIterator, error) {
	v.s.mu.RLock()
	if v.s.closed {
		v.s.mu.RUnlock()
		return nil, closedErr(v.s.name, op)
	}
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		v.s.mu.RUnlock()
		return emptyIterator{}, nil
	}
	lo, hi := v.s.span(from, to)
	segs := make([]*memoryStore, 0, hi-lo)
	for _, seg := range v.s.segs[lo:hi] {
		segs = append(segs, seg.s)
	}
	v.s.mu.RUnlock()
	if len(segs) == 0 {
		return emptyIterator{}, nil
	}
	return chainSegments(segs, from, to, reverse, func(m *memoryStore, from, to []byte, reverse bool) (BytesIterator, error) {
		return memView{m}.newIter(op, from, to, reverse)
	}), nil
}

func (v segmentedMemView) ApproximateNumEntries() (int64, error) {
	v.s.mu.RLock()
	defer v.s.mu.RUnlock()
	if v.s.closed {
		return 0, closedErr(v.s.name, "count")
	}
	var n int64
	for _, seg := range v.s.segs {
		c, err := memView{seg.s}.ApproximateNumEntries()
		if err != nil {
			return 0, err
		}
		n += c
	}
	return n, nil
}

var _ KeyValueBytesStore = (*segmentedMemoryStore)(nil)
