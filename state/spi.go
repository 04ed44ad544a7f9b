package state

import "github.com/samsa-go/samsa/processor"

// KeyValueBytesStore is the byte-level store SPI: the layer that persistent
// (Pebble) and in-memory stores implement, and that the caching and
// changelogging layers wrap. Keys order by bytes.Compare.
//
// Slices passed in may be reused by the caller after the call returns; a
// store copies what it keeps. Slices returned (by Get, and by an iterator's
// Key and Value) are valid only until the next call on the same store or
// iterator; callers copy what they keep.
//
// A store is used by one goroutine at a time (the task's); it needs no
// locking for that use.
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

// ChangeLogger receives every write that reaches the changelogging layer of
// a store (after the cache, if any). The runtime implements it by producing
// to the store's changelog topic; value nil is a delete (a tombstone). The
// logger copies key and value if it keeps them.
type ChangeLogger interface {
	LogChange(key, value []byte) error
}

// ChangeLoggerFunc adapts a function to ChangeLogger.
type ChangeLoggerFunc func(key, value []byte) error

// LogChange calls f.
func (f ChangeLoggerFunc) LogChange(key, value []byte) error { return f(key, value) }

// Store is a state store as the task that owns it sees it: the typed store
// a processor uses, plus what the task needs to commit and close it.
type Store interface {
	processor.StateStore
	// Flush pushes cached writes down through the changelogging layer to the
	// bytes store.
	Flush() error
	Close() error
	// Bytes is the innermost bytes store, below caching and changelogging:
	// the runtime restores changelog records into it directly.
	Bytes() KeyValueBytesStore
	// Txn is the store's transaction buffer under exactly-once, nil
	// otherwise.
	Txn() *TxnStore
}

// StoreBuilder describes a store in a topology and opens one instance of it
// per task.
type StoreBuilder interface {
	Name() string
	// Logged reports whether the store is backed by a changelog topic.
	Logged() bool
	// Build opens the store for one task.
	Build(env *Env) (Store, error)
}

// BatchWriter is implemented by bytes stores that can apply many writes as
// one: between BeginBatch and CommitBatch, Put and Delete are collected
// and applied together. Reads during a batch do not see its writes; only
// writers that do not read (a restore, a transaction buffer being applied)
// use it.
type BatchWriter interface {
	BeginBatch()
	CommitBatch() error
}
