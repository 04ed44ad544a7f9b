package serde_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/serde"
)

// The byte examples below are what Kafka Streams writes for the same keys:
// TimeWindowedSerializer (WindowKeySchema.toBinary) puts the inner key's
// bytes, then ByteBuffer.putLong(window.start()); SessionWindowedSerializer
// (SessionKeySchema.toBinary) puts the key, then putLong(end), then
// putLong(start). ByteBuffer is big-endian.
func TestWindowedJavaBytes(t *testing.T) {
	tests := []struct {
		name string
		got  func() ([]byte, error)
		want []byte
	}{
		{
			name: "time-windowed string key",
			got: func() ([]byte, error) {
				return serde.TimeWindowed(serde.String, time.Minute).Serialize(nil, "t", serde.Windowed[string]{Key: "key", Start: 1000, End: 61000})
			},
			want: []byte{'k', 'e', 'y', 0, 0, 0, 0, 0, 0, 0x03, 0xe8},
		},
		{
			name: "time-windowed long key, epoch start",
			got: func() ([]byte, error) {
				return serde.TimeWindowed(serde.Int64, time.Second).Serialize(nil, "t", serde.Windowed[int64]{Key: 7, Start: 0, End: 1000})
			},
			want: []byte{0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0},
		},
		{
			name: "time-windowed empty key",
			got: func() ([]byte, error) {
				return serde.TimeWindowed(serde.String, time.Second).Serialize(nil, "t", serde.Windowed[string]{Start: 1_700_000_000_000})
			},
			// 1_700_000_000_000 = 0x018bcfe56800
			want: []byte{0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00},
		},
		{
			name: "session-windowed string key",
			got: func() ([]byte, error) {
				return serde.SessionWindowed(serde.String).Serialize(nil, "t", serde.Windowed[string]{Key: "a", Start: 10, End: 20})
			},
			want: []byte{'a', 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 10},
		},
		{
			name: "session-windowed int key, one-record session",
			got: func() ([]byte, error) {
				return serde.SessionWindowed(serde.Int32).Serialize(nil, "t", serde.Windowed[int32]{Key: -1, Start: 256, End: 256})
			},
			want: []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("got % x, want % x", got, tt.want)
			}
		})
	}
}

func TestTimeWindowedRoundTrip(t *testing.T) {
	s := serde.TimeWindowed(serde.String, 5*time.Minute)
	in := serde.Windowed[string]{Key: "user-1", Start: 1_700_000_100_000, End: 1_700_000_400_000}
	b, err := s.Serialize([]byte("prefix"), "t", in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("prefixuser-1")) {
		t.Fatalf("Serialize did not append to the buffer: % x", b)
	}
	out, err := s.Deserialize("t", b[len("prefix"):])
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("round trip: got %v, want %v", out, in)
	}
}

// The end a reader computes saturates, as Java's timeWindowForSize does.
func TestTimeWindowedEndSaturates(t *testing.T) {
	s := serde.TimeWindowed(serde.String, time.Minute)
	b, _ := s.Serialize(nil, "t", serde.Windowed[string]{Key: "k", Start: math.MaxInt64 - 10})
	w, err := s.Deserialize("t", b)
	if err != nil {
		t.Fatal(err)
	}
	if w.End != math.MaxInt64 {
		t.Fatalf("End = %d, want %d", w.End, int64(math.MaxInt64))
	}
}

func TestSessionWindowedRoundTrip(t *testing.T) {
	s := serde.SessionWindowed(serde.Int64)
	in := serde.Windowed[int64]{Key: 42, Start: 1000, End: 4000}
	b, err := s.Serialize(nil, "t", in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Deserialize("t", b)
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("round trip: got %v, want %v", out, in)
	}
}

func TestWindowedDeserializeErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      func() error
		sentinel error
		msg      string
	}{
		{
			name: "time-windowed too short",
			err: func() error {
				_, err := serde.TimeWindowed(serde.String, time.Second).Deserialize("clicks", []byte{1, 2, 3})
				return err
			},
			sentinel: serde.ErrSize,
			msg:      `serde: TimeWindowed key needs at least 8 bytes, got 3 (topic "clicks")`,
		},
		{
			name: "session-windowed too short",
			err: func() error {
				_, err := serde.SessionWindowed(serde.String).Deserialize("sessions", make([]byte, 15))
				return err
			},
			sentinel: serde.ErrSize,
			msg:      `serde: SessionWindowed key needs at least 16 bytes, got 15 (topic "sessions")`,
		},
		{
			name: "inner key of the wrong size",
			err: func() error {
				_, err := serde.TimeWindowed(serde.Int64, time.Second).Deserialize("clicks", make([]byte, 12))
				return err
			},
			sentinel: serde.ErrSize,
			msg:      `serde: TimeWindowed: deserialize key: Int64 needs 8 bytes, got 4 (topic "clicks")`,
		},
		{
			name: "inner key invalid",
			err: func() error {
				_, err := serde.SessionWindowed(serde.Bool).Deserialize("sessions", append([]byte{7}, make([]byte, 16)...))
				return err
			},
			sentinel: serde.ErrInvalid,
			msg:      `serde: SessionWindowed: deserialize key: Bool got byte 0x07, want 0x00 or 0x01 (topic "sessions")`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tt.sentinel) || !errors.Is(err, serde.ErrDeserialize) {
				t.Errorf("errors.Is(%v, %v and ErrDeserialize) = false", err, tt.sentinel)
			}
			if err.Error() != tt.msg {
				t.Errorf("message\n got %q\nwant %q", err.Error(), tt.msg)
			}
		})
	}
}

func TestWindowedSerializeKeyError(t *testing.T) {
	failing := serde.Funcs[string]{
		SerializeFunc:   func(dst []byte, _ string, _ string) ([]byte, error) { return dst, errors.New("serde: no such key") },
		DeserializeFunc: func(string, []byte) (string, error) { return "", nil },
	}
	_, err := serde.TimeWindowed(failing, time.Second).Serialize(nil, "t", serde.Windowed[string]{Key: "x"})
	if err == nil || !strings.Contains(err.Error(), "TimeWindowed: serialize key: no such key") || !errors.Is(err, serde.ErrSerialize) {
		t.Fatalf("err = %v", err)
	}
}

func TestWindowedString(t *testing.T) {
	w := serde.Windowed[string]{Key: "k", Start: 0, End: 100}
	if got := w.String(); got != "[k@0/100]" {
		t.Fatalf("String() = %q", got)
	}
}

func TestWindowedSerializeIntoReusedBufferDoesNotAllocate(t *testing.T) {
	tw := serde.TimeWindowed(serde.Int64, time.Minute)
	sw := serde.SessionWindowed(serde.Int64)
	buf := make([]byte, 0, 64)
	w := serde.Windowed[int64]{Key: 1, Start: 2, End: 3}
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = tw.Serialize(buf[:0], "t", w)
		buf, _ = sw.Serialize(buf[:0], "t", w)
		_, _ = tw.Deserialize("t", buf[:16])
		_, _ = sw.Deserialize("t", buf)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}
