package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func buildWindow[V any](t testing.TB, env *Env, b *WindowBuilder[string, V]) (Store, *WindowStore[string, V]) {
	t.Helper()
	st, err := b.Build(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, st.Typed().(*WindowStore[string, V])
}

// starts drains a WindowStoreIterator into "start=value" strings.
func starts(t testing.TB) func(*WindowStoreIterator[int64], error) []string {
	return func(it *WindowStoreIterator[int64], err error) []string { return drainStarts(t, it, err) }
}

func drainStarts(t testing.TB, it *WindowStoreIterator[int64], err error) []string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for it.Next() {
		out = append(out, fmt.Sprintf("%d=%d", it.Start(), it.Value()))
	}
	if err := errors.Join(it.Err(), it.Close()); err != nil {
		t.Fatal(err)
	}
	return out
}

// windows drains a WindowedIterator into "key@start/end=value" strings.
func windows[V any](t testing.TB) func(*WindowedIterator[string, V], error) []string {
	return func(it *WindowedIterator[string, V], err error) []string { return drainWindows(t, it, err) }
}

func drainWindows[V any](t testing.TB, it *WindowedIterator[string, V], err error) []string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for it.Next() {
		w := it.Key()
		out = append(out, fmt.Sprintf("%s@%d/%d=%v", w.Key, w.Start, w.End, it.Value()))
	}
	if err := errors.Join(it.Err(), it.Close()); err != nil {
		t.Fatal(err)
	}
	return out
}

func put(t testing.TB, s *WindowStore[string, int64], k string, v, start int64) {
	t.Helper()
	if err := s.Put(k, v, start); err != nil {
		t.Fatal(err)
	}
}

// TestWindowStoreFetch checks the reads of a window store across several
// segments (interval 10ms), with keys that are prefixes of one another, on
// Pebble and in memory.
func TestWindowStoreFetch(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			b := WindowStoreBuilder("w", time.Hour, 5*time.Millisecond, stringSerde{}, int64Serde{}).WithSegmentInterval(10 * time.Millisecond)
			_, s := buildWindow(t, kind.env(t), b)
			if s.Name() != "w" || s.Persistent() != (kind.name == "pebble") || s.WindowSize() != 5 {
				t.Fatalf("Name %q, Persistent %v, WindowSize %d", s.Name(), s.Persistent(), s.WindowSize())
			}
			for _, w := range []struct {
				k        string
				v, start int64
			}{
				{"a", 1, 0}, {"a", 2, 5}, {"a", 3, 10}, {"a", 4, 25},
				{"ab", 10, 5}, {"ab", 11, 20},
				{"a\x00", 20, 10},
				{"b", 30, 0}, {"b", 31, 30},
			} {
				put(t, s, w.k, w.v, w.start)
			}
			put(t, s, "a", 5, 10) // replaces

			if v, ok, err := s.Get("a", 10); err != nil || !ok || v != 5 {
				t.Fatalf("Get(a, 10) = %d, %v, %v", v, ok, err)
			}
			if _, ok, err := s.Get("a", 11); err != nil || ok {
				t.Fatalf("Get(a, 11) found %v, %v", ok, err)
			}
			if got, want := starts(t)(s.Fetch("a", 0, 30)), []string{"0=1", "5=2", "10=5", "25=4"}; !slices.Equal(got, want) {
				t.Fatalf("Fetch(a, 0, 30) = %q, want %q", got, want)
			}
			// Both ends included.
			if got, want := starts(t)(s.Fetch("a", 5, 25)), []string{"5=2", "10=5", "25=4"}; !slices.Equal(got, want) {
				t.Fatalf("Fetch(a, 5, 25) = %q, want %q", got, want)
			}
			if got, want := starts(t)(s.BackwardFetch("a", 1, 30)), []string{"25=4", "10=5", "5=2"}; !slices.Equal(got, want) {
				t.Fatalf("BackwardFetch(a, 1, 30) = %q, want %q", got, want)
			}
			if got := starts(t)(s.Fetch("a", 11, 24)); len(got) != 0 {
				t.Fatalf("Fetch(a, 11, 24) = %q, want nothing", got)
			}
			if got, want := starts(t)(s.Fetch("ab", 0, 100)), []string{"5=10", "20=11"}; !slices.Equal(got, want) {
				t.Fatalf("Fetch(ab) = %q, want %q", got, want)
			}
			// By segment (0: 0-9, 1: 10-19, ...), then key, then start.
			wantAll := []string{
				"a@0/5=1", "a@5/10=2", "ab@5/10=10", "b@0/5=30",
				// "a\x00" then start 10 sorts before "a" then start 10.
				"a\x00@10/15=20", "a@10/15=5",
				"a@25/30=4", "ab@20/25=11", "b@30/35=31",
			}
			if got := windows[int64](t)(s.All()); !slices.Equal(got, wantAll) {
				t.Fatalf("All() =\n%q\nwant\n%q", got, wantAll)
			}
			back := slices.Clone(wantAll)
			slices.Reverse(back)
			if got := windows[int64](t)(s.BackwardAll()); !slices.Equal(got, back) {
				t.Fatalf("BackwardAll() = %q, want %q", got, back)
			}
			if got, want := windows[int64](t)(s.FetchAll(5, 20)), []string{"a@5/10=2", "ab@5/10=10", "a\x00@10/15=20", "a@10/15=5", "ab@20/25=11"}; !slices.Equal(got, want) {
				t.Fatalf("FetchAll(5, 20) = %q, want %q", got, want)
			}
			if got, want := windows[int64](t)(s.FetchKeyRange("a\x00", "ab", 0, 30)), []string{"ab@5/10=10", "a\x00@10/15=20", "ab@20/25=11"}; !slices.Equal(got, want) {
				t.Fatalf("FetchKeyRange(a\\0, ab) = %q, want %q", got, want)
			}
			if got, want := windows[int64](t)(s.BackwardFetchKeyRange("a", "a\x00", 0, 30)), []string{"a@25/30=4", "a@10/15=5", "a\x00@10/15=20", "a@5/10=2", "a@0/5=1"}; !slices.Equal(got, want) {
				t.Fatalf("BackwardFetchKeyRange(a, a\\0) = %q, want %q", got, want)
			}

			if err := s.Delete("a", 10); err != nil {
				t.Fatal(err)
			}
			if got, want := starts(t)(s.Fetch("a", 0, 30)), []string{"0=1", "5=2", "25=4"}; !slices.Equal(got, want) {
				t.Fatalf("after Delete(a, 10): %q, want %q", got, want)
			}
			if err := s.Put("a", 1, -1); err == nil || !strings.Contains(err.Error(), "window start -1 is negative") {
				t.Fatalf("Put at -1: %v", err)
			}
		})
	}
}

// TestWindowStoreRetention checks expiry: once the largest window start
// passes a window's start by the retention, the window is not returned, a
// put of it is dropped, whole segments leave the store, and the changelog
// gets no tombstone for any of it.
func TestWindowStoreRetention(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			logger := &recordingLogger{}
			now := int64(0)
			env := loggedEnv(t, kind, logger, &now)
			// Retention 100ms in segments of 50ms: three segments live.
			h, s := buildWindow(t, env, WindowStoreBuilder("w", 100*time.Millisecond, 10*time.Millisecond, stringSerde{}, int64Serde{}).WithSegmentInterval(50*time.Millisecond))
			for start := int64(0); start < 100; start += 10 {
				for k := 0; k < 10; k++ {
					put(t, s, fmt.Sprint("k", k), start, start)
				}
			}
			if n, _ := h.Bytes().ApproximateNumEntries(); n != 100 {
				t.Fatalf("%d entries, want 100", n)
			}
			// Observed 150: windows up to 50 expire; segment 0 (0-49) goes.
			put(t, s, "k0", 150, 150)
			if got, want := starts(t)(s.Fetch("k1", 0, 200)), []string{"60=60", "70=70", "80=80", "90=90"}; !slices.Equal(got, want) {
				t.Fatalf("Fetch(k1) after expiry = %q, want %q", got, want)
			}
			if _, ok, _ := s.Get("k1", 50); ok {
				t.Fatal("Get of an expired window found it")
			}
			if n, _ := h.Bytes().ApproximateNumEntries(); n != 51 {
				t.Fatalf("%d entries after segment 0 expired, want 51 (segment 1's 50 and the new one)", n)
			}
			// A put into an expired window is dropped.
			put(t, s, "k1", 1, 40)
			if got := starts(t)(s.Fetch("k1", 0, 49)); len(got) != 0 {
				t.Fatalf("late put was stored: %q", got)
			}
			// The changelog gets the last write of each window at the
			// flush: not the windows of the segment that expired before it,
			// nor the late put, and no tombstone for what expired.
			if err := h.Flush(); err != nil {
				t.Fatal(err)
			}
			for _, r := range logger.records {
				if r.value == nil {
					t.Fatalf("changelog got a tombstone for %q", r.key)
				}
			}
			if len(logger.records) != 51 {
				t.Fatalf("changelog has %d records, want 51 (segment 1's 50 and the new one)", len(logger.records))
			}
			// Logged keys are Kafka Streams' window store keys: key, start,
			// sequence number, no segment id.
			want := append(append([]byte("k0"), binary.BigEndian.AppendUint64(nil, 150)...), 0, 0, 0, 0)
			if last := logger.records[len(logger.records)-1]; last.key != string(want) {
				t.Fatalf("logged key % x, want % x", last.key, want)
			}
		})
	}
}

// TestWindowStoreRestore restores a window store from its changelog and
// checks it holds what the original held: values with their timestamps,
// deletes applied, and records that expired during the changelog skipped.
func TestWindowStoreRestore(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			logger := &recordingLogger{}
			now := int64(0)
			b := func() *WindowBuilder[string, ValueAndTimestamp[int64]] {
				return TimestampedWindowStoreBuilder("w", 100*time.Millisecond, 10*time.Millisecond, stringSerde{}, int64Serde{}).WithSegmentInterval(50 * time.Millisecond)
			}
			h1, s := buildWindow(t, loggedEnv(t, kind, logger, &now), b())
			for i := int64(0); i < 30; i++ {
				if err := s.Put(fmt.Sprint("k", i%3), ValueAndTimestamp[int64]{Value: i, Timestamp: 1000 + i}, i*10); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Delete("k1", 280); err != nil {
				t.Fatal(err)
			}
			wantAll := windows[ValueAndTimestamp[int64]](t)(s.All())
			if len(wantAll) == 0 || len(wantAll) >= 30 {
				t.Fatalf("All() = %q: want some windows expired and some live", wantAll)
			}
			if err := h1.Flush(); err != nil {
				t.Fatal(err)
			}
			recs := changelogOf(logger)
			if len(recs) < 11 {
				t.Fatalf("changelog has %d records", len(recs))
			}
			// Timestamped stores log the plain value with its own timestamp.
			for _, r := range recs {
				if r.Value != nil && (len(r.Value) != 8 || r.Timestamp != 1000+int64(binary.BigEndian.Uint64(r.Value))) {
					t.Fatalf("changelog record at %d: timestamp %d value % x", r.Offset, r.Timestamp, r.Value)
				}
			}
			h2, s2 := buildWindow(t, kind.env(t), b())
			if err := h2.RestoreBatch(recs[:10]); err != nil {
				t.Fatal(err)
			}
			if err := h2.RestoreBatch(recs[10:]); err != nil {
				t.Fatal(err)
			}
			if got := windows[ValueAndTimestamp[int64]](t)(s2.All()); !slices.Equal(got, wantAll) {
				t.Fatalf("restored All() =\n%q\nwant\n%q", got, wantAll)
			}
			n1, _ := h1.Bytes().ApproximateNumEntries()
			if n2, _ := h2.Bytes().ApproximateNumEntries(); n2 != n1 {
				t.Fatalf("restored store has %d entries, the original %d: expired segments survived the restore", n2, n1)
			}
			// The plain-value facade of a timestamped store.
			plain, err := GetWindowStore[string, int64](getter{"w": s2}, "w")
			if err != nil {
				t.Fatal(err)
			}
			if v, ok, err := plain.Get("k2", 290); err != nil || !ok || v != 29 {
				t.Fatalf("plain Get(k2, 290) = %d, %v, %v", v, ok, err)
			}
			err = h2.RestoreBatch([]ChangelogRecord{{Key: []byte("short"), Value: []byte{1}, Offset: 77}})
			if err == nil || !strings.Contains(err.Error(), "changelog offset 77") {
				t.Fatalf("restoring a short key: %v", err)
			}
		})
	}
}

// TestWindowStoreRetainDuplicates checks the join stores' mode: every put
// is kept, in order, and Delete does nothing.
func TestWindowStoreRetainDuplicates(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			logger := &recordingLogger{}
			now := int64(0)
			h, s := buildWindow(t, loggedEnv(t, kind, logger, &now), WindowStoreBuilder("j", time.Minute, time.Second, stringSerde{}, int64Serde{}).WithRetainDuplicates())
			put(t, s, "a", 1, 100)
			put(t, s, "a", 2, 100)
			put(t, s, "a", 3, 50)
			put(t, s, "a", 1, 100)
			if err := s.Delete("a", 100); err != nil {
				t.Fatal(err)
			}
			if got, want := starts(t)(s.Fetch("a", 0, 200)), []string{"50=3", "100=1", "100=2", "100=1"}; !slices.Equal(got, want) {
				t.Fatalf("Fetch = %q, want %q", got, want)
			}
			if v, ok, err := s.Get("a", 100); err != nil || !ok || v != 1 {
				t.Fatalf("Get = %d %v %v, want the first value", v, ok, err)
			}
			if err := h.Flush(); err != nil {
				t.Fatal(err)
			}
			h2, s2 := buildWindow(t, kind.env(t), WindowStoreBuilder("j", time.Minute, time.Second, stringSerde{}, int64Serde{}).WithRetainDuplicates())
			if err := h2.RestoreBatch(changelogOf(logger)); err != nil {
				t.Fatal(err)
			}
			if got, want := starts(t)(s2.Fetch("a", 0, 200)), []string{"50=3", "100=1", "100=2", "100=1"}; !slices.Equal(got, want) {
				t.Fatalf("restored Fetch = %q, want %q", got, want)
			}
		})
	}
}

// TestWindowStoreTransactional runs expiry through the transaction buffer:
// the segment deletion waits for the commit like the writes, and reads see
// through it meanwhile.
func TestWindowStoreTransactional(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			env := kind.env(t)
			env.Transactional = true
			h, s := buildWindow(t, env, WindowStoreBuilder("w", 100*time.Millisecond, 10*time.Millisecond, stringSerde{}, int64Serde{}).WithSegmentInterval(50*time.Millisecond))
			for i := int64(0); i < 10; i++ {
				put(t, s, "k", i, i*10)
			}
			if err := h.Txn().Commit(); err != nil {
				t.Fatal(err)
			}
			put(t, s, "k", 99, 200)
			if got, want := starts(t)(s.Fetch("k", 0, 300)), []string{"200=99"}; !slices.Equal(got, want) {
				t.Fatalf("through the buffer: %q, want %q", got, want)
			}
			if n, _ := h.Bytes().ApproximateNumEntries(); n != 10 {
				t.Fatalf("the store beneath changed before the commit: %d entries", n)
			}
			if err := h.Txn().Commit(); err != nil {
				t.Fatal(err)
			}
			if n, _ := h.Bytes().ApproximateNumEntries(); n != 1 {
				t.Fatalf("after the commit: %d entries, want 1", n)
			}
		})
	}
}

// TestWindowStoreReopen checks that a Pebble window store built again over
// the same database learns its time from the data: windows that had
// expired stay hidden, and their segments are dropped.
func TestWindowStoreReopen(t *testing.T) {
	db := openMemDB(t)
	env := &Env{ApplicationID: "app", DB: func() (*DB, error) { return db, nil }}
	b := WindowStoreBuilder("w", 100*time.Millisecond, 10*time.Millisecond, stringSerde{}, int64Serde{}).WithSegmentInterval(50 * time.Millisecond)
	h, s := buildWindow(t, env, b)
	for i := int64(0); i < 10; i++ {
		put(t, s, "k", i, i*10)
	}
	// Written below the store's layers, as an older run could have left
	// them: a segment the store never saw expire.
	h.Close()
	old := db.Store("w")
	mustNil(t, old.Put(append(segmentBound(nil, 0), "z\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00"...), []byte{0, 0, 0, 0, 0, 0, 0, 1}))
	mustNil(t, old.Put(append(segmentBound(nil, 4), "z\x00\x00\x00\x00\x00\x00\x00\xd2\x00\x00\x00\x00"...), []byte{0, 0, 0, 0, 0, 0, 0, 2}))
	h2, s2 := buildWindow(t, env, b)
	if got, want := windows[int64](t)(s2.All()), []string{"z@210/220=2"}; !slices.Equal(got, want) {
		t.Fatalf("after reopening: %q, want %q", got, want)
	}
	if n, _ := h2.Bytes().ApproximateNumEntries(); n != 1 {
		t.Fatalf("%d entries after reopening, want the expired segments dropped", n)
	}
}

// TestWindowStoreView reads a window store through its read-only view.
func TestWindowStoreView(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h, s := buildWindow(t, kind.env(t), TimestampedWindowStoreBuilder("w", time.Hour, time.Minute, stringSerde{}, int64Serde{}))
			if err := s.Put("a", ValueAndTimestamp[int64]{Value: 7, Timestamp: 5}, 60_000); err != nil {
				t.Fatal(err)
			}
			v, err := h.View()
			if err != nil {
				t.Fatal(err)
			}
			ro, err := GetReadOnlyWindowStore[string, int64](getter{"w": v}, "w")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := windows[int64](t)(ro.All()), []string{"a@60000/120000=7"}; !slices.Equal(got, want) {
				t.Fatalf("view All() = %q, want %q", got, want)
			}
			if _, err := GetWindowStore[string, int64](getter{"w": v}, "w"); !errors.Is(err, ErrWrongStoreType) {
				t.Fatalf("a view as a writable store: %v", err)
			}
			h.Close()
			if _, _, err := ro.Get("a", 60_000); !errors.Is(err, ErrClosed) {
				t.Fatalf("view after close: %v", err)
			}
		})
	}
}

func TestWindowBuilderChecks(t *testing.T) {
	b := WindowStoreBuilder("w", time.Minute, 2*time.Minute, stringSerde{}, int64Serde{})
	if _, err := b.Build(&Env{InMemory: true}); err == nil || !strings.Contains(err.Error(), "retention 1m0s is shorter than the window size 2m0s") {
		t.Fatalf("retention below size: %v", err)
	}
	c := WindowStoreBuilder("w", 2*time.Hour, time.Minute, stringSerde{}, int64Serde{}).ChangelogConfigs()
	if c["cleanup.policy"] != "compact,delete" || c["retention.ms"] != fmt.Sprint((26*time.Hour).Milliseconds()) {
		t.Fatalf("changelog configs %v", c)
	}
}

// TestWindowStoreViewConcurrent reads a window store's view from another
// goroutine while the task writes it and segments expire; run with -race.
func TestWindowStoreViewConcurrent(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h, s := buildWindow(t, kind.env(t), WindowStoreBuilder("w", 100*time.Millisecond, 10*time.Millisecond, stringSerde{}, int64Serde{}).WithSegmentInterval(20*time.Millisecond))
			v, err := h.View()
			if err != nil {
				t.Fatal(err)
			}
			ro := v.(*ReadOnlyWindowStore[string, int64])
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
					it, err := ro.FetchAll(0, 1<<40)
					if err == nil {
						for it.Next() {
							if w := it.Key(); w.End != w.Start+10 {
								err = fmt.Errorf("window %v", w)
							}
						}
						err = errors.Join(err, it.Err(), it.Close())
					}
					if err == nil {
						_, _, err = ro.Get("k1", 500)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
			for start := int64(0); start < 2000; start += 10 {
				for k := 0; k < 5; k++ {
					put(t, s, fmt.Sprint("k", k), start, start)
				}
			}
			close(done)
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		})
	}
}
