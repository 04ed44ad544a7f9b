package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/processor"
)

// changelogOf returns what logger recorded as the changelog records a
// restore would read.
func changelogOf(l *recordingLogger) []ChangelogRecord {
	recs := make([]ChangelogRecord, len(l.records))
	for i, r := range l.records {
		recs[i] = ChangelogRecord{Key: []byte(r.key), Value: r.value, Timestamp: l.times[i], Offset: int64(i)}
	}
	return recs
}

// loggedEnv returns kind's environment with logger as every store's
// change logger and *now as the record time.
func loggedEnv(t testing.TB, kind storeKind, logger ChangeLogger, now *int64) *Env {
	env := kind.env(t)
	env.Logger = func(string) ChangeLogger { return logger }
	env.RecordTime = func() int64 { return *now }
	return env
}

// TestRestoreKeepsTimestamps writes a timestamped store, restores its
// changelog into a fresh one and checks that every value comes back with
// its timestamp, in the timestamped layout, on Pebble and in memory.
func TestRestoreKeepsTimestamps(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			logger := &recordingLogger{}
			now := int64(999)
			h, s := buildKV(t, loggedEnv(t, kind, logger, &now), TimestampedKeyValueStoreBuilder("table", stringSerde{}, int64Serde{}))
			for _, w := range []struct {
				k     string
				v, ts int64
			}{{"a", 1, 100}, {"b", 2, 150}, {"a", 3, 120}, {"c", 4, 90}} {
				if err := s.Put(w.k, ValueAndTimestamp[int64]{Value: w.v, Timestamp: w.ts}); err != nil {
					t.Fatal(err)
				}
			}
			now = 300
			if _, _, err := s.Delete("c"); err != nil {
				t.Fatal(err)
			}
			if err := h.Flush(); err != nil {
				t.Fatal(err)
			}
			// The changelog carries each key's last write, plain values
			// stamped with the values' own timestamps, a delete with the
			// record time.
			recs := changelogOf(logger)
			if len(recs) != 3 {
				t.Fatalf("%d changelog records, want 3 (a, b, c folded)", len(recs))
			}
			if got := []int64{recs[0].Timestamp, recs[1].Timestamp, recs[2].Timestamp}; !slices.Equal(got, []int64{120, 150, 300}) {
				t.Fatalf("changelog timestamps %v", got)
			}
			if !bytes.Equal(recs[0].Value, binary.BigEndian.AppendUint64(nil, 3)) || recs[2].Value != nil {
				t.Fatalf("changelog values %q, %q; want the plain value 3 and a tombstone", recs[0].Value, recs[2].Value)
			}

			h2, s2 := buildKV(t, kind.env(t), TimestampedKeyValueStoreBuilder("table", stringSerde{}, int64Serde{}))
			recs = append(recs, ChangelogRecord{Key: []byte("d"), Value: binary.BigEndian.AppendUint64(nil, 5), Timestamp: 400,
				Headers: []processor.Header{{Key: "v", Value: []byte{1}}}, Offset: 5})
			if err := h2.RestoreBatch(recs); err != nil {
				t.Fatal(err)
			}
			it, err := s2.All()
			got := map[string]ValueAndTimestamp[int64]{}
			for err == nil && it.Next() {
				got[it.Key()] = it.Value()
			}
			if err == nil {
				err = errors.Join(it.Err(), it.Close())
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]ValueAndTimestamp[int64]{"a": {3, 120}, "b": {2, 150}, "d": {5, 400}}
			if len(got) != len(want) {
				t.Fatalf("restored %v, want %v", got, want)
			}
			for k, w := range want {
				if got[k] != w {
					t.Fatalf("restored %s = %+v, want %+v", k, got[k], w)
				}
			}
			// The bytes: format byte, big-endian timestamp, value.
			raw, _, err := h2.Bytes().Get([]byte("b"))
			if err != nil {
				t.Fatal(err)
			}
			wantRaw := append([]byte{0x01, 0, 0, 0, 0, 0, 0, 0, 150}, binary.BigEndian.AppendUint64(nil, 2)...)
			if !bytes.Equal(raw, wantRaw) {
				t.Fatalf("bytes of b = % x, want % x", raw, wantRaw)
			}
		})
	}
}

// TestRestoreBatchPlain restores a plain store's changelog, tombstones
// included, and checks that nothing of it is logged again.
func TestRestoreBatchPlain(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			logger := &recordingLogger{}
			now := int64(0)
			h, s := buildKV(t, loggedEnv(t, kind, logger, &now), KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}).WithCachingEnabled(1<<20))
			enc := func(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
			recs := []ChangelogRecord{
				{Key: []byte("a"), Value: enc(1), Timestamp: 1, Offset: 10},
				{Key: []byte("b"), Value: enc(2), Timestamp: 2, Offset: 11},
				{Key: []byte("a"), Value: nil, Timestamp: 3, Offset: 12},
				{Key: []byte("c"), Value: []byte{}, Timestamp: 4, Offset: 13},
			}
			if err := h.RestoreBatch(recs); err != nil {
				t.Fatal(err)
			}
			if len(logger.records) != 0 {
				t.Fatalf("restore logged %d changelog records", len(logger.records))
			}
			if _, found, _ := s.Get("a"); found {
				t.Fatal("a survived its tombstone")
			}
			if n, found, err := s.Get("b"); err != nil || !found || n != 2 {
				t.Fatalf("b = %d, %v, %v", n, found, err)
			}
			// c's empty value is present, and no int64: the store says so.
			if _, _, err := s.Get("c"); err == nil || !strings.Contains(err.Error(), `store "counts"`) {
				t.Fatalf("Get(c) = %v", err)
			}
		})
	}
}

// TestRestoreBatchAndTheLayersAbove checks that a restore refuses to go
// beneath unflushed or uncommitted writes, and that no cached read outlives
// it.
func TestRestoreBatchAndTheLayersAbove(t *testing.T) {
	enc := func(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h, s := buildKV(t, kind.env(t), KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}).WithCachingEnabled(1<<20))
			if err := s.Put("k", 1); err != nil {
				t.Fatal(err)
			}
			err := h.RestoreBatch([]ChangelogRecord{{Key: []byte("k"), Value: enc(2)}})
			if err == nil || !strings.Contains(err.Error(), "unflushed") || !strings.Contains(err.Error(), `"counts"`) {
				t.Fatalf("restore under a dirty cache = %v", err)
			}
			if err := h.Flush(); err != nil {
				t.Fatal(err)
			}
			// k is cached clean now; the restore must not leave it there.
			if err := h.RestoreBatch([]ChangelogRecord{{Key: []byte("k"), Value: enc(2)}}); err != nil {
				t.Fatal(err)
			}
			if n, _, err := s.Get("k"); err != nil || n != 2 {
				t.Fatalf("Get(k) after restore = %d, %v; want 2", n, err)
			}

			env := kind.env(t)
			env.Transactional = true
			h, s = buildKV(t, env, KeyValueStoreBuilder("other", stringSerde{}, int64Serde{}))
			if err := s.Put("k", 1); err != nil {
				t.Fatal(err)
			}
			if err := h.RestoreBatch([]ChangelogRecord{{Key: []byte("k"), Value: enc(2)}}); err == nil || !strings.Contains(err.Error(), "uncommitted") {
				t.Fatalf("restore under a pending transaction = %v", err)
			}
			// Committed, k is a clean entry of the buffer; the restore
			// must not leave it there either.
			if err := h.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := h.Txn().Commit(); err != nil {
				t.Fatal(err)
			}
			if n, _, err := s.Get("k"); err != nil || n != 1 {
				t.Fatalf("Get(k) after commit = %d, %v; want 1", n, err)
			}
			if err := h.RestoreBatch([]ChangelogRecord{{Key: []byte("k"), Value: enc(2)}}); err != nil {
				t.Fatal(err)
			}
			if n, _, err := s.Get("k"); err != nil || n != 2 {
				t.Fatalf("Get(k) after restore over a commit = %d, %v; want 2", n, err)
			}
		})
	}
}

// TestChangelogTimestamps checks the time each changelog record carries:
// the record time of the last write to the key before the flush, which for
// a cached store is the write the cache kept, not the time of the flush.
func TestChangelogTimestamps(t *testing.T) {
	for _, cached := range []bool{false, true} {
		logger := &recordingLogger{}
		now := int64(0)
		b := KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{})
		if cached {
			b.WithCachingEnabled(1 << 20)
		}
		h, s := buildKV(t, loggedEnv(t, storeKinds[1], logger, &now), b)
		for _, w := range []struct {
			k  string
			ts int64
		}{{"a", 10}, {"b", 20}, {"a", 30}} {
			now = w.ts
			if err := s.Put(w.k, w.ts); err != nil {
				t.Fatal(err)
			}
		}
		now = 99
		if err := h.Flush(); err != nil {
			t.Fatal(err)
		}
		// With or without a cache, one record per key, in the order first
		// written: a at its last write's time, then b.
		want := []int64{30, 20}
		if !slices.Equal(logger.times, want) {
			t.Errorf("cached %v: changelog timestamps %v, want %v", cached, logger.times, want)
		}
	}
}
