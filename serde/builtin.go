package serde

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The built-in serdes are empty structs behind interface-typed variables:
// storing an empty struct in an interface does not allocate, and a typed
// variable lets dsl.Stream(b, "t", serde.String, serde.Int64) infer its type
// parameters.
var (
	// String encodes a string as its bytes, like Java's StringSerializer with
	// its default UTF-8 encoding.
	String Serde[string] = stringSerde{}

	// Bytes passes bytes through, like Java's ByteArraySerializer.
	// Deserialize returns a copy, because the input may not be retained.
	Bytes Serde[[]byte] = bytesSerde{}

	// Int16 is Java's ShortSerializer: 2 bytes, big-endian.
	Int16 Serde[int16] = int16Serde{}

	// Int32 is Java's IntegerSerializer: 4 bytes, big-endian.
	Int32 Serde[int32] = int32Serde{}

	// Int64 is Java's LongSerializer: 8 bytes, big-endian.
	Int64 Serde[int64] = &int64Serde{}

	// Float32 is Java's FloatSerializer: the raw IEEE 754 bits, big-endian.
	Float32 Serde[float32] = float32Serde{}

	// Float64 is Java's DoubleSerializer: the IEEE 754 bits, big-endian, with
	// every NaN written as the canonical 0x7ff8000000000000.
	Float64 Serde[float64] = float64Serde{}

	// Bool is Java's BooleanSerializer: one byte, 0x01 for true and 0x00 for
	// false.
	Bool Serde[bool] = boolSerde{}
)

// present keeps an empty encoding distinguishable from a missing one for
// callers that test for nil.
func present(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// checkSize is small enough to inline, so that the fixed-size serdes'
// Deserialize check the size without a call; sizeError builds the error.
func checkSize(name string, want int, topic string, data []byte) error {
	if len(data) == want {
		return nil
	}
	return sizeError(name, want, topic, data)
}

func sizeError(name string, want int, topic string, data []byte) error {
	unit := "bytes"
	if want == 1 {
		unit = "byte"
	}
	return &serdeError{
		msg:  fmt.Sprintf("serde: %s needs %d %s, got %d (topic %q)", name, want, unit, len(data), topic),
		op:   ErrDeserialize,
		kind: ErrSize,
	}
}

type stringSerde struct{}

func (stringSerde) Serialize(dst []byte, _ string, v string) ([]byte, error) {
	return present(append(dst, v...)), nil
}

func (stringSerde) Deserialize(_ string, data []byte) (string, error) {
	return string(data), nil
}

type bytesSerde struct{}

func (bytesSerde) Serialize(dst []byte, _ string, v []byte) ([]byte, error) {
	return present(append(dst, v...)), nil
}

func (bytesSerde) Deserialize(_ string, data []byte) ([]byte, error) {
	return append(make([]byte, 0, len(data)), data...), nil
}

type int16Serde struct{}

func (int16Serde) Serialize(dst []byte, _ string, v int16) ([]byte, error) {
	return binary.BigEndian.AppendUint16(dst, uint16(v)), nil
}

func (int16Serde) Deserialize(topic string, data []byte) (int16, error) {
	if err := checkSize("Int16", 2, topic, data); err != nil {
		return 0, err
	}
	return int16(binary.BigEndian.Uint16(data)), nil
}

type int32Serde struct{}

func (int32Serde) Serialize(dst []byte, _ string, v int32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(dst, uint32(v)), nil
}

func (int32Serde) Deserialize(topic string, data []byte) (int32, error) {
	if err := checkSize("Int32", 4, topic, data); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(data)), nil
}

// int64Serde's methods take a pointer, as Int64 holds it: an interface
// call of a value method on a pointer goes through a wrapper, and longs
// are the most common values (counts).
type int64Serde struct{}

func (*int64Serde) Serialize(dst []byte, _ string, v int64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(dst, uint64(v)), nil
}

func (*int64Serde) Deserialize(topic string, data []byte) (int64, error) {
	if err := checkSize("Int64", 8, topic, data); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(data)), nil
}

type float32Serde struct{}

// Java's FloatSerializer uses floatToRawIntBits, so NaN payloads survive;
// math.Float32bits does the same.
func (float32Serde) Serialize(dst []byte, _ string, v float32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(dst, math.Float32bits(v)), nil
}

func (float32Serde) Deserialize(topic string, data []byte) (float32, error) {
	if err := checkSize("Float32", 4, topic, data); err != nil {
		return 0, err
	}
	return math.Float32frombits(binary.BigEndian.Uint32(data)), nil
}

// canonicalNaN is what Java's Double.doubleToLongBits writes for every NaN.
const canonicalNaN = 0x7ff8000000000000

type float64Serde struct{}

// Java's DoubleSerializer, unlike its FloatSerializer, uses doubleToLongBits,
// which collapses all NaNs into one. Doing the same keeps a NaN key
// byte-identical to Java's, so it lands in the same partition and store row.
func (float64Serde) Serialize(dst []byte, _ string, v float64) ([]byte, error) {
	bits := math.Float64bits(v)
	if v != v {
		bits = canonicalNaN
	}
	return binary.BigEndian.AppendUint64(dst, bits), nil
}

func (float64Serde) Deserialize(topic string, data []byte) (float64, error) {
	if err := checkSize("Float64", 8, topic, data); err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(data)), nil
}

type boolSerde struct{}

func (boolSerde) Serialize(dst []byte, _ string, v bool) ([]byte, error) {
	if v {
		return append(dst, 1), nil
	}
	return append(dst, 0), nil
}

func (boolSerde) Deserialize(topic string, data []byte) (bool, error) {
	if err := checkSize("Bool", 1, topic, data); err != nil {
		return false, err
	}
	switch data[0] {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, &serdeError{
		msg:  fmt.Sprintf("serde: Bool got byte 0x%02x, want 0x00 or 0x01 (topic %q)", data[0], topic),
		op:   ErrDeserialize,
		kind: ErrInvalid,
	}
}
