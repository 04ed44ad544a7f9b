package state

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// benchCount runs the read-modify-write of a count aggregation over a
// fixed, warm set of keys.
func benchCount(b *testing.B, s *KeyValueStore[string, int64]) {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("word-%04d", i)
		if err := s.Put(keys[i], 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		k := keys[i%len(keys)]
		n, _, err := s.Get(k)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Put(k, n+1); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStore(b *testing.B, env *Env, cached bool) *KeyValueStore[string, int64] {
	kb := KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{})
	if cached {
		kb.WithCachingEnabled(10 << 20)
	}
	st, err := kb.Build(env)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st.Typed().(*KeyValueStore[string, int64])
}

func pebbleEnv(b *testing.B) *Env {
	db, err := OpenDB(b.TempDir(), DBOptions{FS: vfs.Default})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return &Env{DB: func() (*DB, error) { return db, nil }}
}

func BenchmarkPebbleGetPut(b *testing.B) {
	benchCount(b, benchStore(b, pebbleEnv(b), false))
}

func BenchmarkCachedPebbleGetPut(b *testing.B) {
	benchCount(b, benchStore(b, pebbleEnv(b), true))
}

func BenchmarkMemoryGetPut(b *testing.B) {
	benchCount(b, benchStore(b, &Env{InMemory: true}, false))
}

// BenchmarkMemoryGetPutViewed is BenchmarkMemoryGetPut once the store has
// handed out a view: what its writes pay for the lock views read under.
func BenchmarkMemoryGetPutViewed(b *testing.B) {
	kb := KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{})
	st, err := kb.Build(&Env{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.View(); err != nil {
		b.Fatal(err)
	}
	benchCount(b, st.Typed().(*KeyValueStore[string, int64]))
}

// BenchmarkTimestampedMemoryGetPut is the count of BenchmarkMemoryGetPut
// on a timestamped store, as the DSL keeps its aggregations.
func BenchmarkTimestampedMemoryGetPut(b *testing.B) {
	kb := TimestampedKeyValueStoreBuilder("counts", stringSerde{}, int64Serde{})
	st, err := kb.Build(&Env{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	benchCount(b, st.Typed().(*KeyValueStore[string, ValueAndTimestamp[int64]]).plain.(*KeyValueStore[string, int64]))
}

// TestGetPutDoNotAllocate holds the typed stores to their promise: no
// allocation per Get or Put of fixed-size values once keys are warm.
func TestGetPutDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for _, kind := range storeKinds {
		for _, cached := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/cached=%v", kind.name, cached), func(t *testing.T) {
				b := KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{})
				if cached {
					b.WithCachingEnabled(1 << 20)
				}
				s := buildCounts(t, kind, b)
				if err := s.Put("k", 0); err != nil {
					t.Fatal(err)
				}
				allocs := testing.AllocsPerRun(1000, func() {
					n, _, _ := s.Get("k")
					s.Put("k", n+1)
				})
				// Pebble's commit pipeline allocates now and then (memtable
				// rotation); averaged over the runs it stays well below one.
				if allocs >= 1 {
					t.Fatalf("%.2f allocations per Get+Put", allocs)
				}
			})
		}
	}
}
