package runtime

import (
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Outgoing records, and the bytes of their keys and values, are carved out
// of blocks: one allocation serves many records, and nothing is shared with
// franz-go's goroutines, which hold a record until the broker answered.
//
// A block is used again once the broker acknowledged every record carved
// from it: a word count produces two or three records per word, and
// allocating them was two fifths of what its process allocated, which set
// the pace of the garbage collector. Each record's promise counts its block
// down; the last one puts the block on the thread's free list, from which
// the loop takes its next block. The list is bounded (freeBlocks), so that
// a burst of records in flight does not stay allocated. A record the
// brokers refused keeps its block off the list for good (the garbage
// collector frees it once the refusal was handled), so that nothing the
// production handler or a dead-letter record reads is overwritten.
//
// A block's bytes start small and grow when its records' keys and values
// fill them before its records are used up: the records of a word count
// are a few dozen bytes, those of other topologies kilobytes.
const (
	recordBlock = 64
	// minBlockBytes and maxBlockBytes bound the bytes of a block.
	minBlockBytes = 2 << 10
	maxBlockBytes = 16 << 10
	// bigValue is the size from which a record's key and value get their
	// own allocation rather than a block's bytes.
	bigValue = maxBlockBytes / 16
	// current is added to a block's count while the loop carves from it,
	// so that acknowledgements arriving meanwhile never bring the count
	// to zero.
	current = 1 << 30
	// freeBlocks bounds a thread's free list: 6 MB of blocks, 14 MB
	// once their bytes grew to maxBlockBytes.
	freeBlocks = 512
)

// outBlock is recordBlock records and the bytes of their keys and values.
type outBlock struct {
	recs  [recordBlock]kgo.Record
	bytes []byte
	// next is the first record not handed out, used the first byte not
	// handed out; the loop's alone.
	next, used int
	// pending is current while the loop carves from the block, plus the
	// records handed out, minus those acknowledged, plus the pins (see
	// pin); zero means no one holds anything of it.
	pending atomic.Int32
	free    *freeList
	th      *thread
	// done is the promise of the block's records, bound once.
	done func(*kgo.Record, error)
}

// produced is the promise of a record of b: a refusal goes to the thread
// and keeps b, an acknowledgement counts it down.
func (b *outBlock) produced(r *kgo.Record, err error) {
	if err != nil {
		b.th.produced(r, err)
		return
	}
	b.release()
}

// pin keeps b off the free list until unpin, after its records were
// acknowledged: a changelog's last record is read once the commit returned.
func (b *outBlock) pin()   { b.pending.Add(1) }
func (b *outBlock) unpin() { b.release() }

func (b *outBlock) release() {
	if b.pending.Add(-1) == 0 {
		b.free.put(b)
	}
}

// freeList is the blocks free to use again, which franz-go's promise
// goroutine puts and the thread's loop takes.
type freeList struct {
	mu     sync.Mutex
	blocks []*outBlock
}

func (f *freeList) put(b *outBlock) {
	f.mu.Lock()
	if len(f.blocks) < freeBlocks {
		f.blocks = append(f.blocks, b)
	}
	f.mu.Unlock()
}

func (f *freeList) get() *outBlock {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.blocks)
	if n == 0 {
		return nil
	}
	b := f.blocks[n-1]
	f.blocks[n-1] = nil
	f.blocks = f.blocks[:n-1]
	return b
}

// outAlloc hands out the records a thread produces. It belongs to the
// thread's loop; its free list is shared with franz-go's promise goroutine.
type outAlloc struct {
	th   *thread
	cur  *outBlock
	free freeList
	// blockBytes is the size of the bytes of a block: the bytes of the
	// blocks taken from now on are made this size if smaller.
	blockBytes int
}

// record returns a zeroed record holding copies of key and value (nil
// stays nil: a Kafka null), and the block it is carved from, to produce it
// with.
func (o *outAlloc) record(key, value []byte) (*kgo.Record, *outBlock) {
	n := len(key) + len(value)
	b := o.cur
	if b == nil || b.next == recordBlock || (n <= bigValue && b.used+n > len(b.bytes)) {
		b = o.block()
	}
	r := &b.recs[b.next]
	b.next++
	var buf []byte
	if n > bigValue {
		buf = make([]byte, n)
	} else {
		buf = b.bytes[b.used : b.used+n : b.used+n]
		b.used += n
	}
	if key != nil {
		r.Key = buf[:len(key):len(key)]
		copy(r.Key, key)
	}
	if value != nil {
		r.Value = buf[len(key):]
		copy(r.Value, value)
	}
	return r, b
}

// block retires the block carved from so far and returns a fresh one,
// from the free list if one is there.
func (o *outAlloc) block() *outBlock {
	if o.blockBytes == 0 {
		o.blockBytes = minBlockBytes
	}
	if b := o.cur; b != nil {
		if b.next < recordBlock && o.blockBytes < maxBlockBytes {
			// Its bytes ran out first.
			o.blockBytes *= 2
		}
		// Its records count from now on; if all were acknowledged
		// already, it is free.
		if b.pending.Add(int32(b.next)-current) == 0 {
			o.free.put(b)
		}
	}
	b := o.free.get()
	if b == nil {
		b = &outBlock{free: &o.free, th: o.th}
		b.done = b.produced
	} else {
		clear(b.recs[:b.next])
		b.next, b.used = 0, 0
	}
	if len(b.bytes) < o.blockBytes {
		// The bytes are overwritten as they are handed out: those of a
		// block used again are not cleared.
		b.bytes = make([]byte, o.blockBytes)
	}
	b.pending.Store(current)
	o.cur = b
	return b
}
