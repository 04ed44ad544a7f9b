package state

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// restoreChangelogs are changelogs large enough to span several of a
// Pebble restore's runs (restoreRunBytes, orderedRunBytes), with the
// shapes that take its different paths: keys in order (tables ingested
// together at the end), keys in no order with overwrites and tombstones
// (runs sorted, folded and ingested one by one, each over the last), and
// keys in order turning to no order (tables held back, then ingested before
// the first run they overlap).
func restoreChangelogs() map[string][]ChangelogRecord {
	const valueSize = 1 << 10
	rng := rand.New(rand.NewPCG(11, 11))
	value := func(i int) []byte {
		if i%97 == 0 {
			return []byte{} // an empty value is a value, not a tombstone
		}
		v := make([]byte, valueSize+i%13)
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		return v
	}
	key := func(i int) []byte { return fmt.Appendf(nil, "key-%08d", i) }
	add := func(recs []ChangelogRecord, k, v []byte) []ChangelogRecord {
		n := len(recs)
		// Timestamps go back and forth, as a table's may: a restore keeps
		// each record's own.
		return append(recs, ChangelogRecord{Key: k, Value: v, Timestamp: int64(1000 + n*7%50), Offset: int64(n)})
	}
	out := map[string][]ChangelogRecord{}

	var ordered []ChangelogRecord
	for i := range 3 * restoreRunBytes / valueSize {
		if i%50 == 7 {
			// Tombstones of keys never written, in key order too.
			ordered = add(ordered, key(2*i), nil)
			continue
		}
		ordered = add(ordered, key(2*i+1), value(i))
	}
	out["ordered"] = ordered

	var shuffled []ChangelogRecord
	keys := 2 * restoreRunBytes / valueSize
	for i := range 4 * keys {
		k := key(rng.IntN(keys))
		if rng.IntN(5) == 0 {
			shuffled = add(shuffled, k, nil)
			continue
		}
		shuffled = add(shuffled, k, value(i))
	}
	out["shuffled"] = shuffled

	mixed := slices.Clone(ordered[:len(ordered)/2])
	for i := range keys {
		k := key(rng.IntN(len(ordered)))
		if i%3 == 0 {
			mixed = add(mixed, k, nil)
			continue
		}
		mixed = add(mixed, k, value(i))
	}
	out["mixed"] = mixed

	// Under smallRunBytes: written as one batch, no table.
	out["small"] = []ChangelogRecord{
		{Key: key(3), Value: value(1), Timestamp: 7, Offset: 0},
		{Key: key(1), Value: value(2), Timestamp: 9, Offset: 1},
		{Key: key(3), Value: value(3), Timestamp: 8, Offset: 2},
		{Key: key(2), Value: nil, Timestamp: 9, Offset: 3},
		{Key: key(1), Value: nil, Timestamp: 10, Offset: 4},
		{Key: key(4), Value: []byte{}, Timestamp: 11, Offset: 5},
	}
	return out
}

// replay returns what a store holds after recs, in the layout of a
// timestamped store: each key's last write, tombstones removing keys.
func replay(recs []ChangelogRecord) map[string][]byte {
	want := map[string][]byte{}
	for _, r := range recs {
		if r.Value == nil {
			delete(want, string(r.Key))
			continue
		}
		want[string(r.Key)] = append(appendTimestamped(nil, r.Timestamp), r.Value...)
	}
	return want
}

// restoreInBatches restores recs into h in batches the size of a fetch,
// then flushes its bytes store, as the engine's RestoreDone does.
func restoreInBatches(t *testing.T, h Store, recs []ChangelogRecord) {
	t.Helper()
	for i := 0; i < len(recs); i += 700 {
		if err := h.RestoreBatch(recs[i:min(i+700, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Bytes().Flush(); err != nil {
		t.Fatal(err)
	}
}

// contents reads every key and value of a bytes store, in order, and
// checks that the range is in strictly increasing key order and that Get
// finds each key with the value the range gave.
func contents(t *testing.T, s KeyValueBytesStore) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	it, err := s.Range(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var last []byte
	for it.Next() {
		if last != nil && bytes.Compare(last, it.Key()) >= 0 {
			t.Fatalf("range gave %q after %q", it.Key(), last)
		}
		last = bytes.Clone(it.Key())
		got[string(it.Key())] = bytes.Clone(it.Value())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	for k, v := range got {
		gv, ok, err := s.Get([]byte(k))
		if err != nil || !ok || !bytes.Equal(gv, v) {
			t.Fatalf("Get(%q) = %d bytes, %v, %v; the range gave %d bytes", k, len(gv), ok, err, len(v))
		}
	}
	return got
}

func sameContents(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d keys, want %d", what, len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Fatalf("%s: %q missing", what, k)
		}
		if !bytes.Equal(g, w) {
			t.Fatalf("%s: %q = % x…, want % x…", what, k, g[:min(len(g), 12)], w[:min(len(w), 12)])
		}
	}
}

// TestRestoreIngestMatchesBatches restores changelogs with overwrites and
// tombstones into an empty Pebble store (written as ingested sstables),
// into a Pebble store holding a key (written as batches), and into memory,
// and checks that each holds the changelog's last write of every key with
// its timestamp, the same bytes everywhere; and that the restored Pebble
// store reads the same once its database is reopened.
func TestRestoreIngestMatchesBatches(t *testing.T) {
	for name, recs := range restoreChangelogs() {
		t.Run(name, func(t *testing.T) {
			want := replay(recs)
			build := func(env *Env) Store {
				h, _ := buildKV(t, env, TimestampedKeyValueStoreBuilder("table", stringSerde{}, stringSerde{}))
				return h
			}

			fs := vfs.NewMem()
			db, err := OpenDB("ingest", DBOptions{FS: fs})
			if err != nil {
				t.Fatal(err)
			}
			ingested := build(&Env{DB: func() (*DB, error) { return db, nil }})
			restoreInBatches(t, ingested, recs)
			sameContents(t, "ingested", contents(t, ingested.Bytes()), want)
			n := db.runFiles.Load()
			if name == "small" && n != 0 || name != "small" && n < 2 {
				t.Fatalf("the restore wrote %d sstables", n)
			}
			if left := restoreFiles(t, fs, "ingest"); len(left) > 0 {
				t.Fatalf("files left after the restore: %v", left)
			}

			// A key the store held before its restore makes it write
			// batches; the changelog's tombstone for it, its last record,
			// leaves the same contents.
			batched := build(storeKinds[0].env(t))
			seed := []byte("key-seed")
			if err := batched.Bytes().Put(seed, []byte("seed")); err != nil {
				t.Fatal(err)
			}
			withSeed := append(slices.Clone(recs), ChangelogRecord{Key: seed, Timestamp: 5, Offset: int64(len(recs))})
			restoreInBatches(t, batched, withSeed)
			sameContents(t, "batched", contents(t, batched.Bytes()), want)

			mem := build(storeKinds[1].env(t))
			restoreInBatches(t, mem, recs)
			sameContents(t, "memory", contents(t, mem.Bytes()), want)

			if err := ingested.Close(); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db, err = OpenDB("ingest", DBOptions{FS: fs})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			sameContents(t, "reopened", contents(t, db.Store("table")), want)
		})
	}
}

func restoreFiles(t *testing.T, fs vfs.FS, dir string) []string {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, restoreFilePrefix) })
}

// TestRestoreIngestReadMidway reads a store partway through a restore into
// it: the read applies what the restore held back, and the rest of the
// restore, written as batches now that the store holds keys, ends with the
// same contents.
func TestRestoreIngestReadMidway(t *testing.T) {
	recs := restoreChangelogs()["shuffled"]
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h, _ := buildKV(t, kind.env(t), TimestampedKeyValueStoreBuilder("table", stringSerde{}, stringSerde{}))
			half := len(recs) / 2
			if err := h.RestoreBatch(recs[:half]); err != nil {
				t.Fatal(err)
			}
			sameContents(t, "half", contents(t, h.Bytes()), replay(recs[:half]))
			restoreInBatches(t, h, recs[half:])
			sameContents(t, "all", contents(t, h.Bytes()), replay(recs))
		})
	}
}

// TestRestoreIngestClosedMidway closes a store and its database partway
// through a restore into it: nothing fails, the tables written and not
// ingested are gone, and the database opens again.
func TestRestoreIngestClosedMidway(t *testing.T) {
	recs := restoreChangelogs()["ordered"]
	fs := vfs.NewMem()
	db, err := OpenDB("db", DBOptions{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := buildKV(t, &Env{DB: func() (*DB, error) { return db, nil }}, TimestampedKeyValueStoreBuilder("table", stringSerde{}, stringSerde{}))
	if err := h.RestoreBatch(recs[:2*len(recs)/3]); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if left := restoreFiles(t, fs, "db"); len(left) > 0 {
		t.Fatalf("files left: %v", left)
	}
	// A file left by a process that stopped mid-restore goes when the
	// database opens.
	f, err := fs.Create(fs.PathJoin("db", restoreFilePrefix+"000009.sst"), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	db, err = OpenDB("db", DBOptions{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if left := restoreFiles(t, fs, "db"); len(left) > 0 {
		t.Fatalf("files left after open: %v", left)
	}
	if _, ok, err := db.ChangelogOffset("table"); err != nil || ok {
		t.Fatalf("offset recorded: %v, %v", ok, err)
	}
}

// TestRestoreIngestOnDisk restores into a database on the operating
// system's filesystem, where Pebble links the restore's tables into place.
func TestRestoreIngestOnDisk(t *testing.T) {
	recs := restoreChangelogs()["mixed"]
	dir := t.TempDir()
	db, err := OpenDB(dir, DBOptions{FS: vfs.Default})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, _ := buildKV(t, &Env{DB: func() (*DB, error) { return db, nil }}, TimestampedKeyValueStoreBuilder("table", stringSerde{}, stringSerde{}))
	restoreInBatches(t, h, recs)
	sameContents(t, "restored", contents(t, h.Bytes()), replay(recs))
	if left := restoreFiles(t, vfs.Default, dir); len(left) > 0 {
		t.Fatalf("files left: %v", left)
	}
}

// failingRunFS fails every write to a restore's sstables past the first
// okWrites.
type failingRunFS struct {
	vfs.FS
	okWrites *atomic.Int64
}

var errRunDisk = errors.New("disk refused the write")

func (fs failingRunFS) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, cat)
	if err != nil || !strings.HasPrefix(fs.PathBase(name), restoreFilePrefix) {
		return f, err
	}
	return failingRunFile{f, fs.okWrites}, nil
}

type failingRunFile struct {
	vfs.File
	okWrites *atomic.Int64
}

func (f failingRunFile) Write(p []byte) (int, error) {
	if f.okWrites.Add(-1) < 0 {
		return 0, errRunDisk
	}
	return f.File.Write(p)
}

// TestRestoreIngestWriteFails restores into an empty store whose disk
// refuses the writes of its sstables partway: the restore fails with the
// disk's error, naming the store, whichever of its goroutines met it; no
// table is left behind; and the database closes and opens again, without
// a recorded offset, for the restore to start over.
func TestRestoreIngestWriteFails(t *testing.T) {
	recs := restoreChangelogs()["ordered"]
	for _, ok := range []int64{0, 3, 9} {
		t.Run(fmt.Sprint(ok), func(t *testing.T) {
			mem := vfs.NewMem()
			var okWrites atomic.Int64
			okWrites.Store(ok)
			fs := failingRunFS{mem, &okWrites}
			db, err := OpenDB("db", DBOptions{FS: fs})
			if err != nil {
				t.Fatal(err)
			}
			h, _ := buildKV(t, &Env{DB: func() (*DB, error) { return db, nil }}, TimestampedKeyValueStoreBuilder("table", stringSerde{}, stringSerde{}))
			var rerr error
			for i := 0; i < len(recs) && rerr == nil; i += 700 {
				rerr = h.RestoreBatch(recs[i:min(i+700, len(recs))])
			}
			if rerr == nil {
				rerr = h.Bytes().Flush()
			}
			if !errors.Is(rerr, errRunDisk) || !strings.Contains(rerr.Error(), `"table"`) {
				t.Fatalf("restore: %v; want the disk's error, naming the store", rerr)
			}
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if left := restoreFiles(t, mem, "db"); len(left) > 0 {
				t.Fatalf("files left: %v", left)
			}
			db, err = OpenDB("db", DBOptions{FS: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, ok, err := db.ChangelogOffset("table"); err != nil || ok {
				t.Fatalf("offset recorded: %v, %v", ok, err)
			}
		})
	}
}
