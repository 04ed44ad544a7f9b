// Package engine holds the graph behind a topology and the one task
// lifecycle that the runtime and the test driver both run, so that what the
// test driver checks is what the runtime executes. The runtime and the
// driver are hosts: they move bytes in (queueing fetched records in a task's
// Inputs) and out (the Collector), and do the steps of a commit that depend
// on where records go (the Committer). Everything between is here:
//
//   - NewTask opens a task's stores as one stack for both hosts (stores.go):
//     cache, changelog layer, transaction buffer over Pebble, Pebble or
//     memory. Stores live without processors until Start builds them, so a
//     task's state can exist alone (a standby's, later).
//   - Restore replays a store's changelog records into it, from the offset
//     its database recorded (restore.go).
//   - ProcessReady picks the next record across a task's inputs by lowest
//     head timestamp, as Kafka Streams' PartitionGroup, waiting for empty
//     inputs up to MaxTaskIdle (chooser.go); it keeps stream time and runs
//     stream-time punctuators, AdvanceWallClock the wall-clock ones
//     (punctuate.go). Dropped records are counted per task, by reason,
//     and logged at a bounded rate (drops.go).
//   - Records that fail go to the handlers of the Config, and those they
//     drop to the dead-letter topic (handler.go). A panic in user code is
//     recovered where the host enters the task (ProcessReady,
//     AdvanceWallClock, Flush, Start, Close): one deferred recover per call,
//     not per record or node. To blame the panic on its node, each call
//     into a node tells the task which node it enters (a store, not a
//     defer). A panic unwinds through the nodes without running the rest of
//     their code: what the record did before it stays (records sent,
//     store writes, a processor's own fields half updated), as an error
//     returned midway leaves it, and as in Kafka Streams; the task's own
//     bookkeeping (the record in progress, the input's position, a cache's
//     flush) is put back as between records. A processor holding a store
//     iterator when it panics leaks the iterator until the task closes.
//   - Group.Commit runs the commit sequence over the tasks that commit
//     together: flush caches, the host's commit, apply transaction buffers,
//     record changelog offsets (commit.go); a host may let committed writes
//     wait in the buffers for a while (Group.DeferApply), or let each
//     store hold them and apply several commits at once
//     (Group.HoldCommits).
//
// A Node carries a BuildFunc. When a task starts it builds its nodes from the
// sinks up: each BuildFunc receives the already built children and asserts
// their types once, so processing calls children through typed interfaces
// with no boxing and no reflection per record. Graph.Build checks the types
// of every edge beforehand, so those assertions cannot fail at run time.
package engine
