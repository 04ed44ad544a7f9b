package serde_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/serde"
)

// The fuzz targets feed each built-in serde the bytes a Kafka record could
// carry. Every input must either decode, and then encode back to the same
// bytes (the formats are bijections, but for Float64's NaNs), or fail with
// an error that matches a serde sentinel and names the topic. Their seeds
// live in testdata/fuzz, so go test runs them as ordinary tests.

const fuzzTopic = "fuzz-topic"

// checkDecodeError asserts what every failed Deserialize must give.
func checkDecodeError(t *testing.T, name string, data []byte, err error) {
	t.Helper()
	if !errors.Is(err, serde.ErrSize) && !errors.Is(err, serde.ErrInvalid) {
		t.Fatalf("%s.Deserialize(% x) = %v, want an error matching ErrSize or ErrInvalid", name, data, err)
	}
	if !strings.HasPrefix(err.Error(), "serde: ") || !strings.Contains(err.Error(), `"`+fuzzTopic+`"`) {
		t.Fatalf("%s.Deserialize(% x) = %q, want a message starting with serde: and naming the topic", name, data, err)
	}
}

// checkReencode asserts that v encodes to data, alone and after a prefix.
func checkReencode[T any](t *testing.T, name string, s serde.Serde[T], v T, data []byte) {
	t.Helper()
	got, err := s.Serialize(nil, fuzzTopic, v)
	if err != nil {
		t.Fatalf("%s.Serialize(%v), decoded from % x: %v", name, v, data, err)
	}
	if got == nil || !bytes.Equal(got, data) {
		t.Fatalf("%s: % x decodes to %v, which encodes to % x", name, data, v, got)
	}
	got, err = s.Serialize([]byte("pre"), fuzzTopic, v)
	if err != nil || !bytes.Equal(got, append([]byte("pre"), data...)) {
		t.Fatalf("%s.Serialize(prefix, %v) = % x, %v; want the prefix then % x", name, v, got, err, data)
	}
}

// fixed fuzzes a serde whose encoding has exactly size bytes.
func fixed[T comparable](f *testing.F, name string, s serde.Serde[T], size int) {
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := s.Deserialize(fuzzTopic, data)
		if len(data) != size {
			if err == nil {
				t.Fatalf("%s.Deserialize(% x) = %v with %d bytes, want an ErrSize error", name, data, v, len(data))
			}
			if !errors.Is(err, serde.ErrSize) {
				t.Fatalf("%s.Deserialize(% x) = %v, want an error matching ErrSize", name, data, err)
			}
			checkDecodeError(t, name, data, err)
			return
		}
		if err != nil {
			t.Fatalf("%s.Deserialize(% x) = %v, want every %d-byte input accepted", name, data, err, size)
		}
		checkReencode(t, name, s, v, data)
	})
}

func FuzzInt16(f *testing.F) { fixed(f, "Int16", serde.Int16, 2) }
func FuzzInt32(f *testing.F) { fixed(f, "Int32", serde.Int32, 4) }
func FuzzInt64(f *testing.F) { fixed(f, "Int64", serde.Int64, 8) }

// FuzzFloat32 checks that every bit pattern survives, NaN payloads
// included, as Java's floatToRawIntBits keeps them.
func FuzzFloat32(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := serde.Float32.Deserialize(fuzzTopic, data)
		if len(data) != 4 {
			if !errors.Is(err, serde.ErrSize) {
				t.Fatalf("Float32.Deserialize(% x) = %v, %v; want an error matching ErrSize", data, v, err)
			}
			checkDecodeError(t, "Float32", data, err)
			return
		}
		if err != nil {
			t.Fatalf("Float32.Deserialize(% x) = %v", data, err)
		}
		checkReencode(t, "Float32", serde.Float32, v, data)
	})
}

// FuzzFloat64 checks the round trip of every bit pattern except NaNs,
// which encode as Java's canonical NaN.
func FuzzFloat64(f *testing.F) {
	canonical := []byte{0x7f, 0xf8, 0, 0, 0, 0, 0, 0}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := serde.Float64.Deserialize(fuzzTopic, data)
		if len(data) != 8 {
			if !errors.Is(err, serde.ErrSize) {
				t.Fatalf("Float64.Deserialize(% x) = %v, %v; want an error matching ErrSize", data, v, err)
			}
			checkDecodeError(t, "Float64", data, err)
			return
		}
		if err != nil {
			t.Fatalf("Float64.Deserialize(% x) = %v", data, err)
		}
		if math.IsNaN(v) {
			checkReencode(t, "Float64", serde.Float64, v, canonical)
			return
		}
		checkReencode(t, "Float64", serde.Float64, v, data)
	})
}

func FuzzBool(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := serde.Bool.Deserialize(fuzzTopic, data)
		switch {
		case len(data) != 1:
			if !errors.Is(err, serde.ErrSize) {
				t.Fatalf("Bool.Deserialize(% x) = %v, %v; want an error matching ErrSize", data, v, err)
			}
		case data[0] > 1:
			if !errors.Is(err, serde.ErrInvalid) {
				t.Fatalf("Bool.Deserialize(% x) = %v, %v; want an error matching ErrInvalid", data, v, err)
			}
		default:
			if err != nil {
				t.Fatalf("Bool.Deserialize(% x) = %v", data, err)
			}
			checkReencode(t, "Bool", serde.Bool, v, data)
			return
		}
		checkDecodeError(t, "Bool", data, err)
	})
}

// FuzzString checks that any bytes, valid UTF-8 or not, come back as they
// went in: Java's StringDeserializer would replace invalid sequences, but a
// Go string holds bytes, and changing them would change a key's partition.
func FuzzString(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := serde.String.Deserialize(fuzzTopic, data)
		if err != nil {
			t.Fatalf("String.Deserialize(% x) = %v", data, err)
		}
		checkReencode(t, "String", serde.String, v, data)
	})
}

// FuzzBytes also checks that the result never aliases the input, which the
// caller may reuse.
func FuzzBytes(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		v, err := serde.Bytes.Deserialize(fuzzTopic, in)
		if err != nil {
			t.Fatalf("Bytes.Deserialize(% x) = %v", data, err)
		}
		for i := range in {
			in[i] ^= 0xff
		}
		if !bytes.Equal(v, data) {
			t.Fatalf("Bytes.Deserialize(% x) = % x after the input changed: it aliases the input", data, v)
		}
		checkReencode(t, "Bytes", serde.Bytes, v, data)
	})
}

// jsonRecord is a typical JSON value type: nested, with every kind of
// field a decoder can trip on. Only fields whose zero value is the only
// empty one are omitempty: an omitted empty map would come back nil, a
// loss omitempty asks for and the round trip would report.
type jsonRecord struct {
	Name   string             `json:"name"`
	Count  int64              `json:"count"`
	Small  uint8              `json:"small,omitempty"`
	Score  float64            `json:"score"`
	OK     bool               `json:"ok"`
	Tags   []string           `json:"tags"`
	Attrs  map[string]float64 `json:"attrs"`
	Parent *jsonRecord        `json:"parent,omitempty"`
	Raw    json.RawMessage    `json:"raw,omitempty"`
	Any    any                `json:"any"`
}

// fuzzJSON checks that a JSON serde either decodes data to a value that
// survives encode and decode unchanged, or fails matching ErrInvalid and
// wrapping encoding/json's error. encode(decode(data)) is not data itself:
// JSON has many spellings of one value.
func fuzzJSON[T any](t *testing.T, data []byte) {
	s := serde.JSON[T]()
	v, err := s.Deserialize(fuzzTopic, data)
	if err != nil {
		if !errors.Is(err, serde.ErrInvalid) {
			t.Fatalf("JSON.Deserialize(%q) = %v, want an error matching ErrInvalid", data, err)
		}
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if !errors.As(err, &syntax) && !errors.As(err, &typ) && !strings.Contains(err.Error(), "json: ") {
			t.Fatalf("JSON.Deserialize(%q) = %v, want it to wrap encoding/json's error", data, err)
		}
		checkDecodeError(t, "JSON", data, err)
		return
	}
	enc, err := s.Serialize(nil, fuzzTopic, v)
	if err != nil {
		t.Fatalf("JSON: %q decodes to %#v, which does not encode: %v", data, v, err)
	}
	back, err := s.Deserialize(fuzzTopic, enc)
	if err != nil {
		t.Fatalf("JSON: %q decodes to %#v, encodes to %q, which does not decode: %v", data, v, enc, err)
	}
	if !reflect.DeepEqual(normalizeRaw(back), normalizeRaw(v)) {
		t.Fatalf("JSON: %q decodes to %#v, encodes to %q, which decodes to %#v", data, v, enc, back)
	}
	again, err := s.Serialize(nil, fuzzTopic, back)
	if err != nil || !bytes.Equal(again, enc) {
		t.Fatalf("JSON: encoding is not stable: %q, then %q (%v)", enc, again, err)
	}
}

// normalizeRaw compacts the json.RawMessage fields of a jsonRecord, which
// keep their input's spacing while the encoder compacts them; other values
// pass through.
func normalizeRaw(v any) any {
	r, ok := v.(jsonRecord)
	if !ok {
		return v
	}
	for p := &r; p != nil; p = p.Parent {
		if p.Raw != nil {
			var b bytes.Buffer
			if json.Compact(&b, p.Raw) == nil {
				p.Raw = b.Bytes()
			}
		}
		if p.Parent != nil {
			parent := *p.Parent
			p.Parent = &parent
		}
	}
	return r
}

func FuzzJSONAny(f *testing.F)    { f.Fuzz(fuzzJSON[any]) }
func FuzzJSONRecord(f *testing.F) { f.Fuzz(fuzzJSON[jsonRecord]) }
func FuzzJSONMap(f *testing.F)    { f.Fuzz(fuzzJSON[map[string]int32]) }
func FuzzJSONSlice(f *testing.F)  { f.Fuzz(fuzzJSON[[]float32]) }
