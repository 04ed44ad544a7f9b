// Package runtime runs a topology on Kafka: the App, its stream threads and
// tasks, the group protocol that shares tasks among instances, the internal
// topics, the restore of state stores from their changelogs, and the global
// thread that keeps global stores.
//
// # Model
//
// An App runs one or more stream threads. Each thread is one franz-go
// client and one member of the consumer group named by the application id.
// The group's leader assigns tasks, not partitions (package internal/assign):
// a task is one sub-topology on one partition number, and the member that
// owns it consumes that partition of every source topic of the
// sub-topology. Assignment is balanced by task count and sticky to previous
// owners and to instances that hold a task's state on disk.
//
// Rebalances are cooperative (KIP-429, Kafka Streams' default): a thread
// keeps its tasks through a rebalance and goes on processing them; only the
// tasks that move stop. A task moves in two rebalances: in the first its
// old owner loses it and closes it, committing first under at-least-once;
// the owner then rejoins, and in the second rebalance the task goes to its
// new owner, so that it never runs on two members at once. The leader's
// assignment tells every member to rejoin at once for that second
// rebalance. While its member joins, a thread processes without
// committing (franz-go holds commits until the group has synced) and
// commits once assigned. A scale-in or a failover revokes nothing: the
// tasks of the member gone move in one rebalance and the others go on.
//
// Under exactly-once a transaction cannot span a revocation (franz-go's
// transactional session aborts the first transaction to end after one, as
// the group's offsets would commit for tasks another member now runs), and
// the callback cannot end it: a thread that is processing when its member
// syncs an assignment revoking some of its tasks commits first, before
// the callback runs; otherwise it aborts the transaction as soon as the
// callback returns. The tasks that did work in an aborted transaction are
// reopened on their stores and process again from their last commit, which
// costs them that work and their processors' Init but no restore beyond
// the changelog's tail; tasks without work in it just go on. So under exactly-once the tasks that stay
// on a member that loses some may pause as in an eager rebalance; on the
// other members they do not.
//
// Threads offer the eager protocol too, so that a group rolls from a
// release before cooperative rebalancing one instance at a time: it
// rebalances eagerly, stopping every task, while any member offers only
// the eager protocol, and cooperatively once all offer both.
//
// Tasks are the engine's (package internal/engine), the same the test
// driver runs: the runtime only moves bytes between them and Kafka. A
// thread polls and queues each record in its task, which processes its
// partitions' records in timestamp order (MaxTaskIdle says how long it waits
// for an empty one). Every commit interval, and whenever a poll comes back
// empty with work uncommitted, the thread runs the engine's commit sequence:
// the tasks flush their stores (so cached writes reach the changelog), the
// thread waits until every produced record is acknowledged and commits the
// input offsets (or commits its transaction, under exactly-once), and the
// tasks apply their stores' pending writes and record in each store the
// changelog offset it has reached. A task that starts restores its stores
// from that offset to the end of the changelog before it processes
// anything; RestoreListener follows the progress.
//
// Global stores (topology.AddGlobalStore) are kept whole by every instance,
// by a global thread, as Kafka Streams' GlobalStreamThread: a client in no
// group, assigned every partition of the global stores' topics, that feeds
// the engine's global task. Run bootstraps the stores, reading their topics
// read_committed up to their last stable offsets, before any stream thread
// starts; the thread then keeps them up to date while the app runs, and the
// tasks' processors read them through read-only views. Every commit
// interval, and when the app closes, it records in the global state
// directory (StateDir/ApplicationID/global) how far each partition got, so
// that a restart resumes a persistent store from there; an in-memory store
// reads its topic from the start every time. A topology of global stores
// alone runs no stream thread.
//
// # Standbys and interactive queries
//
// With Standbys(n), each task with logged stores has up to n standby
// replicas on other instances: the task's stores opened without its
// processors, fed their changelog partitions by one direct consumer per
// instance through the engine's restore path, recording how far they read
// every commit interval. When the task becomes active on an instance that
// keeps a standby of it, the standby records its offsets and closes, and
// the active task restores only the tail. StandbyTasks lists them and
// StandbyLags says how far they trail.
//
// Tasks move only to instances caught up on them (KIP-441): each instance
// reports its task lags when it joins, and a task the balance would give
// to an instance further behind than AcceptableRecoveryLag stays where it
// is while that instance warms a copy up as a standby; once caught up, the
// instance asks for a probing rebalance and the task moves, restoring only
// the tail. A copy that never catches up asks after ProbingRebalanceInterval
// anyway, for the balance to look again. An instance without a copy counts
// the task's whole changelogs as its lag, so a task whose changelogs hold
// no more than AcceptableRecoveryLag records moves at once, with no warm-up.
// Stateless tasks, which move for free, move first.
//
// QueryKeyValue, QueryWindow and QuerySession read a store across the
// instance's active tasks through read-only views, from any goroutine while
// the tasks process: a key goes to the task of its partition (the murmur2
// hash of its serialized bytes), All and Range chain the local tasks.
// ApplicationServer advertises the instance's query address to the group,
// so that MetadataForKey says which instance runs a key's task and which
// keep its standbys; QueryServer is an HTTP handler that answers a key from
// any instance, forwarding to the owner, with a 503 while the group
// rebalances. KeyValueQuery.GetStale (stale=true over HTTP) also answers
// from a standby, marked with its lag. Query errors wrap ErrNotRunning,
// ErrRebalancing, ErrStoreMoved or ErrUnknownStore.
//
// # Lifecycle
//
// New checks the configuration and the topology without touching the
// network. Run creates or validates the internal topics, locks the state
// directory, bootstraps the global stores, starts the threads and blocks until its context is cancelled,
// then closes cleanly (committing what was processed) and returns nil; any
// fatal error closes the app and is returned. Close stops a running App from
// another goroutine. State and the state listener follow Kafka Streams'
// states.
//
// The close is bounded: by ShutdownTimeout, or by Close's deadline if that
// comes sooner. What has not finished by then is abandoned rather than
// waited for: a join that a dead member holds up is ended by leaving the
// group through the coordinator, and a transaction that did not end is
// aborted, or left to the brokers to abort at its timeout; its writes never
// reached the stores.
//
// While the app runs it looks up its source topics every two seconds: one
// deleted, or deleted and recreated (its topic id changed), moves the app
// to ERROR with a *MissingSourceTopicError. The app's log lines, and
// franz-go's, are rate-limited per message, so that a failure that repeats
// does not flood the log.
//
// # Bad records and bad code
//
// Records that fail go to handlers with Kafka Streams' choices (see
// processor.ErrorHandler): DeserializationHandler for records the source
// serdes cannot read, ProcessingHandler for errors and panics of nodes and
// punctuators, ProductionHandler for records a sink cannot serialize or the
// brokers refuse, after franz-go retried retriable errors for up to
// DeliveryTimeout. The default fails the app, committing nothing past the
// record; processor.LogAndContinue drops the record, and DeadLetterQueue
// sends it, as read, to a dead-letter topic with headers that say why. A
// panic in user code never ends the process: it is recovered where the task
// is entered and handled as a processing error. DroppedRecords and
// DroppedRecordsByTask count the records dropped, by reason.
//
// # Operating it
//
// Metrics registers Prometheus metrics on a registerer the program passes
// (never the global registry): throughput, latencies, lag, store calls,
// restores, rebalances, drops, transactions, states. Latencies taken per
// record or per store call are sampled (the first record of each poll and
// one in 1024 after it), so that measuring costs nothing
// measurable. HTTP serves them on /metrics, with
// /livez and /readyz for Kubernetes probes (Handler mounts the same on a
// server of the program's). InstanceID makes the stream threads static
// group members, so that a restarted instance takes its tasks back.
//
// # Errors
//
// What stops Run from starting matches a sentinel of errors.go with
// errors.Is: ErrBrokersUnreachable, ErrMissingSourceTopic,
// ErrNotCopartitioned (the same value as topology.ErrNotCopartitioned),
// ErrPartitionMismatch and ErrStateDirLocked. Messages start with
// "runtime: " once and name the topic, directory or setting at fault.
//
// # Testing
//
// Tests run an App against package kafkatest's in-process broker, and a
// topology without any broker through package testdriver.
package runtime
