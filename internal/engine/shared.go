package engine

import (
	"unsafe"

	"github.com/samsa-go/samsa/serde"
)

// SharedDecoder returns, for serde.String, a decoder whose strings share
// the bytes they are decoded from instead of copying them, and nil for any
// other serde. Only bytes nothing modifies or reuses afterwards may be
// decoded with it (see Config.StableRecordBytes): a Go string is
// immutable, and one that outlives its record keeps alive whatever memory
// it shares. It is looked up once, when a node is built; a serde's own
// Deserialize must copy, since its caller may reuse the input.
//
// serde.Bytes gets none: a []byte handed to a processor may be written to,
// which would change the record under the host that keeps it.
func SharedDecoder[T any](s serde.Serde[T]) func([]byte) T {
	if any(s) != any(serde.String) {
		return nil
	}
	f, _ := any(shareString).(func([]byte) T)
	return f
}

func shareString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// SharedEncoder returns, for serde.String, an encoder whose bytes are the
// string's own, shared rather than copied, and nil for any other serde:
// serde.String's encoding is the string's bytes. A Go string is never
// written, so a host that never modifies the bytes of its records (see
// Config.StableRecordBytes) can keep them as a record's; an empty string
// encodes as an empty slice, never nil.
func SharedEncoder[T any](s serde.Serde[T]) func(T) []byte {
	if any(s) != any(serde.String) {
		return nil
	}
	f, _ := any(shareBytes).(func(T) []byte)
	return f
}

func shareBytes(s string) []byte {
	if len(s) == 0 {
		return emptyBytes
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
