package state

import "github.com/samsa-go/samsa/processor"

// KeyValueBytesStore is the byte-level store SPI: the layer that persistent
// (Pebble) and in-memory stores implement, and that the caching,
// changelogging and transaction layers wrap. Keys order by bytes.Compare.
//
// Slices passed in may be reused by the caller after the call returns; a
// store copies what it keeps. Slices returned (by Get, and by an iterator's
// Key and Value) are valid only until the next call on the same store or
// iterator; callers copy what they keep.
//
// A store is used by one goroutine at a time (the task's); it needs no
// locking for that use. Other goroutines read a store only through a
// BytesView.
type KeyValueBytesStore interface {
	Name() string
	Persistent() bool
	// Get returns the value stored under key; found is false when there is
	// none.
	Get(key []byte) (value []byte, found bool, err error)
	// Put stores value under key. value is never nil: deletes go through
	// Delete.
	Put(key, value []byte) error
	Delete(key []byte) error
	// DeleteRange removes every key in [from, to). A nil bound is
	// unbounded on that side; from ≥ to removes nothing.
	//
	// It is never logged: Kafka has no range tombstone, and the stores that
	// use it (window and session stores expiring whole segments) rely on
	// their changelog's retention (cleanup.policy=compact,delete) to drop
	// the same records there. A restore therefore brings back keys removed
	// by DeleteRange whose changelog records are still retained; a store
	// whose deletes must survive a restore deletes key by key.
	DeleteRange(from, to []byte) error
	// Range iterates over keys in [from, to) in order. A nil bound is
	// unbounded on that side.
	Range(from, to []byte) (BytesIterator, error)
	// ReverseRange iterates over keys in [from, to) in reverse order.
	ReverseRange(from, to []byte) (BytesIterator, error)
	// ApproximateNumEntries is an estimate of the number of keys; exact for
	// in-memory stores.
	ApproximateNumEntries() (int64, error)
	// Flush makes buffered writes visible to the layer below.
	Flush() error
	Close() error
}

// BytesIterator walks keys in order. Call Next before the first Key; when
// Next returns false, Err says whether iteration stopped on an error. Close
// must be called.
type BytesIterator interface {
	Next() bool
	Key() []byte
	Value() []byte
	Err() error
	Close() error
}

// BytesView is a read-only view of a bytes store that any goroutine may
// use, concurrently with the task writing the store and with other readers:
// the seam for interactive queries. It reads the innermost store, below the
// cache and the transaction buffer, so it sees what the task has flushed
// (at-least-once) or committed (exactly-once), never a write still cached
// or in an open transaction.
//
// Unlike a store's, the slices a view returns belong to the caller: Get
// and the iterators copy. An iterator is used by one goroutine; the view
// itself by any number. Once the task closes the store (or its DB), every
// operation fails with an error wrapping ErrClosed.
type BytesView interface {
	Name() string
	Persistent() bool
	Get(key []byte) (value []byte, found bool, err error)
	// Range and ReverseRange iterate over keys in [from, to); nil bounds
	// are unbounded. See the implementations for how far an iteration is
	// a snapshot.
	Range(from, to []byte) (BytesIterator, error)
	ReverseRange(from, to []byte) (BytesIterator, error)
	ApproximateNumEntries() (int64, error)
}

// ChangeLogger receives every write that reaches the changelogging layer of
// a store (after the cache, if any). The runtime implements it by producing
// to the store's changelog topic: value nil is a delete (a tombstone),
// timestamp is the changelog record's timestamp in milliseconds (the time
// of the write the store kept), and headers, usually nil, go on the record
// as they are. The logger copies what it keeps.
type ChangeLogger interface {
	LogChange(key, value []byte, timestamp int64, headers []processor.Header) error
}

// ChangeLoggerFunc adapts a function to ChangeLogger.
type ChangeLoggerFunc func(key, value []byte, timestamp int64, headers []processor.Header) error

// LogChange calls f.
func (f ChangeLoggerFunc) LogChange(key, value []byte, timestamp int64, headers []processor.Header) error {
	return f(key, value, timestamp, headers)
}

// ChangelogRecord is one record of a store's changelog topic, as a restore
// hands it to Store.RestoreBatch. The slices belong to the caller and are
// valid during the call only.
type ChangelogRecord struct {
	Key []byte
	// Value is nil for a tombstone.
	Value     []byte
	Timestamp int64 // milliseconds
	Headers   []processor.Header
	Offset    int64
}

// Store is a state store as the task that owns it sees it: what the task
// needs to restore, commit, close and query it. Processors never get it:
// they get Typed, which has none of these methods, so a processor cannot
// flush or close a store, nor reach below its cache.
//
// Every method but View's result is for the task's goroutine.
type Store interface {
	processor.StateStore
	// Typed is the store as processors see it (for a key-value store, a
	// *KeyValueStore): the engine hands it out from the processor
	// context.
	Typed() processor.StateStore
	// Flush pushes cached writes down through the changelogging layer to the
	// bytes store (or its transaction buffer).
	Flush() error
	// Dirty reports whether Flush has work left: writes the store's cache
	// holds and has not yet written down, or writes its changelog layer
	// has not yet sent. A flush can dirty another store of the task (a
	// cached table forwards into a downstream aggregation), so the task
	// flushes until none is dirty.
	Dirty() bool
	// Close closes every layer of the store; unflushed cached writes and
	// pending transaction writes are dropped.
	Close() error
	// Bytes is the innermost bytes store, below caching, changelogging and
	// the transaction buffer.
	Bytes() KeyValueBytesStore
	// Txn is the store's transaction buffer under exactly-once, nil
	// otherwise.
	Txn() *TxnStore
	// RestoreBatch applies changelog records, in order, straight to the
	// innermost store's layout (bypassing cache, changelog and transaction
	// buffer): each kind of store rebuilds its own layout from key, value,
	// timestamp and headers. A store may hold the records back and apply
	// them in bulk across calls, at the latest when its bytes store is
	// next used or flushed, so a restore ends with Bytes().Flush(). It
	// fails if the cache or the transaction buffer holds writes, which the
	// restore would silently put behind; clean cached entries are dropped
	// so that no read is served a value the restore replaced.
	RestoreBatch(recs []ChangelogRecord) error
	// View returns a read-only view of the store that other goroutines may
	// use while the task runs (see BytesView for what it sees). Call View
	// on the task's goroutine; the view is then safe anywhere until the
	// store closes. For a key-value store it is a
	// *ReadOnlyKeyValueStore; see GetReadOnlyKeyValueStore.
	View() (processor.StateStore, error)
}

// StoreBuilder describes a store in a topology and opens one instance of it
// per task.
type StoreBuilder interface {
	Name() string
	// Logged reports whether the store is backed by a changelog topic.
	Logged() bool
	// ChangelogConfigs are the topic configs the store's changelog topic is
	// created with (see CompactedChangelogConfigs and
	// CompactDeleteChangelogConfigs). An existing changelog topic is left
	// as it is.
	ChangelogConfigs() map[string]string
	// Build opens the store for one task.
	Build(env *Env) (Store, error)
}

// BatchWriter is implemented by bytes stores that can apply many writes as
// one: between BeginBatch and CommitBatch, Put, Delete and DeleteRange are
// collected and applied together, in order. Reads during a batch do not
// see its writes; only writers that do not read (a restore, a transaction
// buffer being applied) use it.
type BatchWriter interface {
	BeginBatch()
	CommitBatch() error
}
