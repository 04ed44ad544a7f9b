package serde_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/samsa-go/samsa/serde"
)

// FuzzTimeWindowed feeds the time-windowed key serde any bytes: with fewer
// than 8 it must fail with ErrSize; otherwise the start is the last 8
// bytes, the key the rest, the end start+size, and the key re-encodes to
// the same bytes. Seeds are in testdata/fuzz/FuzzTimeWindowed.
func FuzzTimeWindowed(f *testing.F) {
	const size = 60_000
	s := serde.TimeWindowed(serde.String, size*time.Millisecond)
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := s.Deserialize(fuzzTopic, data)
		if len(data) < 8 {
			if !errors.Is(err, serde.ErrSize) {
				t.Fatalf("Deserialize(% x) = %v, %v; want an error matching ErrSize", data, w, err)
			}
			checkDecodeError(t, "TimeWindowed", data, err)
			return
		}
		if err != nil {
			t.Fatalf("Deserialize(% x) = %v", data, err)
		}
		n := len(data) - 8
		start := int64(binary.BigEndian.Uint64(data[n:]))
		if w.Key != string(data[:n]) || w.Start != start {
			t.Fatalf("Deserialize(% x) = %v, want key %q start %d", data, w, data[:n], start)
		}
		if end := start + size; end >= start && w.End != end {
			t.Fatalf("Deserialize(% x) = %v, want end %d", data, w, end)
		}
		checkReencode(t, "TimeWindowed", s, w, data)
	})
}

// FuzzTimeWindowedFixedKey checks that an inner serde's errors come through
// with its sentinel: an Int64 key needs exactly 16 bytes in all.
func FuzzTimeWindowedFixedKey(f *testing.F) {
	s := serde.TimeWindowed(serde.Int64, time.Second)
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := s.Deserialize(fuzzTopic, data)
		if len(data) != 16 {
			if !errors.Is(err, serde.ErrSize) {
				t.Fatalf("Deserialize(% x) = %v, %v; want an error matching ErrSize", data, w, err)
			}
			checkDecodeError(t, "TimeWindowed", data, err)
			return
		}
		if err != nil {
			t.Fatalf("Deserialize(% x) = %v", data, err)
		}
		checkReencode(t, "TimeWindowed", s, w, data)
	})
}

// FuzzSessionWindowed is FuzzTimeWindowed for session keys: the last 16
// bytes are the end, then the start.
func FuzzSessionWindowed(f *testing.F) {
	s := serde.SessionWindowed(serde.String)
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := s.Deserialize(fuzzTopic, data)
		if len(data) < 16 {
			if !errors.Is(err, serde.ErrSize) {
				t.Fatalf("Deserialize(% x) = %v, %v; want an error matching ErrSize", data, w, err)
			}
			checkDecodeError(t, "SessionWindowed", data, err)
			return
		}
		if err != nil {
			t.Fatalf("Deserialize(% x) = %v", data, err)
		}
		n := len(data) - 16
		end := int64(binary.BigEndian.Uint64(data[n:]))
		start := int64(binary.BigEndian.Uint64(data[n+8:]))
		if w.Key != string(data[:n]) || w.Start != start || w.End != end {
			t.Fatalf("Deserialize(% x) = %v, want key %q start %d end %d", data, w, data[:n], start, end)
		}
		checkReencode(t, "SessionWindowed", s, w, data)
		if !bytes.Equal(data[:n], []byte(w.Key)) {
			t.Fatalf("key bytes changed")
		}
	})
}
