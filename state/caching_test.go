package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"
)

// flushEvent is one call of a flush listener.
type flushEvent struct{ key, newValue, oldValue string }

func (e flushEvent) String() string { return fmt.Sprintf("%s:%s->%s", e.key, e.oldValue, e.newValue) }

func nilStr(b []byte) string {
	if b == nil {
		return "<nil>"
	}
	return string(b)
}

// cachedStack is cache → change logging → counting → memory.
func cachedStack(maxBytes int) (*CachingStore, *countingStore, *recordingLogger, *[]flushEvent) {
	counting := &countingStore{KeyValueBytesStore: NewMemoryStore("st")}
	logger := &recordingLogger{}
	c := NewCachingStore(NewChangeLoggingStore(counting, logger, nil), maxBytes)
	events := new([]flushEvent)
	c.SetFlushListener(func(key, newValue, oldValue []byte, _ int64) error {
		*events = append(*events, flushEvent{string(key), nilStr(newValue), nilStr(oldValue)})
		return nil
	})
	return c, counting, logger, events
}

func TestCachingFoldsWrites(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			counting := &countingStore{KeyValueBytesStore: kind.new(t, "counts")}
			logger := &recordingLogger{}
			c := NewCachingStore(NewChangeLoggingStore(counting, logger, nil), 1<<20)
			for i := range 10 {
				mustPut(t, c, "k", fmt.Sprint(i))
			}
			if v, found, err := c.Get([]byte("k")); err != nil || !found || string(v) != "9" {
				t.Fatalf("Get through the cache = %q, %v, %v", v, found, err)
			}
			if counting.puts != 0 || len(logger.records) != 0 {
				t.Fatalf("before Flush: %d puts, %d log records; want none", counting.puts, len(logger.records))
			}
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			if counting.puts != 1 || counting.flushes != 1 {
				t.Fatalf("after Flush: %d puts, %d flushes; want 1, 1", counting.puts, counting.flushes)
			}
			if want := []logRecord{{"k", []byte("9")}}; !slices.EqualFunc(logger.records, want, eqRecord) {
				t.Fatalf("log = %v, want %v", logger.records, want)
			}
			// Flushed entries stay cached, clean: a second Flush writes nothing.
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			if counting.puts != 1 || len(logger.records) != 1 {
				t.Fatalf("second Flush wrote again: %d puts, %d records", counting.puts, len(logger.records))
			}
		})
	}
}

func eqRecord(a, b logRecord) bool {
	return a.key == b.key && (a.value == nil) == (b.value == nil) && string(a.value) == string(b.value)
}

func TestCachingFlushOrderAndListener(t *testing.T) {
	c, counting, logger, events := cachedStack(1 << 20)
	mustPut(t, counting, "old", "o1", "gone", "g1") // already below the cache
	mustPut(t, c, "b", "1", "old", "o2", "a", "1", "b", "2")
	for _, k := range []string{"gone", "never"} {
		if err := c.Delete([]byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if _, found, _ := c.Get([]byte("gone")); found {
		t.Fatal("cached delete not seen by Get")
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	// First-dirtied order; "never" was absent before and after, so the
	// listener does not hear of it, but its tombstone is still logged.
	want := []string{"b:<nil>->2", "old:o1->o2", "a:<nil>->1", "gone:g1-><nil>"}
	if got := eventStrings(*events); !slices.Equal(got, want) {
		t.Fatalf("listener got %q, want %q", got, want)
	}
	wantLog := []logRecord{{"b", []byte("2")}, {"old", []byte("o2")}, {"a", []byte("1")}, {"gone", nil}, {"never", nil}}
	if !slices.EqualFunc(logger.records, wantLog, eqRecord) {
		t.Fatalf("log = %v, want %v", logger.records, wantLog)
	}
	// After a flush the old value is what was flushed.
	*events = nil
	mustPut(t, c, "a", "2")
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := eventStrings(*events); !slices.Equal(got, []string{"a:1->2"}) {
		t.Fatalf("listener got %q", got)
	}
}

func eventStrings(events []flushEvent) []string {
	var s []string
	for _, e := range events {
		s = append(s, e.String())
	}
	return s
}

func TestCachingEviction(t *testing.T) {
	// Room for two one-byte entries, not three.
	c, counting, _, events := cachedStack(2 * (2 + cacheEntryOverhead))
	mustPut(t, c, "a", "1", "b", "1", "a", "2")
	if counting.puts != 0 {
		t.Fatalf("%d puts below the cache before it was full", counting.puts)
	}
	mustPut(t, c, "c", "1") // evicts a, the first dirtied
	if got := eventStrings(*events); !slices.Equal(got, []string{"a:<nil>->2"}) {
		t.Fatalf("evicted %q, want a", got)
	}
	mustPut(t, c, "b", "2", "d", "1") // b is still the oldest dirty entry
	if got := eventStrings(*events); !slices.Equal(got, []string{"a:<nil>->2", "b:<nil>->2"}) {
		t.Fatalf("evicted %q, want a then b", got)
	}
	for k, want := range map[string]string{"a": "2", "b": "2", "c": "1", "d": "1"} {
		if v, found, err := c.Get([]byte(k)); err != nil || !found || string(v) != want {
			t.Fatalf("Get(%s) = %q, %v, %v; want %s", k, v, found, err, want)
		}
	}
	if counting.puts != 2 {
		t.Fatalf("%d puts below the cache, want 2", counting.puts)
	}
	// Clean entries go before dirty ones are written down.
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	*events = nil
	mustPut(t, c, "e", "1", "f", "1")
	if len(*events) != 0 {
		t.Fatalf("dirty entries written down while clean ones could go: %q", eventStrings(*events))
	}
}

func TestCachingWriteThrough(t *testing.T) {
	c, counting, logger, _ := cachedStack(0)
	mustPut(t, c, "a", "1", "a", "2")
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	// Both writes go through; the changelog layer below folds them.
	if counting.puts != 2 || len(logger.records) != 1 {
		t.Fatalf("maxBytes 0: %d puts, %d log records; want 2, 1", counting.puts, len(logger.records))
	}
}

func TestCachingRangeMerges(t *testing.T) {
	c, counting, _, _ := cachedStack(1 << 20)
	mustPut(t, counting, "a", "inner", "b", "inner", "c", "inner", "e", "inner")
	mustPut(t, c, "b", "cached", "d", "cached", "f", "cached")
	for _, k := range []string{"c", "e", "zz"} {
		if err := c.Delete([]byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a=inner", "b=cached", "d=cached", "f=cached"}
	if got := readAll(t, mustRange(t, c, nil, nil)); !slices.Equal(got, want) {
		t.Fatalf("Range = %q, want %q", got, want)
	}
	rev, err := c.ReverseRange([]byte("b"), []byte("f"))
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, rev); !slices.Equal(got, []string{"d=cached", "b=cached"}) {
		t.Fatalf("ReverseRange = %q", got)
	}
	if n, err := c.ApproximateNumEntries(); err != nil || n != 4 {
		t.Fatalf("ApproximateNumEntries = %d, %v; want 4", n, err)
	}
}

func TestCachingErrors(t *testing.T) {
	boom := errors.New("boom")
	c, counting, logger, _ := cachedStack(1 << 20)
	mustPut(t, c, "a", "1", "b", "1")
	logger.err = boom
	if err := c.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush = %v, want the logger's error", err)
	}
	// The failed entry stays dirty and is retried.
	logger.err = nil
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := len(logger.records); got != 2 {
		t.Fatalf("%d records after retry, want 2", got)
	}
	_ = counting

	c.SetFlushListener(func(_, _, _ []byte, _ int64) error { return boom })
	mustPut(t, c, "a", "2")
	err := c.Flush()
	if !errors.Is(err, boom) {
		t.Fatalf("Flush = %v, want the listener's error", err)
	}
	var se *StoreError
	if !errors.As(err, &se) || se.Store != "st" {
		t.Fatalf("Flush error %v does not name the store", err)
	}

	c.SetFlushListener(func(_, _, _ []byte, _ int64) error { return c.Flush() })
	mustPut(t, c, "a", "3")
	if err := c.Flush(); err == nil {
		t.Fatal("Flush from inside a flush listener succeeded")
	}
}

func TestCachingCloseDropsUnflushed(t *testing.T) {
	inner := &countingStore{KeyValueBytesStore: NewMemoryStore("st")}
	c := NewCachingStore(inner, 1<<20)
	mustPut(t, c, "a", "1")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if inner.puts != 0 {
		t.Fatal("Close wrote unflushed entries down")
	}
	_, _, err := inner.Get([]byte("a"))
	wantClosed(t, err, "st")
}

// The flush listener gets the record time of the entry's last write, and
// Dirty tells whether anything waits for a flush.
func TestCachingStampsEntries(t *testing.T) {
	c := NewCachingStore(NewMemoryStore("st"), 1<<20)
	var now int64
	c.SetClock(func() int64 { return now })
	var got []int64
	c.SetFlushListener(func(key, _, _ []byte, ts int64) error {
		got = append(got, ts)
		return nil
	})
	if c.Dirty() {
		t.Fatal("new cache is dirty")
	}
	now = 5
	mustPut(t, c, "a", "1")
	now = 7
	mustPut(t, c, "a", "2")
	now = 9
	if err := c.Delete([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if !c.Dirty() {
		t.Fatal("cache with unflushed writes is not dirty")
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	// The delete of a key never held is written down but not reported.
	if !slices.Equal(got, []int64{7}) || c.Dirty() {
		t.Fatalf("listener times %v, dirty %v; want [7], false", got, c.Dirty())
	}
}

// The bytes a cache charges for its entries are at least the heap they
// hold, for entries as small as word count's.
func TestCachingStoreChargesWhatItHolds(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what allocations take")
	}
	const n = 200_000
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "w%08d", i*7919%1_000_000)
	}
	value := make([]byte, 17)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := NewCachingStore(NewMemoryStore("counts"), 1<<40)
	for i, k := range keys {
		binary.BigEndian.PutUint64(value, uint64(i))
		if err := c.Put(k, value); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if charged := int64(c.size); charged < held {
		t.Fatalf("%d entries hold %d bytes of heap (%d each), the cache charged %d (%d each)", n, held, held/n, charged, charged/n)
	}
	runtime.KeepAlive(c)
}
