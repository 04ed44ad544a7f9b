package state

import (
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
// The filter may claim keys the store lacks, never lack one it holds: every
// write of a key through the store adds it (Put, in or out of a batch),
// deletes leave it, and a restore, which writes past Put, makes the filter
// unknown again. An unknown filter is built by a scan of the store at the
// next Get that may build it (no batch of the store open, whose keys the
// scan would miss and its commit then add unseen), unless the store is too
// large to scan cheaply, or holds more keys than the filter takes, when it
// is off for the rest of the database's life and Gets ask Pebble as before.
// The database keeps one filter per store name, which every view of that
// name (DB.Store) shares.
//
// A filter grows in segments, each four times the keys of the one before,
// rather than being rebuilt: a probe checks every segment, newest first,
// so that at most a few blocks are read, and the false positives of all
// segments add up to a few percent. A key added that the filter already
// claims is not added again, so that rewriting a key does not grow it.
// Keys added (not keys held: a store that deletes and adds keys forever
// would grow it without bound) are bounded by maxKeys; past them the
// filter is unknown again, and the next scan counts the keys held.
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
	// firstKeys is the capacity of the first segment of an empty store.
	firstKeys int
	// maxScanBytes bounds what a store may hold on disk for a scan to
	// build its filter: a scan reads every key, and one of many millions
	// would stall the task's first Get for seconds.
	maxScanBytes uint64
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
	// filterMaxScanBytes is a store's disk size past which no scan builds
	// its filter: a scan reads about a million keys in a tenth of a
	// second, and stores at the filter's bound of keys with small values
	// hold about this much.
	filterMaxScanBytes = 256 << 20
)

// filterSalts are the odd multipliers that pick a key's bit in each word of
// its block, those of Parquet's split-block Bloom filters.
var filterSalts = [8]uint32{
	0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d,
	0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31,
}

func newKeyFilter() *keyFilter {
	return &keyFilter{
		seed:         maphash.MakeSeed(),
		maxKeys:      filterMaxKeys,
		firstKeys:    filterFirstKeys,
		maxScanBytes: filterMaxScanBytes,
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
	if f.added >= f.maxKeys {
		f.reset()
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

// reset makes the filter unknown: what the store holds is to be scanned
// again.
func (f *keyFilter) reset() {
	if f.state == filterOff {
		return
	}
	f.state, f.segs, f.added = filterUnknown, nil, 0
}

// build makes an unknown filter on or off by a scan of the keys s holds,
// and reports whether it is on. The caller has checked that no batch of s
// is open (batches).
func (f *keyFilter) build(s *pebbleStore) (bool, error) {
	size, err := s.db.pdb.EstimateDiskUsage(s.prefix, s.end)
	if err != nil {
		return false, storeErr(s.name, "get", err)
	}
	if size > f.maxScanBytes {
		f.state = filterOff
		return false, nil
	}
	// Keys only: the scan never reads a value.
	it, err := s.db.pdb.NewIter(&pebble.IterOptions{LowerBound: s.prefix, UpperBound: s.end, KeyTypes: pebble.IterKeyTypePointsOnly})
	if err != nil {
		return false, storeErr(s.name, "get", err)
	}
	var hashes []uint64
	for ok := it.First(); ok; ok = it.Next() {
		if len(hashes) >= f.maxKeys {
			break
		}
		hashes = append(hashes, f.hash(it.Key()[len(s.prefix):]))
	}
	if err := it.Error(); err != nil {
		it.Close()
		return false, storeErr(s.name, "get", err)
	}
	if err := it.Close(); err != nil {
		return false, storeErr(s.name, "get", err)
	}
	if fe := s.db.broken.Load(); fe != nil {
		// A scan of a broken database may have missed keys (see notFound).
		return false, storeErr(s.name, "get", fe)
	}
	if len(hashes) >= f.maxKeys {
		f.state = filterOff
		return false, nil
	}
	// Room for as many keys again before a second segment.
	seg := newFilterSegment(max(f.firstKeys, 2*len(hashes)))
	for _, h := range hashes {
		seg.add(h)
	}
	f.segs = append(f.segs[:0], seg)
	f.added = len(hashes)
	f.state = filterOn
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
