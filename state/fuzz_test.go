package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/samsa-go/samsa/serde"
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

// FuzzTimestampedValue feeds the timestamped value format the bytes a
// table store could hold. A value either decodes, to a timestamp and value
// that encode back to the same bytes, and reads as a plain value equal to
// that value; or it fails, on a short header or an unknown format byte,
// with an error saying which, or with the inner serde's error.
func FuzzTimestampedValue(f *testing.F) {
	raw := timestampedSerde[[]byte]{inner: serde.Bytes}
	num := timestampedSerde[int64]{inner: serde.Int64}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := raw.Deserialize("t", data)
		plain, perr := plainSerde[[]byte]{inner: serde.Bytes}.Deserialize("t", data)
		if (err == nil) != (perr == nil) {
			t.Fatalf("% x: timestamped read %v, plain read %v", data, err, perr)
		}
		if err != nil {
			if len(data) >= timestampedHeader && data[0] == formatTimestamped {
				t.Fatalf("% x has a whole header but does not decode: %v", data, err)
			}
			if !strings.Contains(err.Error(), "header") && !strings.Contains(err.Error(), "format byte") {
				t.Fatalf("% x: error %q says neither header nor format byte", data, err)
			}
			return
		}
		if !bytes.Equal(plain, v.Value) {
			t.Fatalf("% x reads as %q plain, %q timestamped", data, plain, v.Value)
		}
		enc, err := raw.Serialize(nil, "t", v)
		if err != nil || !bytes.Equal(enc, data) {
			t.Fatalf("% x decodes to %+v, which encodes to % x (%v)", data, v, enc, err)
		}
		enc, err = raw.Serialize([]byte("pre"), "t", v)
		if err != nil || !bytes.Equal(enc, append([]byte("pre"), data...)) {
			t.Fatalf("% x decodes to %+v, which encodes after a prefix to % x (%v)", data, v, enc, err)
		}

		n, err := num.Deserialize("t", data)
		if len(v.Value) != 8 {
			if !errors.Is(err, serde.ErrSize) {
				t.Fatalf("% x as a timestamped Int64 = %+v, %v; want the inner ErrSize", data, n, err)
			}
			return
		}
		if err != nil || n.Timestamp != v.Timestamp {
			t.Fatalf("% x as a timestamped Int64 = %+v, %v", data, n, err)
		}
		if enc, err := num.Serialize(nil, "t", n); err != nil || !bytes.Equal(enc, data) {
			t.Fatalf("% x decodes to %+v, which encodes to % x (%v)", data, n, enc, err)
		}
	})
}

// FuzzTimestampedRoundTrip checks that every timestamp and value survive
// the format, and that a plain write stamps the clock's time.
func FuzzTimestampedRoundTrip(f *testing.F) {
	raw := timestampedSerde[[]byte]{inner: serde.Bytes}
	f.Fuzz(func(t *testing.T, ts int64, value []byte) {
		if value == nil {
			value = []byte{}
		}
		enc, err := raw.Serialize(nil, "t", ValueAndTimestamp[[]byte]{Value: value, Timestamp: ts})
		if err != nil || len(enc) != timestampedHeader+len(value) || enc[0] != formatTimestamped {
			t.Fatalf("(%d, % x) encodes to % x, %v", ts, value, enc, err)
		}
		back, err := raw.Deserialize("t", enc)
		if err != nil || back.Timestamp != ts || !bytes.Equal(back.Value, value) {
			t.Fatalf("(%d, % x) encodes to % x, which decodes to %+v, %v", ts, value, enc, back, err)
		}
		stamped, err := plainSerde[[]byte]{inner: serde.Bytes, clock: func() int64 { return ts }}.Serialize(nil, "t", value)
		if err != nil || !bytes.Equal(stamped, enc) {
			t.Fatalf("plain write of % x at %d = % x, %v; want % x", value, ts, stamped, err, enc)
		}
	})
}
