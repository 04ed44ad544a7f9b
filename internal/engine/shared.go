package engine

import (
	"unsafe"

	"github.com/samsa-go/samsa/serde"
)

// Shares reports whether s is serde.String, whose encoding is a string's
// bytes: DecodeShared makes a string that shares the bytes it is decoded
// from instead of copying them, and EncodeShared hands out a string's own
// bytes. It is asked once, when a node is built; the per-record path then
// converts in place, with no call through a serde.
//
// Only bytes nothing modifies or reuses afterwards may be decoded shared
// (see Config.StableRecordBytes): a Go string is immutable, and one that
// outlives its record keeps alive whatever memory it shares. A string's
// own bytes are never written, so a host that never modifies its records'
// bytes can keep them as a record's (see KeepingCollector). A serde's own
// Deserialize must copy, since its caller may reuse the input.
//
// serde.Bytes is not shared: a []byte handed to a processor may be written
// to, which would change the record under the host that keeps it.
func Shares[T any](s serde.Serde[T]) bool { return any(s) == any(serde.String) }

// DecodeShared sets *dst to the string of b's bytes, shared. T is a
// string: call it only for values of a serde Shares reports.
func DecodeShared[T any](dst *T, b []byte) {
	*(*string)(unsafe.Pointer(dst)) = unsafe.String(unsafe.SliceData(b), len(b))
}

// EncodeShared returns the bytes of the string *v, shared; an empty string
// encodes as an empty slice, never nil. T is a string: call it only for
// values of a serde Shares reports.
func EncodeShared[T any](v *T) []byte {
	s := *(*string)(unsafe.Pointer(v))
	if len(s) == 0 {
		return emptyBytes
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
