package processor

import "time"

// Header is a Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is one keyed, timestamped record flowing between processors.
//
// Timestamp is in milliseconds since the Unix epoch, as on the wire. NullKey
// and NullValue mark a Kafka null; see the package documentation.
type Record[K, V any] struct {
	Key       K
	Value     V
	Timestamp int64
	Headers   []Header
	NullKey   bool
	NullValue bool
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
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == key {
			return r.Headers[i].Value, true
		}
	}
	return nil, false
}
