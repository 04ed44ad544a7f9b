package processor

import "time"

// Header is a Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Headers is a record's list of Kafka headers.
type Headers []Header

// NewHeaders returns a list of headers for a Record.
func NewHeaders(hs ...Header) *Headers {
	h := Headers(hs)
	return &h
}

// Record is one keyed, timestamped record flowing between processors.
//
// Timestamp is in milliseconds since the Unix epoch, as on the wire. NullKey
// and NullValue mark a Kafka null; see the package documentation. Headers is
// nil when the record has none; it is a pointer so that a Record of
// fixed-size keys and values is passed between processors in registers.
// Processors must not change a record's headers in place: copy them.
type Record[K, V any] struct {
	Key       K
	Value     V
	Timestamp int64
	Headers   *Headers
	NullKey   bool
	NullValue bool
}

// HeaderList returns the record's headers, nil when it has none.
func (r Record[K, V]) HeaderList() []Header {
	if r.Headers == nil {
		return nil
	}
	return *r.Headers
}

// NewRecord returns a record with a present key and value.
func NewRecord[K, V any](key K, value V, timestamp int64) Record[K, V] {
	return Record[K, V]{Key: key, Value: value, Timestamp: timestamp}
}

// WithValue returns a copy of r carrying value v (present) of another type.
func (r Record[K, V]) WithValue[V2 any](v V2) Record[K, V2] {
	return Record[K, V2]{Key: r.Key, Value: v, Timestamp: r.Timestamp, Headers: r.Headers, NullKey: r.NullKey}
}

// WithKey returns a copy of r carrying key k (present) of another type.
func (r Record[K, V]) WithKey[K2 any](k K2) Record[K2, V] {
	return Record[K2, V]{Key: k, Value: r.Value, Timestamp: r.Timestamp, Headers: r.Headers, NullValue: r.NullValue}
}

// WithNullValue returns a copy of r whose value is null, of another value type.
func WithNullValue[V2, K, V any](r Record[K, V]) Record[K, V2] {
	return Record[K, V2]{Key: r.Key, Timestamp: r.Timestamp, Headers: r.Headers, NullKey: r.NullKey, NullValue: true}
}

// Time returns the record timestamp as a time.Time.
func (r Record[K, V]) Time() time.Time { return time.UnixMilli(r.Timestamp) }

// Header returns the value of the last header named key, and whether there
// was one.
func (r Record[K, V]) Header(key string) ([]byte, bool) {
	hs := r.HeaderList()
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].Key == key {
			return hs[i].Value, true
		}
	}
	return nil, false
}
