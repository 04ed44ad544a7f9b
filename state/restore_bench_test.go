package state

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

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

// BenchmarkRestore restores a changelog of 200k records into an empty
// timestamped store, in batches of 8000 records (about what one fetch of a
// changelog partition hands the runtime), and reports records/s: until the
// restored store is flushed and, on Pebble, its offset recorded, as the
// runtime's restore counts it. Opening and closing the store are not
// timed.
func BenchmarkRestore(b *testing.B) {
	const n, batch = 200_000, 8000
	recs := restoreBenchRecords(n)
	run := func(b *testing.B, open func(b *testing.B) (*Env, func())) {
		for b.Loop() {
			b.StopTimer()
			env, done := open(b)
			st, err := TimestampedKeyValueStoreBuilder("counts", stringSerde{}, stringSerde{}).Build(env)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			for i := 0; i < n; i += batch {
				if err := st.RestoreBatch(recs[i:min(i+batch, n)]); err != nil {
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
	b.Run("pebble", func(b *testing.B) {
		run(b, func(b *testing.B) (*Env, func()) {
			db, err := OpenDB(b.TempDir(), DBOptions{FS: vfs.Default})
			if err != nil {
				b.Fatal(err)
			}
			return &Env{DB: func() (*DB, error) { return db, nil }}, func() {
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("memory", func(b *testing.B) {
		run(b, func(b *testing.B) (*Env, func()) { return &Env{InMemory: true}, func() {} })
	})
}
