package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// truncatedDB returns a DB on the disk, reopened, whose store "s" holds n
// keys in one table, of which the low keys were read (their blocks are in
// the cache) before the table lost its second half, as a disk that lost
// the end of a file under the running DB. It returns the table's path.
func truncatedDB(t *testing.T, n int) (*DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := OpenDB(dir, DBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := db.Store("s")
	for i := range n {
		if err := s.Put(fmt.Appendf(nil, "k%05d", i), []byte("value")); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.pdb.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = OpenDB(dir, DBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, ok, err := db.Store("s").Get([]byte("k00000")); !ok || err != nil {
		t.Fatalf("get k00000 before the damage: found %v, err %v", ok, err)
	}
	ssts, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil || len(ssts) != 1 {
		t.Fatalf("tables %q (%v), want one", ssts, err)
	}
	fi, err := os.Stat(ssts[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(ssts[0], fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	return db, ssts[0]
}

// wantStorage fails t unless err is a fault of storage naming the table.
func wantStorage(t *testing.T, what string, err error, table string) {
	t.Helper()
	if !errors.Is(err, ErrStorage) {
		t.Fatalf("%s: err = %v, want one matching ErrStorage", what, err)
	}
	if !strings.Contains(err.Error(), filepath.Base(table)) {
		t.Fatalf("%s: err %q does not name the table %s", what, err, table)
	}
}

// A key in the lost half of a truncated table is not reported absent: the
// Get fails with ErrStorage naming the table, and so does every operation
// of the DB's stores afterwards, even of keys whose blocks are cached, as
// the DB can no longer say which of its keys exist.
func TestTruncatedTableGet(t *testing.T) {
	db, table := truncatedDB(t, 3000)
	s := db.Store("s")
	v, ok, err := s.Get([]byte("k02999"))
	if ok || v != nil {
		t.Fatalf("get k02999 from the lost half: found %q", v)
	}
	wantStorage(t, "get k02999", err, table)
	_, _, err = s.Get([]byte("k00000"))
	wantStorage(t, "get k00000 after the fault", err, table)
	_, _, err = s.(*pebbleStore).view().Get([]byte("k00001"))
	wantStorage(t, "view get after the fault", err, table)
	wantStorage(t, "put after the fault", s.Put([]byte("k"), []byte("v")), table)
}

// A range over a truncated table does not end early as if the keys of the
// lost half were not there: it fails with ErrStorage, as it opens or as it
// goes, from the store and from its view.
func TestTruncatedTableRange(t *testing.T) {
	for _, viaView := range []bool{false, true} {
		t.Run(map[bool]string{false: "store", true: "view"}[viaView], func(t *testing.T) {
			db, table := truncatedDB(t, 3000)
			var r BytesView = db.Store("s")
			if viaView {
				r = db.Store("s").(*pebbleStore).view()
			}
			it, err := r.Range(nil, nil)
			if err != nil {
				// Pebble may read the lost half as the iterator opens.
				wantStorage(t, "range", err, table)
				return
			}
			defer it.Close()
			n := 0
			for it.Next() {
				n++
			}
			if n == 3000 {
				t.Fatalf("a range over the truncated table found all %d keys", n)
			}
			wantStorage(t, fmt.Sprintf("range, after %d keys", n), it.Err(), table)
		})
	}
}
