package serde_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/serde"
)

// golden is a value and the bytes Kafka's Java serializer writes for it.
type golden[T any] struct {
	v   T
	hex string
}

// checkGolden proves byte-exact encoding, appending after a prefix, and the
// round trip back to the value.
func checkGolden[T comparable](t *testing.T, s serde.Serde[T], cases []golden[T]) {
	t.Helper()
	for _, c := range cases {
		want, err := hex.DecodeString(c.hex)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Serialize(nil, "t", c.v)
		if err != nil {
			t.Fatalf("Serialize(%v): %v", c.v, err)
		}
		if got == nil || !bytes.Equal(got, want) {
			t.Errorf("Serialize(%v) = % x, want % x", c.v, got, want)
		}

		prefix := []byte("pre")
		got, err = s.Serialize(prefix, "t", c.v)
		if err != nil {
			t.Fatalf("Serialize(prefix, %v): %v", c.v, err)
		}
		if !bytes.Equal(got, append([]byte("pre"), want...)) {
			t.Errorf("Serialize(prefix, %v) = % x, want prefix then % x", c.v, got, want)
		}

		back, err := s.Deserialize("t", want)
		if err != nil {
			t.Fatalf("Deserialize(% x): %v", want, err)
		}
		if back != c.v {
			t.Errorf("Deserialize(% x) = %v, want %v", want, back, c.v)
		}
	}
}

func TestJavaCompatibleBytes(t *testing.T) {
	t.Run("String", func(t *testing.T) {
		checkGolden(t, serde.String, []golden[string]{
			{"", ""},
			{"a", "61"},
			{"hello", "68656c6c6f"},
			{"ü€", "c3bce282ac"},
			{"😀", "f09f9880"},
		})
	})
	t.Run("Int16", func(t *testing.T) {
		checkGolden(t, serde.Int16, []golden[int16]{
			{0, "0000"},
			{1, "0001"},
			{258, "0102"},
			{-1, "ffff"},
			{math.MaxInt16, "7fff"},
			{math.MinInt16, "8000"},
		})
	})
	t.Run("Int32", func(t *testing.T) {
		checkGolden(t, serde.Int32, []golden[int32]{
			{0, "00000000"},
			{1, "00000001"},
			{-1, "ffffffff"},
			{0x01020304, "01020304"},
			{math.MaxInt32, "7fffffff"},
			{math.MinInt32, "80000000"},
		})
	})
	t.Run("Int64", func(t *testing.T) {
		checkGolden(t, serde.Int64, []golden[int64]{
			{0, "0000000000000000"},
			{1, "0000000000000001"},
			{-1, "ffffffffffffffff"},
			{0x0102030405060708, "0102030405060708"},
			{math.MaxInt64, "7fffffffffffffff"},
			{math.MinInt64, "8000000000000000"},
		})
	})
	t.Run("Float32", func(t *testing.T) {
		checkGolden(t, serde.Float32, []golden[float32]{
			{0, "00000000"},
			{1, "3f800000"},
			{1.5, "3fc00000"},
			{-2, "c0000000"},
			{float32(math.Inf(1)), "7f800000"},
			{float32(math.Inf(-1)), "ff800000"},
			{math.MaxFloat32, "7f7fffff"},
		})
	})
	t.Run("Float64", func(t *testing.T) {
		checkGolden(t, serde.Float64, []golden[float64]{
			{0, "0000000000000000"},
			{1, "3ff0000000000000"},
			{1.5, "3ff8000000000000"},
			{-2, "c000000000000000"},
			{0.1, "3fb999999999999a"},
			{math.Inf(1), "7ff0000000000000"},
			{math.Inf(-1), "fff0000000000000"},
			{math.MaxFloat64, "7fefffffffffffff"},
			{math.SmallestNonzeroFloat64, "0000000000000001"},
		})
	})
	t.Run("Bool", func(t *testing.T) {
		checkGolden(t, serde.Bool, []golden[bool]{
			{true, "01"},
			{false, "00"},
		})
	})
}

// Zero compares equal to negative zero, so checkGolden cannot tell them apart.
func TestNegativeZeroKeepsSign(t *testing.T) {
	got64, _ := serde.Float64.Serialize(nil, "t", math.Copysign(0, -1))
	if want := "8000000000000000"; hex.EncodeToString(got64) != want {
		t.Errorf("Float64 -0 = %x, want %s", got64, want)
	}
	got32, _ := serde.Float32.Serialize(nil, "t", float32(math.Copysign(0, -1)))
	if want := "80000000"; hex.EncodeToString(got32) != want {
		t.Errorf("Float32 -0 = %x, want %s", got32, want)
	}
}

func TestNaN(t *testing.T) {
	// Java's DoubleSerializer writes every NaN as one canonical pattern.
	payloadNaN := math.Float64frombits(0x7ff8000000000001)
	for _, v := range []float64{math.NaN(), payloadNaN, math.Float64frombits(0xfff0000000000001)} {
		got, err := serde.Float64.Serialize(nil, "t", v)
		if err != nil {
			t.Fatal(err)
		}
		if want := "7ff8000000000000"; hex.EncodeToString(got) != want {
			t.Errorf("Float64 NaN %x = %x, want %s", math.Float64bits(v), got, want)
		}
		back, err := serde.Float64.Deserialize("t", got)
		if err != nil || !math.IsNaN(back) {
			t.Errorf("Float64 NaN round trip = %v, %v", back, err)
		}
	}

	// Java's FloatSerializer writes the raw bits, payload included.
	raw := math.Float32frombits(0x7fc00001)
	got, err := serde.Float32.Serialize(nil, "t", raw)
	if err != nil {
		t.Fatal(err)
	}
	if want := "7fc00001"; hex.EncodeToString(got) != want {
		t.Errorf("Float32 NaN = %x, want %s", got, want)
	}
	back, err := serde.Float32.Deserialize("t", got)
	if err != nil || math.Float32bits(back) != 0x7fc00001 {
		t.Errorf("Float32 NaN round trip = %x, %v", math.Float32bits(back), err)
	}
}

func TestBytes(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", []byte{}},
		{"one", []byte{0}},
		{"binary", []byte{0xff, 0x00, 0x7f, 0x80}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := serde.Bytes.Serialize(nil, "t", tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if enc == nil || !bytes.Equal(enc, tt.in) {
				t.Fatalf("Serialize = %#v, want %#v", enc, tt.in)
			}
			dec, err := serde.Bytes.Deserialize("t", enc)
			if err != nil {
				t.Fatal(err)
			}
			if dec == nil || !bytes.Equal(dec, tt.in) {
				t.Fatalf("Deserialize = %#v, want %#v", dec, tt.in)
			}
		})
	}
}

// The runtime reuses fetch buffers, so a deserialized value must not change
// when the input does.
func TestDeserializeDoesNotRetain(t *testing.T) {
	data := []byte("hello")
	s, _ := serde.String.Deserialize("t", data)
	b, _ := serde.Bytes.Deserialize("t", data)
	copy(data, "XXXXX")
	if s != "hello" {
		t.Errorf("String kept the input: %q", s)
	}
	if string(b) != "hello" {
		t.Errorf("Bytes kept the input: %q", b)
	}
}

// An empty value is present; only the record's null flag means null.
func TestEmptyIsPresent(t *testing.T) {
	tests := []struct {
		name string
		enc  func() ([]byte, error)
	}{
		{"String nil dst", func() ([]byte, error) { return serde.String.Serialize(nil, "t", "") }},
		{"String empty dst", func() ([]byte, error) { return serde.String.Serialize([]byte{}, "t", "") }},
		{"Bytes nil value", func() ([]byte, error) { return serde.Bytes.Serialize(nil, "t", nil) }},
		{"Bytes empty value", func() ([]byte, error) { return serde.Bytes.Serialize(nil, "t", []byte{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.enc()
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || len(got) != 0 {
				t.Errorf("got %#v, want non-nil empty slice", got)
			}
		})
	}

	for _, data := range [][]byte{nil, {}} {
		s, err := serde.String.Deserialize("t", data)
		if err != nil || s != "" {
			t.Errorf("String.Deserialize(%#v) = %q, %v", data, s, err)
		}
		b, err := serde.Bytes.Deserialize("t", data)
		if err != nil || b == nil || len(b) != 0 {
			t.Errorf("Bytes.Deserialize(%#v) = %#v, %v; want non-nil empty", data, b, err)
		}
	}
}

func TestDeserializeErrors(t *testing.T) {
	tests := []struct {
		name     string
		decode   func() error
		sentinel error
		msg      string
	}{
		{
			name:     "Int16 short",
			decode:   func() error { _, err := serde.Int16.Deserialize("x", []byte{1}); return err },
			sentinel: serde.ErrSize,
			msg:      `serde: Int16 needs 2 bytes, got 1 (topic "x")`,
		},
		{
			name:     "Int32 short",
			decode:   func() error { _, err := serde.Int32.Deserialize("x", []byte{1, 2, 3}); return err },
			sentinel: serde.ErrSize,
			msg:      `serde: Int32 needs 4 bytes, got 3 (topic "x")`,
		},
		{
			name:     "Int32 empty",
			decode:   func() error { _, err := serde.Int32.Deserialize("x", nil); return err },
			sentinel: serde.ErrSize,
			msg:      `serde: Int32 needs 4 bytes, got 0 (topic "x")`,
		},
		{
			name:     "Int64 long",
			decode:   func() error { _, err := serde.Int64.Deserialize("x", make([]byte, 9)); return err },
			sentinel: serde.ErrSize,
			msg:      `serde: Int64 needs 8 bytes, got 9 (topic "x")`,
		},
		{
			// An Int32 written where an Int64 was expected is the classic mistake.
			name:     "Int64 from Int32",
			decode:   func() error { _, err := serde.Int64.Deserialize("counts", []byte{0, 0, 0, 1}); return err },
			sentinel: serde.ErrSize,
			msg:      `serde: Int64 needs 8 bytes, got 4 (topic "counts")`,
		},
		{
			name:     "Float32 short",
			decode:   func() error { _, err := serde.Float32.Deserialize("x", []byte{1, 2}); return err },
			sentinel: serde.ErrSize,
			msg:      `serde: Float32 needs 4 bytes, got 2 (topic "x")`,
		},
		{
			name:     "Float64 short",
			decode:   func() error { _, err := serde.Float64.Deserialize("x", []byte{1, 2, 3, 4}); return err },
			sentinel: serde.ErrSize,
			msg:      `serde: Float64 needs 8 bytes, got 4 (topic "x")`,
		},
		{
			name:     "Bool empty",
			decode:   func() error { _, err := serde.Bool.Deserialize("x", []byte{}); return err },
			sentinel: serde.ErrSize,
			msg:      `serde: Bool needs 1 byte, got 0 (topic "x")`,
		},
		{
			name:     "Bool long",
			decode:   func() error { _, err := serde.Bool.Deserialize("x", []byte{0, 1}); return err },
			sentinel: serde.ErrSize,
			msg:      `serde: Bool needs 1 byte, got 2 (topic "x")`,
		},
		{
			name:     "Bool bad byte",
			decode:   func() error { _, err := serde.Bool.Deserialize("x", []byte{2}); return err },
			sentinel: serde.ErrInvalid,
			msg:      `serde: Bool got byte 0x02, want 0x00 or 0x01 (topic "x")`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode()
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.sentinel)
			}
			if !errors.Is(err, serde.ErrDeserialize) || errors.Is(err, serde.ErrSerialize) {
				t.Errorf("%v does not match ErrDeserialize alone", err)
			}
			if got := err.Error(); got != tt.msg {
				t.Errorf("message = %q, want %q", got, tt.msg)
			}
		})
	}
}

type order struct {
	ID    int64    `json:"id"`
	Item  string   `json:"item"`
	Tags  []string `json:"tags,omitempty"`
	Price float64  `json:"price"`
}

func TestJSON(t *testing.T) {
	s := serde.JSON[order]()
	in := order{ID: 7, Item: "book", Tags: []string{"a", "b"}, Price: 12.5}

	enc, err := s.Serialize(nil, "orders", in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":7,"item":"book","tags":["a","b"],"price":12.5}`; string(enc) != want {
		t.Errorf("Serialize = %s, want %s", enc, want)
	}

	withPrefix, err := s.Serialize([]byte("pre"), "orders", in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "pre" + string(enc); string(withPrefix) != want {
		t.Errorf("Serialize(prefix) = %s, want %s", withPrefix, want)
	}

	out, err := s.Deserialize("orders", enc)
	if err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || out.Item != in.Item || out.Price != in.Price || strings.Join(out.Tags, ",") != "a,b" {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
}

func TestJSONNilPointerIsJSONNull(t *testing.T) {
	s := serde.JSON[*order]()
	enc, err := s.Serialize(nil, "orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(enc) != "null" {
		t.Errorf("Serialize(nil) = %q, want %q", enc, "null")
	}
	out, err := s.Deserialize("orders", enc)
	if err != nil || out != nil {
		t.Errorf("Deserialize(null) = %v, %v", out, err)
	}
}

func TestJSONDecodeError(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"syntax", `{"id":`},
		{"type", `{"id":"seven"}`},
		{"empty", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := serde.JSON[order]().Deserialize("orders", []byte(tt.data))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, want := range []string{"serde: ", `topic "orders"`, "serde_test.order"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not contain %q", msg, want)
				}
			}
			if !strings.HasPrefix(msg, "serde: ") {
				t.Errorf("message %q does not start with %q", msg, "serde: ")
			}
			if !errors.Is(err, serde.ErrInvalid) || !errors.Is(err, serde.ErrDeserialize) {
				t.Errorf("%v does not match ErrInvalid and ErrDeserialize", err)
			}
		})
	}

	_, err := serde.JSON[order]().Deserialize("orders", []byte(`{`))
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		t.Errorf("errors.As(%v, *json.SyntaxError) = false", err)
	}
}

func TestJSONEncodeError(t *testing.T) {
	_, err := serde.JSON[float64]().Serialize(nil, "prices", math.Inf(1))
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.HasPrefix(err.Error(), "serde: ") || !strings.Contains(err.Error(), `topic "prices"`) {
		t.Errorf("message %q", err)
	}
	var unsupported *json.UnsupportedValueError
	if !errors.As(err, &unsupported) {
		t.Errorf("errors.As(%v, *json.UnsupportedValueError) = false", err)
	}
	if !errors.Is(err, serde.ErrSerialize) || errors.Is(err, serde.ErrDeserialize) {
		t.Errorf("%v does not match ErrSerialize alone", err)
	}
}

type userID string

func TestDefault(t *testing.T) {
	check := func(t *testing.T, name string, got, want any, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("Default[%s]: ok = false", name)
			return
		}
		if got != want {
			t.Errorf("Default[%s] = %#v, want %#v", name, got, want)
		}
	}
	s1, ok := serde.Default[string]()
	check(t, "string", s1, serde.String, ok)
	s2, ok := serde.Default[[]byte]()
	check(t, "[]byte", s2, serde.Bytes, ok)
	s3, ok := serde.Default[int16]()
	check(t, "int16", s3, serde.Int16, ok)
	s4, ok := serde.Default[int32]()
	check(t, "int32", s4, serde.Int32, ok)
	s5, ok := serde.Default[int64]()
	check(t, "int64", s5, serde.Int64, ok)
	s6, ok := serde.Default[float32]()
	check(t, "float32", s6, serde.Float32, ok)
	s7, ok := serde.Default[float64]()
	check(t, "float64", s7, serde.Float64, ok)
	s8, ok := serde.Default[bool]()
	check(t, "bool", s8, serde.Bool, ok)

	noDefault := []struct {
		name string
		ok   func() bool
	}{
		{"struct", func() bool { _, ok := serde.Default[order](); return ok }},
		{"pointer", func() bool { _, ok := serde.Default[*order](); return ok }},
		{"named string", func() bool { _, ok := serde.Default[userID](); return ok }},
		{"int", func() bool { _, ok := serde.Default[int](); return ok }},
		{"any", func() bool { _, ok := serde.Default[any](); return ok }},
		{"error", func() bool { _, ok := serde.Default[error](); return ok }},
		{"map", func() bool { _, ok := serde.Default[map[string]int](); return ok }},
	}
	for _, tt := range noDefault {
		if tt.ok() {
			t.Errorf("Default[%s]: ok = true, want false", tt.name)
		}
	}
	if s, _ := serde.Default[order](); s != nil {
		t.Errorf("Default[order] = %#v, want nil", s)
	}
}

func TestFuncs(t *testing.T) {
	var gotTopic string
	upper := serde.Funcs[string]{
		SerializeFunc: func(dst []byte, topic string, v string) ([]byte, error) {
			gotTopic = topic
			return append(dst, strings.ToUpper(v)...), nil
		},
		DeserializeFunc: func(topic string, data []byte) (string, error) {
			gotTopic = topic
			if len(data) == 0 {
				return "", serde.ErrSize
			}
			return strings.ToLower(string(data)), nil
		},
	}
	var s serde.Serde[string] = upper // Funcs must satisfy Serde by value.
	enc, err := s.Serialize([]byte("k:"), "in", "abc")
	if err != nil || string(enc) != "k:ABC" || gotTopic != "in" {
		t.Errorf("Serialize = %q, %v (topic %q)", enc, err, gotTopic)
	}
	dec, err := s.Deserialize("out", []byte("XYZ"))
	if err != nil || dec != "xyz" || gotTopic != "out" {
		t.Errorf("Deserialize = %q, %v (topic %q)", dec, err, gotTopic)
	}
	if _, err := s.Deserialize("out", nil); !errors.Is(err, serde.ErrSize) {
		t.Errorf("Deserialize error = %v, want the function's own", err)
	}
}

// The runtime encodes every record into a reused buffer; a built-in serde
// that allocated there would cost an allocation per record.
func TestSerializeIntoReusedBufferDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 64)
	payload := []byte("payload")
	tests := []struct {
		name string
		enc  func()
	}{
		{"String", func() { buf, _ = serde.String.Serialize(buf[:0], "t", "hello") }},
		{"Bytes", func() { buf, _ = serde.Bytes.Serialize(buf[:0], "t", payload) }},
		{"Int16", func() { buf, _ = serde.Int16.Serialize(buf[:0], "t", 258) }},
		{"Int32", func() { buf, _ = serde.Int32.Serialize(buf[:0], "t", -1) }},
		{"Int64", func() { buf, _ = serde.Int64.Serialize(buf[:0], "t", 1) }},
		{"Float32", func() { buf, _ = serde.Float32.Serialize(buf[:0], "t", 1.5) }},
		{"Float64", func() { buf, _ = serde.Float64.Serialize(buf[:0], "t", 1.5) }},
		{"Bool", func() { buf, _ = serde.Bool.Serialize(buf[:0], "t", true) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.enc); n != 0 {
			t.Errorf("%s: %v allocs per Serialize, want 0", tt.name, n)
		}
	}
}

func BenchmarkInt64Serialize(b *testing.B) {
	b.ReportAllocs()
	dst := make([]byte, 0, 8)
	var v int64
	for b.Loop() {
		dst, _ = serde.Int64.Serialize(dst[:0], "t", v)
		v++
	}
}

func BenchmarkStringDeserialize(b *testing.B) {
	b.ReportAllocs()
	data := []byte("a typical word-count key")
	for b.Loop() {
		if _, err := serde.String.Deserialize("t", data); err != nil {
			b.Fatal(err)
		}
	}
}
