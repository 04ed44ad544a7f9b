package state

import (
	"encoding/binary"
	"fmt"

	"github.com/samsa-go/samsa/serde"
)

// ValueAndTimestamp is a value with the timestamp of the record that wrote
// it, as table stores keep them (Kafka Streams' ValueAndTimestamp): joins
// and versioned tables need the time of each row.
type ValueAndTimestamp[V any] struct {
	Value     V
	Timestamp int64 // milliseconds
}

// TimestampedKeyValueStore is a key-value store whose values carry their
// timestamps: the store the DSL materializes tables and aggregations in.
type TimestampedKeyValueStore[K, V any] = KeyValueStore[K, ValueAndTimestamp[V]]

// The timestamped value format, as the bytes store holds it:
//
//	[format byte][timestamp, 8 bytes big-endian][value bytes]
//
// The format byte leaves room for later layouts (versioned tables) without
// a break: a reader meeting a byte it does not know fails instead of
// misreading. The changelog carries the value bytes alone, with the
// timestamp as the record's, as Kafka Streams' timestamped stores do, and a
// restore rebuilds the format from them.
const (
	formatTimestamped byte = 0x01
	timestampedHeader      = 1 + 8
)

// appendTimestamped appends the header of a timestamped value to dst.
func appendTimestamped(dst []byte, ts int64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, formatTimestamped), uint64(ts))
}

// splitTimestamped splits a timestamped value into its timestamp and value
// bytes.
func splitTimestamped(b []byte) (ts int64, value []byte, err error) {
	ts, value, ok := cutTimestamped(b)
	if !ok {
		return 0, nil, badTimestamped(b)
	}
	return ts, value, nil
}

// cutTimestamped is splitTimestamped without the error, small enough to
// inline: stores split every value they write and log.
func cutTimestamped(b []byte) (ts int64, value []byte, ok bool) {
	if len(b) >= timestampedHeader && b[0] == formatTimestamped {
		return int64(binary.BigEndian.Uint64(b[1:])), b[timestampedHeader:], true
	}
	return 0, nil, false
}

// badTimestamped says why b, which splitTimestamped refused, is no
// timestamped value.
func badTimestamped(b []byte) error {
	if len(b) < timestampedHeader {
		return fmt.Errorf("timestamped value has %d bytes, fewer than its %d-byte header", len(b), timestampedHeader)
	}
	return fmt.Errorf("value has format byte 0x%02x, want 0x%02x (timestamped); state written by another version of this store?", b[0], formatTimestamped)
}

// timestampedSerde writes a ValueAndTimestamp in the timestamped format,
// the value through inner.
type timestampedSerde[V any] struct{ inner serde.Serde[V] }

func (s timestampedSerde[V]) Serialize(dst []byte, topic string, v ValueAndTimestamp[V]) ([]byte, error) {
	n := len(dst)
	dst = appendTimestamped(dst, v.Timestamp)
	out, err := s.inner.Serialize(dst, topic, v.Value)
	if err != nil {
		return nil, err
	}
	if out == nil {
		return dst[:n+timestampedHeader], nil
	}
	return out, nil
}

func (s timestampedSerde[V]) Deserialize(topic string, data []byte) (ValueAndTimestamp[V], error) {
	ts, b, ok := cutTimestamped(data)
	if !ok {
		return ValueAndTimestamp[V]{}, badTimestamped(data)
	}
	v, err := s.inner.Deserialize(topic, b)
	return ValueAndTimestamp[V]{Value: v, Timestamp: ts}, err
}

// plainSerde reads and writes the values of a timestamped store as plain
// values: reading drops the timestamp, writing stamps the value with
// clock's time (the record being processed), as Kafka Streams does when a
// timestamped store is used as a plain key-value store.
type plainSerde[V any] struct {
	inner serde.Serde[V]
	clock func() int64
}

func (s plainSerde[V]) Serialize(dst []byte, topic string, v V) ([]byte, error) {
	var ts int64
	if s.clock != nil {
		ts = s.clock()
	}
	return timestampedSerde[V]{s.inner}.Serialize(dst, topic, ValueAndTimestamp[V]{Value: v, Timestamp: ts})
}

func (s plainSerde[V]) Deserialize(topic string, data []byte) (V, error) {
	_, b, err := splitTimestamped(data)
	if err != nil {
		var zero V
		return zero, err
	}
	return s.inner.Deserialize(topic, b)
}
