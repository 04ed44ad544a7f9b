package serde

// Serde turns values of type T into bytes and back.
//
// Implementations never see a Kafka null: a record whose key or value is null
// on the wire is carried as a null flag on the record (see processor.Record)
// and the serde is not called. Every value a serde is given is present, and
// Serialize must return a present encoding for it (an empty slice is present;
// callers treat a nil result as empty, never as null).
//
// Serialize appends the encoding of v to dst and returns the extended slice,
// so callers can reuse a buffer and encode without allocating. Deserialize
// must not retain data after it returns: the caller may reuse it.
//
// A Serde must be safe for concurrent use; the runtime shares one across
// stream threads.
type Serde[T any] interface {
	Serialize(dst []byte, topic string, v T) ([]byte, error)
	Deserialize(topic string, data []byte) (T, error)
}
