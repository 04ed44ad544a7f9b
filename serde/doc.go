// Package serde turns typed keys and values into Kafka's bytes and back.
//
// A topology is typed, but Kafka is not: wherever records cross a byte
// boundary (source and sink topics, repartition topics, changelogs, state
// stores) a Serde[T] converts between a T and its encoding. The conversion
// happens once per crossing, and nowhere else: between nodes of a task
// records travel as Go values.
//
// # Nulls
//
// Nulls are not the serde's concern. Kafka's null key or value (a tombstone,
// in a table topic) travels as a flag on processor.Record, and the framework
// never calls a serde for it. Every value a serde sees is present, and every
// encoding it returns is present, even when it is empty: the empty string is
// a value, not a null. This is why Serialize never returns nil for a present
// value, and why a JSON serde encodes a nil pointer as the text null rather
// than as a Kafka null.
//
// # Compatibility with Java
//
// The built-in serdes produce the same bytes as the serializers that ship
// with Kafka, so a Samsa application and a Kafka Streams application can share
// topics and changelogs:
//
//	String   StringSerializer     UTF-8 bytes, no length prefix
//	Bytes    ByteArraySerializer  the bytes as given
//	Int16    ShortSerializer      2 bytes, big-endian two's complement
//	Int32    IntegerSerializer    4 bytes, big-endian two's complement
//	Int64    LongSerializer       8 bytes, big-endian two's complement
//	Float32  FloatSerializer      4 bytes, IEEE 754 bits, big-endian
//	Float64  DoubleSerializer     8 bytes, IEEE 754 bits, big-endian, one NaN
//	Bool     BooleanSerializer    1 byte, 0x01 or 0x00
//
// Windowed keys, the keys of windowed aggregations, have the formats of
// Kafka Streams' WindowedSerdes: TimeWindowed writes the key then the
// window start, SessionWindowed the key then the session's end and start,
// each time an 8-byte big-endian long.
//
// Deserializers are as strict as Java's: a fixed-width value of the wrong
// length fails with ErrSize, and a Bool byte other than 0 or 1 fails with
// ErrInvalid. One difference is deliberate: String keeps bytes that are not
// valid UTF-8 as they are, where Java substitutes U+FFFD, so that any key
// round-trips unchanged.
//
// # API
//
// String, Bytes, Int16, Int32, Int64, Float32, Float64 and Bool are ready to
// use; they hold no state, allocate nothing to serialize into a reused
// buffer, and are safe for concurrent use. JSON[T] encodes any T with
// encoding/json. Default[T] finds the built-in serde for T, which lets the
// DSL fill in serdes the user did not name. Funcs makes a Serde from two
// functions, for formats this package does not ship.
//
// Serialize appends to a caller's buffer, in the style of strconv.AppendInt,
// so the runtime can encode a record without allocating. Deserialize must
// not keep the slice it is given: the runtime reuses fetch buffers, so a
// serde that needs the bytes later copies them, as Bytes does.
//
// Errors start with "serde: ", name the serde and the topic, and match the
// sentinels in this package (and the cause, for JSON) with errors.Is and
// errors.As: every Deserialize error matches ErrDeserialize, every
// Serialize error ErrSerialize. The runtime and the test driver wrap the
// errors of any serde, built in or not, so that they match those two.
package serde
