package state

import (
	"bytes"
	"errors"

	"github.com/cockroachdb/pebble/v2"
)

// view returns the store's read-only view. Pebble is safe for concurrent
// readers and writers, so the view reads the DB directly; it shares only
// the DB's view lock, with Close.
func (s *pebbleStore) view() BytesView {
	return &pebbleView{s: s, prefix: s.prefix, end: s.end}
}

// pebbleView reads one store of a DB from any goroutine. Get sees the
// latest write; an iterator reads a Pebble snapshot taken when it was
// opened, so a whole iteration is one point in time, copied out 64 entries
// at a time.
type pebbleView struct {
	s           *pebbleStore
	prefix, end []byte
}

func (v *pebbleView) Name() string     { return v.s.name }
func (v *pebbleView) Persistent() bool { return true }

// lock takes the DB's view lock shared; it fails once the store or the
// DB is closed, and then holds nothing.
func (v *pebbleView) lock(op string) error {
	if v.s.invalid != nil {
		return v.s.invalid
	}
	v.s.db.viewMu.RLock()
	if v.s.db.viewsClosed || v.s.viewsGone.Load() {
		v.s.db.viewMu.RUnlock()
		return closedErr(v.s.name, op)
	}
	if err := v.s.db.failed(); err != nil {
		v.s.db.viewMu.RUnlock()
		return storeErr(v.s.name, op, err)
	}
	return nil
}

func (v *pebbleView) unlock() { v.s.db.viewMu.RUnlock() }

func (v *pebbleView) Get(key []byte) ([]byte, bool, error) {
	if err := v.lock("get"); err != nil {
		return nil, false, err
	}
	defer v.unlock()
	k := append(append(make([]byte, 0, len(v.prefix)+len(key)), v.prefix...), key...)
	val, closer, err := v.s.db.pdb.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		// As the store's Get: absent only if the DB did not break.
		if fe := v.s.db.broken.Load(); fe != nil {
			return nil, false, storeErr(v.s.name, "get", fe)
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, storeErr(v.s.name, "get", err)
	}
	out := clone(val)
	if err := closer.Close(); err != nil {
		return nil, false, storeErr(v.s.name, "get", err)
	}
	return out, true, nil
}

func (v *pebbleView) Range(from, to []byte) (BytesIterator, error) {
	return v.newIter("range", from, to, false)
}

func (v *pebbleView) ReverseRange(from, to []byte) (BytesIterator, error) {
	return v.newIter("reverse range", from, to, true)
}

func (v *pebbleView) newIter(op string, from, to []byte, reverse bool) (BytesIterator, error) {
	if err := v.lock(op); err != nil {
		return nil, err
	}
	defer v.unlock()
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return emptyIterator{}, nil
	}
	db := v.s.db
	snap := db.pdb.NewSnapshot()
	db.snapMu.Lock()
	db.snaps[snap] = struct{}{}
	db.snapMu.Unlock()
	lower, upper := keyBounds(v.prefix, v.end, from, to)
	return &pebbleViewIter{v: v, snap: snap, lower: lower, upper: upper, reverse: reverse}, nil
}

// ApproximateNumEntries counts the keys, as the store does.
func (v *pebbleView) ApproximateNumEntries() (int64, error) {
	if err := v.lock("count"); err != nil {
		return 0, err
	}
	defer v.unlock()
	it, err := v.s.db.pdb.NewIter(&pebble.IterOptions{LowerBound: v.prefix, UpperBound: v.end})
	if err != nil {
		return 0, storeErr(v.s.name, "count", err)
	}
	var n int64
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return 0, storeErr(v.s.name, "count", err)
	}
	if fe := v.s.db.broken.Load(); fe != nil {
		return 0, storeErr(v.s.name, "count", fe)
	}
	return n, nil
}

// pebbleViewIter holds a snapshot between batches, not a Pebble iterator:
// the DB's Close can then release it (under the view lock) whatever the
// goroutine using the iterator is doing.
type pebbleViewIter struct {
	v            *pebbleView
	snap         *pebble.Snapshot
	lower, upper []byte
	reverse      bool
	buf          []memItem
	pos          int
	exhausted    bool
	done         bool
	err          error
}

func (it *pebbleViewIter) Next() bool {
	if it.err != nil || it.done {
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
	return it.err == nil && len(it.buf) > 0
}

func (it *pebbleViewIter) fill() {
	if it.err = it.v.lock("iterate"); it.err != nil {
		return
	}
	defer it.v.unlock()
	pit, err := it.snap.NewIter(&pebble.IterOptions{LowerBound: it.lower, UpperBound: it.upper})
	if err != nil {
		it.err = storeErr(it.v.s.name, "iterate", err)
		return
	}
	// Each batch gets a new arena: the entries handed out stay the
	// caller's.
	it.buf = make([]memItem, 0, memBatch)
	var arena []byte
	var ok bool
	if it.reverse {
		ok = pit.Last()
	} else {
		ok = pit.First()
	}
	for ; ok && len(it.buf) < memBatch; ok = it.step(pit) {
		val, err := pit.ValueAndErr()
		if err != nil {
			it.err = storeErr(it.v.s.name, "iterate", err)
			break
		}
		k := len(arena)
		arena = append(arena, pit.Key()[len(it.v.prefix):]...)
		m := len(arena)
		arena = append(arena, val...)
		// Slices are cut below, once arena stops moving.
		it.buf = append(it.buf, memItem{key: arena[k:m:m], value: arena[m:len(arena):len(arena)]})
	}
	if ok && len(it.buf) == memBatch {
		// More to come: the next batch starts past the last key handed out.
		last := append(append([]byte{}, it.v.prefix...), it.buf[len(it.buf)-1].key...)
		if it.reverse {
			it.upper = last
		} else {
			it.lower = append(last, 0)
		}
	} else {
		it.exhausted = true
	}
	if err := errors.Join(pit.Error(), pit.Close()); err != nil && it.err == nil {
		it.err = storeErr(it.v.s.name, "iterate", err)
	}
	if fe := it.v.s.db.broken.Load(); fe != nil && it.err == nil {
		// A batch is whole only if the DB did not break reading it (see
		// the store's Get).
		it.err = storeErr(it.v.s.name, "iterate", fe)
	}
	// arena may have grown (and moved) after early entries were cut from
	// it; cut them again from its final array.
	off := 0
	for i, item := range it.buf {
		kl, vl := len(item.key), len(item.value)
		it.buf[i] = memItem{key: arena[off : off+kl : off+kl], value: arena[off+kl : off+kl+vl : off+kl+vl]}
		off += kl + vl
	}
}

func (it *pebbleViewIter) step(pit *pebble.Iterator) bool {
	if it.reverse {
		return pit.Prev()
	}
	return pit.Next()
}

func (it *pebbleViewIter) Key() []byte   { return it.buf[it.pos].key }
func (it *pebbleViewIter) Value() []byte { return it.buf[it.pos].value }
func (it *pebbleViewIter) Err() error    { return it.err }

// Close releases the snapshot, unless the DB's Close already did.
func (it *pebbleViewIter) Close() error {
	if it.done {
		return nil
	}
	it.done, it.buf = true, nil
	db := it.v.s.db
	db.viewMu.RLock()
	defer db.viewMu.RUnlock()
	if db.viewsClosed {
		return nil
	}
	db.snapMu.Lock()
	delete(db.snaps, it.snap)
	db.snapMu.Unlock()
	if err := it.snap.Close(); err != nil {
		return storeErr(it.v.s.name, "close iterator", err)
	}
	return nil
}
