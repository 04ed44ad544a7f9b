package state

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// bytesKinds are the bytes store implementations, plus the caching layer
// over each, which must behave like a store of its own: once with room for
// everything and once so small that it evicts all the time; and the
// transaction buffer over each, with nothing committed, and committing
// after every write.
func bytesKinds() []storeKind {
	kinds := slices.Clone(storeKinds)
	for _, k := range storeKinds {
		kinds = append(kinds, storeKind{
			name: k.name + "+txn",
			new: func(t testing.TB, store string) KeyValueBytesStore {
				return NewTxnStore(k.new(t, store))
			},
		}, storeKind{
			name: k.name + "+txn-commits",
			new: func(t testing.TB, store string) KeyValueBytesStore {
				return committing{NewTxnStore(k.new(t, store))}
			},
		})
		for _, size := range []int{1 << 20, 200} {
			k := k
			kinds = append(kinds, storeKind{
				name: fmt.Sprintf("%s+cache%d", k.name, size),
				new: func(t testing.TB, store string) KeyValueBytesStore {
					return NewCachingStore(k.new(t, store), size)
				},
			}, storeKind{
				// The cache keeping its entries in the buffer.
				name: fmt.Sprintf("%s+txn+cache%d", k.name, size),
				new: func(t testing.TB, store string) KeyValueBytesStore {
					return NewCachingStore(NewTxnStore(k.new(t, store)), size)
				},
			})
		}
	}
	return kinds
}

func TestBytesStores(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s KeyValueBytesStore)
	}{
		{"GetPutDelete", func(t *testing.T, s KeyValueBytesStore) {
			if _, found, err := s.Get([]byte("a")); err != nil || found {
				t.Fatalf("Get on empty store = found %v, err %v", found, err)
			}
			mustPut(t, s, "a", "1", "a", "22", "b", "3")
			v, found, err := s.Get([]byte("a"))
			if err != nil || !found || string(v) != "22" {
				t.Fatalf("Get(a) = %q, %v, %v; want 22", v, found, err)
			}
			// A shorter value after a longer one must not keep the tail.
			mustPut(t, s, "a", "x")
			if v, _, _ := s.Get([]byte("a")); string(v) != "x" {
				t.Fatalf("Get(a) = %q, want x", v)
			}
			if err := s.Delete([]byte("a")); err != nil {
				t.Fatal(err)
			}
			if _, found, _ := s.Get([]byte("a")); found {
				t.Fatal("a found after Delete")
			}
			if err := s.Delete([]byte("never")); err != nil {
				t.Fatalf("Delete of an absent key: %v", err)
			}
			if got := readAll(t, mustRange(t, s, nil, nil)); !slices.Equal(got, []string{"b=3"}) {
				t.Fatalf("All = %q", got)
			}
		}},
		{"EmptyValueIsPresent", func(t *testing.T, s KeyValueBytesStore) {
			mustPut(t, s, "k", "")
			v, found, err := s.Get([]byte("k"))
			if err != nil || !found || len(v) != 0 {
				t.Fatalf("Get = %q, %v, %v; want empty, found", v, found, err)
			}
			if v == nil {
				t.Fatal("Get returned a nil value for a present key")
			}
			if got := readAll(t, mustRange(t, s, nil, nil)); !slices.Equal(got, []string{"k="}) {
				t.Fatalf("All = %q", got)
			}
		}},
		{"Range", func(t *testing.T, s KeyValueBytesStore) {
			mustPut(t, s, "a", "1", "b", "2", "c", "3", "d", "4")
			for _, tc := range []struct {
				from, to []byte
				want     []string
			}{
				{nil, nil, []string{"a=1", "b=2", "c=3", "d=4"}},
				{[]byte("b"), []byte("d"), []string{"b=2", "c=3"}},
				{[]byte("b"), nil, []string{"b=2", "c=3", "d=4"}},
				{nil, []byte("c"), []string{"a=1", "b=2"}},
				{[]byte("bb"), []byte("cc"), []string{"c=3"}},
				{[]byte("c"), []byte("c"), nil},
				{[]byte("d"), []byte("a"), nil},
				{[]byte("e"), nil, nil},
			} {
				got := readAll(t, mustRange(t, s, tc.from, tc.to))
				if !slices.Equal(got, tc.want) {
					t.Errorf("Range(%q, %q) = %q, want %q", tc.from, tc.to, got, tc.want)
				}
				rev, err := s.ReverseRange(tc.from, tc.to)
				if err != nil {
					t.Fatal(err)
				}
				want := slices.Clone(tc.want)
				slices.Reverse(want)
				if got := readAll(t, rev); !slices.Equal(got, want) {
					t.Errorf("ReverseRange(%q, %q) = %q, want %q", tc.from, tc.to, got, want)
				}
			}
		}},
		{"ManyKeys", func(t *testing.T, s KeyValueBytesStore) {
			// More keys than the memory iterator copies per walk.
			var want []string
			for i := range 300 {
				k, v := fmt.Sprintf("k%04d", i), fmt.Sprint(i)
				mustPut(t, s, k, v)
				if i >= 10 && i < 250 {
					want = append(want, k+"="+v)
				}
			}
			got := readAll(t, mustRange(t, s, []byte("k0010"), []byte("k0250")))
			if !slices.Equal(got, want) {
				t.Fatalf("Range: got %d keys, want %d", len(got), len(want))
			}
			rev, err := s.ReverseRange([]byte("k0010"), []byte("k0250"))
			if err != nil {
				t.Fatal(err)
			}
			slices.Reverse(want)
			if got := readAll(t, rev); !slices.Equal(got, want) {
				t.Fatalf("ReverseRange: got %d keys, want %d", len(got), len(want))
			}
			if n, err := s.ApproximateNumEntries(); err != nil || n != 300 {
				t.Fatalf("ApproximateNumEntries = %d, %v; want 300", n, err)
			}
		}},
		{"WritesDuringIteration", func(t *testing.T, s KeyValueBytesStore) {
			mustPut(t, s, "a", "1", "b", "2", "c", "3")
			it := mustRange(t, s, nil, nil)
			var got []string
			for it.Next() {
				got = append(got, string(it.Key())+"="+string(it.Value()))
				// Overwrite, delete and insert around the iterator.
				mustPut(t, s, "a", "changed", "b", "changed", "bb", "new")
				if err := s.Delete([]byte("c")); err != nil {
					t.Fatal(err)
				}
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			if err := it.Close(); err != nil {
				t.Fatal(err)
			}
			if want := []string{"a=1", "b=2", "c=3"}; !slices.Equal(got, want) {
				t.Fatalf("iterated %q, want the snapshot %q", got, want)
			}
			want := []string{"a=changed", "b=changed", "bb=new"}
			if got := readAll(t, mustRange(t, s, nil, nil)); !slices.Equal(got, want) {
				t.Fatalf("after iteration = %q, want %q", got, want)
			}
		}},
		{"IteratorErrAndClose", func(t *testing.T, s KeyValueBytesStore) {
			mustPut(t, s, "a", "1")
			it := mustRange(t, s, nil, nil)
			for it.Next() {
			}
			if it.Next() {
				t.Fatal("Next after the end returned true")
			}
			if err := it.Err(); err != nil {
				t.Fatalf("Err = %v", err)
			}
			if err := it.Close(); err != nil {
				t.Fatal(err)
			}
			if err := it.Close(); err != nil {
				t.Fatalf("second Close = %v", err)
			}
			rev, err := s.ReverseRange(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			for rev.Next() {
			}
			if rev.Next() {
				t.Fatal("reverse Next after the end returned true")
			}
			rev.Close()
		}},
		{"DeleteRange", func(t *testing.T, s KeyValueBytesStore) {
			mustPut(t, s, "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6")
			// An iterator opened before reads its snapshot.
			before := mustRange(t, s, nil, nil)
			steps := []struct {
				from, to string // "-" is a nil bound
				put      []string
				want     []string
			}{
				{"b", "d", nil, []string{"a=1", "d=4", "e=5", "f=6"}},
				{"d", "a", nil, []string{"a=1", "d=4", "e=5", "f=6"}},
				{"d", "d", nil, []string{"a=1", "d=4", "e=5", "f=6"}},
				{"e", "-", nil, []string{"a=1", "d=4"}},
				{"-", "b", []string{"b", "new"}, []string{"b=new", "d=4"}},
				{"-", "-", []string{"x", "9"}, []string{"x=9"}},
			}
			bound := func(b string) []byte {
				if b == "-" {
					return nil
				}
				return []byte(b)
			}
			for _, st := range steps {
				if err := s.DeleteRange(bound(st.from), bound(st.to)); err != nil {
					t.Fatal(err)
				}
				mustPut(t, s, st.put...)
				if got := readAll(t, mustRange(t, s, nil, nil)); !slices.Equal(got, st.want) {
					t.Fatalf("after DeleteRange(%s, %s): %q, want %q", st.from, st.to, got, st.want)
				}
				rev, err := s.ReverseRange(nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				want := slices.Clone(st.want)
				slices.Reverse(want)
				if got := readAll(t, rev); !slices.Equal(got, want) {
					t.Fatalf("after DeleteRange(%s, %s): reverse %q, want %q", st.from, st.to, got, want)
				}
				for _, kv := range st.want {
					if _, found, err := s.Get([]byte(kv[:1])); err != nil || !found {
						t.Fatalf("Get(%s) = found %v, err %v", kv[:1], found, err)
					}
				}
				for _, gone := range []string{"a", "b", "c", "d", "e", "f", "x"} {
					if slices.ContainsFunc(st.want, func(kv string) bool { return kv[:1] == gone }) {
						continue
					}
					if _, found, err := s.Get([]byte(gone)); err != nil || found {
						t.Fatalf("Get(%s) after its range was deleted = found %v, err %v", gone, found, err)
					}
				}
				if n, err := s.ApproximateNumEntries(); err != nil || n != int64(len(st.want)) {
					t.Fatalf("ApproximateNumEntries = %d, %v; want %d", n, err, len(st.want))
				}
			}
			if got := readAll(t, before); len(got) != 6 {
				t.Fatalf("iterator opened before the deletions read %q", got)
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, mustRange(t, s, nil, nil)); !slices.Equal(got, []string{"x=9"}) {
				t.Fatalf("after Flush: %q", got)
			}
		}},
		{"Count", func(t *testing.T, s KeyValueBytesStore) {
			mustPut(t, s, "a", "1", "b", "2", "a", "3")
			if err := s.Delete([]byte("b")); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete([]byte("zz")); err != nil {
				t.Fatal(err)
			}
			if n, err := s.ApproximateNumEntries(); err != nil || n != 1 {
				t.Fatalf("ApproximateNumEntries = %d, %v; want 1", n, err)
			}
		}},
		{"Closed", func(t *testing.T, s KeyValueBytesStore) {
			mustPut(t, s, "a", "1")
			it := mustRange(t, s, nil, nil)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if it.Next() {
				t.Fatal("iterator of a closed store returned a key")
			}
			wantClosed(t, it.Err(), "st")
			it.Close()
			_, _, err := s.Get([]byte("a"))
			wantClosed(t, err, "st")
			wantClosed(t, s.Put([]byte("a"), []byte("1")), "st")
			wantClosed(t, s.Delete([]byte("a")), "st")
			wantClosed(t, s.DeleteRange(nil, nil), "st")
			_, err = s.Range(nil, nil)
			wantClosed(t, err, "st")
			_, err = s.ReverseRange(nil, nil)
			wantClosed(t, err, "st")
			_, err = s.ApproximateNumEntries()
			wantClosed(t, err, "st")
			wantClosed(t, s.Flush(), "st")
			if err := s.Close(); err != nil {
				t.Fatalf("second Close = %v", err)
			}
		}},
	}
	for _, kind := range bytesKinds() {
		t.Run(kind.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					s := kind.new(t, "st")
					if s.Name() != "st" {
						t.Fatalf("Name = %q", s.Name())
					}
					tc.run(t, s)
				})
			}
		})
	}
}

func mustRange(t testing.TB, s KeyValueBytesStore, from, to []byte) BytesIterator {
	t.Helper()
	it, err := s.Range(from, to)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// committing commits its transaction buffer after every write, so that
// range tombstones and point writes reach the store beneath in the order
// they were made.
type committing struct{ *TxnStore }

func (c committing) Put(key, value []byte) error {
	if err := c.TxnStore.Put(key, value); err != nil {
		return err
	}
	return c.Commit()
}

func (c committing) Delete(key []byte) error {
	if err := c.TxnStore.Delete(key); err != nil {
		return err
	}
	return c.Commit()
}

func (c committing) DeleteRange(from, to []byte) error {
	if err := c.TxnStore.DeleteRange(from, to); err != nil {
		return err
	}
	return c.Commit()
}

// TestMemoryIteratorIgnoresLaterWrites checks that an in-memory iterator
// reads the store as it was when opened, whatever is written while it
// is open: overwrites of the same length (which the store otherwise makes
// in place), deletes and inserts, for ranges within one batch (read from
// the live tree) and beyond it (a snapshot), both ways, in the plain
// store and in a segment of the segmented one (which opens each segment's
// iterator when it gets there).
func TestMemoryIteratorIgnoresLaterWrites(t *testing.T) {
	stores := map[string]func() KeyValueBytesStore{
		"memory":    func() KeyValueBytesStore { return NewMemoryStore("st") },
		"segmented": func() KeyValueBytesStore { return newSegmentedMemoryStore("st") },
	}
	for name, open := range stores {
		// Keys of one segment: the segment id is a key's first 8 bytes.
		prefix := "seg00001"
		for _, n := range []int{10, memBatch, 3*memBatch + 5} {
			for _, reverse := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%d/reverse=%v", name, n, reverse), func(t *testing.T) {
					s := open()
					key := func(i int) []byte { return fmt.Appendf(nil, "%sk%04d", prefix, i) }
					var want []string
					for i := 0; i < n; i += 2 {
						if err := s.Put(key(i), fmt.Appendf(nil, "v%04d", i)); err != nil {
							t.Fatal(err)
						}
						want = append(want, fmt.Sprintf("%sk%04d=v%04d", prefix, i, i))
					}
					if reverse {
						slices.Reverse(want)
					}
					var it BytesIterator
					var err error
					if reverse {
						it, err = s.ReverseRange(nil, nil)
					} else {
						it, err = s.Range(nil, nil)
					}
					if err != nil {
						t.Fatal(err)
					}
					var got []string
					for j := 0; it.Next(); j++ {
						got = append(got, fmt.Sprintf("%s=%s", it.Key(), it.Value()))
						// Overwrite every key, delete one, insert one.
						for i := 0; i < n; i += 2 {
							if err := s.Put(key(i), fmt.Appendf(nil, "w%04d", i)); err != nil {
								t.Fatal(err)
							}
						}
						if err := errors.Join(s.Delete(key(2*j)), s.Put(key(2*j+1), []byte("new"))); err != nil {
							t.Fatal(err)
						}
					}
					if err := errors.Join(it.Err(), it.Close()); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("iterated\n %q\nwant\n %q", got, want)
					}
				})
			}
		}
	}
}

// TestMemoryPutAfterGet checks that a Put right after a Get of its key,
// which reuses the Get's lookup, sees every write between the two: after a
// Delete, a DeleteRange or a restore the old value must not be written in
// place, or the Put is lost to the index and to ranges.
func TestMemoryPutAfterGet(t *testing.T) {
	between := map[string]func(t *testing.T, s *memoryStore){
		"delete": func(t *testing.T, s *memoryStore) {
			if err := s.Delete([]byte("k")); err != nil {
				t.Fatal(err)
			}
		},
		"delete range": func(t *testing.T, s *memoryStore) {
			if err := s.DeleteRange([]byte("a"), []byte("z")); err != nil {
				t.Fatal(err)
			}
		},
		"delete all": func(t *testing.T, s *memoryStore) {
			if err := s.DeleteRange(nil, nil); err != nil {
				t.Fatal(err)
			}
		},
		"restore": func(t *testing.T, s *memoryStore) {
			if err := s.restoreRecords([]ChangelogRecord{{Key: []byte("k"), Value: []byte("22")}}, false); err != nil {
				t.Fatal(err)
			}
		},
		"other key": func(t *testing.T, s *memoryStore) {
			if err := s.Put([]byte("j"), []byte("33")); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, write := range between {
		t.Run(name, func(t *testing.T) {
			s := NewMemoryStore("st").(*memoryStore)
			if err := s.Put([]byte("k"), []byte("11")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Get([]byte("k")); err != nil {
				t.Fatal(err)
			}
			write(t, s)
			if err := s.Put([]byte("k"), []byte("44")); err != nil {
				t.Fatal(err)
			}
			if v, ok, err := s.Get([]byte("k")); err != nil || !ok || string(v) != "44" {
				t.Fatalf("Get = %q, %v, %v; want 44", v, ok, err)
			}
			it, err := s.Range(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for it.Next() {
				got = append(got, fmt.Sprintf("%s=%s", it.Key(), it.Value()))
			}
			if err := it.Close(); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(got, "k=44") {
				t.Fatalf("range = %v; want k=44 in it", got)
			}
		})
	}
}
