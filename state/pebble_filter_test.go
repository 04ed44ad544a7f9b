package state

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// A segment claims every key added to it, and few of the others once full.
func TestFilterSegmentFalsePositives(t *testing.T) {
	f := newKeyFilter()
	const n = 100000
	g := newFilterSegment(n)
	for i := range n {
		g.add(f.hash(fmt.Appendf(nil, "in%d", i)))
	}
	for i := range n {
		if !g.mayContain(f.hash(fmt.Appendf(nil, "in%d", i))) {
			t.Fatalf("key in%d added, not claimed", i)
		}
	}
	fp := 0
	for i := range n {
		if g.mayContain(f.hash(fmt.Appendf(nil, "out%d", i))) {
			fp++
		}
	}
	if rate := float64(fp) / n; rate > 0.02 {
		t.Fatalf("false positives %.4f of absent keys, want at most 0.02", rate)
	}
}

func filterDB(t *testing.T, fs vfs.FS) *DB {
	t.Helper()
	db, err := OpenDB("db", DBOptions{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func wantGet(t *testing.T, s KeyValueBytesStore, key string, want bool) {
	t.Helper()
	v, ok, err := s.Get([]byte(key))
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if ok != want {
		t.Fatalf("get %s: found %v (%q), want %v", key, ok, v, want)
	}
}

// Keys the store lacks are answered by the filter, without Pebble; every
// key written, in a batch or not, is found, as are keys a reopened
// database holds, which has no filter.
func TestFilterGets(t *testing.T) {
	fs := vfs.NewMem()
	db := filterDB(t, fs)
	s := db.Store("s")
	ps := s.(*pebbleStore)
	wantGet(t, s, "a", false)
	if st := ps.filter.state; st != filterOn {
		t.Fatalf("filter of an empty store: state %d, want on", st)
	}
	for i := range 5000 {
		if err := s.Put(fmt.Appendf(nil, "k%d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	ps.BeginBatch()
	if err := s.Put([]byte("batched"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	wantGet(t, s, "batched", false) // reads see the store before the batch
	if err := ps.CommitBatch(); err != nil {
		t.Fatal(err)
	}
	wantGet(t, s, "batched", true)
	for i := range 5000 {
		wantGet(t, s, fmt.Sprintf("k%d", i), true)
	}
	before := ps.gets
	for i := range 5000 {
		wantGet(t, s, fmt.Sprintf("absent%d", i), false)
	}
	if asked := ps.gets - before; asked > 250 {
		t.Fatalf("%d of 5000 Gets of absent keys read Pebble, want at most 250", asked)
	}
	// Another view of the store shares the filter.
	other := db.Store("s")
	if err := other.Put([]byte("other"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	wantGet(t, s, "other", true)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = filterDB(t, fs)
	s = db.Store("s")
	wantGet(t, s, "k42", true)
	wantGet(t, s, "other", true)
	wantGet(t, s, "absent", false)
	if st := s.(*pebbleStore).filter.state; st != filterOff {
		t.Fatalf("filter of a reopened store: state %d, want off", st)
	}
}

// A store whose filter is unknown while a batch is open does not build it
// until the batch is committed, so that the batch's keys are not missed.
func TestFilterUnknownWithBatch(t *testing.T) {
	db := filterDB(t, vfs.NewMem())
	s := db.Store("s")
	ps := s.(*pebbleStore)
	ps.BeginBatch()
	if err := s.Put([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	wantGet(t, s, "k", false)
	if st := ps.filter.state; st != filterUnknown {
		t.Fatalf("filter with a batch open: state %d, want unknown", st)
	}
	if err := ps.CommitBatch(); err != nil {
		t.Fatal(err)
	}
	wantGet(t, s, "k", true)
	wantGet(t, s, "j", false)
}

// A restore into an empty store adds the keys it writes to the filter:
// Gets find every key restored, the last value of a key written twice, and
// not a key whose last record is a tombstone, and the Gets of keys the
// store lacks do not read Pebble. A restore into a store holding keys
// writes past the filter, which is then off.
func TestFilterRestore(t *testing.T) {
	for _, prefill := range []bool{false, true} {
		t.Run(fmt.Sprintf("prefilled=%v", prefill), func(t *testing.T) {
			db := filterDB(t, vfs.NewMem())
			s := db.Store("s")
			if prefill {
				if err := s.Put([]byte("old"), []byte("v")); err != nil {
					t.Fatal(err)
				}
			}
			wantGet(t, s, "r1", false) // the filter is on
			const n = 30000
			var recs []ChangelogRecord
			for i := range n {
				recs = append(recs, ChangelogRecord{Key: fmt.Appendf(nil, "r%d", i), Value: []byte("v1")})
			}
			// Each tenth key written again, each hundredth deleted.
			for i := 0; i < n; i += 10 {
				rec := ChangelogRecord{Key: fmt.Appendf(nil, "r%d", i), Value: []byte("v2")}
				if i%100 == 0 {
					rec.Value = nil
				}
				recs = append(recs, rec)
			}
			for i := range recs {
				recs[i].Offset = int64(i)
			}
			ps := s.(*pebbleStore)
			// In batches, as a restore is handed them, so that runs of
			// records in key order and out of it are both written.
			for i := 0; i < len(recs); i += 4000 {
				if err := ps.restoreRecords(recs[i:min(i+4000, len(recs))], false); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				k := fmt.Appendf(nil, "r%d", i)
				v, ok, err := s.Get(k)
				want := "v1"
				switch {
				case i%100 == 0:
					want = ""
				case i%10 == 0:
					want = "v2"
				}
				if err != nil || ok != (want != "") || string(v) != want {
					t.Fatalf("get %s: %q, %v, %v; want %q", k, v, ok, err, want)
				}
			}
			wantGet(t, s, "old", prefill)
			before := ps.gets
			for i := range 5000 {
				wantGet(t, s, fmt.Sprintf("absent%d", i), false)
			}
			asked := ps.gets - before
			if want := map[bool]filterState{false: filterOn, true: filterOff}[prefill]; ps.filter.state != want {
				t.Fatalf("filter after a restore: state %d, want %d", ps.filter.state, want)
			}
			if !prefill && asked > 250 {
				t.Fatalf("%d of 5000 Gets of absent keys read Pebble after a restore into an empty store, want at most 250", asked)
			}
		})
	}
}

// Past the keys a filter takes it is off, and Gets stay right; rewriting
// a key does not count.
func TestFilterBound(t *testing.T) {
	db := filterDB(t, vfs.NewMem())
	f := newKeyFilter()
	f.maxKeys, f.firstKeys = 1000, 64
	db.filters["s"] = f
	s := db.Store("s")
	wantGet(t, s, "a", false)
	for range 3 {
		for i := range 900 {
			if err := s.Put(fmt.Appendf(nil, "k%d", i), []byte("v")); err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				if err := s.Delete(fmt.Appendf(nil, "k%d", i)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if len(f.segs) < 2 || f.state != filterOn {
		t.Fatalf("filter after 900 keys written 3 times: %d segments, state %d, want 2 or more, on", len(f.segs), f.state)
	}
	for i := 900; i < 1200; i++ {
		if err := s.Put(fmt.Appendf(nil, "k%d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if f.state != filterOff {
		t.Fatalf("filter past its bound: state %d, want off", f.state)
	}
	for i := range 1200 {
		wantGet(t, s, fmt.Sprintf("k%d", i), i >= 900 || i%2 == 1)
	}
	wantGet(t, s, "absent", false)
}
