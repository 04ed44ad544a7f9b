package state

import (
	"bytes"
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
