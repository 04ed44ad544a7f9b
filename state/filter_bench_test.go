package state

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// BenchmarkTxnCountFresh is one task's share of word count at a million
// keys (W2M in the bench): the count's read-modify-write through a
// transaction buffer over a new Pebble store, keys distinct keys first
// each once, in a scattered order, then 60% as many again drawn at random,
// with a commit every perTxn words (a 100 ms commit interval at W2M's
// speed). An op is the whole sequence; filter=off is the store without
// its key filter.
func BenchmarkTxnCountFresh(b *testing.B) {
	const keys, perTxn = 250_000, 5_000
	// The DSL's name for word count's store: its keys in Pebble are
	// about 50 bytes, mostly the prefix.
	const name = "KSTREAM-AGGREGATE-STATE-STORE-0000000003"
	for _, filter := range []bool{true, false} {
		b.Run(fmt.Sprintf("filter=%v", filter), func(b *testing.B) {
			cache := pebble.NewCache(64 << 20)
			defer cache.Unref()
			kb := make([]byte, 0, 16)
			var vb [17]byte
			for b.Loop() {
				b.StopTimer()
				db, err := OpenDB(b.TempDir(), DBOptions{FS: vfs.Default, Cache: cache})
				if err != nil {
					b.Fatal(err)
				}
				if !filter {
					db.filters[name] = &keyFilter{state: filterOff}
				}
				tx := NewTxnStore(db.Store(name))
				rng := rand.New(rand.NewPCG(1, 2))
				b.StartTimer()
				for i := range keys + keys*6/10 {
					k := (i * 7919) % keys
					if i >= keys {
						k = rng.IntN(keys)
					}
					kb = fmt.Appendf(kb[:0], "w%07d", k)
					v, found, err := tx.Get(kb)
					if err != nil {
						b.Fatal(err)
					}
					n := uint64(0)
					if found {
						n = binary.BigEndian.Uint64(v[9:])
					}
					binary.BigEndian.PutUint64(vb[9:], n+1)
					if err := tx.Put(kb, vb[:]); err != nil {
						b.Fatal(err)
					}
					if i%perTxn == perTxn-1 {
						if err := tx.Commit(); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StopTimer()
				tx.Close()
				db.Close()
				b.StartTimer()
			}
		})
	}
}
