package state

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestCleanRingGrowsWithRowCache checks that a ring which fills its own
// bound grows with bytes of the row cache, keeps every key while they fit,
// stays within what it took, and gives it all back when released; and that
// a second ring, once the row cache has nothing left, keeps its own bound.
func TestCleanRingGrowsWithRowCache(t *testing.T) {
	rows := NewRowCache(4 << 20)
	r := newCleanRing(16<<10, rows)
	const keys = 60_000
	value := []byte("12345678")
	for i := range keys {
		r.set(fmt.Appendf(nil, "key%07d", i), value, false)
		if r.bytes() > r.max {
			t.Fatalf("key %d: ring holds %d bytes, over its bound %d", i, r.bytes(), r.max)
		}
		if int64(r.lent)+rows.Free() != rows.Size() {
			t.Fatalf("key %d: ring took %d, the row cache has %d of %d", i, r.lent, rows.Free(), rows.Size())
		}
	}
	if r.lent == 0 || r.max != r.base+r.lent {
		t.Fatalf("bound %d, own %d, taken %d: the ring did not grow with the row cache", r.max, r.base, r.lent)
	}
	for i := range keys {
		if v, ok := r.get(fmt.Appendf(nil, "key%07d", i)); !ok || string(v) != string(value) {
			t.Fatalf("key%07d = %q %v after growing, want %q", i, v, ok, value)
		}
	}
	if runtime.GOOS == "linux" && !(r.bufMapped && r.slotsMapped) {
		t.Fatalf("ring of %d bytes and %d slots not mapped outside the heap", len(r.buf), len(r.slots))
	}

	// A second ring takes what is left, then keeps its size.
	r2 := newCleanRing(16<<10, rows)
	for i := range 4 * keys {
		r2.set(fmt.Appendf(nil, "other%07d", i), value, false)
		if r2.bytes() > r2.max {
			t.Fatalf("key %d: second ring holds %d bytes, over its bound %d", i, r2.bytes(), r2.max)
		}
	}
	if rows.Free() < 0 || int64(r.lent+r2.lent) > rows.Size() {
		t.Fatalf("rings took %d and %d of a row cache of %d (%d free)", r.lent, r2.lent, rows.Size(), rows.Free())
	}
	if _, ok := r2.get(fmt.Appendf(nil, "other%07d", 4*keys-1)); !ok {
		t.Fatal("second ring lost its last key")
	}

	r.release()
	if r.lent != 0 || r.max != r.base || len(r.buf) != 0 || r.live != 0 {
		t.Fatalf("after release: bound %d, taken %d, %d bytes, %d keys", r.max, r.lent, len(r.buf), r.live)
	}
	if _, ok := r.get([]byte("key0000000")); ok {
		t.Fatal("released ring still knows a key")
	}
	r2.release()
	if rows.Free() != rows.Size() {
		t.Fatalf("row cache has %d of %d back after both rings released", rows.Free(), rows.Size())
	}
	// A released ring works again, from its own bound.
	r.set([]byte("again"), value, false)
	if v, ok := r.get([]byte("again")); !ok || string(v) != string(value) {
		t.Fatalf("again = %q %v after release", v, ok)
	}
}

// TestCleanRingSetMaxKeepsRowCache checks that a cache lending its bytes
// (setMax) and taking them back leaves what the ring took from the row
// cache accounted for.
func TestCleanRingSetMaxKeepsRowCache(t *testing.T) {
	rows := NewRowCache(1 << 20)
	r := newCleanRing(16<<10, rows)
	for i := range 20_000 {
		r.set(fmt.Appendf(nil, "key%07d", i), []byte("v"), false)
	}
	if r.lent == 0 {
		t.Fatal("ring took nothing from the row cache")
	}
	r.setMax(64 << 10)
	if r.max != 64<<10+r.lent || int64(r.lent)+rows.Free() != rows.Size() {
		t.Fatalf("after a lend: bound %d, own %d, taken %d, row cache free %d", r.max, r.base, r.lent, rows.Free())
	}
	r.setMax(1 << 10)
	if r.bytes() > r.max || int64(r.lent)+rows.Free() != rows.Size() {
		t.Fatalf("after taking the lend back: %d bytes, bound %d, taken %d, row cache free %d", r.bytes(), r.max, r.lent, rows.Free())
	}
}

// TestRowCacheConcurrent checks take and give from many goroutines: the
// cache never lends more than it has.
func TestRowCacheConcurrent(t *testing.T) {
	rows := NewRowCache(1000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := int64(0)
	for range 8 {
		wg.Go(func() {
			for range 10_000 {
				if rows.take(7) {
					mu.Lock()
					taken += 7
					if taken > rows.Size() {
						t.Errorf("lent %d of %d", taken, rows.Size())
					}
					taken -= 7
					mu.Unlock()
					rows.give(7)
				}
			}
		})
	}
	wg.Wait()
	if rows.Free() != rows.Size() {
		t.Fatalf("free %d of %d after every take was given back", rows.Free(), rows.Size())
	}
	if NewRowCache(0) != nil || NewRowCache(-1) != nil {
		t.Fatal("a row cache of no bytes is not nil")
	}
	var none *RowCache
	if none.take(1) || none.Free() != 0 || none.Size() != 0 {
		t.Fatal("a nil row cache lends")
	}
}

// TestTxnStoreRowCache checks a transaction buffer over Pebble with a row
// cache: after commits of more keys than its own bound holds, reads of
// every key are answered without Pebble, also for keys whose commit was
// held and applied later; closing the store gives the bytes back.
func TestTxnStoreRowCache(t *testing.T) {
	rows := NewRowCache(8 << 20)
	tx, inner := deferrableTxn(t, rows)
	if tx.clean.rows != rows {
		t.Fatal("the buffer of a store of a database with a row cache has none")
	}
	const keys = 100_000
	held := 0
	for c := 0; c*1000 < keys; c++ {
		for i := c * 1000; i < (c+1)*1000; i++ {
			if err := tx.Put(fmt.Appendf(nil, "k%07d", i), fmt.Appendf(nil, "v%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		var applied bool
		var err error
		if c%2 == 0 {
			applied, err = tx.CommitDeferred()
		} else {
			applied, err = true, tx.Commit()
		}
		if err != nil {
			t.Fatal(err)
		}
		if !applied {
			held++
			if err := tx.ApplyDeferred(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if held == 0 {
		t.Fatal("no commit was held")
	}
	if tx.clean.lent == 0 {
		t.Fatal("the clean entries took nothing from the row cache")
	}
	inner.gets = 0
	for i := range keys {
		v, ok, err := tx.Get(fmt.Appendf(nil, "k%07d", i))
		if err != nil || !ok || string(v) != fmt.Sprintf("v%d", i) {
			t.Fatalf("k%07d = %q %v %v", i, v, ok, err)
		}
	}
	if inner.gets != 0 {
		t.Fatalf("%d of %d reads of committed keys went to Pebble", inner.gets, keys)
	}
	if err := tx.Close(); err != nil {
		t.Fatal(err)
	}
	if rows.Free() != rows.Size() {
		t.Fatalf("row cache has %d of %d back after the store closed", rows.Free(), rows.Size())
	}
}

// rowCache passes on the row cache of the store counted.
func (s *gettingStore) rowCache() *RowCache { return rowCacheOf(s.KeyValueBytesStore) }

// TestTxnStoreViewWhileFlying reads a view from another goroutine while
// the task's goroutine commits with jobs of the database applying them
// (commitAsync), some commits held first: a key the view reads never goes
// back to an older commit's value, and never vanishes once seen (run with
// -race, it also checks that views and jobs share nothing unlocked).
func TestTxnStoreViewWhileFlying(t *testing.T) {
	db := openMemDB(t)
	inner := db.Store("st")
	tx := NewTxnStore(inner)
	tx.deferrable, tx.async = true, true
	view := tx.viewOver(inner.(viewer).view())
	const keys, commits = 50, 300
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		last := make([]int, keys)
		for i := range last {
			last[i] = -1
		}
		for {
			select {
			case <-done:
				return
			default:
			}
			for k := range keys {
				v, found, err := view.Get(fmt.Appendf(nil, "k%02d", k))
				if err != nil {
					errs <- err
					return
				}
				if !found {
					if last[k] >= 0 {
						errs <- fmt.Errorf("k%02d vanished after the view read commit %d", k, last[k])
						return
					}
					continue
				}
				var c int
				if _, err := fmt.Sscanf(string(v), "c%d", &c); err != nil {
					errs <- fmt.Errorf("view read %q", v)
					return
				}
				if c < last[k] {
					errs <- fmt.Errorf("k%02d went back from commit %d to %d", k, last[k], c)
					return
				}
				last[k] = c
			}
		}
	}()
	flights := 0
	for c := range commits {
		for k := range keys {
			// Long values on some commits, so that they do not fit in
			// what a store holds and go to a job.
			v := fmt.Sprintf("c%d", c)
			if c%3 == 0 {
				v += "-" + string(make([]byte, 30_000))
			}
			mustPut(t, tx, fmt.Sprintf("k%02d", k), v)
		}
		if _, err := tx.CommitDeferred(); err != nil {
			t.Fatal(err)
		}
		if tx.Flying() {
			flights++
		}
	}
	close(done)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if flights == 0 {
		t.Fatal("no commit went to a job")
	}
	if err := tx.ApplyDeferred(); err != nil {
		t.Fatal(err)
	}
	if tx.Flying() || tx.Holds() {
		t.Fatal("the store still flies or holds after ApplyDeferred")
	}
	v, found, err := inner.Get([]byte("k07"))
	if err != nil || !found || !strings.HasPrefix(string(v), fmt.Sprintf("c%d", commits-1)) {
		t.Fatalf("inner k07 = %.10q, %v, %v after landing; want c%d", v, found, err, commits-1)
	}
}

// TestDBJobsOrderOffsets checks the database's job chain: a changelog
// offset recorded while a job writes is written after it, and a job that
// fails fails the jobs after it, the offset's among them, and every later
// write of the database, so that no offset claims writes that were lost.
func TestDBJobsOrderOffsets(t *testing.T) {
	db, err := OpenDB("db", DBOptions{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	s := db.Store("st").(*pebbleStore)
	release := make(chan struct{})
	j := s.applyAsync(func(put func(key string, value []byte, deleted bool) error) error {
		<-release
		return put("k", []byte("v"), false)
	})
	if err := db.SetChangelogOffset("st", 42); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := j.wait(); err != nil {
		t.Fatal(err)
	}
	if err := s.landed(j); err != nil {
		t.Fatal(err)
	}
	off, ok, err := db.ChangelogOffset("st")
	if err != nil || !ok || off != 42 {
		t.Fatalf("offset = %d, %v, %v; want 42", off, ok, err)
	}
	if v, found, err := s.Get([]byte("k")); err != nil || !found || string(v) != "v" {
		t.Fatalf("k = %q, %v, %v", v, found, err)
	}

	boom := errors.New("boom")
	j = s.applyAsync(func(func(string, []byte, bool) error) error { return boom })
	if err := db.SetChangelogOffset("st", 43); err != nil {
		t.Fatal(err)
	}
	if err := j.wait(); !errors.Is(err, boom) {
		t.Fatalf("job error %v, want boom", err)
	}
	s.landed(j)
	if _, _, err := db.ChangelogOffset("st"); !errors.Is(err, boom) {
		t.Fatalf("offset read after a failed job: %v, want boom", err)
	}
	if err := s.Put([]byte("k2"), []byte("v")); !errors.Is(err, boom) {
		t.Fatalf("put after a failed job: %v, want boom", err)
	}
	if err := db.Close(); !errors.Is(err, boom) {
		t.Fatalf("close after a failed job: %v, want boom", err)
	}
}

// TestTxnStoreHeldKeysKeepTheirCleanEntries commits the same keys over and
// over, held and then applied as the runtime's commits are: each key keeps
// one clean entry, overwritten where it is, so that the ring does not fill
// with dead copies and push out the keys it holds (which would then be read
// back from Pebble), and a held key reads its held value meanwhile.
func TestTxnStoreHeldKeysKeepTheirCleanEntries(t *testing.T) {
	tx, inner := deferrableTxn(t, nil)
	defer tx.Close()
	const keys = 2000
	used := 0
	for round := range 20 {
		for i := range keys {
			if err := tx.Put(fmt.Appendf(nil, "k%05d", i), fmt.Appendf(nil, "v%05d", round)); err != nil {
				t.Fatal(err)
			}
		}
		applied, err := tx.CommitDeferred()
		if err != nil {
			t.Fatal(err)
		}
		if applied {
			t.Fatalf("round %d: the commit was applied, not held", round)
		}
		want := fmt.Sprintf("v%05d", round)
		for i := 0; i < keys; i += 97 {
			if v, ok, err := tx.Get(fmt.Appendf(nil, "k%05d", i)); err != nil || !ok || string(v) != want {
				t.Fatalf("round %d, held: k%05d = %q %v %v, want %q", round, i, v, ok, err, want)
			}
		}
		if err := tx.ApplyDeferred(); err != nil {
			t.Fatal(err)
		}
		if tx.clean.live != keys {
			t.Fatalf("round %d: %d clean entries, want one per key, %d", round, tx.clean.live, keys)
		}
		if round == 0 {
			used = tx.clean.used
		} else if tx.clean.used != used {
			t.Fatalf("round %d: the clean entries take %d bytes of the ring, %d after the first round: a commit added records rather than overwriting them", round, tx.clean.used, used)
		}
	}
	inner.gets = 0
	for i := range keys {
		if v, ok, err := tx.Get(fmt.Appendf(nil, "k%05d", i)); err != nil || !ok || string(v) != "v00019" {
			t.Fatalf("k%05d = %q %v %v", i, v, ok, err)
		}
	}
	if inner.gets != 0 {
		t.Fatalf("%d of %d reads went to Pebble", inner.gets, keys)
	}
}

// TestTxnStoreHoldsWhatFolds commits keys that never repeat and then keys
// that do: a store holds a commit only while the next one writes its keys
// again, and applies its commits otherwise, trying to hold again after a
// number of commits that doubles; every value reads back either way.
func TestTxnStoreHoldsWhatFolds(t *testing.T) {
	tx, _ := deferrableTxn(t, nil)
	defer tx.Close()
	commit := 0
	// put writes 200 keys from first and commits; it reports whether the
	// commit was held.
	put := func(first int) bool {
		t.Helper()
		for i := first; i < first+200; i++ {
			if err := tx.Put(fmt.Appendf(nil, "k%07d", i), fmt.Appendf(nil, "v%07d-%d", i, commit)); err != nil {
				t.Fatal(err)
			}
		}
		applied, err := tx.CommitDeferred()
		if err != nil {
			t.Fatal(err)
		}
		if applied == tx.Holds() {
			t.Fatalf("commit %d: applied %v, but the store holds writes: %v", commit, applied, tx.Holds())
		}
		commit++
		return !applied
	}
	var held []int
	for c := 0; c < 60; c++ {
		if put(c * 200) {
			held = append(held, c)
		}
	}
	// Held: the first commit, then after 16 and 32 commits applied.
	if want := []int{0, 18, 52}; !slices.Equal(held, want) {
		t.Fatalf("keys that never repeat: commits %v held, want %v", held, want)
	}
	// Keys that repeat: once the backoff ran out, every commit is held.
	held = held[:0]
	for c := 0; c < 80; c++ {
		if put(0) {
			held = append(held, c)
		}
	}
	if len(held) < 80-64 || held[len(held)-1] != 79 || len(held) != 80-held[0] {
		t.Fatalf("keys that repeat: commits %v of 80 held, want every one from the end of the backoff on", held)
	}
	last := commit - 1
	for i := 0; i < 60*200; i++ {
		want := fmt.Sprintf("v%07d-%d", i, i/200)
		if i < 200 {
			want = fmt.Sprintf("v%07d-%d", i, last)
		}
		if v, ok, err := tx.Get(fmt.Appendf(nil, "k%07d", i)); err != nil || !ok || string(v) != want {
			t.Fatalf("k%07d = %q %v %v, want %q", i, v, ok, err, want)
		}
	}
}

// deferrableTxn returns a buffer that may hold its commits over a store,
// counted, of a database in memory with the row cache rows (nil: none),
// closed when the test ends.
func deferrableTxn(t *testing.T, rows *RowCache) (*TxnStore, *gettingStore) {
	t.Helper()
	db, err := OpenDB("db", DBOptions{FS: vfs.NewMem(), RowCache: rows})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	inner := &gettingStore{KeyValueBytesStore: db.Store("s")}
	tx := NewTxnStore(inner)
	tx.deferrable = true
	return tx, inner
}
