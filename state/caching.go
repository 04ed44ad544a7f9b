package state

import (
	"bytes"
	"errors"

	"github.com/google/btree"
)

// cacheEntryOverhead is what the cache charges each entry on top of its key
// and value bytes, so that maxBytes bounds the heap the cache holds: the
// entry struct (88 bytes, allocated as 96), its map slot with the map's
// slack (about 50), and the rounding of the key's and value's allocations
// up to their size classes. Measured at 170 to 175 bytes beyond the key and
// value for word count's entries; charging 64, a 10 MiB cache of a million
// keys held 22 MiB.
const cacheEntryOverhead = 176

// CachingStore is the record cache of Kafka Streams for one store: it folds
// repeated writes to a key so that only the last one per commit interval
// reaches the layers below (changelog and bytes store), and a table
// downstream sees one update per key and interval instead of one per record.
//
// Writes stay in the cache, dirty, until Flush or until the cache holds more
// than maxBytes (keys, values and a fixed overhead per entry). Going over the
// limit first drops entries that are clean (already written down), then
// writes down and drops dirty entries in the order they were first dirtied,
// the oldest first. Reads and ranges see cached writes, including deletes.
// Entries written down stay cached, clean, to serve reads until evicted;
// reads that miss do not fill the cache.
//
// Over a transaction buffer (the stores of a task's Pebble database), and
// with no flush listener or one that takes no old values, the cache may
// keep its dirty entries in the buffer rather than in entries of its own
// (modeFused): a write that is not folded with another then costs what it
// costs without a cache, and a write down only marks it so and hands it to
// the changelog layer and the listener. Reads are served by the buffer,
// which holds every key written since the last commit, and after a commit
// by the buffer's clean entries, to which the cache then lends its
// maxBytes: they cost a fifth of what the cache's own entries do (see
// cleanRing), so that where the cache's own entries held a fifth of a
// store of uniformly read keys the clean entries hold most of it, and
// those reads skip Pebble. What the mode gives up is the cache's folding
// of writes across commits, and its answering reads above the layers. So
// the cache keeps its own entries while they serve most reads, and goes
// over to the buffer when they do not (keys too many for the cache, each
// read a few times), trying its own entries again after a number of
// flushes that doubles each time they fail (see adapt); its own entries
// then get what the clean entries leave of maxBytes (see ownMax), so that
// the two together stay within it.
//
// Close drops unflushed writes: the task flushes before a clean close, and
// after a failure the writes must not reach the changelog. Close closes
// inner. Like every store, a CachingStore is used by one goroutine.
type CachingStore struct {
	inner    KeyValueBytesStore
	maxBytes int
	size     int
	entries  map[string]*cacheEntry
	// index orders the dirty entries by key so that Range can merge them
	// with inner's keys without sorting the whole cache. It is built by the
	// first range or range deletion that needs it (indexed), kept up to
	// date while the cache holds dirty entries, and dropped once it holds
	// none: writes pay for order only where ranges are read.
	index    *btree.BTreeG[*cacheEntry]
	indexed  bool
	dirty    entryList // in the order entries were first dirtied
	clean    entryList // in the order entries were written down
	listener func(key, newValue, oldValue []byte, timestamp int64) error
	// skipOld spares the read of the value inner holds before each write
	// down, for a listener that needs old values only to tell whether a
	// delete removed a row.
	skipOld bool
	clock   func() int64
	oldBuf  []byte
	probe   cacheEntry
	last    *cacheEntry // the entry last looked up
	// missed is the key last looked up and not found, while hasMissed.
	missed    []byte
	hasMissed bool
	// free are dropped entries, linked by next, to reuse.
	free     *cacheEntry
	nfree    int
	flushing bool
	closed   bool
	// hits and misses count the Gets the cache answered and passed down,
	// when the host measures the store (StoreMetrics): nHits and nMisses
	// since they were last added to them, at a Flush, so that a Get pays
	// for a plain increment only.
	hits, misses   Counter
	nHits, nMisses int64

	// txn is the transaction buffer under inner (or inner itself), if
	// there is one; mode says whether the cache keeps its entries there
	// (modeFused), chosen at the end of each flush (adapt), and undecided
	// once the listener changed, until the next operation.
	txn  *TxnStore
	mode cacheMode
	// writeTS is the record time of the write being written down, while
	// writingTS.
	writeTS   int64
	writingTS bool
	kbuf      []byte
	// flushes counts the flushes since the mode last changed, and backoff
	// is how many a fused cache waits before trying its own entries again.
	flushes, backoff int
	// judgeHits and judgeMisses add up the reads of the flush intervals
	// not yet judged: a store read a few times per commit is judged on
	// several intervals together.
	judgeHits, judgeMisses int64
}

const (
	// adaptMinReads is the fewest reads, over one flush interval or
	// several, that tell whether the cache's entries serve them.
	adaptMinReads = 256
	// adaptFirstBackoff and adaptMaxBackoff bound the flushes a fused
	// cache waits before trying its own entries again.
	adaptFirstBackoff = 16
	adaptMaxBackoff   = 512
)

// cacheMode is where a CachingStore keeps its dirty entries.
type cacheMode uint8

const (
	modeUndecided cacheMode = iota
	// modeOwn keeps them in the cache's own entries.
	modeOwn
	// modeFused keeps them in the transaction buffer below. The buffer
	// holds the value of the write, not the value below it, so the mode
	// serves only a listener without old values, or none; for deletes it
	// keeps what a listener is given (see TxnStore.pre).
	modeFused
)

// fused decides the mode, if undecided, and reports whether it is
// modeFused. A cache starts with entries of its own.
func (c *CachingStore) fused() bool {
	if c.mode == modeUndecided {
		c.mode, c.flushes, c.backoff = modeOwn, 0, 0
	}
	return c.mode == modeFused
}

// fusable reports whether the cache may keep its entries in the buffer.
func (c *CachingStore) fusable() bool {
	return c.txn != nil && (c.listener == nil || c.skipOld)
}

// adapt chooses the mode for the next flush interval, at the end of a
// flush that left nothing dirty, from the reads of the interval that
// ended: hits the cache answered, misses it passed down. Its own entries
// are judged on reads of adaptMinReads or more, over as many intervals as
// that takes: on the second such span they serve, the first after one
// filled them; they go if they answered fewer than half of its reads.
func (c *CachingStore) adapt(hits, misses int64) {
	if c.Dirty() {
		return
	}
	if !c.fusable() {
		c.mode = modeOwn
		if c.txn != nil {
			// Its bytes are its own entries' again.
			c.txn.setCleanMax(txnCleanMaxBytes)
		}
		return
	}
	switch c.mode {
	case modeOwn:
		c.judgeHits += hits
		c.judgeMisses += misses
		hits, misses = c.judgeHits, c.judgeMisses
		if hits+misses < adaptMinReads {
			return
		}
		c.judgeHits, c.judgeMisses = 0, 0
		if c.flushes++; c.flushes < 2 {
			return
		}
		if 2*hits >= hits+misses {
			c.backoff = 0
			return
		}
		c.dropClean()
		c.mode, c.flushes = modeFused, 0
		c.backoff = min(max(2*c.backoff, adaptFirstBackoff), adaptMaxBackoff)
		c.txn.setCleanMax(max(c.maxBytes, txnCleanMaxBytes))
	case modeFused:
		if c.flushes++; c.flushes >= c.backoff {
			c.mode, c.flushes = modeOwn, 0
			c.judgeHits, c.judgeMisses = 0, 0
		}
	}
}

// redecide has the next operation decide the mode anew, if the cache holds
// no writes: the listener changed. Clean entries of its own are dropped,
// since a fused cache would not see them.
func (c *CachingStore) redecide() {
	if c.mode == modeUndecided || c.Dirty() {
		return
	}
	c.dropClean()
	c.mode = modeUndecided
	c.judgeHits, c.judgeMisses = 0, 0
}

type cacheEntry struct {
	key     []byte
	value   []byte
	deleted bool
	dirty   bool
	// ts is the record time of the entry's last write.
	ts         int64
	prev, next *cacheEntry
	list       *entryList
}

// NewCachingStore returns a cache of at most maxBytes in front of inner.
// maxBytes 0 writes every change straight through. Over a TxnStore, or a
// changelog layer over one, the cache may keep its entries in it (see
// CachingStore).
func NewCachingStore(inner KeyValueBytesStore, maxBytes int) *CachingStore {
	var txn *TxnStore
	switch s := inner.(type) {
	case *TxnStore:
		txn = s
	case *changeLoggingStore:
		txn = s.buffer()
	}
	return &CachingStore{
		txn:      txn,
		inner:    inner,
		maxBytes: maxBytes,
		entries:  make(map[string]*cacheEntry),
		index: btree.NewG(32, func(a, b *cacheEntry) bool {
			return bytes.Compare(a.key, b.key) < 0
		}),
	}
}

// SetFlushListener sets fn to be called for each entry the cache writes down
// to inner, on Flush or on eviction, after the write: with the key, the new
// value (nil for a delete), the value inner held before (nil if none),
// which is the value before the first write the cache folded, and the
// record time of the entry's last write (see SetClock). It is not called
// when both values are nil. The slices are valid only during the call. An
// error from fn stops the flush or write that caused it and is returned
// from there. The DSL uses it to forward a table's updates downstream.
func (c *CachingStore) SetFlushListener(fn func(key, newValue, oldValue []byte, timestamp int64) error) {
	c.listener = fn
	c.redecide()
}

// SetSendOldValues says whether the flush listener is given old values
// (the default). Without them, the cache reads what inner holds only
// before writing down a delete, to skip deletes of keys inner lacks, and
// passes a nil old value for every other write: the read is half the cost
// of a flush when keys are many, and a table that nothing downstream
// retracts from does not need it (Kafka Streams' sendOldValues).
func (c *CachingStore) SetSendOldValues(on bool) {
	c.skipOld = !on
	c.redecide()
}

// SetClock sets where writes get the record time the flush listener is
// given: the task's current record timestamp. Without one it is 0.
func (c *CachingStore) SetClock(now func() int64) { c.clock = now }

// Dirty reports whether the cache holds writes not yet written down.
func (c *CachingStore) Dirty() bool {
	if c.mode == modeFused {
		return c.txn.ncached > 0
	}
	return c.dirty.head != nil
}

func (c *CachingStore) Name() string     { return c.inner.Name() }
func (c *CachingStore) Persistent() bool { return c.inner.Persistent() }

func (c *CachingStore) check(op string) error {
	if c.closed {
		return closedErr(c.Name(), op)
	}
	return nil
}

func (c *CachingStore) Get(key []byte) ([]byte, bool, error) {
	if err := c.check("get"); err != nil {
		return nil, false, err
	}
	if c.fused() {
		v, found, held, err := c.txn.find(key)
		if held {
			c.nHits++
		} else {
			c.nMisses++
		}
		return v, found, err
	}
	if e := c.lookup(key); e != nil {
		c.nHits++
		if e.deleted {
			return nil, false, nil
		}
		return e.value, true, nil
	}
	c.nMisses++
	// The write that usually follows makes an entry for the key without
	// looking for it again.
	c.missed, c.hasMissed = append(c.missed[:0], key...), true
	return c.inner.Get(key)
}

// lookup finds key's entry. An update reads the key, then writes it: the
// entry last found answers the write without hashing the key again.
func (c *CachingStore) lookup(key []byte) *cacheEntry {
	if e := c.last; e != nil && bytes.Equal(e.key, key) {
		return e
	}
	e := c.entries[string(key)]
	if e != nil {
		c.last = e
	}
	return e
}

func (c *CachingStore) Put(key, value []byte) error {
	if err := c.check("put"); err != nil {
		return err
	}
	if c.fused() {
		c.txn.cacheWrite(key, value, false, c.now(), c.listener != nil)
		return c.evictFused()
	}
	e := c.entry(key)
	c.size += len(value) - len(e.value)
	if e.value == nil {
		// Non-nil even when empty: an empty value is present.
		e.value = make([]byte, 0, len(value))
	}
	e.value = append(e.value[:0], value...)
	e.deleted = false
	c.stamp(e)
	c.markDirty(e)
	return c.evict()
}

func (c *CachingStore) Delete(key []byte) error {
	if err := c.check("delete"); err != nil {
		return err
	}
	if c.fused() {
		c.txn.cacheWrite(key, nil, true, c.now(), c.listener != nil)
		return c.evictFused()
	}
	e := c.entry(key)
	c.size -= len(e.value)
	e.value = e.value[:0]
	e.deleted = true
	c.stamp(e)
	c.markDirty(e)
	return c.evict()
}

// DeleteRange drops the cached entries in [from, to), dirty or clean, then
// passes the range down. A dropped dirty entry reaches neither the layers
// below nor the flush listener: the range deletion supersedes it. Clean
// entries are found by walking them all, so the cost grows with the
// cache's size; the stores that use it call it once per expired segment.
func (c *CachingStore) DeleteRange(from, to []byte) error {
	if err := c.check("delete range"); err != nil {
		return err
	}
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return nil
	}
	if c.fused() {
		// The buffer drops the cached writes it covers.
		return c.inner.DeleteRange(from, to)
	}
	var doomed []*cacheEntry
	within := func(e *cacheEntry) bool {
		if to != nil && bytes.Compare(e.key, to) >= 0 {
			return false
		}
		doomed = append(doomed, e)
		return true
	}
	c.ordered()
	if from != nil {
		c.probe.key = from
		c.index.AscendGreaterOrEqual(&c.probe, within)
		c.probe.key = nil
	} else {
		c.index.Ascend(within)
	}
	for e := c.clean.head; e != nil; e = e.next {
		if inRange(e.key, from, to) {
			doomed = append(doomed, e)
		}
	}
	for _, e := range doomed {
		c.drop(e)
	}
	return c.inner.DeleteRange(from, to)
}

// inRange reports whether key is in [from, to), nil bounds unbounded.
func inRange(key, from, to []byte) bool {
	return (from == nil || bytes.Compare(key, from) >= 0) && (to == nil || bytes.Compare(key, to) < 0)
}

// dropClean drops every clean entry: a restore below the cache replaces
// what they hold.
func (c *CachingStore) dropClean() {
	for e := c.clean.head; e != nil; e = c.clean.head {
		c.drop(e)
	}
}

// writeTime is the record time of the write being written down while the
// cache writes an entry down, and the clock's otherwise: the changelog
// record of a cached write carries the time of the write the cache kept,
// not of the record that happened to trigger the flush.
func (c *CachingStore) writeTime() int64 {
	if c.writingTS {
		return c.writeTS
	}
	return c.now()
}

func (c *CachingStore) now() int64 {
	if c.clock != nil {
		return c.clock()
	}
	return 0
}

func (c *CachingStore) entry(key []byte) *cacheEntry {
	if e := c.last; e != nil && bytes.Equal(e.key, key) {
		return e
	}
	if !c.hasMissed || !bytes.Equal(c.missed, key) {
		if e := c.lookup(key); e != nil {
			return e
		}
	}
	c.hasMissed = false
	e := c.free
	if e != nil {
		// A dropped entry, with its key and value arrays.
		c.free, c.nfree = e.next, c.nfree-1
		*e = cacheEntry{key: append(e.key[:0], key...), value: e.value[:0:cap(e.value)]}
	} else {
		e = &cacheEntry{key: clone(key)}
	}
	c.entries[string(e.key)] = e
	c.last = e
	c.size += len(key) + cacheEntryOverhead
	return e
}

func (c *CachingStore) stamp(e *cacheEntry) {
	if c.clock != nil {
		e.ts = c.clock()
	}
}

func (c *CachingStore) markDirty(e *cacheEntry) {
	if e.dirty {
		return
	}
	if e.list != nil {
		e.list.remove(e)
	}
	c.dirty.pushBack(e)
	if c.indexed {
		c.index.ReplaceOrInsert(e)
	}
	e.dirty = true
}

func (c *CachingStore) markClean(e *cacheEntry) {
	c.unlistDirty(e)
	c.clean.pushBack(e)
	e.dirty = false
}

// unlistDirty takes e off the dirty list and the index.
func (c *CachingStore) unlistDirty(e *cacheEntry) {
	c.dirty.remove(e)
	if !c.indexed {
		return
	}
	if c.dirty.head == nil {
		c.index.Clear(false)
		c.indexed = false
		return
	}
	c.index.Delete(e)
}

// ordered builds the index of the dirty entries if there is none.
func (c *CachingStore) ordered() {
	if c.indexed {
		return
	}
	c.indexed = true
	for e := c.dirty.head; e != nil; e = e.next {
		c.index.ReplaceOrInsert(e)
	}
}

func (c *CachingStore) drop(e *cacheEntry) {
	if e.dirty {
		c.unlistDirty(e)
	} else {
		c.clean.remove(e)
	}
	delete(c.entries, string(e.key))
	if c.last == e {
		c.last = nil
	}
	c.size -= len(e.key) + len(e.value) + cacheEntryOverhead
	if c.nfree < cacheFreeEntries {
		e.next, e.prev, e.list = c.free, nil, nil
		c.free, c.nfree = e, c.nfree+1
	}
}

// cacheFreeEntries bounds the dropped entries a cache keeps for reuse: an
// eviction makes room for the next new key, which takes the evicted entry
// instead of allocating one.
const cacheFreeEntries = 1024

// ownMax is what the cache's own entries may hold: maxBytes, less what
// the buffer's clean entries hold beyond their default bound, which they
// have from a time the cache kept its entries in the buffer. What they
// took from a row cache is not the cache's.
func (c *CachingStore) ownMax() int {
	if c.txn == nil {
		return c.maxBytes
	}
	r := &c.txn.clean
	return c.maxBytes - max(r.bytes()-r.lent-txnCleanMaxBytes, 0)
}

// evict brings the cache back under ownMax. During a flush it waits: the
// flush is already writing everything down, and evicting from a listener
// called by it would re-enter it.
func (c *CachingStore) evict() error {
	limit := c.ownMax()
	for c.size > limit && !c.flushing {
		if e := c.clean.head; e != nil {
			c.drop(e)
			continue
		}
		e := c.dirty.head
		if e == nil {
			return nil
		}
		if err := c.writeDown(e); err != nil {
			return err
		}
		// A listener may have written the key again; then it stays.
		if !e.dirty {
			c.drop(e)
		}
	}
	return nil
}

// writeDown writes e to inner and reports it to the listener.
func (c *CachingStore) writeDown(e *cacheEntry) error {
	var old []byte
	if c.listener != nil && (e.deleted || !c.skipOld) {
		v, found, err := c.inner.Get(e.key)
		if err != nil {
			return err
		}
		if found {
			// inner's Put below reuses the slice Get returned.
			if c.oldBuf == nil {
				c.oldBuf = make([]byte, 0, len(v))
			}
			c.oldBuf = append(c.oldBuf[:0], v...)
			old = c.oldBuf
		}
	}
	var err error
	c.writeTS, c.writingTS = e.ts, true
	if e.deleted {
		err = c.inner.Delete(e.key)
	} else {
		err = c.inner.Put(e.key, e.value)
	}
	c.writingTS = false
	if err != nil {
		return err
	}
	// Clean before the listener runs, so that a write it makes to this key
	// dirties the entry again instead of being lost.
	c.markClean(e)
	return c.notify(e.key, e.value, e.deleted, old, e.ts)
}

// notify hands a written-down entry to the listener, if there is one: a
// delete of a key that held nothing is no change.
func (c *CachingStore) notify(key, value []byte, deleted bool, old []byte, ts int64) error {
	if c.listener == nil || (deleted && old == nil) {
		return nil
	}
	if deleted {
		value = nil
	}
	if err := c.listener(key, value, old, ts); err != nil {
		return storeErr(c.Name(), "flush listener", err)
	}
	return nil
}

// Flush writes the dirty entries down to inner in the order they were first
// dirtied, then flushes inner. On error the entries not yet written stay
// dirty, and a later Flush carries on with them.
func (c *CachingStore) Flush() error {
	if err := c.check("flush"); err != nil {
		return err
	}
	if c.flushing {
		return storeErr(c.Name(), "flush", errors.New("flush called during flush"))
	}
	hits, misses := c.nHits, c.nMisses
	c.publishReads()
	if c.fused() {
		if err := c.writeCached(); err != nil {
			return err
		}
		if err := c.inner.Flush(); err != nil {
			return err
		}
		c.adapt(hits, misses)
		return nil
	}
	if err := c.writeDirty(); err != nil {
		return err
	}
	if err := c.inner.Flush(); err != nil {
		return err
	}
	if err := c.evict(); err != nil {
		return err
	}
	c.adapt(hits, misses)
	return nil
}

// writeDirty writes every dirty entry down. The listener is user code
// downstream, which may panic; the task recovers that and may go on, so the
// flag is reset however writeDirty ends, and the entry that panicked, marked
// clean before its listener ran, is not written again.
func (c *CachingStore) writeDirty() error {
	c.flushing = true
	defer func() { c.flushing = false }()
	for e := c.dirty.head; e != nil; e = c.dirty.head {
		if err := c.writeDown(e); err != nil {
			return err
		}
	}
	return nil
}

// evictFused writes cached entries down, the oldest first, until those
// left are within maxBytes; during a flush it waits, as evict does.
func (c *CachingStore) evictFused() error {
	for c.txn.cachedBytes > c.maxBytes && !c.flushing {
		e := c.txn.nextCached()
		if e == nil {
			return nil
		}
		if err := c.writeDownCached(e); err != nil {
			return err
		}
	}
	return nil
}

// writeCached writes every cached entry down; see writeDirty.
func (c *CachingStore) writeCached() error {
	c.flushing = true
	defer func() { c.flushing = false }()
	for e := c.txn.nextCached(); e != nil; e = c.txn.nextCached() {
		if err := c.writeDownCached(e); err != nil {
			return err
		}
	}
	return nil
}

// writeDownCached writes a cached entry of the buffer down through the
// layers between (which find it there, the buffer's last entry, and write
// its value onto itself) and reports it to the listener. A delete is
// reported with the value below the cache, from the buffer's pre or from
// below the buffer, and not at all if there is none.
func (c *CachingStore) writeDownCached(e *txnEntry) error {
	t := c.txn
	pre, hadPre := t.uncache(e)
	c.kbuf = append(c.kbuf[:0], e.key...)
	var old []byte
	if c.listener != nil && e.deleted {
		old = pre
		if !hadPre {
			v, found, err := t.below(c.kbuf)
			if err != nil {
				t.recache(e, pre, hadPre)
				return err
			}
			if found {
				c.oldBuf = append(c.oldBuf[:0], v...)
				old = c.oldBuf
			}
		}
	}
	t.last = e
	c.writeTS, c.writingTS = e.ts, true
	var err error
	if e.deleted {
		err = c.inner.Delete(c.kbuf)
	} else {
		err = c.inner.Put(c.kbuf, e.value)
	}
	c.writingTS = false
	if err != nil {
		t.recache(e, pre, hadPre)
		return err
	}
	return c.notify(c.kbuf, e.value, e.deleted, old, e.ts)
}

// Range merges the dirty entries in [from, to) with inner's keys. Both sides
// are snapshots taken now: the dirty entries are copied.
func (c *CachingStore) Range(from, to []byte) (BytesIterator, error) {
	return c.newIter("range", from, to, false)
}

// ReverseRange is Range in reverse order.
func (c *CachingStore) ReverseRange(from, to []byte) (BytesIterator, error) {
	return c.newIter("reverse range", from, to, true)
}

func (c *CachingStore) newIter(op string, from, to []byte, reverse bool) (BytesIterator, error) {
	if err := c.check(op); err != nil {
		return nil, err
	}
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return emptyIterator{}, nil
	}
	if c.fused() {
		if reverse {
			return c.inner.ReverseRange(from, to)
		}
		return c.inner.Range(from, to)
	}
	var (
		arena  []byte
		spans  []cachedSpan
		within = func(e *cacheEntry) bool {
			if to != nil && bytes.Compare(e.key, to) >= 0 {
				return false
			}
			start := len(arena)
			arena = append(arena, e.key...)
			arena = append(arena, e.value...)
			spans = append(spans, cachedSpan{start: start, keyLen: len(e.key), end: len(arena), deleted: e.deleted})
			return true
		}
	)
	c.ordered()
	if from != nil {
		c.probe.key = from
		c.index.AscendGreaterOrEqual(&c.probe, within)
		c.probe.key = nil
	} else {
		c.index.Ascend(within)
	}
	cached := make([]cachedKV, len(spans))
	for i, s := range spans {
		j := i
		if reverse {
			j = len(spans) - 1 - i
		}
		cached[j] = cachedKV{
			key:     arena[s.start : s.start+s.keyLen : s.start+s.keyLen],
			value:   arena[s.start+s.keyLen : s.end : s.end],
			deleted: s.deleted,
		}
	}
	return mergeRange(c.inner, from, to, reverse, cached)
}

// mergeRange iterates over inner's keys in [from, to) merged with cached
// entries (in iteration order) that take precedence over inner's.
func mergeRange(inner KeyValueBytesStore, from, to []byte, reverse bool, cached []cachedKV) (BytesIterator, error) {
	var it BytesIterator
	var err error
	if reverse {
		it, err = inner.ReverseRange(from, to)
	} else {
		it, err = inner.Range(from, to)
	}
	if err != nil {
		return nil, err
	}
	return &mergeIterator{cached: cached, inner: it, reverse: reverse}, nil
}

// ApproximateNumEntries is inner's count corrected by the dirty entries: a
// cached write of a key inner lacks adds one, a cached delete of a key inner
// has removes one. It is exact when inner's count is.
func (c *CachingStore) ApproximateNumEntries() (int64, error) {
	if err := c.check("count"); err != nil {
		return 0, err
	}
	if c.fused() {
		return c.inner.ApproximateNumEntries()
	}
	n, err := c.inner.ApproximateNumEntries()
	if err != nil {
		return 0, err
	}
	for e := c.dirty.head; e != nil; e = e.next {
		_, found, err := c.inner.Get(e.key)
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

// publishReads adds the reads counted since the last call to the host's
// counters, if it measures the store.
func (c *CachingStore) publishReads() {
	if c.hits != nil && c.nHits > 0 {
		c.hits.Add(float64(c.nHits))
	}
	if c.misses != nil && c.nMisses > 0 {
		c.misses.Add(float64(c.nMisses))
	}
	c.nHits, c.nMisses = 0, 0
}

// Close drops the cache, unflushed writes included, and closes inner.
func (c *CachingStore) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	c.publishReads()
	c.entries, c.index, c.last, c.free = nil, nil, nil, nil
	c.dirty, c.clean = entryList{}, entryList{}
	return c.inner.Close()
}

type cachedSpan struct {
	start, keyLen, end int
	deleted            bool
}

type cachedKV struct {
	key, value []byte
	deleted    bool
}

// mergeIterator merges a snapshot of cached entries with inner's iterator;
// on equal keys the cached entry wins, and a cached delete hides the key.
type mergeIterator struct {
	cached  []cachedKV // in iteration order
	pos     int
	inner   BytesIterator
	reverse bool
	started bool
	// innerValid says inner is positioned on a key not yet returned;
	// advance says it was returned and must be stepped past first.
	innerValid bool
	advance    bool
	key, value []byte
	done       bool
}

func (m *mergeIterator) Next() bool {
	if m.done {
		return false
	}
	if !m.started || m.advance {
		m.started, m.advance = true, false
		m.stepInner()
	}
	for !m.done {
		if m.pos >= len(m.cached) {
			if !m.innerValid {
				m.done = true
				return false
			}
			m.key, m.value, m.advance = m.inner.Key(), m.inner.Value(), true
			return true
		}
		c := &m.cached[m.pos]
		if m.innerValid {
			cmp := bytes.Compare(c.key, m.inner.Key())
			if m.reverse {
				cmp = -cmp
			}
			if cmp > 0 {
				m.key, m.value, m.advance = m.inner.Key(), m.inner.Value(), true
				return true
			}
			if cmp == 0 {
				m.stepInner()
				if m.done {
					break
				}
			}
		}
		m.pos++
		if c.deleted {
			continue
		}
		m.key, m.value = c.key, c.value
		return true
	}
	return false
}

// stepInner moves inner on; an error from it ends the merge so that Err
// reports it rather than a partial result continuing from the cache.
func (m *mergeIterator) stepInner() {
	m.innerValid = m.inner.Next()
	if !m.innerValid && m.inner.Err() != nil {
		m.done = true
	}
}

func (m *mergeIterator) Key() []byte   { return m.key }
func (m *mergeIterator) Value() []byte { return m.value }
func (m *mergeIterator) Err() error    { return m.inner.Err() }
func (m *mergeIterator) Close() error  { return m.inner.Close() }

// entryList is an intrusive doubly linked list: moving an entry between
// the dirty and clean lists allocates nothing.
type entryList struct{ head, tail *cacheEntry }

func (l *entryList) pushBack(e *cacheEntry) {
	e.list, e.prev, e.next = l, l.tail, nil
	if l.tail != nil {
		l.tail.next = e
	} else {
		l.head = e
	}
	l.tail = e
}

func (l *entryList) remove(e *cacheEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next, e.list = nil, nil, nil
}
