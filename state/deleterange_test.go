package state

import (
	"slices"
	"testing"
)

// TestTxnStoreCommitsRangeTombstonesInOrder checks that a transaction's
// range tombstones and point writes reach the store beneath as if applied
// in the order they were made, through one batch on Pebble.
func TestTxnStoreCommitsRangeTombstonesInOrder(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			inner := kind.new(t, "st")
			mustPut(t, inner, "a", "1", "b", "2", "c", "3", "d", "4", "e", "5")
			tx := NewTxnStore(inner)
			// Written before the tombstone: gone. Written after: kept.
			mustPut(t, tx, "bb", "before")
			if err := tx.DeleteRange([]byte("b"), []byte("d")); err != nil {
				t.Fatal(err)
			}
			mustPut(t, tx, "c", "after", "x", "9")
			if err := tx.DeleteRange([]byte("e"), nil); err != nil {
				t.Fatal(err)
			}
			mustPut(t, tx, "f", "6")
			want := []string{"a=1", "c=after", "d=4", "f=6"}
			if got := readAll(t, mustRange(t, tx, nil, nil)); !slices.Equal(got, want) {
				t.Fatalf("through the buffer: %q, want %q", got, want)
			}
			if got := readAll(t, mustRange(t, inner, nil, nil)); len(got) != 5 {
				t.Fatalf("inner changed before Commit: %q", got)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, mustRange(t, inner, nil, nil)); !slices.Equal(got, want) {
				t.Fatalf("after Commit: %q, want %q", got, want)
			}
			if tx.Pending() != 0 {
				t.Fatalf("%d writes pending after Commit", tx.Pending())
			}

			// Abort drops tombstones too.
			if err := tx.DeleteRange(nil, nil); err != nil {
				t.Fatal(err)
			}
			if tx.Pending() != 1 {
				t.Fatalf("Pending = %d with one tombstone", tx.Pending())
			}
			tx.Abort()
			if got := readAll(t, mustRange(t, tx, nil, nil)); !slices.Equal(got, want) {
				t.Fatalf("after Abort: %q, want %q", got, want)
			}
		})
	}
}

func TestAddRange(t *testing.T) {
	r := func(from, to string) keyRange {
		var k keyRange
		if from != "-" {
			k.from = []byte(from)
		}
		if to != "-" {
			k.to = []byte(to)
		}
		return k
	}
	str := func(rs []keyRange) []string {
		var out []string
		for _, x := range rs {
			f, t := "-", "-"
			if x.from != nil {
				f = string(x.from)
			}
			if x.to != nil {
				t = string(x.to)
			}
			out = append(out, f+":"+t)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		add  []keyRange
		want []string
	}{
		{"one", []keyRange{r("b", "d")}, []string{"b:d"}},
		{"disjoint, out of order", []keyRange{r("m", "p"), r("b", "d"), r("f", "h")}, []string{"b:d", "f:h", "m:p"}},
		{"touching merge", []keyRange{r("b", "d"), r("d", "f")}, []string{"b:f"}},
		{"overlap merge", []keyRange{r("b", "e"), r("c", "g")}, []string{"b:g"}},
		{"covers several", []keyRange{r("b", "c"), r("e", "f"), r("x", "y"), r("a", "g")}, []string{"a:g", "x:y"}},
		{"inside", []keyRange{r("a", "z"), r("c", "d")}, []string{"a:z"}},
		{"unbounded below", []keyRange{r("c", "d"), r("-", "b")}, []string{"-:b", "c:d"}},
		{"unbounded above", []keyRange{r("c", "d"), r("e", "-"), r("d", "e")}, []string{"c:-"}},
		{"everything", []keyRange{r("c", "d"), r("-", "-")}, []string{"-:-"}},
	} {
		var rs []keyRange
		for _, x := range tc.add {
			rs = addRange(rs, x)
		}
		if got := str(rs); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestCachingStoreDeleteRange checks that the cache drops the entries a
// range deletion covers, dirty and clean, without flushing them down or
// reporting them, and passes the range down.
func TestCachingStoreDeleteRange(t *testing.T) {
	counting := &countingStore{KeyValueBytesStore: NewMemoryStore("st")}
	mustPut(t, counting, "a", "0", "b", "0", "c", "0")
	counting.puts = 0
	c := NewCachingStore(counting, 1<<20)
	var flushed []string
	c.SetFlushListener(func(key, _, _ []byte, _ int64) error {
		flushed = append(flushed, string(key))
		return nil
	})
	mustPut(t, c, "a", "clean", "d", "clean")
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	flushed, counting.puts = nil, 0
	mustPut(t, c, "b", "dirty", "e", "dirty")
	if err := c.DeleteRange([]byte("a"), []byte("e")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		if _, found, err := c.Get([]byte(k)); err != nil || found {
			t.Fatalf("Get(%s) after DeleteRange: found %v, err %v", k, found, err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(flushed, []string{"e"}) || counting.puts != 1 {
		t.Fatalf("flushed %q with %d puts, want only e", flushed, counting.puts)
	}
	if got := readAll(t, mustRange(t, counting, nil, nil)); !slices.Equal(got, []string{"e=dirty"}) {
		t.Fatalf("store beneath holds %q", got)
	}
}

// TestChangeLoggingDeleteRangeIsNotLogged holds the changelogging layer to
// its contract: range deletions reach the store but not the changelog, and
// the writes they cover that were not sent yet are not sent at all.
func TestChangeLoggingDeleteRangeIsNotLogged(t *testing.T) {
	for _, kind := range loggedKinds() {
		t.Run(kind.name, func(t *testing.T) {
			logger := &recordingLogger{}
			s := NewChangeLoggingStore(kind.new(t, "st"), logger, nil)
			mustPut(t, s, "a", "1", "b", "2")
			mustFlush(t, s)
			mustPut(t, s, "b", "3", "c", "4", "d", "5")
			if err := s.DeleteRange(nil, []byte("d")); err != nil {
				t.Fatal(err)
			}
			mustFlush(t, s)
			want := []logRecord{{"a", []byte("1")}, {"b", []byte("2")}, {"d", []byte("5")}}
			if !slices.EqualFunc(logger.records, want, eqRecord) {
				t.Fatalf("changelog %v, want %v", logger.records, want)
			}
			if got := readAll(t, mustRange(t, s, nil, nil)); !slices.Equal(got, []string{"d=5"}) {
				t.Fatalf("store holds %q after DeleteRange", got)
			}
		})
	}
}

// TestPebbleDeleteRangeStaysInItsStore checks that a range deletion is
// bounded by the store's prefix: other stores of the DB and the changelog
// offsets keep their keys.
func TestPebbleDeleteRangeStaysInItsStore(t *testing.T) {
	db := openMemDB(t)
	a, b := db.Store("a"), db.Store("b")
	mustPut(t, a, "k", "1")
	mustPut(t, b, "k", "2")
	if err := db.SetChangelogOffset("a", 7); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteRange(nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, mustRange(t, a, nil, nil)); len(got) != 0 {
		t.Fatalf("store a holds %q", got)
	}
	if got := readAll(t, mustRange(t, b, nil, nil)); !slices.Equal(got, []string{"k=2"}) {
		t.Fatalf("store b holds %q after a's DeleteRange", got)
	}
	if off, ok, err := db.ChangelogOffset("a"); err != nil || !ok || off != 7 {
		t.Fatalf("changelog offset of a = %d, %v, %v; want 7", off, ok, err)
	}
}
