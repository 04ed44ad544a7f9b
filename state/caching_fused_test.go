package state

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// fusedStack is cache → change logging → transaction buffer → counting →
// memory, with a listener that takes no old values: the cache keeps its
// entries in the buffer.
func fusedStack(t *testing.T, maxBytes int) (*CachingStore, *TxnStore, *countingStore, *recordingLogger, *[]flushEvent) {
	t.Helper()
	counting := &countingStore{KeyValueBytesStore: NewMemoryStore("st")}
	txn := NewTxnStore(counting)
	logger := &recordingLogger{}
	logging := NewChangeLoggingStore(txn, logger, nil)
	c := NewCachingStore(logging, maxBytes)
	// As the builder does: changelog records carry the cached write's time.
	logging.(*changeLoggingStore).clock = c.writeTime
	events := new([]flushEvent)
	c.SetFlushListener(func(key, newValue, oldValue []byte, _ int64) error {
		*events = append(*events, flushEvent{string(key), nilStr(newValue), nilStr(oldValue)})
		return nil
	})
	c.SetSendOldValues(false)
	// Fused, and for longer than the tests flush.
	c.mode, c.backoff = modeFused, 1<<30
	return c, txn, counting, logger, events
}

func TestCachingInBufferFoldsAndFlushes(t *testing.T) {
	c, txn, counting, logger, events := fusedStack(t, 1<<20)
	mustPut(t, counting, "gone", "g0", "kept", "k0") // committed before
	var now int64
	c.SetClock(func() int64 { return now })
	now = 3
	mustPut(t, c, "b", "1", "a", "1")
	now = 4
	mustPut(t, c, "b", "2")
	for _, k := range []string{"gone", "never"} {
		if err := c.Delete([]byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if c.mode != modeFused {
		t.Fatalf("cache mode %d, want the buffer's", c.mode)
	}
	if v, found, _ := c.Get([]byte("b")); !found || string(v) != "2" {
		t.Fatalf("Get(b) = %q, %v", v, found)
	}
	if v, found, _ := c.Get([]byte("kept")); !found || string(v) != "k0" {
		t.Fatalf("Get(kept) = %q, %v", v, found)
	}
	if _, found, _ := c.Get([]byte("gone")); found {
		t.Fatal("cached delete not seen by Get")
	}
	if len(*events) != 0 || !c.Dirty() {
		t.Fatalf("before Flush: events %v, dirty %v", *events, c.Dirty())
	}
	if err := txn.Commit(); err == nil {
		t.Fatal("Commit with writes the cache had not written down succeeded")
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	want := []string{"b:<nil>->2", "a:<nil>->1", "gone:g0-><nil>"}
	if got := eventStrings(*events); !slices.Equal(got, want) {
		t.Fatalf("listener got %q, want %q", got, want)
	}
	wantLog := []logRecord{{"b", []byte("2")}, {"a", []byte("1")}, {"gone", nil}, {"never", nil}}
	if !slices.EqualFunc(logger.records, wantLog, eqRecord) {
		t.Fatalf("log = %v, want %v", logger.records, wantLog)
	}
	if !slices.Equal(logger.times, []int64{4, 3, 4, 4}) {
		t.Fatalf("log times %v, want the times of the last writes", logger.times)
	}
	if c.Dirty() {
		t.Fatal("dirty after Flush")
	}
	// Nothing reached the store below before the commit.
	if counting.puts != 2 || counting.deletes != 0 {
		t.Fatalf("%d puts, %d deletes below the buffer before the commit", counting.puts, counting.deletes)
	}

	// Written down in this transaction, then written again and deleted:
	// the delete is reported with the value written down before.
	*events = nil
	mustPut(t, c, "a", "2")
	if err := c.Delete([]byte("a")); err != nil {
		t.Fatal(err)
	}
	mustPut(t, c, "b", "3")
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := eventStrings(*events); !slices.Equal(got, []string{"a:1-><nil>", "b:<nil>->3"}) {
		t.Fatalf("listener got %q", got)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"b": "3", "kept": "k0"} {
		if v, found, _ := counting.Get([]byte(k)); !found || string(v) != want {
			t.Fatalf("committed %s = %q, %v; want %s", k, v, found, want)
		}
	}
	for _, k := range []string{"a", "gone", "never"} {
		if _, found, _ := counting.Get([]byte(k)); found {
			t.Fatalf("committed %s present", k)
		}
	}
}

func TestCachingInBufferEvicts(t *testing.T) {
	// Room for two one-byte entries, not three.
	c, txn, _, _, events := fusedStack(t, 2*(2+cacheEntryOverhead))
	mustPut(t, c, "a", "1", "b", "1", "a", "2")
	if len(*events) != 0 {
		t.Fatalf("evicted %q before the cache was full", eventStrings(*events))
	}
	mustPut(t, c, "c", "1") // evicts a, the first dirtied
	if got := eventStrings(*events); !slices.Equal(got, []string{"a:<nil>->2"}) {
		t.Fatalf("evicted %q, want a", got)
	}
	mustPut(t, c, "b", "2", "d", "1")
	if got := eventStrings(*events); !slices.Equal(got, []string{"a:<nil>->2", "b:<nil>->2"}) {
		t.Fatalf("evicted %q, want a then b", got)
	}
	// A write down is read back from the buffer, and written again it is
	// cached anew.
	mustPut(t, c, "a", "3")
	if v, _, _ := c.Get([]byte("a")); string(v) != "3" {
		t.Fatalf("Get(a) = %q", v)
	}
	// A range deletion drops the cached writes it covers: they reach
	// neither the listener nor the changelog.
	if err := c.DeleteRange([]byte("c"), []byte("e")); err != nil {
		t.Fatal(err)
	}
	*events = nil
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := eventStrings(*events); !slices.Equal(got, []string{"a:<nil>->3"}) {
		t.Fatalf("flushed %q, want a", got)
	}
	if got := readAll(t, mustRange(t, c, nil, nil)); !slices.Equal(got, []string{"a=3", "b=2"}) {
		t.Fatalf("Range = %q", got)
	}
	// An aborted transaction leaves nothing cached.
	mustPut(t, c, "x", "1")
	txn.Abort()
	if c.Dirty() {
		t.Fatal("dirty after the transaction aborted")
	}
	*events = nil
	if err := c.Flush(); err != nil || len(*events) != 0 {
		t.Fatalf("Flush after Abort = %v, events %q", err, eventStrings(*events))
	}
}

// A write down that fails leaves the entry cached, to be written by the
// next Flush; a listener's error stops the flush.
func TestCachingInBufferErrors(t *testing.T) {
	boom := errors.New("boom")
	c, _, _, logger, events := fusedStack(t, 1<<20)
	mustPut(t, c, "a", "1", "b", "1")
	c.SetFlushListener(func(_, _, _ []byte, _ int64) error { return boom })
	if err := c.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush = %v, want the listener's error", err)
	}
	c.SetFlushListener(func(key, newValue, oldValue []byte, _ int64) error {
		*events = append(*events, flushEvent{string(key), nilStr(newValue), nilStr(oldValue)})
		return nil
	})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	// a was written down before its listener failed; b is written now.
	if got := eventStrings(*events); !slices.Equal(got, []string{"b:<nil>->1"}) {
		t.Fatalf("listener got %q", got)
	}
	if len(logger.records) != 2 {
		t.Fatalf("%d log records, want 2", len(logger.records))
	}
}

// With a listener that takes old values, the cache keeps its own entries.
func TestCachingWithOldValuesKeepsItsEntries(t *testing.T) {
	c, _, _, _, _ := fusedStack(t, 1<<20)
	c.SetSendOldValues(true)
	mustPut(t, c, "a", "1")
	if c.mode != modeOwn {
		t.Fatalf("cache mode %d, want its own", c.mode)
	}
}

// The cache keeps its own entries while they answer most reads, goes over
// to the buffer when they do not, and tries its own again later.
func TestCachingAdaptsToItsHits(t *testing.T) {
	count := func(c *CachingStore, keys int) {
		t.Helper()
		for i := range 1000 {
			k := []byte(fmt.Sprintf("k%07d", i%keys))
			if _, _, err := c.Get(k); err != nil {
				t.Fatal(err)
			}
			mustPut(t, c, string(k), "v")
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		keys  func(round int) int
		fused bool
	}{
		{"hot keys", func(int) int { return 50 }, false},
		{"new keys", func(round int) int { return 1000 * (round + 2) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Room for a hundred entries.
			c, txn, _, _, _ := fusedStack(t, 100*(8+1+cacheEntryOverhead))
			c.mode = modeUndecided
			for round := range 3 {
				count(c, tc.keys(round))
				if err := txn.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			if got := c.mode == modeFused; got != tc.fused {
				t.Fatalf("fused %v after three flushes, want %v", got, tc.fused)
			}
			if !tc.fused {
				return
			}
			for range adaptFirstBackoff {
				count(c, 50)
			}
			if c.mode != modeOwn {
				t.Fatalf("mode %d after %d fused flushes, want its own entries again", c.mode, adaptFirstBackoff)
			}
		})
	}
}

// A store read a few times per flush interval is judged on several
// intervals together: new keys at ten reads a flush still take the cache
// over to the buffer.
func TestCachingAdaptsAtFewReadsPerFlush(t *testing.T) {
	c, txn, _, _, _ := fusedStack(t, 100*(8+1+cacheEntryOverhead))
	c.mode = modeUndecided
	next := 0
	for flush := 0; flush < 3*adaptMinReads/10 && c.mode != modeFused; flush++ {
		for range 10 {
			k := []byte(fmt.Sprintf("k%07d", next))
			next++
			if _, _, err := c.Get(k); err != nil {
				t.Fatal(err)
			}
			mustPut(t, c, string(k), "v")
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := txn.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if c.mode != modeFused {
		t.Fatalf("cache mode %d after %d reads of new keys, ten a flush: want the buffer's", c.mode, next)
	}
}

// TestCachingFusedLendsItsBytesToCleanEntries checks that a cache that goes
// over to the buffer lets the buffer's clean entries hold its bytes, so
// that reads of keys committed before are answered without inner, and
// that its own entries, when it tries them again, get what those leave.
func TestCachingFusedLendsItsBytesToCleanEntries(t *testing.T) {
	const maxBytes = 4 << 20
	getting := &gettingStore{KeyValueBytesStore: NewMemoryStore("st")}
	txn := NewTxnStore(getting)
	c := NewCachingStore(NewChangeLoggingStore(txn, &recordingLogger{}, nil), maxBytes)
	c.SetFlushListener(func(key, newValue, oldValue []byte, _ int64) error { return nil })
	c.SetSendOldValues(false)
	c.mode, c.flushes, c.backoff = modeOwn, 1, 0
	c.adapt(0, 1000)
	if c.mode != modeFused {
		t.Fatalf("mode %d after reads the cache did not answer, want fused", c.mode)
	}
	if txn.clean.max != maxBytes {
		t.Fatalf("clean entries bounded by %d, want the cache's %d", txn.clean.max, maxBytes)
	}
	const keys = 60_000
	key := func(i int) []byte { return fmt.Appendf(nil, "key-%06d", i) }
	for i := range keys {
		if err := c.Put(key(i), []byte("value-of-the-key")); err != nil {
			t.Fatal(err)
		}
		if i%5_000 == 4_999 {
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := txn.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if b := txn.clean.bytes(); b <= txnCleanMaxBytes || b > maxBytes {
		t.Fatalf("clean entries hold %d bytes, want more than the default %d and at most %d", b, txnCleanMaxBytes, maxBytes)
	}
	before := getting.gets
	for i := range keys {
		if v, found, err := c.Get(key(i)); err != nil || !found || string(v) != "value-of-the-key" {
			t.Fatalf("Get(%s) = %q %v %v", key(i), v, found, err)
		}
	}
	if n := getting.gets - before; n != 0 {
		t.Fatalf("%d reads of inner for %d keys committed, want 0: the clean entries hold them all", n, keys)
	}
	c.mode = modeOwn
	if got, want := c.ownMax(), maxBytes-(txn.clean.bytes()-txnCleanMaxBytes); got != want {
		t.Fatalf("own entries may hold %d bytes, want %d: what the clean entries leave", got, want)
	}
	// A listener that takes old values cannot have the cache's entries in
	// the buffer: the cache takes its bytes back.
	c.SetSendOldValues(true)
	c.adapt(0, 1000)
	if txn.clean.max != txnCleanMaxBytes || c.ownMax() != maxBytes {
		t.Fatalf("clean entries bounded by %d, own entries by %d, want %d and %d", txn.clean.max, c.ownMax(), txnCleanMaxBytes, maxBytes)
	}
}
