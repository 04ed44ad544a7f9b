package state

import (
	"errors"
	"slices"
	"testing"
)

func TestChangeLogging(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			logger := &recordingLogger{}
			s := NewChangeLoggingStore(kind.new(t, "st"), logger, nil)
			mustPut(t, s, "a", "1", "a", "2", "b", "")
			if err := s.Delete([]byte("a")); err != nil {
				t.Fatal(err)
			}
			want := []logRecord{{"a", []byte("1")}, {"a", []byte("2")}, {"b", []byte{}}, {"a", nil}}
			if !slices.EqualFunc(logger.records, want, eqRecord) {
				t.Fatalf("log = %v, want %v", logger.records, want)
			}
			if got := readAll(t, mustRange(t, s, nil, nil)); !slices.Equal(got, []string{"b="}) {
				t.Fatalf("store holds %q", got)
			}

			boom := errors.New("boom")
			logger.err = boom
			err := s.Put([]byte("c"), []byte("1"))
			var se *StoreError
			if !errors.Is(err, boom) || !errors.As(err, &se) || se.Store != "st" {
				t.Fatalf("Put with a failing logger = %v", err)
			}
			if err := s.Delete([]byte("c")); !errors.Is(err, boom) {
				t.Fatalf("Delete with a failing logger = %v", err)
			}

			logger.err = nil
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			wantClosed(t, s.Put([]byte("d"), []byte("1")), "st")
			if n := len(logger.records); n != 4 {
				t.Fatalf("a write to a closed store was logged (%d records)", n)
			}
		})
	}
}
