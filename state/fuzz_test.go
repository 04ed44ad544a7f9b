package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// FuzzChangelogOffset puts arbitrary bytes where a store's changelog
// offset lives, as a damaged or foreign database could hold them. Reading
// must give the offset of an 8-byte value or fail with a StoreError naming
// the store, never panic. Then an offset written is the offset read, and it
// stays out of the store's own keys, whatever the store's name and keys.
// The seeds live in testdata/fuzz.
func FuzzChangelogOffset(f *testing.F) {
	db, err := OpenDB("db", DBOptions{FS: vfs.NewMem(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	f.Fuzz(func(t *testing.T, store string, raw []byte, key []byte, offset int64) {
		if store == "" {
			if _, _, err := db.ChangelogOffset(store); err == nil {
				t.Fatal("ChangelogOffset of the empty store name succeeded")
			}
			if err := db.SetChangelogOffset(store, offset); err == nil {
				t.Fatal("SetChangelogOffset of the empty store name succeeded")
			}
			return
		}
		metaKey := append([]byte{metaPrefix, metaChangelogOffset}, store...)
		s := db.Store(store)
		defer func() {
			if err := db.pdb.Delete(metaKey, pebble.NoSync); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(key); err != nil {
				t.Fatal(err)
			}
		}()

		if err := db.pdb.Set(metaKey, raw, pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		got, ok, err := db.ChangelogOffset(store)
		if len(raw) == 8 {
			if want := int64(binary.BigEndian.Uint64(raw)); err != nil || !ok || got != want {
				t.Fatalf("stored offset % x reads as %d, %v, %v; want %d", raw, got, ok, err, want)
			}
		} else {
			var se *StoreError
			if err == nil || ok || !errors.As(err, &se) || se.Store != store {
				t.Fatalf("stored offset % x reads as %d, %v, %v; want a StoreError for %q", raw, got, ok, err, store)
			}
			want := fmt.Sprintf("state: store %q: read changelog offset: stored offset has %d bytes, want 8", store, len(raw))
			if err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
		}

		value := append([]byte{}, raw...) // never nil, as Put asks
		if err := s.Put(key, value); err != nil {
			t.Fatal(err)
		}
		if err := db.SetChangelogOffset(store, offset); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := db.ChangelogOffset(store); err != nil || !ok || got != offset {
			t.Fatalf("offset %d written reads as %d, %v, %v", offset, got, ok, err)
		}
		it, err := s.Range(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		for it.Next() {
			n++
			if string(it.Key()) != string(key) || string(it.Value()) != string(value) {
				t.Errorf("store %q holds %q=%q, want only %q=%q", store, it.Key(), it.Value(), key, value)
			}
		}
		if err := errors.Join(it.Err(), it.Close()); err != nil || n != 1 {
			t.Fatalf("store %q holds %d entries (%v), want 1", store, n, err)
		}
	})
}
