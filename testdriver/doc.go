// Package testdriver runs a topology synchronously, with no broker, as
// Kafka Streams' TopologyTestDriver: the httptest of topologies.
//
// The driver builds one task per sub-topology (all on partition 0) through
// the same engine the runtime uses, so a test exercises the production
// nodes, stores and serdes, not a second interpreter. Piping a record into
// an input topic processes it to completion before the call returns:
// records written to repartition topics, or to any topic the topology also
// reads, are processed in turn, and every store is flushed afterwards, as
// if the runtime committed after each input record. Output topics collect
// what sinks wrote, to be read back with typed serdes.
//
// Stores live in memory by default; WithPebbleStores runs them on Pebble
// over an in-memory filesystem, the engine production uses.
//
// Errors fail the test through the testing.TB given to New; the Try
// variants of the pipe methods return them instead, for tests of failures.
package testdriver
