package state

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// viewOf returns the typed read-only view of h.
func viewOf[V any](t testing.TB, h Store) *ReadOnlyKeyValueStore[string, V] {
	t.Helper()
	v, err := h.View()
	if err != nil {
		t.Fatal(err)
	}
	ro, err := GetReadOnlyKeyValueStore[string, V](getter{h.Name(): v}, h.Name())
	if err != nil {
		t.Fatal(err)
	}
	return ro
}

// TestViewSeesFlushedState checks what a view reads: the innermost store,
// so a cached write once flushed, a transaction's write once committed.
func TestViewSeesFlushedState(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h, s := buildKV(t, kind.env(t), KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}).WithCachingEnabled(1<<20))
			v := viewOf[int64](t, h)
			if v.Name() != "counts" || v.Persistent() != (kind.name == "pebble") {
				t.Fatalf("view Name %q, Persistent %v", v.Name(), v.Persistent())
			}
			if err := s.Put("k", 1); err != nil {
				t.Fatal(err)
			}
			if _, found, err := v.Get("k"); err != nil || found {
				t.Fatalf("view sees a cached write: found %v, err %v", found, err)
			}
			if err := h.Flush(); err != nil {
				t.Fatal(err)
			}
			if n, found, err := v.Get("k"); err != nil || !found || n != 1 {
				t.Fatalf("view Get(k) after Flush = %d, %v, %v", n, found, err)
			}
			if again, _ := h.View(); again != any(v) {
				t.Fatal("View made a second view")
			}

			env := kind.env(t)
			env.Transactional = true
			h, s = buildKV(t, env, KeyValueStoreBuilder("eos", stringSerde{}, int64Serde{}))
			v = viewOf[int64](t, h)
			if err := s.Put("k", 1); err != nil {
				t.Fatal(err)
			}
			if err := h.Flush(); err != nil {
				t.Fatal(err)
			}
			if _, found, _ := v.Get("k"); found {
				t.Fatal("view sees an uncommitted write")
			}
			if err := h.Txn().Commit(); err != nil {
				t.Fatal(err)
			}
			if _, found, _ := v.Get("k"); !found {
				t.Fatal("view misses a committed write")
			}
		})
	}
}

func TestViewReads(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h, s := buildKV(t, kind.env(t), KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}))
			v := viewOf[int64](t, h)
			var all []kvPair
			for i := range 200 {
				k := fmt.Sprintf("k%03d", i)
				if err := s.Put(k, int64(i)); err != nil {
					t.Fatal(err)
				}
				all = append(all, kvPair{k, int64(i)})
			}
			d := drainer(t)
			rev := slices.Clone(all)
			slices.Reverse(rev)
			for _, tc := range []struct {
				name      string
				got, want []kvPair
			}{
				{"All", d(v.All()), all},
				{"ReverseAll", d(v.ReverseAll()), rev},
				{"Range", d(v.Range("k010", "k150")), all[10:151]},
				{"ReverseRange", d(v.ReverseRange("k010", "k150")), rev[49:190]},
				{"PrefixScan", d(v.PrefixScan("k19", stringSerde{})), all[190:]},
			} {
				if !slices.Equal(tc.got, tc.want) {
					t.Errorf("%s: %d entries %v..., want %d", tc.name, len(tc.got), tc.got[:min(3, len(tc.got))], len(tc.want))
				}
			}
			if n, err := v.ApproximateNumEntries(); err != nil || n != 200 {
				t.Fatalf("ApproximateNumEntries = %d, %v", n, err)
			}

			// A view iterator is a snapshot on Pebble, and hands out
			// copies in both stores: writes after it do not change what it
			// already read.
			it, err := v.All()
			if err != nil {
				t.Fatal(err)
			}
			bv, _ := h.View()
			raw, err := bv.(*ReadOnlyKeyValueStore[string, int64]).v.Range(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !raw.Next() || !it.Next() {
				t.Fatal("empty view")
			}
			key, value := raw.Key(), raw.Value()
			if err := s.Put("k000", 1000); err != nil {
				t.Fatal(err)
			}
			if string(key) != "k000" || string(value) != "\x00\x00\x00\x00\x00\x00\x00\x00" {
				t.Fatalf("a view's slices changed under a write: %q=%q", key, value)
			}
			n := 1
			for it.Next() {
				n++
			}
			if err := errors.Join(it.Err(), it.Close(), raw.Close()); err != nil || n != 200 {
				t.Fatalf("iterated %d keys, err %v", n, err)
			}
		})
	}
}

func TestViewOfTimestampedStore(t *testing.T) {
	h, s := buildKV(t, storeKinds[0].env(t), TimestampedKeyValueStoreBuilder("table", stringSerde{}, int64Serde{}))
	if err := s.Put("k", ValueAndTimestamp[int64]{Value: 3, Timestamp: 30}); err != nil {
		t.Fatal(err)
	}
	vw, err := h.View()
	if err != nil {
		t.Fatal(err)
	}
	g := getter{"table": vw}
	ts, err := GetReadOnlyKeyValueStore[string, ValueAndTimestamp[int64]](g, "table")
	if err != nil {
		t.Fatal(err)
	}
	if vt, _, err := ts.Get("k"); err != nil || vt != (ValueAndTimestamp[int64]{3, 30}) {
		t.Fatalf("timestamped view Get = %+v, %v", vt, err)
	}
	plain, err := GetReadOnlyKeyValueStore[string, int64](g, "table")
	if err != nil {
		t.Fatal(err)
	}
	if n, _, err := plain.Get("k"); err != nil || n != 3 {
		t.Fatalf("plain view Get = %d, %v", n, err)
	}
	if _, err := GetReadOnlyKeyValueStore[string, string](g, "table"); !errors.Is(err, ErrWrongStoreType) {
		t.Fatalf("view with other types: %v", err)
	}
}

// TestViewClosed checks that views fail once the task closes the store or
// its DB, including an iterator left open, which must not make Pebble
// report a leak.
func TestViewClosed(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		h, s := buildKV(t, storeKinds[1].env(t), KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}))
		for i := range 100 {
			if err := s.Put(fmt.Sprint(i), 1); err != nil {
				t.Fatal(err)
			}
		}
		v := viewOf[int64](t, h)
		it, err := v.All()
		if err != nil {
			t.Fatal(err)
		}
		if !it.Next() {
			t.Fatal(it.Err())
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		for it.Next() {
		}
		wantClosed(t, it.Err(), "counts")
		it.Close()
		_, _, err = v.Get("1")
		wantClosed(t, err, "counts")
		_, err = v.All()
		wantClosed(t, err, "counts")
		_, err = v.ApproximateNumEntries()
		wantClosed(t, err, "counts")
	})
	t.Run("pebble", func(t *testing.T) {
		db, err := OpenDB("db", DBOptions{FS: vfs.NewMem()})
		if err != nil {
			t.Fatal(err)
		}
		env := &Env{DB: func() (*DB, error) { return db, nil }}
		h, s := buildKV(t, env, KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}))
		for i := range 100 {
			if err := s.Put(fmt.Sprint(i), 1); err != nil {
				t.Fatal(err)
			}
		}
		v := viewOf[int64](t, h)
		it, err := v.All()
		if err != nil {
			t.Fatal(err)
		}
		if !it.Next() {
			t.Fatal(it.Err())
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := v.Get("1"); !errors.Is(err, ErrClosed) {
			t.Fatalf("Get on the view of a closed store = %v", err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("DB Close with a view iterator open = %v", err)
		}
		for it.Next() {
		}
		if !errors.Is(it.Err(), ErrClosed) {
			t.Fatalf("iterator Err after DB Close = %v", it.Err())
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestViewConcurrentWithWrites reads views from several goroutines while
// the task's goroutine writes, deletes, deletes ranges and iterates, then
// closes the store under them. Run with -race.
func TestViewConcurrentWithWrites(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h, s := buildKV(t, kind.env(t), KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}))
			v := viewOf[int64](t, h)
			const keys = 300
			var written atomic.Int64 // highest value written to any key
			var stop atomic.Bool
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for r := range 4 {
				wg.Go(func() {
					// Values only grow; a reader must never see one larger
					// than written, nor a smaller one than it saw before.
					seen := map[string]int64{}
					for i := 0; !stop.Load(); i++ {
						k := fmt.Sprintf("k%03d", (i*7+r)%keys)
						n, found, err := v.Get(k)
						if err != nil {
							errs <- err
							return
						}
						if found && (n > written.Load() || n < seen[k]) {
							errs <- fmt.Errorf("Get(%s) = %d after %d, %d written", k, n, seen[k], written.Load())
							return
						}
						if found {
							seen[k] = n
						}
						if i%50 == 0 {
							it, err := v.Range("k100", "k199")
							if err != nil {
								errs <- err
								return
							}
							prev := ""
							for it.Next() {
								if it.Key() <= prev || it.Value() > written.Load() {
									errs <- fmt.Errorf("range: %s=%d after %s", it.Key(), it.Value(), prev)
									return
								}
								prev = it.Key()
							}
							if err := errors.Join(it.Err(), it.Close()); err != nil {
								errs <- err
								return
							}
						}
					}
				})
			}
			for i := int64(1); i <= 20000; i++ {
				written.Store(i)
				k := fmt.Sprintf("k%03d", i%keys)
				if err := s.Put(k, i); err != nil {
					t.Fatal(err)
				}
				switch {
				case i%1000 == 0:
					if err := h.Bytes().DeleteRange([]byte("k050"), []byte("k060")); err != nil {
						t.Fatal(err)
					}
				case i%97 == 0:
					if _, _, err := s.Delete(k); err != nil {
						t.Fatal(err)
					}
				case i%501 == 0:
					it, err := s.All()
					if err != nil {
						t.Fatal(err)
					}
					for it.Next() {
					}
					it.Close()
				}
			}
			stop.Store(true)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
