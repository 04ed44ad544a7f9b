package serde

// Funcs is a Serde made of two functions, for formats this package does not
// ship, in the way http.HandlerFunc makes a Handler. Both functions must be
// set and must honour the Serde contract: append to dst, do not retain data,
// be safe for concurrent use.
type Funcs[T any] struct {
	SerializeFunc   func(dst []byte, topic string, v T) ([]byte, error)
	DeserializeFunc func(topic string, data []byte) (T, error)
}

// Serialize calls f.SerializeFunc.
func (f Funcs[T]) Serialize(dst []byte, topic string, v T) ([]byte, error) {
	return f.SerializeFunc(dst, topic, v)
}

// Deserialize calls f.DeserializeFunc.
func (f Funcs[T]) Deserialize(topic string, data []byte) (T, error) {
	return f.DeserializeFunc(topic, data)
}
