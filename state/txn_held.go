package state

import (
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// heldWrites are the writes of commits a TxnStore has not applied to
// inner yet (see TxnStore.CommitDeferred): committed, so reads and views
// see them as they see inner, and folded, one value per key, until the
// store applies them all at once. The task's goroutine changes them under
// mu and reads them without it; views read them under mu.
type heldWrites struct {
	mu sync.RWMutex
	// flight is the entries of the store's flight (see commitAsync),
	// newer than the held writes, for views: set and cleared under mu.
	flight map[string]*txnEntry
	index  map[string]int32
	slots  []heldSlot
	keys   arena
	vals   arena
	// bytes is what they hold, bounded by txnMaxHeldBytes; writes counts
	// the writes of the commits they came from, bounded by
	// txnMaxHeldWrites.
	bytes  int64
	writes int
}

// heldSlot is a key and its committed value, nil for a delete.
type heldSlot struct {
	key   string
	value []byte
}

// txnMaxHeldBytes bounds what a store holds of commits it has not
// applied.
const txnMaxHeldBytes = 1 << 20

// txnMaxHeldWrites bounds the writes of the commits a store holds, about
// the changelog records a restore after a crash reads beyond the offset
// recorded: at a million records a second, a tenth of a second per store.
const txnMaxHeldWrites = 100_000

// heldEntryOverhead is what a held write costs beyond its key and value:
// its slot (40 bytes) and its map slot with the map's slack.
const heldEntryOverhead = 96

func (h *heldWrites) len() int { return len(h.slots) }

// get returns key's held value, and whether it is held.
func (h *heldWrites) get(key []byte) (value []byte, found, held bool) {
	if len(h.slots) == 0 {
		return nil, false, false
	}
	i, ok := h.index[string(key)]
	if !ok {
		return nil, false, false
	}
	v := h.slots[i].value
	return v, v != nil, true
}

// add holds the entries' writes, in place of what it held of their keys.
func (h *heldWrites) add(entries []*txnEntry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.index == nil {
		h.index = make(map[string]int32, len(entries))
	}
	for _, e := range entries {
		i, ok := h.index[e.key]
		if !ok {
			i = int32(len(h.slots))
			k := e.key
			if len(k) > 0 {
				b := h.keys.copy([]byte(k))
				k = unsafe.String(&b[0], len(b))
			}
			h.slots = append(h.slots, heldSlot{key: k})
			h.index[k] = i
			h.bytes += int64(len(k)) + heldEntryOverhead
		}
		sl := &h.slots[i]
		switch {
		case e.deleted:
			sl.value = nil
		case len(e.value) == 0:
			sl.value = emptyValue
		case sl.value != nil && len(e.value) <= cap(sl.value):
			sl.value = sl.value[:len(e.value)]
			copy(sl.value, e.value)
		default:
			sl.value = h.vals.copy(e.value)
			h.bytes += int64(len(e.value))
		}
	}
	h.writes += len(entries)
}

// sorted returns the held slots in key order.
func (h *heldWrites) sorted() []*heldSlot {
	out := make([]*heldSlot, len(h.slots))
	for i := range h.slots {
		out[i] = &h.slots[i]
	}
	slices.SortFunc(out, func(a, b *heldSlot) int { return strings.Compare(a.key, b.key) })
	return out
}

// reset drops every held write: inner holds them now, or a restore will.
func (h *heldWrites) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.resetLocked()
}

// resetLocked is reset with mu held.
func (h *heldWrites) resetLocked() {
	clear(h.index)
	clear(h.slots)
	h.slots = h.slots[:0]
	h.keys.reset()
	h.vals.reset()
	h.bytes, h.writes = 0, 0
}

// CommitDeferred ends a committed transaction as Commit does, except that,
// where they fit (txnMaxHeldBytes, txnMaxHeldWrites), its writes are held
// rather than applied to inner: inner then lags the store's changelog,
// which is allowed (a restore catches it up) as long as the changelog
// offset recorded for it does too. Reads, and views made with viewOver,
// see held writes. It reports whether inner holds every commit, as after
// Commit, which it falls back to for a store that cannot hold (not
// deferrable), a transaction with range deletions, or one that does not
// fit: Commit then applies what was held with the transaction.
func (s *TxnStore) CommitDeferred() (applied bool, err error) {
	if err := s.check("commit"); err != nil {
		return false, err
	}
	// The held writes change: a flight that reads them lands first.
	if err := s.land(); err != nil {
		return false, err
	}
	// A database that broke since (a write its jobs made, refused by the
	// disk behind them) fails the commit, as a write to it would.
	if err := s.inner.Flush(); err != nil {
		return false, err
	}
	n := len(s.entries)
	if !s.deferrable || len(s.dels) > 0 || s.ncached > 0 || len(s.unlogged) > 0 || s.held.writes+n > txnMaxHeldWrites {
		// Commit checks the cache and the changelog layer, and applies.
		return true, s.Commit()
	}
	if s.holdSkip > 0 {
		s.holdSkip--
		return true, s.Commit()
	}
	order := s.order[:0]
	need := s.held.bytes
	s.each(func(e *txnEntry) {
		order = append(order, e)
		need += int64(len(e.key)+len(e.value)) + heldEntryOverhead
	})
	s.order = order
	if !s.holdsPay(order) {
		return true, s.Commit()
	}
	if need > txnMaxHeldBytes {
		return true, s.Commit()
	}
	// The clean entries say what inner holds, which for a key held is its
	// value before the held one until the held writes are applied; reads
	// ask the held writes first (under). The entry stays where it is, to
	// be overwritten in place when they are applied (keepHeldClean): a
	// key forgotten and kept again at every commit would leave a dead
	// copy in the ring each time, and the copies would push out the
	// entries of other keys.
	s.held.add(order)
	s.reset()
	return s.held.len() == 0, nil
}

// holdsPay judges, when the store holds writes, whether holding order
// too would fold enough of it into them to pay: a held write costs a copy
// and a lookup of every read until it is applied, and saves a write to
// inner only if a later commit writes its key again. Keys that seldom
// repeat from commit to commit (an aggregation over more keys than a few
// commits write) fold little, and the store then applies its commits for
// a number of commits that doubles each time holding fails, up to
// holdMaxBackoff, before it tries again. It samples up to holdSample keys
// of order.
func (s *TxnStore) holdsPay(order []*txnEntry) bool {
	if s.held.len() == 0 {
		return true
	}
	sample := order[:min(len(order), holdSample)]
	folded := 0
	for _, e := range sample {
		if _, ok := s.held.index[e.key]; ok {
			folded++
		}
	}
	if holdMinFold*folded >= len(sample) {
		s.holdBackoff = 0
		return true
	}
	s.holdBackoff = min(max(2*s.holdBackoff, holdFirstBackoff), holdMaxBackoff)
	s.holdSkip = s.holdBackoff
	return false
}

const (
	// holdSample is how many keys of a commit holdsPay looks up.
	holdSample = 64
	// holdMinFold: holding pays if one key in holdMinFold was held.
	holdMinFold = 4
	// holdFirstBackoff and holdMaxBackoff bound the commits a store
	// applies before it tries holding again.
	holdFirstBackoff = 16
	holdMaxBackoff   = 512
)

// Holds reports whether the store holds committed writes inner does not
// (see CommitDeferred).
func (s *TxnStore) Holds() bool { return s.held.len() > 0 }

// ApplyDeferred writes to inner what commits left held (see
// CommitDeferred), leaving any open transaction as it is.
func (s *TxnStore) ApplyDeferred() error {
	if err := s.check("apply"); err != nil {
		return err
	}
	if err := s.land(); err != nil {
		return err
	}
	if s.held.len() == 0 {
		return nil
	}
	bw, batched := s.inner.(BatchWriter)
	if batched {
		bw.BeginBatch()
	}
	written := 0
	err := s.applyHeld(bw, &written)
	if batched {
		if cerr := bw.CommitBatch(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return storeErr(s.Name(), "apply", err)
	}
	return s.inner.Flush()
}

// keepHeldClean keeps held writes inner now holds as clean entries:
// later reads of their keys need not ask it.
func (s *TxnStore) keepHeldClean(slots []*heldSlot) {
	for _, sl := range slots {
		s.clean.set(unsafe.Slice(unsafe.StringData(sl.key), len(sl.key)), sl.value, sl.value == nil)
	}
}

// applyHeld writes the held writes to inner in key order and drops them;
// batched counts the open batch's writes, as for writeDown.
func (s *TxnStore) applyHeld(bw BatchWriter, batched *int) error {
	if s.held.len() == 0 {
		return nil
	}
	sorted := s.held.sorted()
	for _, sl := range sorted {
		if err := s.writeDown(bw, batched, sl.key, sl.value, sl.value == nil); err != nil {
			return err
		}
	}
	s.keepHeldClean(sorted)
	// A view reading inner instead now sees the same.
	s.held.reset()
	return nil
}
