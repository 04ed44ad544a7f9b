package state

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// BenchmarkTxnCount is the count aggregation's read-modify-write through a
// transaction buffer over Pebble, as the runtime stacks it, with a commit
// every perTxn writes: keys distinct keys are drawn in a fixed scattered
// order, so that at 1M keys nearly every write is a key the buffer does
// not hold yet, and at 10k the same keys come back within a transaction.
// ns/op includes the commits' share.
//
// With rows, the store's clean entries grow into a row cache of the
// runtime's default size, as the runtime's do: at 250k keys, one task's
// share of the bench's W2M, they then hold every key once the first pass
// committed it, and reads and commits probe an index larger than the
// CPU's caches.
func BenchmarkTxnCount(b *testing.B) {
	for _, c := range []struct {
		keys int
		rows int64
	}{{10_000, 0}, {1_000_000, 0}, {250_000, 0}, {250_000, 64 << 20}} {
		name := fmt.Sprintf("keys=%d", c.keys)
		if c.rows > 0 {
			name += fmt.Sprintf("/rows=%dMiB", c.rows>>20)
		}
		keys := c.keys
		b.Run(name, func(b *testing.B) {
			cache := pebble.NewCache(64 << 20)
			defer cache.Unref()
			opts := DBOptions{FS: vfs.Default, Cache: cache}
			if c.rows > 0 {
				opts.RowCache = NewRowCache(c.rows)
			}
			db, err := OpenDB(b.TempDir(), opts)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			tx := NewTxnStore(db.Store("counts"))
			const perTxn = 50_000
			kb := make([]byte, 0, 16)
			var vb [8]byte
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				// 7919 is prime to 10^4 and 10^6: a permutation of the keys.
				k := (i * 7919) % keys
				kb = fmt.Appendf(kb[:0], "w%07d", k)
				v, found, err := tx.Get(kb)
				if err != nil {
					b.Fatal(err)
				}
				n := uint64(0)
				if found {
					n = binary.BigEndian.Uint64(v)
				}
				binary.BigEndian.PutUint64(vb[:], n+1)
				if err := tx.Put(kb, vb[:]); err != nil {
					b.Fatal(err)
				}
				if i%perTxn == perTxn-1 {
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
