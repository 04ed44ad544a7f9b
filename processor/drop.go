package processor

// Reasons for dropped records, as Context.DropRecord counts them and the
// runtime and the test driver report them.
const (
	// DropNullKey: a record with a null key reached an operation that
	// needs a key (an aggregation, a repartition topic, a table source).
	DropNullKey = "null-key"
	// DropNullValue: a record with a null value reached an operation that
	// computes from the value (Map, SelectKey, GroupBy, an aggregation).
	DropNullValue = "null-value"
	// DropDeserializationError: a source serde could not read the record,
	// and the deserialization handler said Continue.
	DropDeserializationError = "deserialization-error"
	// DropLateRecord: a record reached a windowed operation after its
	// window closed (stream time passed the window's end plus its grace
	// period), as Kafka Streams' late-record drops.
	DropLateRecord = "late-record"
	// DropProcessingError: a node failed on the record (an error or a
	// panic), and the processing handler said Continue.
	DropProcessingError = "processing-error"
	// DropProductionError: a sink could not serialize the record, or the
	// brokers refused it, and the production handler said Continue.
	DropProductionError = "production-error"
)
