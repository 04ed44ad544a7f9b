package state

import (
	"testing"

	"github.com/samsa-go/samsa/processor"
)

// oneStore is a processor's StoreGetter over one task-side store.
type oneStore struct{ st Store }

func (g oneStore) StateStore(name string) (processor.StateStore, error) {
	if name != g.st.Name() {
		return nil, &StoreError{Store: name, Err: ErrUnknownStore}
	}
	return g.st.Typed(), nil
}

// TestSetCacheFlushListener checks the processors' way to listen to a
// cache: it decodes what the cache writes down, reports an uncached store,
// and refuses a second listener, which the task's SetFlushListener can
// still replace.
func TestSetCacheFlushListener(t *testing.T) {
	env := &Env{ApplicationID: "app", InMemory: true}
	plain, _ := buildKV(t, env, KeyValueStoreBuilder("plain", stringSerde{}, int64Serde{}))
	if cached, err := SetCacheFlushListener(oneStore{plain}, "plain", func(Flushed[string, int64]) error { return nil }, true); cached || err != nil {
		t.Fatalf("uncached store: SetCacheFlushListener = %v, %v", cached, err)
	}

	st, s := buildKV(t, env, TimestampedKeyValueStoreBuilder("rows", stringSerde{}, int64Serde{}).WithCachingEnabled(1<<20))
	var got []Flushed[string, ValueAndTimestamp[int64]]
	cached, err := SetCacheFlushListener(oneStore{st}, "rows", func(f Flushed[string, ValueAndTimestamp[int64]]) error {
		got = append(got, f)
		return nil
	}, true)
	if !cached || err != nil {
		t.Fatalf("SetCacheFlushListener = %v, %v", cached, err)
	}
	if _, err := SetCacheFlushListener(oneStore{st}, "rows", func(Flushed[string, int64]) error { return nil }, true); err == nil {
		t.Fatal("a second listener, with plain values, took the store's updates over")
	}
	if err := s.Put("k", ValueAndTimestamp[int64]{Value: 1, Timestamp: 5}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("k", ValueAndTimestamp[int64]{Value: 2, Timestamp: 7}); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key != "k" || !got[0].HasNew || got[0].New != (ValueAndTimestamp[int64]{Value: 2, Timestamp: 7}) || got[0].HasOld {
		t.Fatalf("flushed %+v, want one update of k to 2@7", got)
	}

	// The task can replace the listener.
	var replaced int
	if _, err := SetFlushListener(st, func(Flushed[string, ValueAndTimestamp[int64]]) error { replaced++; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("k", ValueAndTimestamp[int64]{Value: 3, Timestamp: 8}); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	if replaced != 1 || len(got) != 1 {
		t.Fatalf("after the task replaced the listener: %d calls to it, %d to the first", replaced, len(got))
	}
}
