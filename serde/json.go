package serde

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// JSON returns a serde that encodes T with encoding/json, so values follow
// encoding/json's rules (struct tags, Marshaler, omitempty). The encoding has
// no trailing newline, which keeps it byte-identical to what
// json.Marshal and most non-Go producers write.
//
// A nil pointer, slice or map encodes as the JSON text null, which is a
// present value and not a Kafka null; produce a tombstone with the record's
// null flag instead.
//
// Decode errors match ErrDeserialize and ErrInvalid, encode errors
// ErrSerialize; both wrap encoding/json's error and name the topic and T.
func JSON[T any]() Serde[T] {
	// The type name is built here, once per topology, not per failed record.
	return jsonSerde[T]{typ: reflect.TypeFor[T]().String()}
}

type jsonSerde[T any] struct {
	typ string
}

func (s jsonSerde[T]) Serialize(dst []byte, topic string, v T) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, &serdeError{
			msg:   fmt.Sprintf("serde: JSON cannot encode %s (topic %q): %v", s.typ, topic, err),
			op:    ErrSerialize,
			cause: err,
		}
	}
	if len(dst) == 0 {
		// Nothing to append to, so skip the copy.
		return b, nil
	}
	return append(dst, b...), nil
}

func (s jsonSerde[T]) Deserialize(topic string, data []byte) (T, error) {
	// json.Unmarshal copies what it keeps, even into json.RawMessage, so the
	// result never aliases data.
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		var zero T
		return zero, &serdeError{
			msg:   fmt.Sprintf("serde: JSON cannot decode %s (topic %q): %v", s.typ, topic, err),
			op:    ErrDeserialize,
			kind:  ErrInvalid,
			cause: err,
		}
	}
	return v, nil
}
