package state

import (
	"bytes"
	"slices"
	"sync"
	"unsafe"

	"github.com/google/btree"
)

// NewMemoryStore returns an in-memory bytes store: a B-tree sorted by key,
// with a hash index beside it that the store's own reads and updates of
// existing keys go through, so that only a new key or a removed one pays
// the tree's ordering. Under a changelog layer the index's entries also
// mark the keys to send at the next Flush (see putLogged). Counts are
// exact. Iterators read a snapshot taken when they were opened (a
// copy-on-write clone of the tree), so writes during iteration are safe
// and not seen, as with Pebble. Closing the store drops its contents.
//
// The store needs no lock for its own goroutine. Once it has handed out a
// view (see Store.View), its writes take a write lock that the view's reads
// share: only stores that are queried pay for it.
func NewMemoryStore(name string) KeyValueBytesStore {
	return newMemoryStore(name, false)
}

func newMemoryStore(name string, shared bool) *memoryStore {
	return &memoryStore{name: name, tree: btree.NewG(32, lessMemItem), index: map[string]*memEntry{}, shared: shared}
}

type memItem struct{ key, value []byte }

func lessMemItem(a, b memItem) bool { return bytes.Compare(a.key, b.key) < 0 }

// memEntry is a key of the store as its index holds it: the key and value
// slices are the tree's item's. The rest serves a changelog layer right
// above (see putLogged): whether the key's last write waits to be logged,
// and that write's time.
type memEntry struct {
	key, value []byte
	ts         int64
	log        entryLog
}

// entryLog is where a key's writes stand with the changelog.
type entryLog uint8

const (
	// logged: nothing to send.
	logged entryLog = iota
	// unlogged: in the store's unlogged list, its value to be sent.
	unlogged
	// deleted: in the unlogged list and in tombs, out of the index and the
	// tree: a tombstone to be sent.
	deleted
	// dropped: in the unlogged list, but a DeleteRange removed the key
	// since, which sends nothing.
	dropped
)

type memoryStore struct {
	name string
	tree *btree.BTreeG[memItem]
	// index holds each key's entry, whose slices are the tree's: only the
	// store's goroutine reads it (views read the tree).
	index map[string]*memEntry
	// snapshots counts open iterators. While one is open its clone shares
	// value slices with the tree, so Put must not overwrite them in place.
	snapshots int
	closed    bool
	// shared is set, on the store's goroutine, when a view is handed out;
	// from then on that goroutine's writes (and tree clones, which write
	// the tree's copy-on-write state) hold mu, and views read under it.
	// Reads of the store's own goroutine never lock: no one else writes.
	shared bool
	mu     sync.RWMutex
	// pending holds keys a restore put in the index and not in the tree
	// (see restoreRecords): the tree gets them, sorted, before the next
	// operation that walks it in order, and at Flush, which ends a
	// restore. A key in pending may be in the tree too, or deleted since:
	// the index decides, unless pendingExact says each of pending's keys
	// is there once, with its value, and in the index with that value.
	pending      []memItem
	pendingExact bool
	// What the last Get found, while memo holds: an aggregate reads a key
	// and writes it right after, and the Put then skips a second lookup
	// in the index. A hit keeps the entry, a miss a copy of the key.
	// Every write clears it.
	memo    memoState
	memoHit *memEntry
	memoKey []byte
	// The entries written through putLogged and deleteLogged since the
	// last takeUnlogged, in the order first written, and the keys among
	// them deleted since (a put revives the entry: the key is sent once).
	unloggedList []*memEntry
	tombs        map[string]*memEntry
}

type memoState uint8

const (
	memoNone memoState = iota
	memoFound
	memoMissed
)

func (s *memoryStore) Name() string     { return s.name }
func (s *memoryStore) Persistent() bool { return false }

func (s *memoryStore) check(op string) error {
	if s.closed {
		return closedErr(s.name, op)
	}
	return nil
}

func (s *memoryStore) lock() {
	if s.shared {
		s.mu.Lock()
	}
}

func (s *memoryStore) unlock() {
	if s.shared {
		s.mu.Unlock()
	}
}

func (s *memoryStore) Get(key []byte) ([]byte, bool, error) {
	if err := s.check("get"); err != nil {
		return nil, false, err
	}
	if e := s.index[string(key)]; e != nil {
		s.memo, s.memoHit = memoFound, e
		return e.value, true, nil
	}
	// memoKey is stored back only when it grew: a slice stored per call
	// costs a write barrier while the garbage collector marks.
	if mk := append(s.memoKey[:0], key...); cap(mk) > cap(s.memoKey) {
		s.memoKey = mk
	} else {
		s.memoKey = s.memoKey[:len(key)]
	}
	s.memo = memoMissed
	return nil, false, nil
}

// entry returns key's entry, nil for none, through the last Get's if it
// was of key; it clears the memo, as every write must.
func (s *memoryStore) entry(key []byte) *memEntry {
	m := s.memo
	s.memo = memoNone
	switch {
	case m == memoFound && bytes.Equal(s.memoHit.key, key):
		return s.memoHit
	case m == memoMissed && bytes.Equal(s.memoKey, key):
		return nil
	}
	return s.index[string(key)]
}

func (s *memoryStore) Put(key, value []byte) error {
	if err := s.check("put"); err != nil {
		return err
	}
	s.lock()
	s.write(s.entry(key), key, value)
	s.unlock()
	return nil
}

// write puts value in e, key's entry, or in a new entry if e is nil, and
// returns the entry.
func (s *memoryStore) write(e *memEntry, key, value []byte) *memEntry {
	switch {
	case e == nil:
		e = s.insert(&memEntry{}, key, value)
	case s.snapshots == 0 && len(e.value) == len(value):
		// Overwriting the old value's array, which the tree shares, keeps
		// updates of existing keys (the usual aggregate) free of
		// allocation and of the tree.
		copy(e.value, value)
	default:
		// The tree's item, and any snapshot's, keep the old array.
		e.value = clone(value)
		s.tree.ReplaceOrInsert(memItem{key: e.key, value: e.value})
	}
	return e
}

// insert puts e in the index and the tree with copies of key and value, in
// one array: nothing writes a key's bytes, and the value's are overwritten
// in place only.
func (s *memoryStore) insert(e *memEntry, key, value []byte) *memEntry {
	buf := make([]byte, len(key)+len(value))
	e.key = buf[:len(key):len(key)]
	copy(e.key, key)
	e.value = buf[len(key):]
	copy(e.value, value)
	s.tree.ReplaceOrInsert(memItem{key: e.key, value: e.value})
	// The index's key shares the entry's.
	s.index[unsafe.String(unsafe.SliceData(e.key), len(e.key))] = e
	return e
}

// putLogged is Put for a changelog layer right above (see
// changeLoggingStore), which the store then spares the folding of its
// writes: the key is marked to be sent at the next takeUnlogged, with the
// value it will have then, stamped ts.
func (s *memoryStore) putLogged(key, value []byte, ts int64) error {
	if err := s.check("put"); err != nil {
		return err
	}
	s.lock()
	e := s.entry(key)
	var t *memEntry
	if e == nil && len(s.tombs) > 0 {
		t = s.tombs[string(key)]
	}
	if t != nil {
		// Deleted since the last takeUnlogged: the tombstone's entry comes
		// back, so the key is sent once, with this value.
		delete(s.tombs, string(key))
		e = s.insert(t, key, value)
		e.log = unlogged
	} else if e != nil && s.snapshots == 0 && len(e.value) == len(value) {
		// write's usual case, without the call.
		copy(e.value, value)
	} else {
		e = s.write(e, key, value)
	}
	e.ts = ts
	if e.log == logged {
		e.log = unlogged
		s.unloggedList = append(s.unloggedList, e)
	}
	s.unlock()
	return nil
}

// deleteLogged is Delete for a changelog layer right above: a tombstone
// of key, stamped ts, is sent at the next takeUnlogged, whether or not
// the store had the key.
func (s *memoryStore) deleteLogged(key []byte, ts int64) error {
	if err := s.check("delete"); err != nil {
		return err
	}
	s.lock()
	defer s.unlock()
	e := s.entry(key)
	if e != nil {
		s.tree.Delete(memItem{key: e.key})
		delete(s.index, string(e.key))
	} else if e = s.tombs[string(key)]; e == nil {
		e = &memEntry{key: clone(key)}
	}
	// An entry of the index or of tombs is never dropped: DeleteRange
	// takes dropped ones out of both.
	e.value, e.ts = nil, ts
	if e.log == logged {
		s.unloggedList = append(s.unloggedList, e)
	}
	e.log = deleted
	if s.tombs == nil {
		s.tombs = map[string]*memEntry{}
	}
	s.tombs[unsafe.String(unsafe.SliceData(e.key), len(e.key))] = e
	return nil
}

// takeUnlogged hands send every key written through putLogged or
// deleteLogged since the last call, in the order first written, with its
// value now (nil for a tombstone) and the time of its last write. A key
// sent is not sent again; on an error the rest stay.
func (s *memoryStore) takeUnlogged(send func(key, value []byte, ts int64) error) error {
	for i, e := range s.unloggedList {
		var v []byte
		switch e.log {
		case logged, dropped:
			continue
		case unlogged:
			if v = e.value; v == nil {
				v = emptyValue
			}
		}
		err := send(e.key, v, e.ts)
		if err != nil {
			n := copy(s.unloggedList, s.unloggedList[i:])
			clear(s.unloggedList[n:])
			s.unloggedList = s.unloggedList[:n]
			return err
		}
		if e.log == deleted {
			delete(s.tombs, string(e.key))
		}
		e.log = logged
	}
	clear(s.unloggedList)
	s.unloggedList = s.unloggedList[:0]
	return nil
}

// dropUnlogged drops what waits to be sent of the keys in [from, to) (nil:
// unbounded), which a DeleteRange removed.
func (s *memoryStore) dropUnlogged(from, to []byte) {
	for _, e := range s.unloggedList {
		if (e.log == unlogged || e.log == deleted) && inRange(e.key, from, to) {
			if e.log == deleted {
				delete(s.tombs, string(e.key))
			}
			e.log = dropped
		}
	}
}

// restoreRecords writes a restore's records as Put and Delete would, but
// puts the keys new to the store in the index only, and in pending: the
// tree, whose ordering costs most of a write, takes each key once, in key
// order, however often the changelog rewrote or deleted it meanwhile.
func (s *memoryStore) restoreRecords(recs []ChangelogRecord, timestamped bool) error {
	if err := s.check("restore"); err != nil {
		return err
	}
	s.memo = memoNone
	s.lock()
	defer s.unlock()
	inTree := s.tree.Len() > 0
	for i := range recs {
		r := &recs[i]
		e := s.index[string(r.Key)]
		if r.Value == nil {
			if e != nil {
				if inTree {
					s.tree.Delete(memItem{key: e.key})
				}
				delete(s.index, string(r.Key))
				s.pendingExact = false
			}
			continue
		}
		n := len(r.Value)
		if timestamped {
			n += timestampedHeader
		}
		if e != nil && s.snapshots == 0 && len(e.value) == n {
			// In place, as Put does.
			putRestored(e.value, r, timestamped)
			continue
		}
		v := make([]byte, n)
		putRestored(v, r, timestamped)
		if e != nil {
			e.value = v
			if inTree {
				s.tree.ReplaceOrInsert(memItem{key: e.key, value: v})
			}
			s.pendingExact = false
			continue
		}
		e = &memEntry{key: clone(r.Key), value: v}
		// The index's key shares pending's, whose bytes nothing writes.
		s.index[unsafe.String(unsafe.SliceData(e.key), len(e.key))] = e
		if len(s.pending) == 0 {
			s.pendingExact = true
		}
		s.pending = append(s.pending, memItem{key: e.key, value: v})
	}
	return nil
}

// putRestored writes r's value into v, which has room for it (and for its
// header, if timestamped).
func putRestored(v []byte, r *ChangelogRecord, timestamped bool) {
	if timestamped {
		appendTimestamped(v[:0], r.Timestamp)
		v = v[timestampedHeader:]
	}
	copy(v, r.Value)
}

// settle puts the keys of pending in the tree, in key order, with the
// values the index holds for them.
func (s *memoryStore) settle() {
	p := s.pending
	if len(p) == 0 {
		return
	}
	cmpKeys := func(a, b memItem) int { return bytes.Compare(a.key, b.key) }
	if !slices.IsSortedFunc(p, cmpKeys) {
		slices.SortFunc(p, cmpKeys)
	}
	s.lock()
	for i, it := range p {
		if s.pendingExact {
			s.tree.ReplaceOrInsert(it)
			continue
		}
		if i+1 < len(p) && bytes.Equal(it.key, p[i+1].key) {
			continue
		}
		if e := s.index[string(it.key)]; e != nil {
			s.tree.ReplaceOrInsert(memItem{key: e.key, value: e.value})
		}
	}
	s.unlock()
	// A restore's keys are many: kept, the slice would outlive it.
	s.pending = nil
}

func (s *memoryStore) Delete(key []byte) error {
	if err := s.check("delete"); err != nil {
		return err
	}
	s.lock()
	if e := s.entry(key); e != nil {
		s.tree.Delete(memItem{key: e.key})
		delete(s.index, string(e.key))
	}
	s.unlock()
	return nil
}

// DeleteRange drops the keys in [from, to). The B-tree has no span
// removal: the keys are found in one walk and deleted one by one, so the
// cost grows with the number of keys dropped (a window store on memory
// keeps a segment per tree to drop one in one step).
func (s *memoryStore) DeleteRange(from, to []byte) error {
	if err := s.check("delete range"); err != nil {
		return err
	}
	s.memo = memoNone
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return nil
	}
	s.settle()
	s.lock()
	defer s.unlock()
	if from == nil && to == nil {
		// Iterators hold their own clones, which Clear leaves alone.
		s.tree.Clear(false)
		clear(s.index)
		s.dropUnlogged(nil, nil)
		return nil
	}
	var doomed [][]byte
	collect := func(it memItem) bool {
		if to != nil && bytes.Compare(it.key, to) >= 0 {
			return false
		}
		doomed = append(doomed, it.key)
		return true
	}
	if from == nil {
		s.tree.Ascend(collect)
	} else {
		s.tree.AscendGreaterOrEqual(memItem{key: from}, collect)
	}
	for _, k := range doomed {
		s.tree.Delete(memItem{key: k})
		delete(s.index, string(k))
	}
	s.dropUnlogged(from, to)
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
	s.settle()
	it := newMemIterator(s, from, to, reverse)
	// The first batch comes from the live tree: most ranges (a key's
	// windows, a prefix) fit in it, and then the iterator needs no clone,
	// whose copy-on-write would make every later write of the store copy
	// the nodes on its path. The batch shares value slices with the tree,
	// which Put leaves alone while the iterator counts as a snapshot.
	s.snapshots++
	it.snap = true
	it.fill(s.tree)
	it.pos = -1
	if !it.exhausted {
		s.lock()
		it.tree = s.tree.Clone()
		s.unlock()
	}
	return it, nil
}

func (s *memoryStore) ApproximateNumEntries() (int64, error) {
	if err := s.check("count"); err != nil {
		return 0, err
	}
	return int64(len(s.index)), nil
}

// Flush ends a restore: the keys it left out of the tree go in.
func (s *memoryStore) Flush() error {
	if err := s.check("flush"); err != nil {
		return err
	}
	s.settle()
	return nil
}

func (s *memoryStore) Close() error {
	s.lock()
	s.closed = true
	s.tree, s.index, s.pending, s.memo = nil, nil, nil, memoNone
	s.memoHit, s.unloggedList, s.tombs = nil, nil, nil
	s.unlock()
	return nil
}

// view returns the store's read-only view. It runs on the store's
// goroutine: from here on that goroutine's writes lock.
func (s *memoryStore) view() BytesView {
	s.settle()
	s.shared = true
	return memView{s}
}

// memView reads a memoryStore from other goroutines, under its read lock.
// Get sees the latest write. An iterator copies the tree 64 items at a
// time, each batch under the lock: it is not a snapshot of the whole store
// but sees every key at most once, in order, with the value it had when its
// batch was read (as Kafka Streams' in-memory store iterators do).
type memView struct{ s *memoryStore }

func (v memView) Name() string     { return v.s.name }
func (v memView) Persistent() bool { return false }

func (v memView) Get(key []byte) ([]byte, bool, error) {
	v.s.mu.RLock()
	defer v.s.mu.RUnlock()
	if v.s.closed {
		return nil, false, closedErr(v.s.name, "get")
	}
	it, ok := v.s.tree.Get(memItem{key: key})
	if !ok {
		return nil, false, nil
	}
	return clone(it.value), true, nil
}

func (v memView) Range(from, to []byte) (BytesIterator, error) {
	return v.newIter("range", from, to, false)
}

func (v memView) ReverseRange(from, to []byte) (BytesIterator, error) {
	return v.newIter("reverse range", from, to, true)
}

func (v memView) newIter(op string, from, to []byte, reverse bool) (BytesIterator, error) {
	v.s.mu.RLock()
	closed := v.s.closed
	v.s.mu.RUnlock()
	if closed {
		return nil, closedErr(v.s.name, op)
	}
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return emptyIterator{}, nil
	}
	it := newMemIterator(v.s, from, to, reverse)
	it.viewed = true
	return it, nil
}

func (v memView) ApproximateNumEntries() (int64, error) {
	v.s.mu.RLock()
	defer v.s.mu.RUnlock()
	if v.s.closed {
		return 0, closedErr(v.s.name, "count")
	}
	return int64(v.s.tree.Len()), nil
}

// memBatch is how many items an iterator copies out of the tree per walk.
// The B-tree only offers callback walks; restarting one per batch, from the
// last key seen, gives a pull iterator without a goroutine.
const memBatch = 64

// memIterator walks a snapshot of a memoryStore (tree, on the store's
// goroutine) or, for a view (viewed), the live tree under its read lock,
// copying what it reads.
type memIterator struct {
	s *memoryStore
	// tree is the snapshot later batches come from, nil when the first
	// batch held the whole range; snap says the iterator counts in the
	// store's snapshots until it is closed.
	tree     *btree.BTreeG[memItem]
	snap     bool
	viewed   bool
	from, to []byte
	reverse  bool
	// pivot is the last key handed out (or, reverse, the exclusive upper
	// bound to start below); the next walk resumes strictly past it.
	pivot     []byte
	havePivot bool
	buf       []memItem
	pos       int
	exhausted bool
	done      bool
	visitFn   func(memItem) bool
	err       error
}

func newMemIterator(s *memoryStore, from, to []byte, reverse bool) *memIterator {
	it := &memIterator{s: s, reverse: reverse}
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
	return it
}

func (it *memIterator) Next() bool {
	if it.err != nil || it.done {
		return false
	}
	if !it.viewed {
		if it.s.closed {
			it.err = closedErr(it.s.name, "iterate")
			return false
		}
	}
	if it.pos+1 < len(it.buf) {
		it.pos++
		return true
	}
	if it.exhausted {
		it.pos = len(it.buf)
		return false
	}
	if it.viewed {
		it.fillViewed()
	} else {
		it.fill(it.tree)
	}
	it.pos = 0
	return it.err == nil && len(it.buf) > 0
}

func (it *memIterator) fillViewed() {
	it.s.mu.RLock()
	defer it.s.mu.RUnlock()
	if it.s.closed {
		it.err = closedErr(it.s.name, "iterate")
		return
	}
	it.fill(it.s.tree)
	// The live tree's values change once the lock is released; the batch
	// gets its own copy, which stays the caller's.
	n := 0
	for _, item := range it.buf {
		n += len(item.key) + len(item.value)
	}
	arena := make([]byte, 0, n)
	for i, item := range it.buf {
		k := len(arena)
		arena = append(arena, item.key...)
		v := len(arena)
		arena = append(arena, item.value...)
		it.buf[i] = memItem{key: arena[k:v:v], value: arena[v:len(arena):len(arena)]}
	}
	if n := len(it.buf); n > 0 {
		it.pivot = it.buf[n-1].key
	}
}

func (it *memIterator) fill(tree *btree.BTreeG[memItem]) {
	it.buf = it.buf[:0]
	if it.viewed {
		// The previous batch is the caller's now.
		it.buf = nil
	}
	pivot := memItem{key: it.pivot}
	switch {
	case it.reverse && it.havePivot:
		tree.DescendLessOrEqual(pivot, it.visitFn)
	case it.reverse:
		tree.Descend(it.visitFn)
	case it.havePivot:
		tree.AscendGreaterOrEqual(pivot, it.visitFn)
	case it.from != nil:
		tree.AscendGreaterOrEqual(memItem{key: it.from}, it.visitFn)
	default:
		tree.Ascend(it.visitFn)
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
	if it.done {
		return nil
	}
	it.done = true
	it.buf, it.tree = nil, nil
	if it.snap {
		it.snap = false
		it.s.snapshots--
	}
	return nil
}

// clone copies b, returning a non-nil slice even for an empty b: a nil
// value would read as absent further up.
func clone(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}
