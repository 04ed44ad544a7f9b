// Package testdriver runs a topology synchronously, with no broker, as
// Kafka Streams' TopologyTestDriver: the httptest of topologies.
//
// The driver is the runtime minus Kafka. Its tasks are the engine's, built,
// fed, committed and restored by the same code the runtime uses: the same
// store stack (cache, changelog, transaction buffer, then Pebble or memory),
// the same record chooser across a task's input partitions, the same commit
// sequence. Only bytes move differently: topics are in memory.
//
// Piping a record into an input topic routes it to its partition and
// processes it to completion before the call returns: records written to
// repartition topics, or to any topic the topology also reads, reach their
// task at once and are processed in turn. Then, by default, the driver
// commits, as Kafka's TopologyTestDriver does after each record: caches
// flush, and what the record caused becomes readable. WithCommitEvery
// commits after every n records instead, and Commit on demand; an advance of
// the wall clock commits too (every advance, or once WithCommitInterval has
// passed).
//
// Topics behave as under exactly-once: a record is readable once the commit
// after it happened. Output topics collect what sinks wrote, to be read back
// with typed serdes; a store's changelog reads the same way, under its
// topic's name, "<application id>-<store>-changelog". A changelog is
// compacted as Kafka compacts one, once it holds more than a few thousand
// records: the last record of each key stays.
//
// Stores are changelogged, and live in memory by default; WithPebbleStores
// runs them on Pebble over an in-memory filesystem (WithStateDir: on disk,
// in a directory of the caller's), behind the transaction buffer that
// keeps them from getting ahead of their changelog, as in the runtime. A
// commit does not write Pebble: what it made durable stays in the buffer,
// which reads see first, until the buffer holds 16 MiB or the driver
// closes; Pebble, and the changelog offsets it records, are behind the
// changelogs meanwhile, never ahead. Crash, CrashTask and CrashLosingState
// stop tasks as a SIGKILL would: what they did not commit is dropped, they
// restore their stores from the changelogs, from wherever Pebble stands,
// and the records since their last commit are processed again, so the next
// records see what a restarted instance would.
//
// Topics have one partition unless WithPartitions gives them more; then
// records go to the partition of their key, by the murmur2 hash Java's
// producer uses, there is a task per partition, and repartition topics are
// sized as the runtime sizes them. Each task keeps its stream time; the
// wall clock moves only with AdvanceWallClockTime, which runs wall-clock
// punctuators.
//
// Global stores (topology.AddGlobalStore) are kept by the engine's global
// task, as the runtime's global thread keeps them: a global store's topic
// is an input topic, and a record piped into it updates the store before
// the pipe returns, so the records piped after it see the update. Records
// sinks write to such a topic update the store once committed. Crash and
// CrashLosingState restart the global task too, which bootstraps its stores
// from their topics again: a Pebble store from its last checkpoint (every
// commit), an in-memory store from the start.
//
// Errors fail the test through the testing.TB given to New; the Try
// variants of the pipe methods return them instead, for tests of failures.
package testdriver
