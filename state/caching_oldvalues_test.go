package state

import (
	"slices"
	"testing"
)

// gettingStore counts the reads that reach it.
type gettingStore struct {
	KeyValueBytesStore
	gets int
}

func (s *gettingStore) Get(key []byte) ([]byte, bool, error) {
	s.gets++
	return s.KeyValueBytesStore.Get(key)
}

// Without old values, a flush reads the store below only for deletes: a
// put is reported with no old value, a delete of a row with the row, and a
// delete of a key the store lacks not at all.
func TestCachingWithoutOldValues(t *testing.T) {
	inner := &gettingStore{KeyValueBytesStore: NewMemoryStore("st")}
	mustPut(t, inner, "a", "1", "b", "1")
	c := NewCachingStore(inner, 1<<20)
	var events []flushEvent
	c.SetFlushListener(func(key, newValue, oldValue []byte, _ int64) error {
		events = append(events, flushEvent{string(key), nilStr(newValue), nilStr(oldValue)})
		return nil
	})
	c.SetSendOldValues(false)
	mustPut(t, c, "a", "2", "c", "1")
	for _, k := range []string{"b", "never"} {
		if err := c.Delete([]byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	want := []flushEvent{{"a", "2", "<nil>"}, {"c", "1", "<nil>"}, {"b", "<nil>", "1"}}
	if !slices.Equal(events, want) {
		t.Fatalf("flushed %v, want %v", events, want)
	}
	if inner.gets != 2 {
		t.Fatalf("the flush read the store %d times, want 2 (the deletes)", inner.gets)
	}

	// With old values, each write down reads the value it replaces.
	c.SetSendOldValues(true)
	events, inner.gets = nil, 0
	mustPut(t, c, "a", "3")
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := []flushEvent{{"a", "3", "2"}}; !slices.Equal(events, want) || inner.gets != 1 {
		t.Fatalf("flushed %v with %d reads, want %v with 1", events, inner.gets, want)
	}
}
