package processor

import "fmt"

// TimestampExtractor gives a source record its timestamp, as Kafka
// Streams' TimestampExtractor: the time windows, stream time and the
// record's downstream timestamp follow. It sees the record as its source
// deserialized it, with the timestamp it had on its topic, and the
// partition time, the largest timestamp extracted from its partition so
// far (-1 before the first). An error fails the task; a negative timestamp
// drops the record and counts it as DropInvalidTimestamp, as Kafka Streams
// skips records whose extracted timestamp is negative.
//
// Without one, a source uses the topic's timestamps as they are.
// FailOnInvalidTimestamp, LogAndSkipOnInvalidTimestamp and
// UsePartitionTimeOnInvalidTimestamp are Kafka Streams' extractors of the
// topic's timestamp, with its three ways of treating a negative one; a
// generic function of the same name passes as an extractor for any K and V:
//
//	dsl.Consumed[string, string]{}.WithTimestampExtractor(processor.UsePartitionTimeOnInvalidTimestamp)
type TimestampExtractor[K, V any] func(rec Record[K, V], partitionTime int64) (int64, error)

// ErrInvalidTimestamp is what FailOnInvalidTimestamp and
// UsePartitionTimeOnInvalidTimestamp return for a record they cannot give
// a timestamp.
var ErrInvalidTimestamp = fmt.Errorf("processor: invalid timestamp")

// FailOnInvalidTimestamp is the record's own timestamp; a negative one
// fails the task, as Kafka Streams' FailOnInvalidTimestamp.
func FailOnInvalidTimestamp[K, V any](rec Record[K, V], _ int64) (int64, error) {
	if rec.Timestamp < 0 {
		return 0, fmt.Errorf("%w: record timestamp %d is negative; consider a timestamp extractor that skips such records or uses the partition time", ErrInvalidTimestamp, rec.Timestamp)
	}
	return rec.Timestamp, nil
}

// LogAndSkipOnInvalidTimestamp is the record's own timestamp; a record
// with a negative one is dropped and counted (DropInvalidTimestamp), as
// Kafka Streams' LogAndSkipOnInvalidTimestamp.
func LogAndSkipOnInvalidTimestamp[K, V any](rec Record[K, V], _ int64) (int64, error) {
	return rec.Timestamp, nil
}

// UsePartitionTimeOnInvalidTimestamp is the record's own timestamp, or,
// when that is negative, the partition time; with no partition time yet
// it fails the task, as Kafka Streams' UsePartitionTimeOnInvalidTimestamp.
func UsePartitionTimeOnInvalidTimestamp[K, V any](rec Record[K, V], partitionTime int64) (int64, error) {
	if rec.Timestamp >= 0 {
		return rec.Timestamp, nil
	}
	if partitionTime < 0 {
		return 0, fmt.Errorf("%w: record timestamp %d is negative and its partition has no time yet", ErrInvalidTimestamp, rec.Timestamp)
	}
	return partitionTime, nil
}
