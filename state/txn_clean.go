package state

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"unsafe"
)

// cleanRing holds the clean entries of a TxnStore: copies of keys and
// values as inner holds them, kept from the commits that applied them so
// that reads of those keys need not ask inner again. A read that inner
// answers from Pebble costs microseconds; one answered here, a hash and a
// probe or two.
//
// Entries are records appended to a ring of bytes, the oldest overwritten
// first (first in, first out), and found through an open-addressing index
// of their offsets. Neither holds a pointer, so the garbage collector
// never scans them, and an entry costs its key and value, two or three
// bytes of lengths, four of hash and about sixteen of index: a million small keys take
// tens of MiB where a Go map of slices took a hundred and fifty. A record
// carries its key's hash, so that dropping it finds its slot without
// hashing the key again. A key
// committed again with a value of the same length is overwritten where it
// is, and keeps its place in the order; otherwise its new record goes at
// the end and the old one is left dead, to be dropped when the ring comes
// round to it.
//
// Both the ring and the index grow, by doubling, up to what max allows
// them: the index the largest power of two of slots in a quarter of it,
// filled to half before it doubles and to three quarters once it cannot,
// and the ring the rest: the two fill together for records of thirty
// bytes or so, word count's. Records
// larger than an eighth of the ring's limit are not kept, nor any under a
// bound of less than cleanMinBytes.
type cleanRing struct {
	// max is base, the ring's own bound (setMax), and lent, what it took
	// from rows to grow past it (see RowCache).
	max, base, lent int
	rows            *RowCache
	// buf is the ring. The records live from head to tail, going round
	// the end of buf once it has wrapped; used counts their bytes and the
	// padding left at the end of buf by a wrap.
	buf              []byte
	head, tail, used int
	wrapped          bool
	// slots is the index: 0 is empty, otherwise the low 32 bits of the
	// key's hash above its record's offset plus one. A key's first slot
	// is its hash masked, so the index grows and deletes (by shifting
	// back the slots after) without hashing a key again.
	slots []uint64
	// live counts the keys in the index; moved says slots moved since
	// set last looked one up.
	live  int
	moved bool
	seed  maphash.Seed
	// bufMapped and slotsMapped say buf and slots are mapped outside Go's
	// heap (mapBytes), to be unmapped when replaced.
	bufMapped, slotsMapped bool
}

const (
	// cleanRecord and cleanPad start a record and the padding that fills
	// the end of the ring when a record does not fit before it.
	cleanRecord = 0
	cleanPad    = 1
	// cleanFirstBytes and cleanFirstSlots are what the ring and the index
	// start with.
	cleanFirstBytes = 16 << 10
	cleanFirstSlots = 1 << 10
	// cleanMinBytes is the smallest bound that keeps entries at all.
	cleanMinBytes = 1 << 10
)

func newCleanRing(max int, rows *RowCache) *cleanRing {
	return &cleanRing{max: max, base: max, rows: rows, seed: maphash.MakeSeed()}
}

// limits are the most bytes the ring and the most slots the index take.
func (r *cleanRing) limits() (ringBytes, slots int) { return cleanLimits(r.max) }

// cleanLimits are the limits of a ring bounded by max bytes.
func cleanLimits(max int) (ringBytes, slots int) {
	if max < cleanMinBytes {
		return 0, 0
	}
	slots = 1 << (bits.Len(uint(max/4/8)) - 1)
	return max - 8*slots, slots
}

// reach is the most bytes the ring could hold records in, growing with
// what the row cache has left.
func (r *cleanRing) reach() int {
	ringMax, _ := r.limits()
	if r.wrapped || r.rows == nil {
		return ringMax
	}
	ringMax, _ = cleanLimits(max(r.max, min(rowCacheStoreMax, r.max+int(r.rows.Free()))))
	return ringMax
}

// bytes is what the ring and the index hold allocated.
func (r *cleanRing) bytes() int { return len(r.buf) + 8*len(r.slots) }

// setMax changes the ring's own bound, dropping every entry, and giving
// back what it took from the row cache, if it shrinks below what the ring
// holds allocated.
func (r *cleanRing) setMax(max int) {
	if max == r.base {
		return
	}
	r.base, r.max = max, max+r.lent
	if r.bytes() > r.max {
		r.release()
	}
}

// widen doubles the bound with bytes from the row cache, up to
// rowCacheStoreMax, and reports whether it could.
func (r *cleanRing) widen() bool {
	n := min(r.max, rowCacheStoreMax-r.max)
	if n <= 0 || !r.rows.take(int64(n)) {
		return false
	}
	r.max += n
	r.lent += n
	return true
}

// release drops every entry and frees the memory, giving back what the
// ring took from the row cache.
func (r *cleanRing) release() {
	r.setBuf(nil, false)
	r.setSlots(nil, false)
	r.reset()
	r.rows.give(int64(r.lent))
	r.max, r.lent = r.base, 0
}

// setBuf replaces the ring's bytes, unmapping the old ones if mapped.
func (r *cleanRing) setBuf(b []byte, mapped bool) {
	if r.bufMapped {
		unmapBytes(r.buf)
	}
	r.buf, r.bufMapped = b, mapped
}

// setSlots replaces the index, unmapping the old one if mapped.
func (r *cleanRing) setSlots(s []uint64, mapped bool) {
	if r.slotsMapped {
		unmapBytes(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(r.slots))), 8*cap(r.slots)))
	}
	r.slots, r.slotsMapped = s, mapped
}

// allocBuf returns n zeroed bytes for the ring, and whether they are
// mapped outside the heap.
func allocBuf(n int) ([]byte, bool) {
	if b := mapBytes(n); b != nil {
		return b, true
	}
	return make([]byte, n), false
}

// allocSlots returns n zeroed slots, and whether they are mapped outside
// the heap.
func allocSlots(n int) ([]uint64, bool) {
	if b := mapBytes(8 * n); b != nil {
		return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), n), true
	}
	return make([]uint64, n), false
}

// reset drops every entry, keeping the memory.
func (r *cleanRing) reset() {
	r.head, r.tail, r.used, r.wrapped = 0, 0, 0, false
	clear(r.slots)
	r.live = 0
}

func (r *cleanRing) hash(key []byte) uint32 { return uint32(maphash.Bytes(r.seed, key)) }

// find returns the slot of key, or -1 and the empty slot it would take.
func (r *cleanRing) find(key []byte, h uint32) (slot, free int) {
	if len(r.slots) == 0 {
		return -1, -1
	}
	mask := len(r.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		sl := r.slots[i]
		if sl == 0 {
			return -1, i
		}
		if uint32(sl>>32) != h {
			continue
		}
		if k, _, _, _ := r.record(int(uint32(sl)) - 1); string(k) == string(key) {
			return i, -1
		}
	}
}

// record parses the record at off: its key, its value (nil if deleted),
// the offset of the value and the record's length.
func (r *cleanRing) record(off int) (key, value []byte, voff, n int) {
	p := off + 5
	klen, k := binary.Uvarint(r.buf[p:])
	p += k
	vlen, v := binary.Uvarint(r.buf[p:])
	p += v
	key = r.buf[p : p+int(klen)]
	p += int(klen)
	voff = p
	if vlen > 0 {
		value = r.buf[p : p+int(vlen)-1 : p+int(vlen)-1]
		p += int(vlen) - 1
	}
	return key, value, voff, p - off
}

// get returns key's value as inner holds it (nil: inner has none), and
// whether the ring knows. The value is valid until the next set.
func (r *cleanRing) get(key []byte) (value []byte, ok bool) {
	if r.live == 0 {
		return nil, false
	}
	slot, _ := r.find(key, r.hash(key))
	if slot < 0 {
		return nil, false
	}
	_, v, _, _ := r.record(int(uint32(r.slots[slot])) - 1)
	if v == nil {
		return nil, true
	}
	if len(v) == 0 {
		v = emptyValue
	}
	return v, true
}

// set records that inner holds value under key (deleted: none).
func (r *cleanRing) set(key, value []byte, deleted bool) {
	ringMax, slotMax := r.limits()
	vlen := uint64(0)
	if !deleted {
		vlen = uint64(len(value)) + 1
	}
	n := 5 + uvarintLen(uint64(len(key))) + uvarintLen(vlen) + len(key) + len(value)
	h := r.hash(key)
	slot, free := r.find(key, h)
	if slot >= 0 {
		off := int(uint32(r.slots[slot])) - 1
		_, old, voff, _ := r.record(off)
		if !deleted && old != nil && len(old) == len(value) {
			copy(r.buf[voff:], value)
			return
		}
		if deleted && old == nil {
			return
		}
		r.unindex(slot)
		free = -1
	}
	if n > ringMax/8 {
		return
	}
	r.moved = false
	// Room in the index first: the records dropped for it free ring room
	// too.
	for r.live+1 > len(r.slots)/2 {
		if len(r.slots) < slotMax {
			r.growIndex(slotMax)
			continue
		}
		if !r.wrapped && r.widen() {
			ringMax, slotMax = r.limits()
			continue
		}
		if r.live+1 <= len(r.slots)*3/4 {
			break
		}
		r.dropHead()
	}
	off := r.reserve(n)
	p := off
	r.buf[p] = cleanRecord
	binary.LittleEndian.PutUint32(r.buf[p+1:], h)
	p += 5
	p += binary.PutUvarint(r.buf[p:], uint64(len(key)))
	p += binary.PutUvarint(r.buf[p:], vlen)
	p += copy(r.buf[p:], key)
	copy(r.buf[p:], value)
	r.tail = off + n
	r.used += n
	if free < 0 || r.moved {
		_, free = r.find(key, h)
	}
	r.slots[free] = uint64(h)<<32 | uint64(off+1)
	r.live++
}

// reserve makes room for n bytes at the tail, growing the ring (with
// bytes from the row cache once it reached its own bound) or dropping the
// oldest records, and returns where they go.
func (r *cleanRing) reserve(n int) int {
	ringMax, _ := r.limits()
	for {
		if r.used == 0 {
			r.head, r.tail = 0, 0
		}
		if r.used == 0 || r.tail > r.head {
			// Free: from the tail to the end, and before the head.
			if r.tail+n <= len(r.buf) {
				return r.tail
			}
			if !r.wrapped && len(r.buf) >= ringMax && r.widen() {
				ringMax, _ = r.limits()
			}
			if !r.wrapped && len(r.buf) < ringMax {
				size := min(ringMax, max(2*len(r.buf), cleanFirstBytes, r.tail+n))
				buf, mapped := allocBuf(size)
				copy(buf, r.buf[:r.tail])
				r.setBuf(buf, mapped)
				continue
			}
			if r.tail < len(r.buf) {
				r.buf[r.tail] = cleanPad
			}
			r.used += len(r.buf) - r.tail
			r.tail, r.wrapped = 0, true
			continue
		}
		// Free: from the tail to the head.
		if r.tail+n <= r.head {
			return r.tail
		}
		r.dropHead()
	}
}

// dropHead drops the oldest record, or the padding at the end.
func (r *cleanRing) dropHead() {
	if r.used == 0 {
		return
	}
	if r.head == len(r.buf) || r.buf[r.head] == cleanPad {
		r.used -= len(r.buf) - r.head
		r.head = 0
		return
	}
	_, _, _, n := r.record(r.head)
	// The index points at the key's newest record, which may be this one.
	h := binary.LittleEndian.Uint32(r.buf[r.head+1:])
	want := uint64(h)<<32 | uint64(r.head+1)
	mask := len(r.slots) - 1
	for i := int(h) & mask; r.slots[i] != 0; i = (i + 1) & mask {
		if r.slots[i] == want {
			r.unindex(i)
			break
		}
	}
	r.head += n
	r.used -= n
}

// unindex empties slot, shifting back the slots after it that would
// otherwise no longer be found (linear probing's deletion).
func (r *cleanRing) unindex(slot int) {
	mask := len(r.slots) - 1
	i := slot
	for j := (i + 1) & mask; r.slots[j] != 0; j = (j + 1) & mask {
		home := int(uint32(r.slots[j]>>32)) & mask
		// The slot at j stays if its home lies cyclically in (i, j].
		if (j > i && home > i && home <= j) || (j < i && (home > i || home <= j)) {
			continue
		}
		r.slots[i] = r.slots[j]
		i = j
	}
	r.slots[i] = 0
	r.live--
	r.moved = true
}

func (r *cleanRing) growIndex(slotMax int) {
	slots, mapped := allocSlots(min(max(2*len(r.slots), cleanFirstSlots), slotMax))
	mask := len(slots) - 1
	for _, sl := range r.slots {
		if sl == 0 {
			continue
		}
		i := int(uint32(sl>>32)) & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = sl
	}
	r.setSlots(slots, mapped)
	r.moved = true
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
