package state

import (
	"errors"
	"hash/maphash"

	"github.com/cockroachdb/pebble/v2"
)

// keyFilter is a Bloom filter over every key a store of a Pebble database
// holds, kept in memory beside it, so that the Get of a key the store lacks
// returns without asking Pebble. Pebble has filters for its sstables but
// none for its memtables: a miss costs a seek of each memtable's skiplist
// and a probe of each level's filter, about two microseconds at a million
// keys, where an aggregation's first update of every new key is such a
// miss. RocksDB offers memtable filters for the same reason; this one
// covers the tables as well, in one probe.
//
// The filter may claim keys the store lacks, never lack one it holds: it
// starts with a store that is empty when first read, every write of a key
// through the store adds it (Put, in or out of a batch), and deletes leave
// it. A restore into an empty store adds each key it writes, as Put does,
// so that a task taken over answers the first updates of new keys as fast
// as the task it replaces. A store that holds keys when first read (a
// database kept from an earlier run, or one a restore wrote into while it
// held keys, past Put) has no filter, and its Gets ask Pebble as before: a
// scan to build one would read every block of the store into the block
// cache, a stall of seconds at the first Get of a large store, and a
// cached block no longer shows damage the disk did to it while the task
// runs. Whether the store is empty is known at the first Get with no batch
// of the store open, whose keys the filter would miss. The database keeps
// one filter per store name, which every view of that name (DB.Store)
// shares.
//
// A filter grows in segments, each four times the keys of the one before,
// rather than being rebuilt: a probe checks every segment, newest first,
// so that at most a few blocks are read, and the false positives of all
// segments add up to a few percent. A key added that the filter already
// claims is not added again, so that rewriting a key does not grow it.
// Keys added (not keys held: a store that deletes and adds keys forever
// would grow it without bound) are bounded by maxKeys; past them the
// filter is off.
//
// Each segment is a split-block Bloom filter: a key sets one bit in each of
// the eight words of one 64-byte block, so a probe reads one cache line.
// At ten bits a key, a full segment claims about one key in a hundred it
// lacks.
type keyFilter struct {
	state   filterState
	seed    maphash.Seed
	segs    []filterSegment
	added   int
	maxKeys int
	// batches counts the open batches of the store's views (see build).
	batches int
	// firstKeys is the capacity of the first segment.
	firstKeys int
}

type filterState uint8

const (
	filterUnknown filterState = iota
	filterOn
	filterOff
)

// filterSegment holds up to capacity keys; n are in it.
type filterSegment struct {
	blocks   [][8]uint64
	n        int
	capacity int
}

const (
	// filterBitsPerKey is what a full segment spends per key.
	filterBitsPerKey = 10
	// filterFirstKeys is the first segment's keys: 20 KiB.
	filterFirstKeys = 1 << 14
	// filterMaxKeys bounds the keys added to a store's filter: segments
	// of up to 4M keys take about 7 MiB.
	filterMaxKeys = 1 << 22
)

// filterSalts are the odd multipliers that pick a key's bit in each word of
// its block, those of Parquet's split-block Bloom filters.
var filterSalts = [8]uint32{
	0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d,
	0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31,
}

func newKeyFilter() *keyFilter {
	return &keyFilter{
		seed:      maphash.MakeSeed(),
		maxKeys:   filterMaxKeys,
		firstKeys: filterFirstKeys,
	}
}

// filter returns the key filter of the store called name, shared by every
// view of it.
func (db *DB) filter(name string) *keyFilter {
	f := db.filters[name]
	if f == nil {
		f = newKeyFilter()
		db.filters[name] = f
	}
	return f
}

func (f *keyFilter) hash(key []byte) uint64 { return maphash.Bytes(f.seed, key) }

// mayContain reports whether the store may hold the key of hash h.
func (f *keyFilter) mayContain(h uint64) bool {
	for i := len(f.segs) - 1; i >= 0; i-- {
		if f.segs[i].mayContain(h) {
			return true
		}
	}
	return false
}

// add records that the store may hold key, if the filter is on. The key is
// added before the write that holds it reaches Pebble, so that no Get
// between can miss it.
func (f *keyFilter) add(key []byte) {
	if f.state != filterOn {
		return
	}
	h := f.hash(key)
	if f.mayContain(h) {
		return
	}
	f.insert(h)
}

// insert adds the key of hash h, the filter being on and not claiming it.
func (f *keyFilter) insert(h uint64) {
	if f.added >= f.maxKeys {
		f.state, f.segs = filterOff, nil
		return
	}
	last := &f.segs[len(f.segs)-1]
	if last.n >= last.capacity {
		f.segs = append(f.segs, newFilterSegment(4*last.capacity))
		last = &f.segs[len(f.segs)-1]
	}
	last.add(h)
	f.added++
}

// addRestored is add for a restore into an empty store, which hands the
// filter the hash of every key of a changelog, millions at a time beside
// the fetching: it looks for the key in the newest segment only, the block
// it would set, rather than in each of them. A key the changelog holds
// several times, once it is in an older segment, is added again, and
// counts again against maxKeys.
func (f *keyFilter) addRestored(h uint64) {
	if f.state != filterOn || f.segs[len(f.segs)-1].mayContain(h) {
		return
	}
	f.insert(h)
}

// addRestoredKeys adds the keys recs write, in a loop of its own: each
// key's probe of its block waits on memory, and a short loop lets the
// processor wait on several at once. A key claimed that the restore then
// fails to write costs nothing but the claim.
func (f *keyFilter) addRestoredKeys(recs []ChangelogRecord) {
	if f.state != filterOn {
		return
	}
	for i := range recs {
		if recs[i].Value != nil {
			f.addRestored(f.hash(recs[i].Key))
		}
	}
}

// restart turns the filter on, holding no key, unless it is on already: the
// caller knows the store holds no key and no batch of it is open.
func (f *keyFilter) restart() {
	if f.state == filterOn {
		return
	}
	f.segs = append(f.segs[:0], newFilterSegment(f.firstKeys))
	f.added = 0
	f.state = filterOn
}

// drop turns the filter off: the store is written past it.
func (f *keyFilter) drop() { f.state, f.segs = filterOff, nil }

// build decides an unknown filter: on, empty, if the store s is empty, and
// off otherwise; it reports whether it is on. The caller has checked that
// no batch of the store is open (batches).
func (f *keyFilter) build(s *pebbleStore) (bool, error) {
	it, err := s.db.pdb.NewIter(&pebble.IterOptions{LowerBound: s.prefix, UpperBound: s.end})
	if err != nil {
		return false, storeErr(s.name, "get", err)
	}
	empty := !it.First()
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return false, storeErr(s.name, "get", err)
	}
	if empty {
		if fe := s.db.broken.Load(); fe != nil {
			// Empty only if Pebble read what it had to (see notFound).
			return false, storeErr(s.name, "get", fe)
		}
	}
	if !empty {
		f.state = filterOff
		return false, nil
	}
	f.restart()
	return true, nil
}

func newFilterSegment(capacity int) filterSegment {
	nblocks := (capacity*filterBitsPerKey + 511) / 512
	return filterSegment{blocks: make([][8]uint64, nblocks), capacity: capacity}
}

// block returns the block of hash h: its high half scaled to the blocks,
// which needs no division.
func (g *filterSegment) block(h uint64) *[8]uint64 {
	return &g.blocks[(h>>32)*uint64(len(g.blocks))>>32]
}

func (g *filterSegment) add(h uint64) {
	b := g.block(h)
	x := uint32(h)
	for i, salt := range filterSalts {
		b[i] |= 1 << ((x * salt) >> 26)
	}
	g.n++
}

func (g *filterSegment) mayContain(h uint64) bool {
	b := g.block(h)
	x := uint32(h)
	for i, salt := range filterSalts {
		if b[i]&(1<<((x*salt)>>26)) == 0 {
			return false
		}
	}
	return true
}
