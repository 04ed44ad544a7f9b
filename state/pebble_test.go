package state

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestPebbleStoresAreIsolated(t *testing.T) {
	db := openMemDB(t)
	// "a" and "ab" share leading bytes; with a length prefix neither store
	// can see the other's keys, at either end of its range.
	a, ab, b := db.Store("a"), db.Store("ab"), db.Store("b")
	mustPut(t, a, "k", "a", "\xff\xff", "a-high", "", "a-empty")
	mustPut(t, ab, "k", "ab", "\x00", "ab-low")
	mustPut(t, b, "k", "b")
	for _, tc := range []struct {
		s    KeyValueBytesStore
		want []string
	}{
		{a, []string{"=a-empty", "k=a", "\xff\xff=a-high"}},
		{ab, []string{"\x00=ab-low", "k=ab"}},
		{b, []string{"k=b"}},
	} {
		if got := readAll(t, mustRange(t, tc.s, nil, nil)); !slices.Equal(got, tc.want) {
			t.Errorf("store %q holds %q, want %q", tc.s.Name(), got, tc.want)
		}
		rev, err := tc.s.ReverseRange(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(tc.want)
		slices.Reverse(want)
		if got := readAll(t, rev); !slices.Equal(got, want) {
			t.Errorf("store %q reversed holds %q, want %q", tc.s.Name(), got, want)
		}
		if n, err := tc.s.ApproximateNumEntries(); err != nil || n != int64(len(tc.want)) {
			t.Errorf("store %q count = %d, %v", tc.s.Name(), n, err)
		}
	}
	if err := db.SetChangelogOffset("a", 7); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, mustRange(t, a, nil, nil)); len(got) != 3 {
		t.Fatalf("metadata leaked into store a: %q", got)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if v, found, err := b.Get([]byte("k")); err != nil || !found || string(v) != "b" {
		t.Fatalf("closing store a affected store b: %q, %v, %v", v, found, err)
	}
}

func TestPebbleEmptyStoreName(t *testing.T) {
	db := openMemDB(t)
	if err := db.Store("").Put([]byte("k"), []byte("v")); err == nil {
		t.Fatal("Put on a store with an empty name succeeded")
	}
	if err := db.SetChangelogOffset("", 1); err == nil {
		t.Fatal("SetChangelogOffset with an empty name succeeded")
	}
	if _, _, err := db.ChangelogOffset(""); err == nil {
		t.Fatal("ChangelogOffset with an empty name succeeded")
	}
}

func TestChangelogOffsets(t *testing.T) {
	fs := vfs.NewMem()
	db, err := OpenDB("task-0_1", DBOptions{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	if db.Dir() != "task-0_1" {
		t.Fatalf("Dir = %q", db.Dir())
	}
	if _, ok, err := db.ChangelogOffset("counts"); err != nil || ok {
		t.Fatalf("offset before any was set: ok %v, err %v", ok, err)
	}
	mustPut(t, db.Store("counts"), "hello", "2")
	for _, off := range []int64{0, 41, 42} {
		if err := db.SetChangelogOffset("counts", off); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetChangelogOffset("other", 5); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	_, _, err = db.ChangelogOffset("counts")
	wantClosed(t, err, "counts")
	wantClosed(t, db.SetChangelogOffset("counts", 1), "counts")
	wantClosed(t, db.Store("counts").Put([]byte("k"), []byte("v")), "counts")

	cache := pebble.NewCache(1 << 20)
	defer cache.Unref()
	db, err = OpenDB("task-0_1", DBOptions{FS: fs, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for store, want := range map[string]int64{"counts": 42, "other": 5} {
		off, ok, err := db.ChangelogOffset(store)
		if err != nil || !ok || off != want {
			t.Errorf("ChangelogOffset(%q) after reopen = %d, %v, %v; want %d", store, off, ok, err, want)
		}
	}
	if v, found, err := db.Store("counts").Get([]byte("hello")); err != nil || !found || string(v) != "2" {
		t.Fatalf("data after reopen = %q, %v, %v", v, found, err)
	}
}

func TestDBCloseClosesOpenIterators(t *testing.T) {
	db, err := OpenDB("db", DBOptions{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	s := db.Store("s")
	mustPut(t, s, "a", "1", "b", "2")
	it := mustRange(t, s, nil, nil)
	if !it.Next() {
		t.Fatal(it.Err())
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close with an open iterator: %v", err)
	}
	if it.Next() {
		t.Fatal("iterator moved on after its DB closed")
	}
	wantClosed(t, it.Err(), "s")
	if err := it.Close(); err != nil {
		t.Fatalf("closing an iterator its DB closed: %v", err)
	}
}

func TestOpenDBCorrupt(t *testing.T) {
	fs := vfs.NewMem()
	const dir = "corrupt-task"
	db, err := OpenDB(dir, DBOptions{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db.Store("s"), "k", "v")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var corrupted int
	for _, name := range names {
		if !strings.HasPrefix(name, "MANIFEST") && !strings.HasPrefix(name, "CURRENT") {
			continue
		}
		f, err := fs.Create(fs.PathJoin(dir, name), vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("this is not a pebble file\x00\x01\x02")); err != nil {
			t.Fatal(err)
		}
		f.Close()
		corrupted++
	}
	if corrupted == 0 {
		t.Fatalf("no MANIFEST or CURRENT file among %q", names)
	}
	db, err = OpenDB(dir, DBOptions{FS: fs})
	if err == nil {
		db.Close()
		t.Fatal("OpenDB on a corrupt database succeeded")
	}
	t.Logf("files %q; error: %v", names, err)
	if !strings.Contains(err.Error(), dir) || !strings.HasPrefix(err.Error(), "state: ") {
		t.Fatalf("error %q does not name the directory", err)
	}
	if errors.Unwrap(err) == nil {
		t.Fatalf("error %q wraps nothing", err)
	}
}

// A directory another open DB holds is locked, not unreadable: OpenDB says
// so with ErrLocked, and the directory opens again once the first DB closed.
func TestOpenDBLocked(t *testing.T) {
	dir := t.TempDir()
	db, err := OpenDB(dir, DBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDB(dir, DBOptions{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open of a held directory: %v, want ErrLocked", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = OpenDB(dir, DBOptions{})
	if err != nil {
		t.Fatalf("open after the holder closed: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// A database abandoned after a fatal error keeps its directory's lock: the
// directory is lost until the process exits, an ErrStorage, not a lock
// another DB will release (ErrLocked), which a caller would wait for.
func TestOpenDBAbandoned(t *testing.T) {
	dir := t.TempDir()
	db, err := OpenDB(dir, DBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	db.fatal.Store(&fatalError{msg: "test: a fatal error"})
	if err := db.Close(); err == nil {
		t.Fatal("closing a database after a fatal error reports nothing")
	}
	_, err = OpenDB(dir, DBOptions{})
	if !errors.Is(err, ErrStorage) || errors.Is(err, ErrLocked) {
		t.Fatalf("opening an abandoned database's directory: %v, want ErrStorage and not ErrLocked", err)
	}
}

// A store reads with whichever of its two ways its sampled Gets found
// cheaper, tries the other now and then, and reads the same either way.
func TestPebbleGetWeighsItsWays(t *testing.T) {
	db := openMemDB(t)
	s := db.Store("counts").(*pebbleStore)
	mustPut(t, s, "a", "1")
	ways := map[bool]int{}
	for i := range 40 * getWindow {
		key := "a"
		if i%2 == 1 {
			key = "b"
		}
		v, found, err := s.Get([]byte(key))
		if err != nil || found != (key == "a") || found && string(v) != "1" {
			t.Fatalf("Get(%s) = %q, %v, %v", key, v, found, err)
		}
		ways[s.byDB]++
	}
	if s.getCost[0] == 0 || s.getCost[1] == 0 {
		t.Fatalf("costs %v: a way was never timed", s.getCost)
	}
	if ways[false] == 0 || ways[true] == 0 {
		t.Fatalf("Gets by way %v: one way never read", ways)
	}
}
