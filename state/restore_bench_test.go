package state

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// restoreBenchRecords returns a changelog of n records with 8-byte keys in
// order and 100-byte values, as the bench's W6 writes.
func restoreBenchRecords(n int) []ChangelogRecord {
	rng := rand.New(rand.NewPCG(6, 6))
	recs := make([]ChangelogRecord, n)
	for i := range recs {
		v := make([]byte, 100)
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		recs[i] = ChangelogRecord{Key: binary.BigEndian.AppendUint64(nil, uint64(i)), Value: v, Timestamp: int64(i), Offset: int64(i)}
	}
	return recs
}

// putOneByOne restores recs as a restore did before stores had a restore
// path of their own: Put and Delete of each record in the timestamped
// layout, within one batch per call where the store takes batches.
func putOneByOne(st Store, recs []ChangelogRecord) error {
	bs := st.Bytes()
	bw, batched := bs.(BatchWriter)
	if batched {
		bw.BeginBatch()
	}
	var buf []byte
	for _, r := range recs {
		var err error
		if r.Value == nil {
			err = bs.Delete(r.Key)
		} else {
			buf = append(appendTimestamped(buf[:0], r.Timestamp), r.Value...)
			err = bs.Put(r.Key, buf)
		}
		if err != nil {
			return err
		}
	}
	if batched {
		return bw.CommitBatch()
	}
	return nil
}

// BenchmarkRestore restores a changelog of 200k records into an empty
// timestamped store, in batches of 8000 records (about what one fetch of a
// changelog partition hands the runtime), and reports records/s: until the
// restored store is flushed and, on Pebble, its offset recorded, as the
// runtime's restore counts it. Opening and closing the store are not
// timed. The keys come in order, as in the bench's W6, shuffled, or
// shuffled with four writes per key; each store starts empty or, for
// pebble-seeded, holding one key; each
// store is restored through RestoreBatch and, to compare with in the same
// run, one Put at a time (putOneByOne).
func BenchmarkRestore(b *testing.B) {
	const n, batch = 200_000, 8000
	ordered := restoreBenchRecords(n)
	shuffled := slices.Clone(ordered)
	rng := rand.New(rand.NewPCG(7, 7))
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	// Four writes per key, as a changelog not yet compacted holds.
	rewritten := slices.Clone(shuffled)
	for i := range rewritten {
		rewritten[i].Key = shuffled[rng.IntN(n/4)].Key
	}
	var recs []ChangelogRecord
	var restore func(Store, []ChangelogRecord) error
	run := func(b *testing.B, open func(b *testing.B) (*Env, func()), seeded bool) {
		for b.Loop() {
			b.StopTimer()
			env, done := open(b)
			st, err := TimestampedKeyValueStoreBuilder("counts", stringSerde{}, stringSerde{}).Build(env)
			if err != nil {
				b.Fatal(err)
			}
			if seeded {
				// A store holding a key takes the restore as batches.
				if err := st.Bytes().Put([]byte("seed"), []byte("seed")); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			for i := 0; i < n; i += batch {
				if err := restore(st, recs[i:min(i+batch, n)]); err != nil {
					b.Fatal(err)
				}
			}
			if err := st.Bytes().Flush(); err != nil {
				b.Fatal(err)
			}
			if env.DB != nil {
				db, _ := env.DB()
				if err := db.SetChangelogOffset("counts", n-1); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			st.Close()
			done()
			b.StartTimer()
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rec/s")
	}
	pebble := func(b *testing.B) (*Env, func()) {
		db, err := OpenDB(b.TempDir(), DBOptions{FS: vfs.Default})
		if err != nil {
			b.Fatal(err)
		}
		return &Env{DB: func() (*DB, error) { return db, nil }}, func() {
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
	memory := func(b *testing.B) (*Env, func()) { return &Env{InMemory: true}, func() {} }
	for _, order := range []struct {
		name string
		recs []ChangelogRecord
	}{{"ordered", ordered}, {"shuffled", shuffled}, {"rewritten", rewritten}} {
		for _, path := range []struct {
			name string
			fn   func(Store, []ChangelogRecord) error
		}{{"restore", Store.RestoreBatch}, {"put", putOneByOne}} {
			recs, restore = order.recs, path.fn
			b.Run(order.name+"/pebble/"+path.name, func(b *testing.B) { run(b, pebble, false) })
			b.Run(order.name+"/pebble-seeded/"+path.name, func(b *testing.B) { run(b, pebble, true) })
			b.Run(order.name+"/memory/"+path.name, func(b *testing.B) { run(b, memory, false) })
		}
	}
}

// BenchmarkGetAfterRestore reads a Pebble store restored from a changelog of
// 200k records (every other key of a range, in order, 100-byte values):
// Gets of keys it lacks, between the keys it holds, and of keys it holds.
// The store's key filter, which the restore fills, answers the first; the
// baseline is the same store with its filter off, as a restore left it
// before it filled the filter, restored in the same run. It reports the
// nanoseconds per Get of each and their ratio (off ÷ on).
func BenchmarkGetAfterRestore(b *testing.B) {
	const n, batch = 200_000, 8000
	recs := restoreBenchRecords(n)
	for i := range recs {
		recs[i].Key = binary.BigEndian.AppendUint64(nil, uint64(2*i))
	}
	restored := func(b *testing.B, filter bool) KeyValueBytesStore {
		db, err := OpenDB(b.TempDir(), DBOptions{FS: vfs.Default})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		s := db.Store("counts").(*pebbleStore)
		for i := 0; i < n; i += batch {
			if err := s.restoreRecords(recs[i:min(i+batch, n)], false); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
		if !filter {
			s.filter.drop()
		}
		return s
	}
	for _, present := range []bool{false, true} {
		name := "absent"
		if present {
			name = "present"
		}
		b.Run(name, func(b *testing.B) {
			stores := [2]KeyValueBytesStore{restored(b, true), restored(b, false)}
			var took [2]time.Duration
			var gets, found [2]int
			key := make([]byte, 8)
			rng := rand.New(rand.NewPCG(8, 8))
			b.ResetTimer()
			for b.Loop() {
				// The two stores take turns, a thousand Gets each.
				for side, s := range stores {
					start := time.Now()
					for range 1000 {
						k := 2 * rng.Uint64N(n)
						if !present {
							k++
						}
						binary.BigEndian.PutUint64(key, k)
						_, ok, err := s.Get(key)
						if err != nil {
							b.Fatal(err)
						}
						if ok {
							found[side]++
						}
					}
					took[side] += time.Since(start)
					gets[side] += 1000
				}
			}
			for side := range stores {
				if want := map[bool]int{false: 0, true: gets[side]}[present]; found[side] != want {
					b.Fatalf("side %d found %d of %d keys, want %d", side, found[side], gets[side], want)
				}
			}
			on := float64(took[0].Nanoseconds()) / float64(gets[0])
			off := float64(took[1].Nanoseconds()) / float64(gets[1])
			b.ReportMetric(on, "ns/get-filter-on")
			b.ReportMetric(off, "ns/get-filter-off")
			b.ReportMetric(off/on, "off/on")
		})
	}
}
