package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestTxnStoreHoldsWritesUntilCommit(t *testing.T) {
	inner := NewMemoryStore("s")
	if err := inner.Put([]byte("a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := inner.Put([]byte("c"), []byte("3")); err != nil {
		t.Fatal(err)
	}
	tx := NewTxnStore(inner)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tx.Put([]byte("b"), []byte("2")))
	must(tx.Delete([]byte("a")))
	must(tx.Flush())
	// Reads see the pending writes; inner does not.
	if _, ok, _ := tx.Get([]byte("a")); ok {
		t.Fatal("deleted key a still visible through the txn store")
	}
	if v, ok, _ := tx.Get([]byte("b")); !ok || string(v) != "2" {
		t.Fatalf("b = %q %v, want 2", v, ok)
	}
	if _, ok, _ := inner.Get([]byte("b")); ok {
		t.Fatal("pending write reached inner before commit")
	}
	it, err := tx.Range(nil, nil)
	must(err)
	var keys [][]byte
	for it.Next() {
		keys = append(keys, bytes.Clone(it.Key()))
	}
	must(it.Err())
	must(it.Close())
	if len(keys) != 2 || string(keys[0]) != "b" || string(keys[1]) != "c" {
		t.Fatalf("range = %q, want [b c]", keys)
	}
	if n, _ := tx.ApproximateNumEntries(); n != 2 {
		t.Fatalf("count = %d, want 2", n)
	}

	tx.Abort()
	if v, ok, _ := tx.Get([]byte("a")); !ok || string(v) != "1" {
		t.Fatalf("after abort a = %q %v, want 1", v, ok)
	}
	if _, ok, _ := tx.Get([]byte("b")); ok {
		t.Fatal("aborted write still visible")
	}

	must(tx.Put([]byte("b"), []byte("2")))
	must(tx.Commit())
	if v, ok, _ := inner.Get([]byte("b")); !ok || string(v) != "2" {
		t.Fatalf("after commit inner b = %q %v, want 2", v, ok)
	}
	if tx.Pending() != 0 {
		t.Fatalf("%d writes pending after commit", tx.Pending())
	}
}

// TestTxnStoreAgainstModel runs random writes, range deletions, reads,
// scans, commits and aborts against a transaction buffer and against a
// model of what it must show (and what its store beneath must hold after
// each commit or abort), so that the hash map, the index built by the
// first scan, the range tombstones and the sort at commit agree.
func TestTxnStoreAgainstModel(t *testing.T) {
	testTxnStoreAgainstModel(t, false, false)
}

// TestTxnStoreDeferredAgainstModel runs the model with half the commits
// deferred (CommitDeferred): reads through the buffer and through a view
// over inner see every commit, and inner, once the held commits are
// applied, holds them all.
func TestTxnStoreDeferredAgainstModel(t *testing.T) {
	testTxnStoreAgainstModel(t, true, false)
}

// TestTxnStoreAsyncAgainstModel runs the model with commits applied by
// jobs of the database (commitAsync), half of them deferred: reads through
// the buffer and through a view see every commit while its flight is in
// the air, and inner, once landed, holds them all.
func TestTxnStoreAsyncAgainstModel(t *testing.T) {
	testTxnStoreAgainstModel(t, true, true)
}

func testTxnStoreAgainstModel(t *testing.T, deferring, async bool) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 11))
			inner := kind.new(t, "st")
			tx := NewTxnStore(inner)
			tx.deferrable = true
			tx.async = async
			view := tx.viewOver(inner.(viewer).view())
			held, heldViews, flights, flightViews := 0, 0, 0, 0
			committed := map[string]string{}
			pending := map[string]string{} // the view through the buffer
			maps.Copy(pending, committed)
			key := func() string { return fmt.Sprintf("k%02d", rng.IntN(40)) }
			for step := range 4000 {
				switch op := rng.IntN(100); {
				case op < 45:
					k, v := key(), strings.Repeat("v", rng.IntN(12))+fmt.Sprint(step)
					if rng.IntN(8) == 0 {
						v = ""
					}
					mustPut(t, tx, k, v)
					pending[k] = v
				case op < 60:
					k := key()
					if err := tx.Delete([]byte(k)); err != nil {
						t.Fatal(err)
					}
					delete(pending, k)
				case op < 63:
					from, to := key(), key()
					var fb, tb []byte
					if rng.IntN(4) > 0 {
						fb = []byte(from)
					}
					if rng.IntN(4) > 0 {
						tb = []byte(to)
					}
					if err := tx.DeleteRange(fb, tb); err != nil {
						t.Fatal(err)
					}
					for k := range pending {
						if inRange([]byte(k), fb, tb) {
							delete(pending, k)
						}
					}
				case op < 80:
					k := key()
					v, found, err := tx.Get([]byte(k))
					want, wantFound := pending[k]
					if err != nil || found != wantFound || string(v) != want {
						t.Fatalf("step %d: Get(%s) = %q, %v, %v; want %q, %v", step, k, v, found, err, want, wantFound)
					}
				case op < 90:
					from, to := key(), key()
					var it BytesIterator
					var err error
					reverse := rng.IntN(2) == 0
					if reverse {
						it, err = tx.ReverseRange([]byte(from), []byte(to))
					} else {
						it, err = tx.Range([]byte(from), []byte(to))
					}
					if err != nil {
						t.Fatal(err)
					}
					got := readAll(t, it)
					var want []string
					for k, v := range pending {
						if k >= from && k < to {
							want = append(want, k+"="+v)
						}
					}
					slices.Sort(want)
					if reverse {
						slices.Reverse(want)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("step %d: range [%s, %s) reverse %v = %q, want %q", step, from, to, reverse, got, want)
					}
				case op < 96:
					if deferring && rng.IntN(2) == 0 {
						applied, err := tx.CommitDeferred()
						if err != nil {
							t.Fatal(err)
						}
						if !applied {
							held++
						}
					} else if err := tx.Commit(); err != nil {
						t.Fatal(err)
					}
					if tx.flight != nil {
						flights++
					}
					committed = maps.Clone(pending)
					if tx.UncommittedBytes() != 0 || tx.Pending() != 0 {
						t.Fatalf("step %d: %d bytes, %d writes pending after Commit", step, tx.UncommittedBytes(), tx.Pending())
					}
				default:
					tx.Abort()
					pending = maps.Clone(committed)
				}
				if deferring && step%50 == 0 {
					// The view sees every commit, held or applied.
					if tx.Holds() {
						heldViews++
					}
					if tx.flight != nil {
						flightViews++
					}
					k := key()
					v, found, err := view.Get([]byte(k))
					want, wantFound := committed[k]
					if err != nil || found != wantFound || string(v) != want {
						t.Fatalf("step %d: view Get(%s) = %q, %v, %v; want %q, %v", step, k, v, found, err, want, wantFound)
					}
					from, to := key(), key()
					reverse := rng.IntN(2) == 0
					var it BytesIterator
					if reverse {
						it, err = view.ReverseRange([]byte(from), []byte(to))
					} else {
						it, err = view.Range([]byte(from), []byte(to))
					}
					if err != nil {
						t.Fatal(err)
					}
					var wantKVs []string
					for k, v := range committed {
						if k >= from && k < to {
							wantKVs = append(wantKVs, k+"="+v)
						}
					}
					slices.Sort(wantKVs)
					if reverse {
						slices.Reverse(wantKVs)
					}
					if got := readAll(t, it); !slices.Equal(got, wantKVs) {
						t.Fatalf("step %d: view range [%s, %s) reverse %v = %q, want %q", step, from, to, reverse, got, wantKVs)
					}
				}
				if step%500 == 0 || step == 3999 {
					var want []string
					for k, v := range committed {
						want = append(want, k+"="+v)
					}
					slices.Sort(want)
					if deferring {
						if n, err := view.ApproximateNumEntries(); err != nil || n != int64(len(committed)) {
							t.Fatalf("step %d: view count = %d, %v; want %d", step, n, err, len(committed))
						}
						if err := tx.ApplyDeferred(); err != nil {
							t.Fatal(err)
						}
					}
					if got := readAll(t, mustRange(t, inner, nil, nil)); !slices.Equal(got, want) {
						t.Fatalf("step %d: store beneath holds %q, want %q", step, got, want)
					}
					if n, err := tx.ApproximateNumEntries(); err != nil || n != int64(len(pending)) {
						t.Fatalf("step %d: count = %d, %v; want %d", step, n, err, len(pending))
					}
				}
			}
			if deferring && (held == 0 || heldViews == 0) {
				t.Fatalf("%d commits held, %d views read while some were: want both > 0", held, heldViews)
			}
			if async && kind.name == "pebble" && (flights == 0 || flightViews == 0) {
				t.Fatalf("%d commits in flight, %d views read while one was: want both > 0", flights, flightViews)
			}
			if err := tx.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTxnStoreUncommittedBytesLogged checks that the writes of the
// changelog layer also count their changelog records, one per key written
// between two flushes, until the transaction ends.
func TestTxnStoreUncommittedBytesLogged(t *testing.T) {
	tx := NewTxnStore(NewMemoryStore("st"))
	logging := NewChangeLoggingStore(tx, &recordingLogger{}, nil)
	mustPut(t, logging, "key", "value")
	one := int64(len("key") + len("value") + txnEntryOverhead)
	rec := int64(len("key") + len("value") + changelogRecordOverhead)
	if got := tx.UncommittedBytes(); got != one+rec {
		t.Fatalf("one logged write: %d bytes, want %d", got, one+rec)
	}
	mustPut(t, logging, "key", "vals")
	if got := tx.UncommittedBytes(); got != one+rec {
		t.Fatalf("a folded rewrite: %d bytes, want %d", got, one+rec)
	}
	if err := logging.Flush(); err != nil {
		t.Fatal(err)
	}
	mustPut(t, logging, "key", "value")
	if got := tx.UncommittedBytes(); got != one+2*rec {
		t.Fatalf("a write after the flush sent the first record: %d bytes, want %d", got, one+2*rec)
	}
	if err := logging.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := tx.UncommittedBytes(); got != 0 {
		t.Fatalf("after Commit: %d bytes", got)
	}
}

// TestTxnStoreUncommittedBytes checks the count the task bounds its
// buffers by: it grows with new keys and longer values, not with rewrites
// that fit, and goes back to zero at the end of the transaction.
func TestTxnStoreUncommittedBytes(t *testing.T) {
	tx := NewTxnStore(NewMemoryStore("st"))
	mustPut(t, tx, "key", "value")
	one := tx.UncommittedBytes()
	if want := int64(len("key") + len("value") + txnEntryOverhead); one != want {
		t.Fatalf("one write: %d bytes, want %d", one, want)
	}
	mustPut(t, tx, "key", "vals")
	if got := tx.UncommittedBytes(); got != one {
		t.Fatalf("a shorter rewrite: %d bytes, want %d", got, one)
	}
	mustPut(t, tx, "key", "a longer value")
	if got := tx.UncommittedBytes(); got != one+int64(len("a longer value")) {
		t.Fatalf("a longer rewrite: %d bytes, want %d", got, one+int64(len("a longer value")))
	}
	for i := range 1000 {
		mustPut(t, tx, fmt.Sprintf("k%04d", i), "v")
	}
	if got := tx.UncommittedBytes(); got < 1000*(5+1+txnEntryOverhead) {
		t.Fatalf("1001 keys: %d bytes", got)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := tx.UncommittedBytes(); got != 0 {
		t.Fatalf("after Commit: %d bytes", got)
	}
	mustPut(t, tx, "x", "y")
	tx.Abort()
	if got := tx.UncommittedBytes(); got != 0 {
		t.Fatalf("after Abort: %d bytes", got)
	}
}

// batchRecorder counts the writes and bytes of each batch a store is
// given.
type batchRecorder struct {
	KeyValueBytesStore
	open    bool
	batches []struct{ writes, bytes int }
}

func (r *batchRecorder) BeginBatch() {
	r.open = true
	r.batches = append(r.batches, struct{ writes, bytes int }{})
}

func (r *batchRecorder) CommitBatch() error { r.open = false; return nil }

func (r *batchRecorder) Put(key, value []byte) error {
	if r.open {
		b := &r.batches[len(r.batches)-1]
		b.writes++
		b.bytes += len(key) + len(value)
	}
	return r.KeyValueBytesStore.Put(key, value)
}

// A commit of many small writes reaches a batched store in batches that
// stay under Pebble's large-batch threshold (half a memtable) as Pebble
// counts them, with a skiplist node of the largest height per write: a
// batch above it becomes a memtable of its own, flushed on its own, and
// word count's commits of a hundred thousand counts each were.
func TestTxnStoreCommitsInMemtableSizedBatches(t *testing.T) {
	rec := &batchRecorder{KeyValueBytesStore: NewMemoryStore("counts")}
	tx := NewTxnStore(rec)
	const n = 100_000 // 16 bytes each: 1.6 MB of keys and values
	var k, v [8]byte
	for i := range n {
		binary.BigEndian.PutUint64(k[:], uint64(i)*2654435761)
		binary.BigEndian.PutUint64(v[:], uint64(i))
		if err := tx.Put(k[:], v[:]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// Pebble's node: four uint32 fields and 20 levels of two uint32
	// links; its key trailer is 8 bytes more.
	const node, trailer = 16 + 20*8, 8
	writes := 0
	for i, b := range rec.batches {
		writes += b.writes
		room := b.bytes + b.writes*(node+trailer)
		if room >= memTableSize/2 {
			t.Errorf("batch %d: %d writes take %d bytes of memtable, at or above Pebble's large-batch threshold %d", i, b.writes, room, memTableSize/2)
		}
		if i < len(rec.batches)-1 && room < memTableSize/8 {
			t.Errorf("batch %d: %d writes take %d bytes of memtable, a quarter of the threshold or less: batches far smaller than they need be", i, b.writes, room)
		}
	}
	if writes != n {
		t.Fatalf("batches hold %d writes, want %d", writes, n)
	}
}

// Once its arenas, slabs and map have grown, a transaction buffer writes
// new keys without allocating: keys live in an arena, as values do.
func TestTxnStoreNewKeysDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	tx := NewTxnStore(NewMemoryStore("counts"))
	keys := make([][]byte, 2000)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "word%06d", i)
	}
	value := []byte("12345678")
	round := 0
	allocs := testing.AllocsPerRun(20, func() {
		// Each round writes keys the last did not.
		half := keys[round%2*1000 : round%2*1000+1000]
		round++
		for _, k := range half {
			if err := tx.Put(k, value); err != nil {
				t.Fatal(err)
			}
		}
		tx.Abort()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 1000 new keys", allocs)
	}
	// The keys stay right after their arena is reused.
	mustPut(t, tx, "b", "2")
	mustPut(t, tx, "a", "1")
	if v, ok, err := tx.Get([]byte("b")); err != nil || !ok || string(v) != "2" {
		t.Fatalf("Get b: %q, %v, %v", v, ok, err)
	}
}

// TestTxnStoreKeepsCommittedValues checks the clean entries a commit
// leaves: the next transaction reads them without reading inner, a write
// over one is seen and then dropped by an abort, which leaves inner's
// value, and deletes and range deletions committed are seen.
func TestTxnStoreKeepsCommittedValues(t *testing.T) {
	inner := &gettingStore{KeyValueBytesStore: NewMemoryStore("s")}
	tx := NewTxnStore(inner)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	get := func(k string) (string, bool) {
		t.Helper()
		v, ok, err := tx.Get([]byte(k))
		must(err)
		return string(v), ok
	}
	must(tx.Put([]byte("a"), []byte("1")))
	must(tx.Put([]byte("b"), []byte("2")))
	must(tx.Put([]byte("e"), []byte{}))
	must(tx.Commit())
	if n := tx.UncommittedBytes(); n != 0 {
		t.Fatalf("UncommittedBytes after commit = %d, want 0", n)
	}
	inner.gets = 0
	if v, ok := get("a"); !ok || v != "1" {
		t.Fatalf("a = %q %v, want 1", v, ok)
	}
	if v, ok := get("e"); !ok || v != "" {
		t.Fatalf("e = %q %v, want present and empty", v, ok)
	}
	if inner.gets != 0 {
		t.Fatalf("%d reads of inner for committed keys, want 0", inner.gets)
	}

	// A longer value does not fit the clean entry's room; a shorter one does.
	must(tx.Put([]byte("a"), []byte("10")))
	must(tx.Put([]byte("b"), []byte("")))
	must(tx.Commit())
	must(tx.Put([]byte("a"), []byte("7")))
	must(tx.Delete([]byte("b")))
	must(tx.Commit())
	if v, ok := get("a"); !ok || v != "7" {
		t.Fatalf("a = %q %v, want 7", v, ok)
	}
	if _, ok := get("b"); ok {
		t.Fatal("committed delete of b not seen")
	}
	if inner.gets != 0 {
		t.Fatalf("%d reads of inner for committed keys, want 0", inner.gets)
	}

	must(tx.Put([]byte("a"), []byte("8")))
	if v, ok := get("a"); !ok || v != "8" {
		t.Fatalf("a = %q %v, want the pending 8", v, ok)
	}
	tx.Abort()
	if v, ok := get("a"); !ok || v != "7" {
		t.Fatalf("a after abort = %q %v, want the committed 7", v, ok)
	}
	if inner.gets != 1 {
		t.Fatalf("%d reads of inner after abort, want 1: an abort drops the clean entries", inner.gets)
	}

	must(tx.Put([]byte("c"), []byte("3")))
	must(tx.Commit())
	must(tx.DeleteRange([]byte("a"), []byte("c")))
	if _, ok := get("a"); ok {
		t.Fatal("a visible under a pending range deletion")
	}
	must(tx.Commit())
	if _, ok := get("a"); ok {
		t.Fatal("a visible after a committed range deletion")
	}
	if v, ok := get("c"); !ok || v != "3" {
		t.Fatalf("c = %q %v, want 3", v, ok)
	}
}

// TestTxnStoreCleanEntriesBounded checks the bound on clean entries: a
// commit that does not fit with those kept makes room by dropping the
// oldest, and one larger than the bound keeps its last keys only.
func TestTxnStoreCleanEntriesBounded(t *testing.T) {
	inner := &gettingStore{KeyValueBytesStore: NewMemoryStore("s")}
	tx := NewTxnStore(inner)
	value := make([]byte, 1000)
	ringMax, _ := tx.clean.limits()
	perKey := len(value) + 8 + 12
	third := ringMax / perKey / 3
	commit := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			if err := tx.Put(fmt.Appendf(nil, "k%07d", i), value); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if b := tx.clean.bytes(); b > txnCleanMaxBytes {
			t.Fatalf("clean entries hold %d bytes, over the bound %d", b, txnCleanMaxBytes)
		}
	}
	reads := func(from, n int) int {
		t.Helper()
		inner.gets = 0
		for i := from; i < from+n; i++ {
			if _, ok, err := tx.Get(fmt.Appendf(nil, "k%07d", i)); err != nil || !ok {
				t.Fatalf("k%07d: %v %v", i, ok, err)
			}
		}
		return inner.gets
	}
	commit(0, third)
	commit(third, third)
	if n := reads(0, 2*third); n != 0 {
		t.Fatalf("%d reads of inner for %d keys committed, want 0", n, 2*third)
	}
	commit(2*third, 2*third)
	if n := reads(2*third, 2*third); n != 0 {
		t.Fatalf("%d reads of inner for the %d keys just committed, want 0", n, 2*third)
	}
	// The ring wraps where a record does not fit before its end: a few
	// of the oldest keys may outlive a commit that takes their room.
	if n := reads(0, third); n < third*9/10 {
		t.Fatalf("%d reads of inner for the %d keys committed first, want nearly all: the last commit took their room", n, third)
	}
	commit(4*third, 6*third)
	if n := reads(9*third, third); n != 0 {
		t.Fatalf("%d reads of inner for the last %d keys of a commit over the bound, want 0", n, third)
	}
	if n := reads(2*third, third); n != third {
		t.Fatalf("%d reads of inner for %d keys of the commit before, want all", n, third)
	}
}

// TestTxnStoreViewWhileDeferring reads a view from another goroutine while
// the task's goroutine writes and defers commits: every value the view
// reads is one a commit made (run with -race, it also checks the locking).
func TestTxnStoreViewWhileDeferring(t *testing.T) {
	inner := openMemDB(t).Store("st")
	tx := NewTxnStore(inner)
	tx.deferrable = true
	view := tx.viewOver(inner.(viewer).view())
	const keys, commits = 50, 400
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for {
			select {
			case <-done:
				return
			default:
			}
			for k := range keys {
				v, found, err := view.Get([]byte(fmt.Sprintf("k%02d", k)))
				if err != nil {
					errs <- err
					return
				}
				// Every commit writes each key as "c<commit>", commit >= 0.
				if found && !strings.HasPrefix(string(v), "c") {
					errs <- fmt.Errorf("view read %q", v)
					return
				}
			}
			it, err := view.Range(nil, nil)
			if err != nil {
				errs <- err
				return
			}
			n := len(readAll(t, it))
			if n != 0 && n != keys {
				errs <- fmt.Errorf("view range read %d keys, want 0 or %d", n, keys)
				return
			}
		}
	}()
	held := 0
	for c := range commits {
		for k := range keys {
			mustPut(t, tx, fmt.Sprintf("k%02d", k), fmt.Sprintf("c%d", c))
		}
		applied, err := tx.CommitDeferred()
		if err != nil {
			t.Fatal(err)
		}
		if !applied {
			held++
		}
	}
	close(done)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if held == 0 {
		t.Fatal("no commit was held")
	}
	if err := tx.ApplyDeferred(); err != nil {
		t.Fatal(err)
	}
	v, found, err := inner.Get([]byte("k07"))
	if err != nil || !found || string(v) != fmt.Sprintf("c%d", commits-1) {
		t.Fatalf("inner k07 = %q, %v, %v after applying; want c%d", v, found, err, commits-1)
	}
}
