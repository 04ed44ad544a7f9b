package serde

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"
)

// Windowed is a key together with the window it was aggregated in, as
// Kafka Streams' Windowed<K>: the key of a windowed aggregation's results.
// Start and End are in milliseconds since the Unix epoch. For time windows
// (tumbling and hopping) Start is inclusive and End exclusive; sliding and
// session windows include both ends.
type Windowed[K any] struct {
	Key   K
	Start int64
	End   int64
}

// String formats w as Kafka Streams' Windowed does: [key@start/end].
func (w Windowed[K]) String() string { return fmt.Sprintf("[%v@%d/%d]", w.Key, w.Start, w.End) }

// timestampSize is the width of the window times in windowed keys.
const timestampSize = 8

// TimeWindowed is the serde of time-windowed keys (tumbling, hopping and
// sliding windows), with the bytes of Kafka Streams' TimeWindowedSerializer
// and TimeWindowedDeserializer: the key as inner writes it, then the
// window's start as an 8-byte big-endian long.
//
//	[key bytes][start, 8 bytes]
//
// The end is not written; reading gives End = Start + windowSize, or the
// largest int64 where that overflows, as Java's deserializer does. Pass
// the size of the windows the topic holds (for sliding windows, their time
// difference).
func TimeWindowed[K any](inner Serde[K], windowSize time.Duration) Serde[Windowed[K]] {
	return timeWindowedSerde[K]{inner: inner, size: windowSize.Milliseconds()}
}

type timeWindowedSerde[K any] struct {
	inner Serde[K]
	size  int64
}

func (s timeWindowedSerde[K]) Serialize(dst []byte, topic string, v Windowed[K]) ([]byte, error) {
	out, err := appendKey(s.inner, dst, topic, v.Key, "TimeWindowed")
	if err != nil {
		return dst, err
	}
	return binary.BigEndian.AppendUint64(out, uint64(v.Start)), nil
}

func (s timeWindowedSerde[K]) Deserialize(topic string, data []byte) (Windowed[K], error) {
	var w Windowed[K]
	if len(data) < timestampSize {
		return w, windowedSizeError("TimeWindowed", timestampSize, topic, data)
	}
	n := len(data) - timestampSize
	w.Start = int64(binary.BigEndian.Uint64(data[n:]))
	w.End = windowEnd(w.Start, s.size)
	var err error
	w.Key, err = readKey(s.inner, topic, data[:n], "TimeWindowed")
	return w, err
}

// windowEnd is start+size, saturated at the largest int64 as Kafka's
// WindowKeySchema.timeWindowForSize saturates it.
func windowEnd(start, size int64) int64 {
	end := start + size
	if size > 0 && end < start {
		return math.MaxInt64
	}
	return end
}

// SessionWindowed is the serde of session-windowed keys, with the bytes of
// Kafka Streams' SessionWindowedSerializer and SessionWindowedDeserializer
// (its SessionKeySchema): the key as inner writes it, then the session's
// end and its start, each an 8-byte big-endian long.
//
//	[key bytes][end, 8 bytes][start, 8 bytes]
func SessionWindowed[K any](inner Serde[K]) Serde[Windowed[K]] {
	return sessionWindowedSerde[K]{inner: inner}
}

type sessionWindowedSerde[K any] struct{ inner Serde[K] }

func (s sessionWindowedSerde[K]) Serialize(dst []byte, topic string, v Windowed[K]) ([]byte, error) {
	out, err := appendKey(s.inner, dst, topic, v.Key, "SessionWindowed")
	if err != nil {
		return dst, err
	}
	out = binary.BigEndian.AppendUint64(out, uint64(v.End))
	return binary.BigEndian.AppendUint64(out, uint64(v.Start)), nil
}

func (s sessionWindowedSerde[K]) Deserialize(topic string, data []byte) (Windowed[K], error) {
	var w Windowed[K]
	if len(data) < 2*timestampSize {
		return w, windowedSizeError("SessionWindowed", 2*timestampSize, topic, data)
	}
	n := len(data) - 2*timestampSize
	w.End = int64(binary.BigEndian.Uint64(data[n:]))
	w.Start = int64(binary.BigEndian.Uint64(data[n+timestampSize:]))
	var err error
	w.Key, err = readKey(s.inner, topic, data[:n], "SessionWindowed")
	return w, err
}

// appendKey appends the inner key's bytes to dst. A serde may return nil
// for an empty encoding; that leaves dst as it was.
func appendKey[K any](inner Serde[K], dst []byte, topic string, k K, name string) ([]byte, error) {
	if inner == nil {
		return dst, &windowedError{msg: fmt.Sprintf("serde: %s has no key serde (topic %q)", name, topic), errs: []error{ErrSerialize, ErrInvalid}}
	}
	out, err := inner.Serialize(dst, topic, k)
	if err != nil {
		return dst, wrapKeyError(name, "serialize", ErrSerialize, err)
	}
	if out == nil {
		out = dst
	}
	return out, nil
}

func readKey[K any](inner Serde[K], topic string, data []byte, name string) (K, error) {
	if inner == nil {
		var zero K
		return zero, &windowedError{msg: fmt.Sprintf("serde: %s has no key serde (topic %q)", name, topic), errs: []error{ErrDeserialize, ErrInvalid}}
	}
	k, err := inner.Deserialize(topic, data)
	if err != nil {
		return k, wrapKeyError(name, "deserialize", ErrDeserialize, err)
	}
	return k, nil
}

func windowedSizeError(name string, min int, topic string, data []byte) error {
	return &windowedError{
		msg:  fmt.Sprintf("serde: %s key needs at least %d bytes, got %d (topic %q)", name, min, len(data), topic),
		errs: []error{ErrDeserialize, ErrSize},
	}
}

// wrapKeyError names the windowed serde in front of the key serde's error,
// without repeating the package prefix both carry.
func wrapKeyError(name, op string, sentinel, err error) error {
	return &windowedError{
		msg:  fmt.Sprintf("serde: %s: %s key: %s", name, op, strings.TrimPrefix(err.Error(), "serde: ")),
		errs: []error{sentinel, err},
	}
}

// windowedError carries its own message while errors.Is and errors.As reach
// the sentinels (ErrDeserialize or ErrSerialize first) and the key serde's
// error in errs.
type windowedError struct {
	msg  string
	errs []error
}

func (e *windowedError) Error() string   { return e.msg }
func (e *windowedError) Unwrap() []error { return e.errs }
