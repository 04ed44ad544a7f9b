package state

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/google/btree"
)

// TxnStore holds the writes of an open Kafka transaction above a bytes
// store, so that under exactly-once a store is never ahead of its
// changelog: reads see the pending writes, Commit applies them once the
// transaction that carried their changelog records has committed, and
// Abort drops them. Flush does not apply them: it only asks the layers
// above to push their writes down to here.
//
// The buffer holds one entry per key written in the transaction, in a hash
// map: a write pays no ordering. Order is paid only when it is needed: a
// range scan builds a key index, which the buffer then keeps up to date
// until the transaction ends, and Commit sorts the keys it applies (in
// index order if there is one), which is the order Pebble inserts fastest.
// A store that never scans therefore never orders its writes but once per
// commit. Keys and values live in arenas reused from one transaction to the
// next, the map's keys pointing into the keys' arena: a write allocates
// nothing once the arenas, slabs and map have grown to the transaction's
// size.
//
// UncommittedBytes is what the buffer holds, and what the changelog
// records of its writes will hold once sent, so that the task can commit
// early rather than let memory grow with the commit interval (Kafka's
// KIP-892 statestore.uncommitted.max.bytes).
//
// After a commit the buffer keeps what it applied as clean entries (see
// cleanRing), up to txnCleanMaxBytes or what a cache above lends it, the
// oldest dropped first: a store's hot keys are read and written in every
// transaction, and without them each transaction would read them all from
// inner again, word count's main cost after its writes. A clean entry is a
// copy of what inner holds, so reads below the pending writes may use it
// in inner's place; everything that writes inner by another way (restore)
// drops them (dropClean), as does Abort. They are not uncommitted, so
// UncommittedBytes does not count them.
//
// A commit may also leave its writes held rather than applied
// (CommitDeferred), for the host to apply several commits' at once: a
// store whose keys repeat from one commit to the next then writes Pebble
// once for several commits, folded. Held writes are committed: reads, and
// views (see viewOver), see them as they see inner, and a range scan, a
// DeleteRange, a restore or a count applies them first.
//
// A DeleteRange is held as a range tombstone: reads see through it, and
// Commit applies it in order with the point writes. Because it drops the
// pending writes it covers, every pending write inside a tombstone came
// after it, so Commit applies the tombstones first, then the writes.
//
// The changelog layer above folds its writes through the buffer (see
// NewChangeLoggingStore): each entry remembers the time of its last write
// and whether the changelog has had it, so that a flush sends one record
// per key written since the last flush without keeping a second copy. A
// cache above it may keep its dirty entries here too (see CachingStore):
// an entry then also remembers that the cache has not yet written it down.
type TxnStore struct {
	inner   KeyValueBytesStore
	entries map[string]*txnEntry
	// slabs hold the entries in the order their keys were first written;
	// n is how many are in use, dropped ones included. Entries do not
	// move, so the map, the index and unlogged point into the slabs.
	slabs  [][]txnEntry
	n      int
	values arena
	// keys holds the entries' keys, which the map's keys share: a new key
	// costs no allocation of its own. Everything that holds one of them
	// (map, slabs, index, unlogged, order) is cleared before keys is
	// reset; what hands a key out copies it.
	keys arena
	// keyBytes counts the bytes of the entries' keys.
	keyBytes int64
	// logBytes counts what the changelog records of the transaction cost
	// until it ends (see changelogRecordOverhead).
	logBytes int64
	// index orders the entries by key while indexed: from the first range
	// scan of a transaction to its end.
	index   *btree.BTreeG[*txnEntry]
	indexed bool
	probe   txnEntry
	// last is the entry last looked up: an update reads its key, then
	// writes it.
	last *txnEntry
	// unlogged are the entries the changelog layer wrote and has not yet
	// sent, in the order they became so.
	unlogged []*txnEntry
	// dels are the transaction's range tombstones, sorted and disjoint.
	dels   []keyRange
	order  []*txnEntry // Commit's scratch
	kbuf   []byte
	closed bool
	// missKey is the key the last Get did not find in the buffer, while
	// missed: the write that usually follows makes its entry without
	// looking for it again. Any new entry clears it.
	missKey []byte
	missed  bool

	// cached are the entries a cache above wrote and has not yet written
	// down (see cacheWrite), in the order they became so, from
	// cachedHead on; ncached counts them and cachedBytes their keys,
	// values and cacheEntryOverhead each, what the cache is bounded by.
	cached      []*txnEntry
	cachedHead  int
	ncached     int
	cachedBytes int
	// pre holds the value below the cache (nil: none) of the cached
	// entries that it had written down before in the transaction: the
	// value a delete written down replaces, which the cache's write
	// overwrote. Entries new to the buffer find theirs in inner.
	pre map[*txnEntry][]byte

	// clean holds the clean entries.
	clean cleanRing

	// held are the writes of commits not yet applied (CommitDeferred);
	// deferrable says the store's views read through the buffer
	// (viewOver), which holding needs.
	held       heldWrites
	deferrable bool
	// holdSkip is how many more commits CommitDeferred applies rather
	// than holds, and holdBackoff how many it skipped last time (see
	// holdsPay).
	holdSkip, holdBackoff int

	// async lets Commit hand the commit's writes to a job of inner's
	// database (commitAsync); flight is that commit until it lands, spare
	// the buffers of the one that landed before, for the next.
	async         bool
	flight, spare *txnFlight
}

// txnFlight is a commit whose writes a job of the database applies (see
// commitAsync): the entries of its transaction, and with held, what
// commits before it held. Until it lands, reads find its writes here,
// before the held ones and inner, and views under the held writes' lock.
type txnFlight struct {
	entries map[string]*txnEntry
	slabs   [][]txnEntry
	n       int
	values  arena
	keys    arena
	// order is the entries, sorted by the job.
	order []*txnEntry
	held  bool
	// heldSorted is the held writes, sorted by the job.
	heldSorted []*heldSlot
	job        *dbJob
}

type txnEntry struct {
	// key is also the entry's key in the map.
	key   string
	value []byte
	// ts is the time of the last write, for its changelog record.
	ts       int64
	deleted  bool
	unlogged bool
	// dropped entries were removed by a DeleteRange; they stay in their
	// slab until the transaction ends.
	dropped bool
	// cached entries were written by the cache above and not yet written
	// down by it.
	cached bool
}

// txnEntryOverhead is what the buffer counts per entry beyond its key and
// value bytes: the entry in its slab (56 bytes), its map slot with the
// map's slack (about 50) and the rounding of the key's allocation.
const txnEntryOverhead = 128

// changelogRecordOverhead is what a changelog record costs beyond its key
// and value from the flush that sends it until the commit that waits for
// its acknowledgement: the producer's record (160 bytes), its place in the
// producer's batch and the encoded copy in the request. A store folds its
// changelog records until the commit, then sends one per key written at
// once: over a million keys at a 30 s commit interval, a buffer bounded by
// its own bytes alone sent 110 thousand records at each commit, and the
// Go heap peaked 40 MB above the same word count's at 100 ms.
const changelogRecordOverhead = 256

// txnCleanMaxBytes bounds what a store's clean entries hold unless a
// cache lends them more: about 24 thousand small keys per store (word
// count's records take 30 bytes of ring and 8 of index slot). A thread
// holds one store per task and store name: at a million distinct keys,
// where hot keys are few, 8 MiB per store of the map that held them before
// the ring raised word count's peak RSS by 36 MB.
const txnCleanMaxBytes = 1 << 20

// txnSlabSize is the number of entries per slab.
const txnSlabSize = 512

// keyRange is [from, to); nil bounds are unbounded.
type keyRange struct{ from, to []byte }

// NewTxnStore wraps inner with a transaction buffer.
func NewTxnStore(inner KeyValueBytesStore) *TxnStore {
	return &TxnStore{
		inner:   inner,
		entries: map[string]*txnEntry{},
		clean:   *newCleanRing(txnCleanMaxBytes, rowCacheOf(inner)),
		index: btree.NewG(32, func(a, b *txnEntry) bool {
			return a.key < b.key
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

// UncommittedBytes is the memory the open transaction's writes hold:
// keys, values (including the room of values since overwritten by longer
// ones), and a fixed overhead per key; and for the writes of the changelog
// layer, the records that carry them until the transaction ends, one per
// key and flush.
func (s *TxnStore) UncommittedBytes() int64 {
	return s.keyBytes + s.values.used + int64(s.n)*txnEntryOverhead + s.logBytes
}

// lookup finds key's entry, or nil.
func (s *TxnStore) lookup(key []byte) *txnEntry {
	if e := s.last; e != nil && e.key == string(key) {
		return e
	}
	e := s.entries[string(key)]
	if e != nil {
		s.last = e
	}
	return e
}

func (s *TxnStore) Get(key []byte) ([]byte, bool, error) {
	v, found, _, err := s.find(key)
	return v, found, err
}

// find is Get, also saying whether the buffer held the key, pending or
// clean, so that inner was not asked.
func (s *TxnStore) find(key []byte) (value []byte, found, held bool, err error) {
	if err := s.check("get"); err != nil {
		return nil, false, false, err
	}
	if e := s.lookup(key); e != nil {
		return e.value, !e.deleted, true, nil
	}
	s.missKey, s.missed = append(s.missKey[:0], key...), true
	return s.under(key)
}

// below reads key as the transaction found it, under its pending writes:
// in inner, unless a range tombstone covers it.
func (s *TxnStore) below(key []byte) ([]byte, bool, error) {
	v, found, _, err := s.under(key)
	return v, found, err
}

// under is below, also saying whether a tombstone or a clean entry
// answered rather than inner.
func (s *TxnStore) under(key []byte) (value []byte, found, held bool, err error) {
	if len(s.dels) > 0 && covered(s.dels, key) {
		return nil, false, true, nil
	}
	if f := s.flight; f != nil {
		if e := f.entries[string(key)]; e != nil {
			if e.deleted {
				return nil, false, true, nil
			}
			return e.value, true, true, nil
		}
	}
	if v, found, ok := s.held.get(key); ok {
		return v, found, true, nil
	}
	if v, ok := s.clean.get(key); ok {
		return v, v != nil, true, nil
	}
	v, found, err := s.inner.Get(key)
	return v, found, false, err
}

// DeleteRange drops the pending writes in [from, to) and records a range
// tombstone over it. Without an index it looks at every pending write: the
// stores that use it call it once per expired segment.
func (s *TxnStore) DeleteRange(from, to []byte) error {
	if err := s.check("delete range"); err != nil {
		return err
	}
	if err := s.ApplyDeferred(); err != nil {
		return err
	}
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return nil
	}
	var doomed []*txnEntry
	if s.indexed {
		s.ascend(from, to, func(e *txnEntry) { doomed = append(doomed, e) })
	} else {
		s.each(func(e *txnEntry) {
			if inRangeString(e.key, from, to) {
				doomed = append(doomed, e)
			}
		})
	}
	for _, e := range doomed {
		delete(s.entries, e.key)
		if s.indexed {
			s.index.Delete(e)
		}
		if e.cached {
			s.uncache(e)
		}
		e.dropped = true
	}
	s.last = nil
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

// each calls fn with every entry in the slabs that is not dropped, in the
// order the keys were first written.
func (s *TxnStore) each(fn func(e *txnEntry)) {
	for i := 0; i < s.n; i++ {
		e := &s.slabs[i/txnSlabSize][i%txnSlabSize]
		if !e.dropped {
			fn(e)
		}
	}
}

// ascend calls fn with the indexed entries in [from, to), in order.
func (s *TxnStore) ascend(from, to []byte, fn func(e *txnEntry)) {
	within := func(e *txnEntry) bool {
		if to != nil && e.key >= string(to) {
			return false
		}
		fn(e)
		return true
	}
	if from == nil {
		s.index.Ascend(within)
		return
	}
	s.probe.key = string(from)
	s.index.AscendGreaterOrEqual(&s.probe, within)
	s.probe.key = ""
}

// inRangeString is inRange for a key held as a string.
func inRangeString(key string, from, to []byte) bool {
	return (from == nil || key >= string(from)) && (to == nil || key < string(to))
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

// set records a write of key. logged says the changelog layer made it and
// will send it on its next flush (see takeUnlogged); ts is its time.
func (s *TxnStore) set(key, value []byte, deleted bool, ts int64, logged bool) {
	e, _ := s.entryFor(key)
	s.assign(e, value, deleted)
	if logged {
		e.ts = ts
		if !e.unlogged {
			e.unlogged = true
			s.unlogged = append(s.unlogged, e)
			s.logBytes += int64(len(key)+len(value)) + changelogRecordOverhead
		}
	}
}

// entryFor returns key's entry, made if there is none (made true).
func (s *TxnStore) entryFor(key []byte) (e *txnEntry, made bool) {
	if s.missed && bytes.Equal(s.missKey, key) {
		return s.newEntry(s.keyString(key)), true
	}
	if e := s.lookup(key); e != nil {
		return e, false
	}
	return s.newEntry(s.keyString(key)), true
}

// assign gives e the value written, or marks it deleted.
func (s *TxnStore) assign(e *txnEntry, value []byte, deleted bool) {
	switch {
	case deleted:
		e.value = e.value[:0]
	case len(value) <= cap(e.value):
		e.value = e.value[:len(value)]
		copy(e.value, value)
	default:
		e.value = s.values.copy(value)
	}
	e.deleted = deleted
}

// cacheWrite is a write of the cache above (see CachingStore): it waits
// here, marked cached, until the cache writes it down (nextCached, then
// uncache) through the layers between, at a flush or an eviction. ts is
// the write's record time, kept for the changelog record of the write
// down. keepPre keeps, for an entry written down before in the
// transaction, the value it held (see pre).
func (s *TxnStore) cacheWrite(key, value []byte, deleted bool, ts int64, keepPre bool) {
	e, made := s.entryFor(key)
	if e.cached {
		s.cachedBytes -= len(e.value)
	} else {
		if keepPre && !made {
			var p []byte
			if !e.deleted {
				p = s.values.copy(e.value)
				if p == nil {
					p = emptyValue
				}
			}
			if s.pre == nil {
				s.pre = make(map[*txnEntry][]byte)
			}
			s.pre[e] = p
		}
		e.cached = true
		s.cached = append(s.cached, e)
		s.ncached++
		s.cachedBytes += len(e.key) + cacheEntryOverhead
	}
	s.assign(e, value, deleted)
	s.cachedBytes += len(e.value)
	e.ts = ts
}

// nextCached returns the oldest entry the cache has not written down, or
// nil.
func (s *TxnStore) nextCached() *txnEntry {
	for s.cachedHead < len(s.cached) {
		e := s.cached[s.cachedHead]
		s.cached[s.cachedHead] = nil
		s.cachedHead++
		if e.cached {
			return e
		}
	}
	s.cached, s.cachedHead = s.cached[:0], 0
	return nil
}

// uncache marks e written down by the cache (or dropped), returning its
// value below the cache if pre holds it.
func (s *TxnStore) uncache(e *txnEntry) (pre []byte, hadPre bool) {
	e.cached = false
	s.ncached--
	s.cachedBytes -= len(e.key) + len(e.value) + cacheEntryOverhead
	if s.pre != nil {
		if pre, hadPre = s.pre[e]; hadPre {
			delete(s.pre, e)
		}
	}
	return pre, hadPre
}

// recache puts e, which the cache failed to write down, back at the
// front of the entries it has to.
func (s *TxnStore) recache(e *txnEntry, pre []byte, hadPre bool) {
	e.cached = true
	s.ncached++
	s.cachedBytes += len(e.key) + len(e.value) + cacheEntryOverhead
	if hadPre {
		s.pre[e] = pre
	}
	if s.cachedHead > 0 {
		s.cachedHead--
		s.cached[s.cachedHead] = e
		return
	}
	s.cached = slices.Insert(s.cached, 0, e)
}

// keyString copies key into the keys arena and returns the copy as a
// string.
func (s *TxnStore) keyString(key []byte) string {
	if len(key) == 0 {
		return ""
	}
	b := s.keys.copy(key)
	return unsafe.String(&b[0], len(b))
}

func (s *TxnStore) newEntry(key string) *txnEntry {
	if s.n == len(s.slabs)*txnSlabSize {
		s.slabs = append(s.slabs, make([]txnEntry, txnSlabSize))
	}
	e := &s.slabs[s.n/txnSlabSize][s.n%txnSlabSize]
	s.n++
	// A present value is never nil, even when empty.
	*e = txnEntry{key: key, value: emptyValue}
	s.entries[key] = e
	s.missed = false
	s.keyBytes += int64(len(key))
	if s.indexed {
		s.index.ReplaceOrInsert(e)
	}
	s.last = e
	return e
}

func (s *TxnStore) Put(key, value []byte) error {
	if err := s.check("put"); err != nil {
		return err
	}
	s.set(key, value, false, 0, false)
	return nil
}

func (s *TxnStore) Delete(key []byte) error {
	if err := s.check("delete"); err != nil {
		return err
	}
	s.set(key, nil, true, 0, false)
	return nil
}

// putLogged is Put for the changelog layer: the write waits here for its
// changelog record as well as for the commit.
func (s *TxnStore) putLogged(key, value []byte, ts int64) error {
	if err := s.check("put"); err != nil {
		return err
	}
	s.set(key, value, false, ts, true)
	return nil
}

// deleteLogged is Delete for the changelog layer.
func (s *TxnStore) deleteLogged(key []byte, ts int64) error {
	if err := s.check("delete"); err != nil {
		return err
	}
	s.set(key, nil, true, ts, true)
	return nil
}

// takeUnlogged calls fn, in the order they were first written since the
// last call, with the last write of each key the changelog layer wrote
// (value nil for a delete). A key fn fails on, and those after it, are
// handed out again by the next call.
func (s *TxnStore) takeUnlogged(fn func(key, value []byte, ts int64) error) error {
	for i, e := range s.unlogged {
		if e.dropped || !e.unlogged {
			continue
		}
		var value []byte
		if !e.deleted {
			value = e.value
		}
		s.kbuf = append(s.kbuf[:0], e.key...)
		if err := fn(s.kbuf, value, e.ts); err != nil {
			n := copy(s.unlogged, s.unlogged[i:])
			clear(s.unlogged[n:])
			s.unlogged = s.unlogged[:n]
			return err
		}
		e.unlogged = false
	}
	clear(s.unlogged)
	s.unlogged = s.unlogged[:0]
	return nil
}

func (s *TxnStore) Range(from, to []byte) (BytesIterator, error) {
	return s.newIter("range", from, to, false)
}

func (s *TxnStore) ReverseRange(from, to []byte) (BytesIterator, error) {
	return s.newIter("reverse range", from, to, true)
}

// buildIndex orders the pending entries, once per transaction.
func (s *TxnStore) buildIndex() {
	if s.indexed {
		return
	}
	s.indexed = true
	s.each(func(e *txnEntry) { s.index.ReplaceOrInsert(e) })
}

func (s *TxnStore) newIter(op string, from, to []byte, reverse bool) (BytesIterator, error) {
	if err := s.check(op); err != nil {
		return nil, err
	}
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return emptyIterator{}, nil
	}
	if err := s.ApplyDeferred(); err != nil {
		return nil, err
	}
	var pending []cachedKV
	if len(s.entries) > 0 {
		s.buildIndex()
		// Entries may change while the iterator is open; it reads a copy,
		// made in one buffer.
		var buf []byte
		var spans []cachedSpan
		s.ascend(from, to, func(e *txnEntry) {
			start := len(buf)
			buf = append(buf, e.key...)
			buf = append(buf, e.value...)
			spans = append(spans, cachedSpan{start: start, keyLen: len(e.key), end: len(buf), deleted: e.deleted})
		})
		pending = make([]cachedKV, len(spans))
		for i, sp := range spans {
			j := i
			if reverse {
				j = len(spans) - 1 - i
			}
			pending[j] = cachedKV{
				key:     buf[sp.start : sp.start+sp.keyLen : sp.start+sp.keyLen],
				value:   buf[sp.start+sp.keyLen : sp.end : sp.end],
				deleted: sp.deleted,
			}
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
	if err := s.ApplyDeferred(); err != nil {
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
	var ferr error
	s.each(func(e *txnEntry) {
		if ferr != nil {
			return
		}
		s.kbuf = append(s.kbuf[:0], e.key...)
		_, found, err := s.inner.Get(s.kbuf)
		if err != nil {
			ferr = err
			return
		}
		found = found && !covered(s.dels, s.kbuf)
		switch {
		case e.deleted && found:
			n--
		case !e.deleted && !found:
			n++
		}
	})
	return n, ferr
}

// Flush does nothing: pending writes reach inner only on Commit.
func (s *TxnStore) Flush() error { return s.check("flush") }

// Commit applies the pending writes to inner, in key order, and flushes
// it. Call it only after the transaction that logged them committed. It
// fails, applying nothing, if the changelog layer above has writes it has
// not sent: the store would be ahead of its changelog.
func (s *TxnStore) Commit() error {
	if err := s.check("commit"); err != nil {
		return err
	}
	for _, e := range s.unlogged {
		if e.unlogged && !e.dropped {
			return storeErr(s.Name(), "commit", fmt.Errorf("%d writes were not sent to the changelog: flush before committing", len(s.unlogged)))
		}
	}
	if s.ncached > 0 {
		return storeErr(s.Name(), "commit", fmt.Errorf("the cache holds %d writes it has not written down: flush before committing", s.ncached))
	}
	if err := s.land(); err != nil {
		return err
	}
	if aw, ok := s.inner.(asyncWriter); ok && s.async && len(s.dels) == 0 {
		s.commitAsync(aw)
		return s.inner.Flush()
	}
	bw, batched := s.inner.(BatchWriter)
	if batched {
		bw.BeginBatch()
	}
	// What earlier commits held goes first: the transaction's tombstones
	// and writes come after it.
	written := 0
	err := s.applyHeld(bw, &written)
	if err == nil {
		for _, r := range s.dels {
			if err = s.inner.DeleteRange(r.from, r.to); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = s.apply(bw, &written)
	}
	if batched {
		if cerr := bw.CommitBatch(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		// Inner may hold some of the writes: what the clean entries say
		// of their keys may be stale.
		s.dropClean()
		return err
	}
	if len(s.dels) > 0 {
		// Inner dropped whole ranges: the clean entries within are stale.
		s.dropClean()
	}
	s.keepClean(s.order)
	s.reset()
	return s.inner.Flush()
}

// commitAsync ends the transaction by handing its writes, with what
// commits before it held, to a job of inner's database, which sorts and
// applies them while the task goes on; the commit is the store's flight
// until it lands (see land). The flight takes the transaction's entries,
// slabs and arenas as they are, and the transaction goes on with those of
// the flight before, so that nothing is copied. inner's filter learns the
// keys here, before the job writes them.
func (s *TxnStore) commitAsync(aw asyncWriter) {
	f := s.spare
	s.spare = nil
	if f == nil {
		f = &txnFlight{entries: map[string]*txnEntry{}}
	}
	f.entries, s.entries = s.entries, f.entries
	f.slabs, s.slabs = s.slabs, f.slabs
	f.n, s.n = s.n, f.n
	f.values, s.values = s.values, f.values
	f.keys, s.keys = s.keys, f.keys
	order := f.order[:0]
	for i := 0; i < f.n; i++ {
		e := &f.slabs[i/txnSlabSize][i%txnSlabSize]
		if e.dropped {
			continue
		}
		order = append(order, e)
		aw.noteWrite(unsafe.Slice(unsafe.StringData(e.key), len(e.key)))
	}
	f.order = order
	f.held = s.held.len() > 0
	held := &s.held
	for i := range held.slots {
		aw.noteWrite(unsafe.Slice(unsafe.StringData(held.slots[i].key), len(held.slots[i].key)))
	}
	f.job = aw.applyAsync(func(put func(key string, value []byte, deleted bool) error) error {
		// What commits held is older: it goes first.
		if f.held {
			f.heldSorted = held.sorted()
			for _, sl := range f.heldSorted {
				if err := put(sl.key, sl.value, sl.value == nil); err != nil {
					return err
				}
			}
		}
		slices.SortFunc(f.order, func(a, b *txnEntry) int { return strings.Compare(a.key, b.key) })
		for _, e := range f.order {
			if err := put(e.key, e.value, e.deleted); err != nil {
				return err
			}
		}
		return nil
	})
	held.mu.Lock()
	held.flight = f.entries
	held.mu.Unlock()
	s.flight = f
	s.reset()
}

// Flying reports whether a commit of the store is being applied by a job
// of its database (see commitAsync).
func (s *TxnStore) Flying() bool { return s.flight != nil }

// FlightDone reports whether a commit of the store that a job of its
// database applied is done and waits to land (see Land).
func (s *TxnStore) FlightDone() bool {
	if s.flight == nil {
		return false
	}
	select {
	case <-s.flight.job.done:
		return true
	default:
		return false
	}
}

// Land waits until the commit a job of the database applies, if any, is
// applied, and returns the job's failure: a host with nothing more to
// commit calls it, so that a write the disk refused fails the task now
// rather than at its next commit.
func (s *TxnStore) Land() error {
	if err := s.check("apply"); err != nil {
		return err
	}
	return s.land()
}

// land waits until the store's flight, if it has one, is applied, keeps
// its writes as clean entries and ends it. After a failure inner may hold
// some of the writes; the clean entries are dropped.
func (s *TxnStore) land() error {
	f := s.flight
	if f == nil {
		return nil
	}
	err := f.job.wait()
	s.flight = nil
	if lerr := s.inner.(asyncWriter).landed(f.job); err == nil {
		err = lerr
	}
	if err == nil {
		// The disk may have refused a write behind the job's (Pebble
		// writes its log behind its commits): the database is broken.
		err = s.inner.Flush()
	}
	if err != nil {
		s.dropClean()
	} else {
		if f.held {
			s.keepHeldClean(f.heldSorted)
		}
		s.keepClean(f.order)
	}
	// In one step for views: the held writes the flight applied are
	// older than its own, and must not show once its own are gone.
	s.held.mu.Lock()
	s.held.flight = nil
	if f.held {
		s.held.resetLocked()
	}
	s.held.mu.Unlock()
	clear(f.entries)
	f.slabs, f.n = clearSlabs(f.slabs, f.n), 0
	f.values.reset()
	f.keys.reset()
	clear(f.order)
	f.order = f.order[:0]
	f.heldSorted, f.job, f.held = nil, nil, false
	s.spare = f
	if err != nil {
		return storeErr(s.Name(), "apply", err)
	}
	return nil
}

// keepClean keeps the entries just applied as clean entries, the oldest
// making room for them. A commit of more than the clean entries can hold
// replaces them with its last keys.
func (s *TxnStore) keepClean(order []*txnEntry) {
	ringMax := s.clean.reach()
	need := 0
	for i := len(order) - 1; i >= 0; i-- {
		e := order[i]
		if need += len(e.key) + len(e.value) + 3; need > ringMax {
			// The keys before i would be overwritten by the keys after
			// them; the clean entries of those keys, by any.
			s.dropClean()
			order = order[i+1:]
			break
		}
	}
	for _, e := range order {
		s.clean.set(unsafe.Slice(unsafe.StringData(e.key), len(e.key)), e.value, e.deleted)
	}
}

// rowCacheOf returns the row cache of the database inner lives in, if it
// has one.
func rowCacheOf(inner KeyValueBytesStore) *RowCache {
	if rc, ok := inner.(interface{ rowCache() *RowCache }); ok {
		return rc.rowCache()
	}
	return nil
}

// dropClean drops the clean entries: inner is about to be written by
// another way than the buffer's commits, as a restore does.
func (s *TxnStore) dropClean() { s.clean.reset() }

// setCleanMax bounds what the clean entries hold to max bytes.
func (s *TxnStore) setCleanMax(max int) { s.clean.setMax(max) }

// apply writes the entries to inner in key order. On a BatchWriter it
// commits a batch every txnBatchBytes, so that a large transaction does not
// build a second copy of itself in one Pebble batch: the parts need not be
// atomic, since the changelog offset that vouches for them is written only
// after the last.
func (s *TxnStore) apply(bw BatchWriter, batched *int) error {
	order := s.order[:0]
	if s.indexed {
		s.index.Ascend(func(e *txnEntry) bool {
			order = append(order, e)
			return true
		})
	} else {
		s.each(func(e *txnEntry) { order = append(order, e) })
		slices.SortFunc(order, func(a, b *txnEntry) int { return strings.Compare(a.key, b.key) })
	}
	s.order = order
	for _, e := range order {
		if err := s.writeDown(bw, batched, e.key, e.value, e.deleted); err != nil {
			return err
		}
	}
	return nil
}

// writeDown writes one key to inner. On a BatchWriter it commits the batch
// and begins another once the batch's writes, counted in *batched, reach
// txnBatchBytes.
func (s *TxnStore) writeDown(bw BatchWriter, batched *int, key string, value []byte, deleted bool) error {
	s.kbuf = append(s.kbuf[:0], key...)
	var err error
	if deleted {
		err = s.inner.Delete(s.kbuf)
	} else {
		err = s.inner.Put(s.kbuf, value)
	}
	if err != nil || bw == nil {
		return err
	}
	if *batched += len(key) + len(value) + txnBatchEntryOverhead; *batched >= txnBatchBytes {
		if err := bw.CommitBatch(); err != nil {
			return err
		}
		bw.BeginBatch()
		*batched = 0
	}
	return nil
}

// txnBatchBytes is the most a commit writes to one Pebble batch, counted
// as the room its entries take in a memtable: under half of a memtable,
// at which Pebble would make the batch a memtable of its own, queued for
// a flush of its own with its data held until then. A memtable entry
// costs its skiplist node (up to 20 levels of links) on top of the bytes:
// for word count's small keys and values, eight times what they hold,
// so that counting the bytes alone made every batch such a memtable.
const txnBatchBytes = memTableSize / 4

// txnBatchEntryOverhead is what a write costs in a memtable beyond its
// key and value: Pebble's largest skiplist node, its 8-byte key trailer
// and the store's key prefix.
const txnBatchEntryOverhead = 224

// Abort drops the pending writes, and the clean entries with them.
func (s *TxnStore) Abort() {
	s.reset()
	s.dropClean()
}

// reset drops the pending writes.
func (s *TxnStore) reset() {
	clear(s.entries)
	s.slabs, s.n = clearSlabs(s.slabs, s.n), 0
	s.keyBytes, s.logBytes = 0, 0
	s.values.reset()
	if s.indexed {
		s.index.Clear(false)
		s.indexed = false
	}
	s.last = nil
	s.missed = false
	clear(s.unlogged)
	s.unlogged = s.unlogged[:0]
	clear(s.cached)
	s.cached, s.cachedHead, s.ncached, s.cachedBytes = s.cached[:0], 0, 0, 0
	clear(s.pre)
	clear(s.order)
	s.order = s.order[:0]
	clear(s.dels)
	s.dels = s.dels[:0]
	// Nothing holds a key any more.
	s.keys.reset()
}

// clearSlabs clears the first n entries of slabs and returns them with
// no more than txnKeepSlabs left: a transaction far larger than usual
// leaves no more behind than that for the next.
func clearSlabs(slabs [][]txnEntry, n int) [][]txnEntry {
	for i := 0; i*txnSlabSize < n; i++ {
		clear(slabs[i])
	}
	if len(slabs) > txnKeepSlabs {
		clear(slabs[txnKeepSlabs:])
		slabs = slabs[:txnKeepSlabs]
	}
	return slabs
}

// txnKeepSlabs is how many slabs an ended transaction leaves for the next.
const txnKeepSlabs = 256

// Close drops what the buffer holds, held commits included: the host
// applies those first (ApplyDeferred) or restores them later.
func (s *TxnStore) Close() error {
	if s.closed {
		return nil
	}
	lerr := s.land()
	s.Abort()
	s.held.reset()
	s.clean.release()
	s.closed = true
	return errors.Join(lerr, s.inner.Close())
}

var _ KeyValueBytesStore = (*TxnStore)(nil)

// arena hands out copies of byte slices from large chunks, reused once
// reset: the values of a transaction, which all die together.
type arena struct {
	cur  []byte   // the chunk being filled
	full [][]byte // chunks filled since the last reset
	free [][]byte // chunks to fill next
	used int64    // bytes handed out since the last reset
}

const (
	arenaChunk = 64 << 10
	// arenaKeepChunks bounds what a reset keeps for reuse (16 MiB).
	arenaKeepChunks = 256
)

// copy returns a copy of b, with no room to grow: a longer value later
// gets a new copy.
func (a *arena) copy(b []byte) []byte {
	n := len(b)
	a.used += int64(n)
	if n > arenaChunk/8 {
		return bytes.Clone(b)
	}
	if cap(a.cur)-len(a.cur) < n {
		if a.cur != nil {
			a.full = append(a.full, a.cur)
		}
		if k := len(a.free); k > 0 {
			a.cur, a.free = a.free[k-1][:0], a.free[:k-1]
		} else {
			a.cur = make([]byte, 0, arenaChunk)
		}
	}
	off := len(a.cur)
	a.cur = append(a.cur, b...)
	return a.cur[off : off+n : off+n]
}

// reset makes every chunk free again. The caller holds no slice handed
// out before.
func (a *arena) reset() {
	if a.cur != nil {
		a.full = append(a.full, a.cur)
		a.cur = nil
	}
	for _, c := range a.full {
		if len(a.free) < arenaKeepChunks {
			a.free = append(a.free, c)
		}
	}
	clear(a.full)
	a.full = a.full[:0]
	a.used = 0
}
