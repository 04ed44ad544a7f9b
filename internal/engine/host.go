package engine

import (
	"context"

	"github.com/samsa-go/samsa/processor"
)

// Collector takes what a task sends out: the records its sinks write and the
// changes of its logged stores. The runtime's stream thread produces them to
// Kafka; the test driver appends them to in-memory topics. Key and value are
// nil for Kafka nulls and may be reused by the caller once a call returns:
// the collector copies what it keeps. Errors fail the task.
type Collector interface {
	// Send sends a record a sink wrote to topic, the topic's name in the
	// graph (internal topics without the application id prefix), to the
	// partition its key hashes to (see KeyPartition).
	Send(topic string, key, value []byte, timestamp int64, headers []processor.Header) error
	// SendChangelog sends one change of a store to its changelog partition,
	// stamped with the time the store gives (that of the write it kept);
	// value nil is a delete (a tombstone). headers are usually nil.
	SendChangelog(cl *Changelog, key, value []byte, timestamp int64, headers []processor.Header) error
}

// A KeepingCollector is a Collector that can keep bytes nothing writes
// again as they are, without a copy. A sink writing with serde.String hands
// it the string's own bytes (see Shares), which are never written,
// and says so: a collector that keeps its records in memory, as the test
// driver does, then copies nothing. A collector whose producer copies into
// batches of its own gains nothing from it and implements Collector alone.
type KeepingCollector interface {
	Collector
	// Sender returns what a sink writing to topic (the topic's name in
	// the graph) sends with instead of Send: it looks the topic up once,
	// when the sink is built, rather than per record. A sink whose topic
	// is picked per record sends with Send.
	Sender(topic string) KeptSender
}

// KeptSender is Send to one topic, but the parts kept names are bytes the
// collector may keep as they are, for as long as it wants.
type KeptSender func(key, value []byte, kept Kept, timestamp int64, headers []processor.Header) error

// Kept says which of a record's key and value a KeepingCollector may keep
// as they are.
type Kept uint8

const (
	KeptKey Kept = 1 << iota
	KeptValue
)

// Committer is the host's part of the commit sequence (see Commit): the
// steps that depend on where records go.
type Committer interface {
	// Commit makes every record sent since the last commit durable and
	// commits offsets, the input positions the tasks reached. Under
	// at-least-once that is: flush the producer, send the changelog
	// records the stores' flush handed over (never ahead of the outputs
	// their state sent), flush again, then commit the offsets;
	// under exactly-once: commit the transaction, the offsets inside it.
	// committed is false when the host aborted instead (a transaction the
	// group or the broker refused): nothing of it took effect, and the
	// tasks hold state that must be dropped (see Task.Close).
	Commit(ctx context.Context, offsets []Offset) (committed bool, err error)
	// ChangelogOffset returns the offset of the last record sent to cl
	// before the commit that just returned, and whether one was sent since
	// the commit before it. The engine calls it after Commit, for the
	// changelogs of persistent stores only.
	ChangelogOffset(cl *Changelog) (offset int64, ok bool)
}

// Offset is the position one input partition of a task reached: Next is the
// offset of the first record not processed. Topic is the topic's name in the
// graph; Input the task's input it is of.
type Offset struct {
	Topic     string
	Partition int32
	Next      int64
	Input     *Input
}

// Changelog is the changelog partition of one logged store of a task. It
// lives as long as the task.
type Changelog struct {
	Store     string
	Topic     string // <application id>-<store>-changelog
	Partition int32  // the task's partition
	// HostData is the host's, for its bookkeeping of the changelog (where
	// it writes, the last record it sent); the engine never touches it.
	HostData any
	// Ahead says the changelog's records may land before the outputs of
	// the writes they record (StoreSpec.LogsAhead): a host that holds a
	// changelog back until the outputs were acknowledged need not hold
	// this one.
	Ahead bool

	task  *Task
	store int  // index in Task.storeList
	sent  bool // since the last commit
	// unapplied is the offset of the last record sent before a commit
	// whose writes wait in the transaction buffer (see Group.DeferApply),
	// which the database records once they are applied.
	unapplied    int64
	hasUnapplied bool
}

// ChangelogTopic names the changelog topic of store in application appID.
func ChangelogTopic(appID, store string) string { return appID + "-" + store + "-changelog" }
