package state

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// kvPair is a typed key and value read from an iterator.
type kvPair struct {
	k string
	v int64
}

// drainer returns a function that reads an iterator to its end and closes
// it; taking the iterator and error together lets it wrap Range calls.
func drainer(t testing.TB) func(*KeyValueIterator[string, int64], error) []kvPair {
	return func(it *KeyValueIterator[string, int64], err error) []kvPair {
		t.Helper()
		return drain(t, it, err)
	}
}

func drain(t testing.TB, it *KeyValueIterator[string, int64], err error) []kvPair {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var got []kvPair
	for it.Next() {
		got = append(got, kvPair{it.Key(), it.Value()})
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return got
}

func buildCounts(t testing.TB, kind storeKind, b *KeyValueBuilder[string, int64]) *KeyValueStore[string, int64] {
	t.Helper()
	_, s := buildKV(t, kind.env(t), b)
	return s
}

// buildKV builds b in env, closed when t ends, and returns the task's
// handle with the typed store processors get.
func buildKV[V any](t testing.TB, env *Env, b *KeyValueBuilder[string, V]) (Store, *KeyValueStore[string, V]) {
	t.Helper()
	st, err := b.Build(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, st.Typed().(*KeyValueStore[string, V])
}

func TestKeyValueStore(t *testing.T) {
	for _, kind := range storeKinds {
		for _, cached := range []bool{false, true} {
			name := kind.name
			if cached {
				name += "+cache"
			}
			t.Run(name, func(t *testing.T) {
				b := KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{})
				if cached {
					b.WithCachingEnabled(1 << 20)
				}
				h, s := buildKV(t, kind.env(t), b)
				if s.Name() != "counts" || s.Persistent() != (kind.name == "pebble") {
					t.Fatalf("Name %q, Persistent %v", s.Name(), s.Persistent())
				}
				testKeyValueStore(t, h, s)
			})
		}
	}
}

func testKeyValueStore(t *testing.T, h Store, s *KeyValueStore[string, int64]) {
	if _, found, err := s.Get("a"); err != nil || found {
		t.Fatalf("Get on empty store: found %v, err %v", found, err)
	}
	for i, k := range []string{"a", "b", "c", "d", "e"} {
		if err := s.Put(k, int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if v, found, err := s.Get("c"); err != nil || !found || v != 3 {
		t.Fatalf("Get(c) = %d, %v, %v", v, found, err)
	}

	existing, found, err := s.PutIfAbsent("c", 100)
	if err != nil || !found || existing != 3 {
		t.Fatalf("PutIfAbsent(c) = %d, %v, %v; want 3, true", existing, found, err)
	}
	if v, _, _ := s.Get("c"); v != 3 {
		t.Fatalf("PutIfAbsent overwrote c with %d", v)
	}
	if _, found, err := s.PutIfAbsent("f", 6); err != nil || found {
		t.Fatalf("PutIfAbsent(f) = found %v, err %v", found, err)
	}
	if v, found, _ := s.Get("f"); !found || v != 6 {
		t.Fatalf("Get(f) = %d, %v after PutIfAbsent", v, found)
	}

	old, found, err := s.Delete("f")
	if err != nil || !found || old != 6 {
		t.Fatalf("Delete(f) = %d, %v, %v", old, found, err)
	}
	if _, found, err := s.Delete("f"); err != nil || found {
		t.Fatalf("second Delete(f) = found %v, err %v", found, err)
	}

	d := drainer(t)
	all := []kvPair{{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}, {"e", 5}}
	rev := slices.Clone(all)
	slices.Reverse(rev)
	for _, tc := range []struct {
		name string
		got  []kvPair
		want []kvPair
	}{
		{"Range inclusive", d(s.Range("b", "d")), all[1:4]},
		{"Range one key", d(s.Range("c", "c")), all[2:3]},
		{"Range between keys", d(s.Range("bb", "dd")), all[2:4]},
		{"Range inverted", d(s.Range("d", "b")), nil},
		{"ReverseRange", d(s.ReverseRange("b", "d")), rev[1:4]},
		{"All", d(s.All()), all},
		{"ReverseAll", d(s.ReverseAll()), rev},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}

	if n, err := s.ApproximateNumEntries(); err != nil || n != 5 {
		t.Fatalf("ApproximateNumEntries = %d, %v", n, err)
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, err := h.Bytes().ApproximateNumEntries(); err != nil || n != 5 {
		t.Fatalf("bytes store holds %d entries after Flush, %v", n, err)
	}
}

func TestKeyValueStorePrefixScan(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			s := buildCounts(t, kind, KeyValueStoreBuilder("st", stringSerde{}, int64Serde{}))
			for i, k := range []string{"ap", "apple", "apricot", "b", "ap\xff", "aq", "a"} {
				if err := s.Put(k, int64(i)); err != nil {
					t.Fatal(err)
				}
			}
			d := drainer(t)
			got := d(s.PrefixScan("ap", stringSerde{}))
			want := []kvPair{{"ap", 0}, {"apple", 1}, {"apricot", 2}, {"ap\xff", 4}}
			if !slices.Equal(got, want) {
				t.Fatalf("PrefixScan(ap) = %v, want %v", got, want)
			}
			if got := d(s.PrefixScan("", stringSerde{})); len(got) != 7 {
				t.Fatalf("PrefixScan with an empty prefix = %v", got)
			}
			if got := d(s.PrefixScan("zz", stringSerde{})); len(got) != 0 {
				t.Fatalf("PrefixScan(zz) = %v", got)
			}
		})
	}
}

func TestKeyValueStoreDeserializationErrors(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h, s := buildKV(t, kind.env(t), KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}))
			if err := s.Put("good", 1); err != nil {
				t.Fatal(err)
			}
			// Three bytes are no int64.
			if err := h.Bytes().Put([]byte("bad"), []byte{1, 2, 3}); err != nil {
				t.Fatal(err)
			}
			_, _, err := s.Get("bad")
			if err == nil || !strings.Contains(err.Error(), `store "counts"`) {
				t.Fatalf("Get of a bad value = %v", err)
			}
			it, err := s.All()
			if err != nil {
				t.Fatal(err)
			}
			for it.Next() {
			}
			var se *StoreError
			if !errors.As(it.Err(), &se) || se.Store != "counts" {
				t.Fatalf("iterator Err = %v, want one naming the store", it.Err())
			}
			if err := it.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestKeyValueStoreClosed(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h, s := buildKV(t, kind.env(t), KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}).WithCachingEnabled(100))
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			_, _, err := s.Get("a")
			wantClosed(t, err, "counts")
			wantClosed(t, s.Put("a", 1), "counts")
			_, err = s.All()
			wantClosed(t, err, "counts")
		})
	}
}

func TestGetKeyValueStore(t *testing.T) {
	s := buildCounts(t, storeKinds[1], KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}))
	g := getter{"counts": s}
	got, err := GetKeyValueStore[string, int64](g, "counts")
	if err != nil || got != s {
		t.Fatalf("GetKeyValueStore = %p, %v; want %p", got, err, s)
	}
	_, err = GetKeyValueStore[string, string](g, "counts")
	if !errors.Is(err, ErrWrongStoreType) {
		t.Fatalf("wrong value type: err = %v", err)
	}
	for _, want := range []string{`"counts"`, "KeyValueStore[string,int64]", "KeyValueStore[string,string]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %s", err, want)
		}
	}
	if _, err := GetKeyValueStore[string, int64](g, "nope"); !errors.Is(err, ErrUnknownStore) {
		t.Fatalf("unknown store: err = %v", err)
	}
}

func TestKeyValueBuilder(t *testing.T) {
	b := KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{})
	if b.Name() != "counts" || !b.Logged() || b.KeySerde() == nil || b.ValueSerde() == nil {
		t.Fatal("builder defaults")
	}
	if b.WithLoggingDisabled().Logged() {
		t.Fatal("Logged after WithLoggingDisabled")
	}

	var asked []string
	logger := &recordingLogger{}
	env := &Env{
		ApplicationID: "app",
		InMemory:      true,
		Logger: func(store string) ChangeLogger {
			asked = append(asked, store)
			return logger
		},
	}
	for _, tc := range []struct {
		name     string
		b        *KeyValueBuilder[string, int64]
		wantLogs int
	}{
		// Two writes of one key between flushes log its last value once.
		{"logged", KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}), 1},
		{"unlogged", KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}).WithLoggingDisabled(), 0},
		{"cached", KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}).WithCachingEnabled(1 << 20), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logger.records, asked = nil, nil
			st, err := tc.b.Build(env)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			s := st.Typed().(*KeyValueStore[string, int64])
			if s.Persistent() {
				t.Fatal("Env.InMemory ignored")
			}
			if cached, err := SetFlushListener(st, func(Flushed[string, int64]) error { return nil }); err != nil || cached != (tc.name == "cached") {
				t.Fatalf("SetFlushListener = %v, %v", cached, err)
			}
			for i := range 2 {
				if err := s.Put("k", int64(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.Flush(); err != nil {
				t.Fatal(err)
			}
			if len(logger.records) != tc.wantLogs {
				t.Fatalf("%d log records, want %d (logger asked for %q)", len(logger.records), tc.wantLogs, asked)
			}
			// Restores write to Bytes directly, without logging.
			if err := st.Bytes().Put([]byte("r"), make([]byte, 8)); err != nil {
				t.Fatal(err)
			}
			if len(logger.records) != tc.wantLogs {
				t.Fatal("a write to Bytes() was logged")
			}
		})
	}

	// A nil logger from Env means no change logging, not a crash.
	env.Logger = func(string) ChangeLogger { return nil }
	st, err := KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}).Build(env)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Typed().(*KeyValueStore[string, int64]).Put("k", 1); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// The builder's InMemory wins over a DB.
	pebbleEnv := storeKinds[0].env(t)
	st, err = KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}).InMemory().Build(pebbleEnv)
	if err != nil || st.Persistent() {
		t.Fatalf("InMemory builder: persistent %v, err %v", st.Persistent(), err)
	}
	st.Close()

	for _, tc := range []struct {
		name string
		b    *KeyValueBuilder[string, int64]
		env  *Env
	}{
		{"nil key serde", KeyValueStoreBuilder[string, int64]("counts", nil, int64Serde{}), env},
		{"nil value serde", KeyValueStoreBuilder[string, int64]("counts", stringSerde{}, nil), env},
		{"no DB", KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}), &Env{}},
		{"DB fails", KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}), &Env{DB: func() (*DB, error) {
			return nil, errors.New("disk on fire")
		}}},
	} {
		_, err := tc.b.Build(tc.env)
		if err == nil || !strings.Contains(err.Error(), `store "counts"`) {
			t.Errorf("%s: Build error %v does not name the store", tc.name, err)
		}
	}
}

func TestKeyValueStoresShareDB(t *testing.T) {
	// Two stores of one task share the DB but not their keys.
	env := storeKinds[0].env(t)
	sa, err := KeyValueStoreBuilder("a", stringSerde{}, int64Serde{}).Build(env)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := KeyValueStoreBuilder("b", stringSerde{}, int64Serde{}).Build(env)
	if err != nil {
		t.Fatal(err)
	}
	if err := sa.Typed().(*KeyValueStore[string, int64]).Put("k", 1); err != nil {
		t.Fatal(err)
	}
	if _, found, err := sb.Typed().(*KeyValueStore[string, int64]).Get("k"); err != nil || found {
		t.Fatalf("store b sees store a's key: found %v, err %v", found, err)
	}
	if err := errors.Join(sa.Close(), sb.Close()); err != nil {
		t.Fatal(err)
	}
}
