// Package state holds Samsa's state stores: the typed stores processors use,
// the byte-level store SPI under them, and the Pebble and in-memory
// implementations of that SPI with the caching and changelogging layers
// that sit between.
//
// # Model
//
// A processor sees a typed store, such as KeyValueStore[K, V], which
// serializes keys and values with the store's serdes and hands the bytes to
// a stack of KeyValueBytesStore layers:
//
//	KeyValueStore[K, V]        typed API, serdes, reusable buffers
//	  metered store            when the host measures (Env.Metrics): times sampled calls
//	  CachingStore             optional: folds writes per key until Flush
//	    change logging         optional: sends each key's last write at Flush
//	      TxnStore             exactly-once: holds writes until the commit
//	        bytes store        Pebble (DB.Store) or memory (NewMemoryStore)
//
// Change logging folds a commit interval's writes to one record per key;
// over a TxnStore or an in-memory store it leaves the folding to their
// entries, which mark the keys written since the last Flush.
//
// The cache comes first, so the changelog (and a table downstream) sees one
// write per key per commit interval rather than one per record. Where its
// own entries answer few of its reads (more keys than it holds) and its
// listener needs no old values, it keeps its writes in the TxnStore below
// instead, so that a cache that folds little costs little, and lends its
// bytes to the TxnStore's clean entries. After a commit the TxnStore keeps
// what it applied, the oldest dropped first, up to 1 MiB per store (or the
// cache's bytes, lent), as clean entries that reads use in place of the
// bytes store: a hot key is read from Pebble once, not once per commit
// interval, and a cache of 10 MiB over a store of many keys read at
// random answers reads of a few hundred thousand of them. Past that bound
// the clean entries of a Pebble store grow with bytes of the row cache its
// database shares with the application's others (RowCache,
// DBOptions.RowCache), outside Go's heap, up to 32 MiB a store. A key-value
// store's buffer may also hold a commit's writes rather than apply them
// (TxnStore.CommitDeferred), to write Pebble once per several commits;
// its views read them too. A commit it applies, it hands to a job of the
// database, which sorts and writes it on a goroutine of its own while the
// task goes on; until it lands, reads and views find its writes in the
// buffer, and a changelog offset recorded meanwhile is written by the job
// after it (see TxnStore.Flying). The changelog topic is the durable copy of a
// store; the bytes store below is a local, rebuildable view of it. Each
// builder says what its changelog
// topic is created with (ChangelogConfigs).
//
// The task does not use the typed store: a StoreBuilder builds a Store, the
// task's handle, which flushes, closes, restores and offers views, and
// whose Typed is what the engine gives processors. A processor therefore
// cannot flush or close a store, nor reach its cache or bytes. A processor
// that forwards a cached store's updates, as the DSL's tables do, sets the
// store's one flush listener with SetCacheFlushListener; the task can
// replace it through its handle (SetFlushListener).
//
// # Restore
//
// A restore hands a store's changelog records, in batches, to
// Store.RestoreBatch, which writes them to the innermost store in its own
// layout, straight past cache, changelog and transaction buffer: each kind
// of store rebuilds its layout from the key, value, timestamp and headers
// of each record. A key-value store may hold a restore's writes back until
// the restore ends (the engine flushes the store then) or the store is next
// used: into an empty Pebble store they go as sorted runs written as
// sstables and ingested, bypassing the WAL, the memtable and the batch
// copies; into one holding keys, as batches of a memtable's size; into
// memory, to the hash index first and to the ordered tree once, sorted, at
// the end.
//
// # Timestamps
//
// Table stores keep each value with the timestamp of the record that wrote
// it (TimestampedKeyValueStore, ValueAndTimestamp), in a versioned layout:
// a format byte, the timestamp as 8 big-endian bytes, then the value. The
// changelog carries the value alone with the timestamp as the record's, as
// Kafka Streams' timestamped stores do; a restore rebuilds the layout. A
// timestamped store can be had as a plain KeyValueStore too
// (GetKeyValueStore): reads drop the timestamp, writes take the record's.
// Every changelog record carries a timestamp: a timestamped value's own,
// otherwise the time of the record whose write the store kept (for a cached
// write, the last write to the key before the flush).
//
// # Window and session stores
//
// WindowStore and SessionStore sit on the same SPI: their keys start with
// a time segment id, then hold Kafka Streams' changelog key (key, window
// start and sequence number; or key, session end and start), so a fetch is
// a range scan per live segment and expiring a segment is one DeleteRange,
// which is not logged: their changelog topics are compact,delete with a
// retention a day above the store's (see window_segments.go). In memory
// each segment is its own B-tree. WindowStoreBuilder,
// TimestampedWindowStoreBuilder and SessionStoreBuilder add them to a
// topology; processors get them with GetWindowStore and GetSessionStore,
// queries with GetReadOnlyWindowStore and GetReadOnlySessionStore.
//
// # Pebble
//
// Each task has one Pebble database (DB), shared by all of its persistent
// stores. A store's keys live behind a prefix made of the store name's
// length (uvarint) and the name, so stores of one task never see each
// other's keys; ranges are bounded by the prefix and hand back keys without
// it. The DB also records, in a key space no store prefix can reach, the
// changelog offset each store has reached, written after the data it covers.
// Writes go to the WAL without fsync: a crash loses at most a suffix, which
// restore replays from the changelog. Tasks of an application share one
// block cache (DBOptions.Cache). Every level's tables have Bloom filters.
// A store reads with Pebble's DB.Get, which skips the last level's, or
// with an iterator kept open between two writes of the database, which
// consults them all, so that a read of a key the store lacks costs a
// filter probe per table rather than a read of its blocks: whichever its
// recent reads found cheaper (see pebbleStore.Get). Before either, a store
// that was empty when first read keeps a Bloom filter of every key written
// to it in memory (a few bytes a key), which answers the reads of keys the
// store lacks without asking Pebble, whose memtables have no filters (see
// keyFilter).
//
// # Who closes what
//
// A StoreBuilder opens a store per task (Build). The task flushes its stores
// on every commit and closes them when it closes; closing a Store closes
// every layer beneath it, and unflushed cached writes are dropped rather
// than written down, because after a failure they must not reach the
// changelog. Closing a Pebble-backed store closes only its view; the runtime
// closes the task's DB after its stores, and the DB closes any iterator
// still open. Processors close neither stores nor iterators they did not
// open, but must close every iterator they do open.
//
// # Nulls
//
// Stores never hold nulls. Putting a value always stores a present value,
// an empty one included; removing a key is Delete, at the typed layer as
// below it. A changelog record with a nil value is a delete.
//
// # Errors
//
// Errors start with "state: " and name the store, for example
//
//	state: store "counts" is closed
//
// They are *StoreError values (or wrap the sentinels ErrClosed,
// ErrUnknownStore and ErrWrongStoreType), so errors.Is and errors.As reach
// both the sentinel and the serde, Pebble or changelog error underneath.
// Every operation on a closed store, or on a store whose DB was closed,
// returns an error wrapping ErrClosed.
//
// # Concurrency
//
// A store, its iterators and its DB belong to the one goroutine running the
// task, and need no locking. Slices a bytes store returns are valid until the
// next call on it; typed stores copy out by deserializing.
//
// Other goroutines (interactive queries) read a store through its view
// (Store.View, ReadOnlyKeyValueStore), which reads the innermost store and
// so sees what was flushed, or under exactly-once committed. Pebble is safe
// for concurrent readers, so a Pebble store's views cost its task nothing;
// an in-memory store, once it has a view, takes a write lock on each write
// that its views share for their reads.
//
// # Memory outside Go's heap
//
// Built with cgo, Pebble allocates its memtables and block cache with C's
// malloc. Opening the first database of a process fixes glibc's mmap
// threshold at 1 MiB (mallopt M_MMAP_THRESHOLD), so that each memtable is
// mapped on its own and returned to the system when freed: glibc's sliding
// threshold otherwise serves memtables from its heap after the first is
// freed, and keeps their memory in the process. A threshold set in the
// environment (MALLOC_MMAP_THRESHOLD_, or glibc.malloc.mmap_threshold in
// GLIBC_TUNABLES) is left as it is.
package state
