package state

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
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

// BenchmarkCountFresh is BenchmarkTxnCountFresh through the stack the
// runtime builds for word count's store (typed timestamped store, change
// logging, transaction buffer, Pebble), without a cache and with W2M's
// 10 MiB one, whose listener decodes each update as the DSL's does. Each
// update goes to a sink that takes its key and value, as ToStream().To
// does: right after the write without a cache, at the write down with
// one. An op is the whole sequence; a commit flushes, then commits.
func BenchmarkCountFresh(b *testing.B) {
	const keys, perTxn = 250_000, 5_000
	const name = "KSTREAM-AGGREGATE-STATE-STORE-0000000003"
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprintf("cache=%v", cached), func(b *testing.B) {
			cache := pebble.NewCache(64 << 20)
			defer cache.Unref()
			var sunk, logged int64
			sink := func(k string, v int64) { sunk += int64(len(k)) + v }
			logger := ChangeLoggerFunc(func(key, value []byte, _ int64, _ []processor.Header) error {
				logged += int64(len(key) + len(value))
				return nil
			})
			for b.Loop() {
				b.StopTimer()
				db, err := OpenDB(b.TempDir(), DBOptions{FS: vfs.Default, Cache: cache})
				if err != nil {
					b.Fatal(err)
				}
				kb := TimestampedKeyValueStoreBuilder(name, serde.String, serde.Int64)
				if cached {
					kb.WithCachingEnabled(10 << 20)
				}
				var now int64
				st, err := kb.Build(&Env{
					DB:            func() (*DB, error) { return db, nil },
					Transactional: true,
					Logger:        func(string) ChangeLogger { return logger },
					RecordTime:    func() int64 { return now },
				})
				if err != nil {
					b.Fatal(err)
				}
				if cached {
					if _, err := SetFlushListener(st, func(f Flushed[string, ValueAndTimestamp[int64]]) error {
						sink(f.Key, f.New.Value)
						return nil
					}); err != nil {
						b.Fatal(err)
					}
					st.(*kvHandle[string, ValueAndTimestamp[int64]]).cache.SetSendOldValues(false)
				}
				s := st.Typed().(*TimestampedKeyValueStore[string, int64])
				txn := st.(*kvHandle[string, ValueAndTimestamp[int64]]).Txn()
				words := make([]string, keys)
				for i := range words {
					words[i] = fmt.Sprintf("w%07d", i)
				}
				rng := rand.New(rand.NewPCG(1, 2))
				b.StartTimer()
				for i := range keys + keys*6/10 {
					k := (i * 7919) % keys
					if i >= keys {
						k = rng.IntN(keys)
					}
					now = int64(i)
					w := words[k]
					v, _, err := s.Get(w)
					if err != nil {
						b.Fatal(err)
					}
					if err := s.Put(w, ValueAndTimestamp[int64]{Value: v.Value + 1, Timestamp: now}); err != nil {
						b.Fatal(err)
					}
					if !cached {
						sink(w, v.Value+1)
					}
					if i%perTxn == perTxn-1 {
						if err := st.Flush(); err != nil {
							b.Fatal(err)
						}
						if err := txn.Commit(); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StopTimer()
				st.Close()
				db.Close()
				b.StartTimer()
			}
		})
	}
}
