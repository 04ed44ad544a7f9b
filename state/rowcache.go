package state

import "sync/atomic"

// RowCache is memory the transaction buffers of persistent stores share
// for their clean entries: copies of the keys and values their commits
// wrote to Pebble, which answer later reads of those keys without asking
// Pebble (a read Pebble answers from its tables costs microseconds: seeks
// of two memtables and of each level holding the key). Without it each
// buffer keeps txnCleanMaxBytes of them, enough for a store whose reads go
// to a few thousand keys; over a million keys read at random, most reads
// then went to Pebble, a third of word count's CPU.
//
// A buffer's clean entries start at their own bound and, when they fill
// it, double it with bytes taken from the row cache, up to
// rowCacheStoreMax for one store; once the row cache has none left, they
// keep their size and drop their oldest entries for new ones. A store
// gives its bytes back when it closes, for the stores of the tasks
// assigned next. The entries are not in Go's heap (see allocBytes): a heap
// that held them would grow its collection target by as much again.
//
// RocksDB's row cache (row_cache) caches rows for reads likewise; Kafka
// Streams leaves it off and reads through RocksDB's block cache. One
// RowCache serves every database of an application (DBOptions.RowCache);
// its methods are safe for concurrent use.
type RowCache struct {
	size int64
	free atomic.Int64
}

// rowCacheStoreMax bounds what one store's clean entries take, with what
// they take from a RowCache.
const rowCacheStoreMax = 32 << 20

// NewRowCache returns a row cache of size bytes; a size of 0 or less gives
// nil, which stores read as no row cache.
func NewRowCache(size int64) *RowCache {
	if size <= 0 {
		return nil
	}
	c := &RowCache{size: size}
	c.free.Store(size)
	return c
}

// Size is the bytes the row cache lends in all.
func (c *RowCache) Size() int64 {
	if c == nil {
		return 0
	}
	return c.size
}

// Free is the bytes the row cache has not lent.
func (c *RowCache) Free() int64 {
	if c == nil {
		return 0
	}
	return c.free.Load()
}

// take lends n bytes if the cache has them.
func (c *RowCache) take(n int64) bool {
	if c == nil || n <= 0 {
		return false
	}
	for {
		f := c.free.Load()
		if f < n {
			return false
		}
		if c.free.CompareAndSwap(f, f-n) {
			return true
		}
	}
}

// give takes back n bytes lent.
func (c *RowCache) give(n int64) {
	if c != nil && n > 0 {
		c.free.Add(n)
	}
}
