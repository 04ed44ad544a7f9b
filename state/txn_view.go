package state

import (
	"bytes"
	"errors"
	"slices"
)

// viewOver returns inner, the view of the store below the buffer, made to
// see the writes commits left held (see CommitDeferred) as if inner
// held them. Only a store whose views are all made so may defer its
// commits (deferrable).
func (s *TxnStore) viewOver(inner BytesView) BytesView {
	return &txnView{BytesView: inner, s: s}
}

// txnView is a store's view while its commits may be held: the held
// writes, read under their lock, then inner's view.
type txnView struct {
	BytesView
	s *TxnStore
}

// heldValue looks key up among the writes of the store's flight and the
// held writes, copying its value.
func (v *txnView) heldValue(key []byte) (value []byte, found, held bool) {
	h := &v.s.held
	h.mu.RLock()
	defer h.mu.RUnlock()
	if e := h.flight[string(key)]; e != nil {
		if e.deleted {
			return nil, false, true
		}
		return bytes.Clone(e.value), true, true
	}
	val, found, held := h.get(key)
	return bytes.Clone(val), found, held
}

func (v *txnView) Get(key []byte) ([]byte, bool, error) {
	if val, found, held := v.heldValue(key); held {
		return val, found, nil
	}
	return v.BytesView.Get(key)
}

func (v *txnView) Range(from, to []byte) (BytesIterator, error) {
	return v.iter(from, to, false)
}

func (v *txnView) ReverseRange(from, to []byte) (BytesIterator, error) {
	return v.iter(from, to, true)
}

// iter merges a copy of the held writes in [from, to), taken before
// inner's iterator opens, with that iterator: a write applied in between
// is then seen twice, the same.
func (v *txnView) iter(from, to []byte, reverse bool) (BytesIterator, error) {
	held := v.heldIn(from, to)
	var it BytesIterator
	var err error
	if reverse {
		it, err = v.BytesView.ReverseRange(from, to)
	} else {
		it, err = v.BytesView.Range(from, to)
	}
	if err != nil || len(held) == 0 {
		return it, err
	}
	if reverse {
		slices.Reverse(held)
	}
	return &mergeIterator{cached: held, inner: it, reverse: reverse}, nil
}

// heldIn copies the held writes in [from, to), in key order.
func (v *txnView) heldIn(from, to []byte) []cachedKV {
	h := &v.s.held
	h.mu.RLock()
	defer h.mu.RUnlock()
	var held []cachedKV
	for i := range h.slots {
		sl := &h.slots[i]
		if !inRangeString(sl.key, from, to) {
			continue
		}
		if _, newer := h.flight[sl.key]; newer {
			continue
		}
		held = append(held, cachedKV{key: []byte(sl.key), value: bytes.Clone(sl.value), deleted: sl.value == nil})
	}
	for k, e := range h.flight {
		if inRangeString(k, from, to) {
			held = append(held, cachedKV{key: []byte(k), value: bytes.Clone(e.value), deleted: e.deleted})
		}
	}
	slices.SortFunc(held, func(a, b cachedKV) int { return bytes.Compare(a.key, b.key) })
	return held
}

// ApproximateNumEntries counts the keys of the view as its ranges show
// them: the held writes merged with one iterator of inner's. Correcting
// inner's count by a lookup of each held key instead read inner at two
// times, while a job of its database may apply held writes between: a key
// one commit deleted was then counted by the first read and not found to
// be taken off by the second.
func (v *txnView) ApproximateNumEntries() (int64, error) {
	if v.s.held.empty() {
		return v.BytesView.ApproximateNumEntries()
	}
	it, err := v.iter(nil, nil, false)
	if err != nil {
		return 0, err
	}
	var n int64
	for it.Next() {
		n++
	}
	return n, errors.Join(it.Err(), it.Close())
}

// empty reports, under mu, whether nothing is held nor flying: a view's
// reads then go to inner alone.
func (h *heldWrites) empty() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.slots) == 0 && len(h.flight) == 0
}
