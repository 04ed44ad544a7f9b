// Package conformance holds, in its tests, the proof that the test driver
// and the runtime are one engine: the same topologies, fed the same
// records, run once through testdriver and once through runtime on an
// in-process Kafka (kfake), must write the same records, with the same
// timestamps, to their output topics and changelogs. A new operator joins
// by adding a case to the table in conformance_test.go, or, when what it
// writes depends on the order in which records of several topics meet
// (joins), to the table in tables_test.go, whose cases the runtime is fed
// one record at a time, each once it has caught up. Global stores have a
// case of their own (global_test.go): the driver applies each record of a
// global store's topic as it is piped, the runtime bootstraps the store
// from all of them before it processes, and both must price alike.
package conformance
