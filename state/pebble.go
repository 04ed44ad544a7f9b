package state

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// DBOptions configures OpenDB.
type DBOptions struct {
	// FS is the filesystem the database lives on; nil means the operating
	// system's (vfs.Default). Tests pass vfs.NewMem().
	FS vfs.FS
	// Cache is the block cache (see NewBlockCache), shared by every task's
	// DB of an application so that memory use does not grow with the
	// number of tasks. The caller keeps its reference and Unrefs it once
	// the DBs using it are closed. Nil gives the DB a private cache with
	// room for 8 MiB of blocks.
	Cache *pebble.Cache
	// Logger receives Pebble's own messages: informational ones (WAL
	// recovery, compactions) at debug level, errors at error level. Nil
	// means slog.Default().
	Logger *slog.Logger
	// RowCache, shared like Cache, is where the transaction buffers of the
	// DB's stores grow the copies of committed rows that answer their
	// reads (see RowCache). Nil leaves each store txnCleanMaxBytes of them.
	RowCache *RowCache
}

// DB is the Pebble database of one task. Every persistent store of the task
// lives in it, each under its own key prefix (see Store), next to a small
// metadata key space holding the changelog offset each store was restored or
// committed to.
//
// Writes go to Pebble's WAL without fsync: the changelog topic is the durable
// copy, and the WAL, written in order, can only lose a suffix of writes in a
// crash. Because a changelog offset is written after the data it covers, a
// surviving offset never claims data the DB lost; restore replays from it.
// A restore into an empty store writes sstables instead and ingests them
// (see pebbleRestore), which bypasses the WAL: each table is synced before
// Pebble records it, so it is durable before the offset that covers it is
// written.
//
// Writes of the task's goroutine that a transaction buffer hands on (see
// TxnStore.Flying) are applied by jobs of the DB, each on a goroutine of
// its own and in the order submitted; a changelog offset recorded while
// they run is a job after them, so the order above holds. Reading an
// offset, a restore and Close wait for the jobs.
//
// The runtime opens the DB (through Env.DB) and closes it after closing the
// task's stores. Close also closes iterators left open, so that Pebble does
// not report them as leaked. Like its stores, a DB is used by the one
// goroutine that owns the task; only the views of its stores (Store.View)
// are read from other goroutines, and they synchronize with Close alone,
// so the task's reads and writes take no lock.
type DB struct {
	pdb    *pebble.DB
	dir    string
	closed bool
	// fatal is the fatal error Pebble hit, after which the database is
	// not touched again; set on whichever goroutine hit it. broken is the
	// write the disk refused (see guardFS), after which the stores fail
	// but Pebble, which saw no error, may be closed.
	fatal  atomic.Pointer[fatalError]
	broken atomic.Pointer[fatalError]
	log    *slog.Logger
	// rows is DBOptions.RowCache.
	rows *RowCache
	// tail is the last job submitted (see dbJob), nil once waited for;
	// jobErr is the first failure of a job, after which every write
	// fails.
	tail   *dbJob
	jobErr atomic.Pointer[jobFailure]
	// iters holds the open iterators of all stores, closed by Close before
	// Pebble is.
	iters   map[*pebbleIterator]struct{}
	metaKey []byte
	metaVal [8]byte
	// fs is the filesystem asked for, without the guard: a restore writes
	// its sstables there (see pebbleRestore) and sees the disk's errors.
	fs vfs.FS
	// writerOpts are the options of the sstables a restore ingests, the
	// ones Pebble's own level-0 tables get; runFiles numbers those files.
	writerOpts sstable.WriterOptions
	runFiles   atomic.Int64

	// viewMu is held shared by every view operation and exclusively by
	// Close, which sets viewsClosed and closes the snapshots of the views'
	// open iterators (snaps, guarded by snapMu) before Pebble.
	viewMu      sync.RWMutex
	viewsClosed bool
	snapMu      sync.Mutex
	snaps       map[*pebble.Snapshot]struct{}
	// lock is the directory's lock, taken before Pebble opens so that a
	// directory another DB holds is told apart from one Pebble cannot
	// read, and released after Pebble closes.
	lock *pebble.Lock
	// readers are the stores whose Get iterator is open (see
	// pebbleStore.Get); every write to the database closes them, and
	// counts in writes.
	readers []*pebbleStore
	writes  uint64
	// filters are the stores' key filters, by store name.
	filters map[string]*keyFilter
}

// metaPrefix starts every metadata key. Store prefixes start with
// uvarint(len(name)), which is never 0 for the non-empty names stores must
// have, so the two key spaces cannot meet.
const metaPrefix = 0x00

// metaChangelogOffset follows metaPrefix in the key holding a store's
// changelog offset; other metadata kinds get other bytes.
const metaChangelogOffset = 0x01

// memTableSize is each database's memtable size, half the write buffer
// Kafka Streams gives RocksDB. Every task's database holds a memtable
// filling and, once one was flushed, another that Pebble keeps to reuse,
// both outside Go's heap: at 16 MiB, word count over a million keys in
// four tasks held 128 MB of memtables. At 8 MiB its peak RSS was 20 to 60
// MB lower at the same words per second, for 0 to 10% more CPU (more
// flushes). A restore into an empty store does not go through memtables
// (see restoreRunBytes).
const memTableSize = 8 << 20

// l0CompactionThreshold is how many overlapping tables level 0 of a
// database holds before Pebble compacts them into the level below, four
// times its default. A store whose keys arrive in no order (an aggregation
// over a million keys) flushes tables that each span every key, so that
// every such compaction rewrites the whole level below: at four tables,
// word count over a million keys spent 15% of its CPU compacting, at
// sixteen half as much. What it costs is reads: a Get that reaches Pebble
// probes the filter of each table of level 0, and an iterator merges them
// all. Few do: the transaction buffer's clean entries answer the keys
// written lately, and the store's key filter the keys it never had. Writes
// stop at three times the threshold, Pebble's own ratio.
const l0CompactionThreshold = 16

// NewBlockCache returns a Pebble block cache for DBOptions.Cache that dbs
// databases share and that holds blockBytes of blocks (data, Bloom filters,
// indexes). Pebble counts each database's memtables against its block
// cache, so the cache is made larger by two memtables per database (one
// filling, one being flushed): a cache sized for blocks alone would hold
// none once the memtables grew. The caller Unrefs it once its databases
// are closed.
func NewBlockCache(blockBytes int64, dbs int) *pebble.Cache {
	return pebble.NewCache(blockBytes + int64(dbs)*2*memTableSize)
}

// abandoned holds the directories of databases this process abandoned
// after a fatal error of Pebble's: they keep their locks, so a directory
// there that is locked is not in use but lost until the process exits.
var abandoned sync.Map

// privateCacheBytes is the blocks a database without a shared cache can
// keep.
const privateCacheBytes = 8 << 20

// OpenDB opens (creating if needed) the Pebble database in dir. A database
// Pebble cannot read (corrupt or from an incompatible version) yields an
// error that names dir and wraps Pebble's; the runtime then wipes the
// directory and restores from the changelogs. A directory whose lock
// another open DB holds, in this process or another, yields an error
// matching ErrLocked instead: nothing is wrong with its data.
func OpenDB(dir string, opts DBOptions) (db *DB, err error) {
	fs := opts.FS
	if fs == nil {
		fs = vfs.Default
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	plog := logger.With("db", dir)
	db = &DB{dir: dir, fs: fs, iters: make(map[*pebbleIterator]struct{}), snaps: make(map[*pebble.Snapshot]struct{}), filters: make(map[string]*keyFilter), log: plog}
	defer func() {
		// Pebble's fatal path while it opens: the database is unusable.
		if v := recover(); v != nil {
			fe, ok := v.(*fatalError)
			if !ok {
				panic(v)
			}
			abandoned.Store(dir, true)
			db, err = nil, fmt.Errorf("state: open pebble database in %q: %w", dir, fe)
		}
	}()
	fixMmapThreshold()
	popts := &pebble.Options{
		FS:     guardFS{fs, db},
		Cache:  opts.Cache,
		Logger: pebbleLogger{plog, &db.fatal},
		EventListener: &pebble.EventListener{
			// Pebble's default is Fatalf. Corruption found on a read is
			// returned to the reader as well, an error matching
			// pebble.ErrCorruption, which the task can act on.
			DataCorruption: func(info pebble.DataCorruptionInfo) {
				plog.Error("pebble: data corruption", "path", info.Path, "err", info.Details)
			},
			BackgroundError: func(err error) {
				plog.Error("pebble: background error", "err", err)
			},
		},
		MemTableSize:          memTableSize,
		L0CompactionThreshold: l0CompactionThreshold,
		L0StopWritesThreshold: 3 * l0CompactionThreshold,
	}
	if popts.Cache == nil {
		// Pebble takes its own reference.
		popts.Cache = NewBlockCache(privateCacheBytes, 1)
		defer popts.Cache.Unref()
	}

	// As Kafka Streams configures RocksDB: a Bloom filter per table, so
	// that the Get of a key the store lacks (the first update of every
	// new key) reads no data block, and no compression, which costs
	// more CPU than small state values save.
	popts.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	popts.Levels[0].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("state: open pebble database in %q: %w", dir, err)
	}
	lock, err := pebble.LockDirectory(dir, fs)
	if err != nil {
		if _, ok := abandoned.Load(dir); ok {
			return nil, fmt.Errorf("state: open pebble database in %q: a database of this process hit a fatal error there and holds its lock until the process exits: %w", dir, ErrStorage)
		}
		return nil, fmt.Errorf("state: open pebble database in %q: %w: %v", dir, ErrLocked, err)
	}
	popts.Lock = lock
	pdb, err := pebble.Open(dir, popts)
	if err != nil {
		err = fmt.Errorf("state: open pebble database in %q: %w", dir, err)
		if lerr := lock.Close(); lerr != nil {
			err = errors.Join(err, lerr)
		}
		return nil, err
	}
	db.pdb = pdb
	db.lock = lock
	db.rows = opts.RowCache
	if err := removeRunFiles(fs, dir); err != nil {
		return nil, errors.Join(fmt.Errorf("state: open pebble database in %q: remove the files of an unfinished restore: %w", dir, err), pdb.Close(), lock.Close())
	}
	wopts := popts.Clone()
	wopts.EnsureDefaults()
	db.writerOpts = wopts.MakeWriterOptions(0, pdb.TableFormat())
	return db, nil
}

// failed returns the fatal error Pebble hit, if it did: the database must
// not be touched again, since Pebble may hold its locks still.
func (db *DB) failed() error {
	if fe := db.fatal.Load(); fe != nil {
		return fe
	}
	if fe := db.broken.Load(); fe != nil {
		return fe
	}
	if jf := db.jobErr.Load(); jf != nil {
		return jf.err
	}
	return nil
}

// breakDB records that the disk refused a write of the database.
func (db *DB) breakDB(err error) {
	db.breakWith("the disk refused a write, so the database lost it", err)
}

// breakWith breaks the DB, if it is not broken yet, for why, and returns
// the error of this failure, which matches ErrStorage and err.
func (db *DB) breakWith(why string, err error) error {
	fe := &fatalError{msg: why + ": " + err.Error(), causes: []error{err}}
	if db.broken.CompareAndSwap(nil, fe) {
		db.log.Error("pebble: "+why+"; the database is broken", "err", err)
	}
	return fe
}

// wrote closes the Get iterators of the database's stores, which read the
// database as it was when they were opened: called after every write, so
// that the next Get opens one that sees it.
func (db *DB) wrote() error {
	db.writes++
	if len(db.readers) == 0 {
		return nil
	}
	var errs []error
	for i, s := range db.readers {
		if it := s.getIter; it != nil {
			s.getIter = nil
			if err := it.Close(); err != nil {
				errs = append(errs, storeErr(s.name, "get", err))
			}
		}
		db.readers[i] = nil
	}
	db.readers = db.readers[:0]
	return errors.Join(errs...)
}

// Dir returns the directory the database was opened in.
func (db *DB) Dir() string { return db.dir }

// Close closes open iterators, then Pebble. Stores of the DB fail with
// ErrClosed afterwards. Closing a closed DB does nothing and returns nil.
func (db *DB) Close() error {
	if db.closed {
		return nil
	}
	// Jobs still writing finish first; their failure is the close's.
	var errs []error
	if err := db.settle(); err != nil {
		errs = append(errs, err)
	}
	db.closed = true
	dead := db.fatal.Load() != nil
	for it := range db.iters {
		if !dead {
			errs = append(errs, it.release())
		}
	}
	clear(db.iters)
	if !dead {
		errs = append(errs, db.wrote())
	}
	db.viewMu.Lock()
	db.viewsClosed = true
	for snap := range db.snaps {
		if dead {
			break
		}
		if err := snap.Close(); err != nil {
			errs = append(errs, fmt.Errorf("state: close snapshot in %q: %w", db.dir, err))
		}
	}
	clear(db.snaps)
	db.viewMu.Unlock()
	if fe := db.fatal.Load(); fe != nil {
		// Pebble's Close would wait on locks the fatal path left held: the
		// database is abandoned, its files closed when the process ends,
		// and its directory wiped by the runtime.
		abandoned.Store(db.dir, true)
		return errors.Join(append(errs, fmt.Errorf("state: pebble database in %q abandoned: %w", db.dir, fe))...)
	}
	if err := db.pdb.Close(); err != nil {
		errs = append(errs, fmt.Errorf("state: close pebble database in %q: %w", db.dir, err))
	}
	if err := db.lock.Close(); err != nil {
		errs = append(errs, fmt.Errorf("state: release the lock of pebble database in %q: %w", db.dir, err))
	}
	return errors.Join(errs...)
}

// Store returns the bytes store called name inside the database. Stores of
// one DB never see each other's keys. Each call returns a new view with its
// own buffers; closing a view does not close the DB. An empty name is
// rejected: every operation of the returned store fails.
func (db *DB) Store(name string) KeyValueBytesStore {
	s := &pebbleStore{db: db, name: name, filter: db.filter(name)}
	if name == "" {
		s.invalid = errors.New("state: empty store name")
		return s
	}
	s.prefix = binary.AppendUvarint(nil, uint64(len(name)))
	s.prefix = append(s.prefix, name...)
	s.end = prefixEnd(s.prefix)
	s.kbuf = append(make([]byte, 0, len(s.prefix)+64), s.prefix...)
	s.vbuf = make([]byte, 0, 64)
	return s
}

// ChangelogOffset returns the changelog offset recorded for store, and
// whether one was.
func (db *DB) ChangelogOffset(store string) (offset int64, ok bool, err error) {
	key, err := db.offsetKey(store, "read changelog offset")
	if err != nil {
		return 0, false, err
	}
	if err := db.settle(); err != nil {
		return 0, false, storeErr(store, "read changelog offset", err)
	}
	v, closer, err := db.pdb.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, storeErr(store, "read changelog offset", err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, false, storeErr(store, "read changelog offset", fmt.Errorf("stored offset has %d bytes, want 8", len(v)))
	}
	return int64(binary.BigEndian.Uint64(v)), true, nil
}

// SetChangelogOffset records the changelog offset store has reached: the
// offset of the next changelog record to restore from. While jobs of the
// database are writing (see dbJob) it is written by a job after theirs,
// since it vouches for their writes; a failure of that job fails the
// database's next write.
func (db *DB) SetChangelogOffset(store string, offset int64) error {
	key, err := db.offsetKey(store, "write changelog offset")
	if err != nil {
		return err
	}
	if db.tail != nil {
		key := bytes.Clone(key)
		var val [8]byte
		binary.BigEndian.PutUint64(val[:], uint64(offset))
		pdb := db.pdb
		db.submit(func() error {
			if err := pdb.Set(key, val[:], pebble.NoSync); err != nil {
				return storeErr(store, "write changelog offset", err)
			}
			return nil
		})
		return nil
	}
	binary.BigEndian.PutUint64(db.metaVal[:], uint64(offset))
	if err := db.pdb.Set(key, db.metaVal[:], pebble.NoSync); err != nil {
		return storeErr(store, "write changelog offset", err)
	}
	return nil
}

func (db *DB) offsetKey(store, op string) ([]byte, error) {
	if store == "" {
		return nil, errors.New("state: empty store name")
	}
	if db.closed {
		return nil, closedErr(store, op)
	}
	if err := db.failed(); err != nil {
		return nil, storeErr(store, op, err)
	}
	db.metaKey = append(db.metaKey[:0], metaPrefix, metaChangelogOffset)
	db.metaKey = append(db.metaKey, store...)
	return db.metaKey, nil
}

// prefixEnd returns the smallest key greater than every key starting with
// p, or nil when there is none (p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// pebbleStore is one store's view of a DB: its keys are the store's keys
// behind the store's prefix.
type pebbleStore struct {
	db      *DB
	name    string
	invalid error
	prefix  []byte
	end     []byte // prefixEnd(prefix): exclusive upper bound of the store
	// kbuf holds prefix followed by the key of the current call, so that
	// Get, Put and Delete build Pebble keys without allocating.
	kbuf []byte
	// vbuf holds the value returned by Get, letting Pebble's closer be
	// released before Get returns.
	vbuf   []byte
	closed bool
	// batch collects writes between BeginBatch and CommitBatch.
	batch *pebble.Batch
	// viewsGone tells the store's views, from other goroutines, that the
	// store was closed.
	viewsGone atomic.Bool
	// restoring is set while a restore holds writes back in restore (see
	// restoreWriter), which every other operation applies first.
	restoring bool
	restore   *pebbleRestore
	// getIter answers Get while the database is not written to (see Get);
	// nil until the second Get after a write. getWrites is the database's
	// writes as of the last Get.
	getIter   *pebble.Iterator
	getWrites uint64
	// filter answers the Gets of keys the store lacks (see keyFilter).
	filter *keyFilter
	// byDB says Gets read with DB.Get rather than the iterator, for the
	// current window of getWindow Gets, gets of which are done; timed is
	// the time the sampled ones took (one in getSample), and getCost the
	// time a Get took in recent windows that read with the iterator
	// ([0]) and with DB.Get ([1]), 0 until measured.
	byDB     bool
	gets     int
	timed    time.Duration
	ntimed   int
	getCost  [2]float64
	nwindows int
}

const (
	// getWindow is how many Gets read one way before the store weighs
	// the ways again.
	getWindow = 512
	// getSample is one in how many Gets is timed.
	getSample = 16
	// getExplore is one in how many windows reads the way that was the
	// slower, to see whether it still is.
	getExplore = 8
)

// getIterOptions are those of the Get iterator: Bloom filters consulted at
// every level, the last included. Pebble's own DB.Get skips the last
// level's filters, where most keys of a large store live, so that a key
// the store lacks, the first update of every new key of an aggregation,
// read an index and a data block of a table there.
var getIterOptions = pebble.IterOptions{UseL6Filters: true}

// BeginBatch starts collecting Put and Delete in one Pebble batch, applied
// by CommitBatch: one commit instead of one per write. Reads meanwhile see
// the store as it was before the batch.
func (s *pebbleStore) BeginBatch() {
	if s.batch == nil {
		s.batch = s.db.pdb.NewBatch()
		s.filter.batches++
	}
}

// CommitBatch applies the batch's writes together.
func (s *pebbleStore) CommitBatch() error {
	b := s.batch
	if b == nil {
		return nil
	}
	s.batch = nil
	s.filter.batches--
	defer b.Close()
	if err := s.check("commit batch"); err != nil {
		return err
	}
	err := b.Commit(pebble.NoSync)
	if werr := s.db.wrote(); err == nil && werr != nil {
		return werr
	}
	if err != nil {
		return storeErr(s.name, "commit batch", err)
	}
	return nil
}

func (s *pebbleStore) Name() string     { return s.name }
func (s *pebbleStore) Persistent() bool { return true }

func (s *pebbleStore) check(op string) error {
	if s.invalid != nil {
		return s.invalid
	}
	if s.closed || s.db.closed {
		return closedErr(s.name, op)
	}
	if err := s.db.failed(); err != nil {
		return storeErr(s.name, op, err)
	}
	if s.restoring {
		err := s.finishRestore()
		if werr := s.db.wrote(); err == nil {
			err = werr
		}
		return err
	}
	return nil
}

func (s *pebbleStore) key(k []byte) []byte {
	s.kbuf = append(s.kbuf[:len(s.prefix)], k...)
	return s.kbuf
}

// Get seeks an iterator kept open from one Get to the next until the
// database is written to, rather than calling Pebble's DB.Get: that builds
// its iterators anew for every read, and skips the Bloom filters of the
// last level (see getIterOptions). Between two commits of a task nothing
// writes to its database, so the iterator of the second Get after a
// commit serves every Get until the next; a miss then costs a probe of
// each memtable's skiplist and of each level's filter. The first Get after
// a write calls DB.Get: a store written straight through, without a
// transaction buffer, alternates reads and writes, and an iterator opened
// for one read costs more than DB.Get.
//
// Neither way is always the cheaper: DB.Get stops at the newest level
// holding the key, where a seek of the iterator positions every level to
// merge them, so that a key written in every commit (in the memtable and
// in every level below) is cheaper to read with DB.Get, and a key the
// store lacks, or holds only in its last level, with the iterator. So the
// store times a sample of its Gets and reads the way that was cheaper of
// late, trying the other one window in getExplore. Both read the same.
// Neither is asked for a key the store's filter says it lacks.
func (s *pebbleStore) Get(key []byte) ([]byte, bool, error) {
	if err := s.check("get"); err != nil {
		return nil, false, err
	}
	if f := s.filter; f.state == filterOn || f.state == filterUnknown && f.batches == 0 {
		if f.state == filterUnknown {
			if _, err := f.build(s); err != nil {
				return nil, false, err
			}
		}
		if f.state == filterOn && !f.mayContain(f.hash(key)) {
			return s.notFound()
		}
	}
	if s.gets++; s.gets%getSample != 0 {
		return s.get(key)
	}
	start := time.Now()
	v, found, err := s.get(key)
	s.timed += time.Since(start)
	s.ntimed++
	if s.gets == getWindow {
		s.weighGets()
	}
	return v, found, err
}

// weighGets ends a window of Gets: it folds the time they took into the
// cost of the way they read, and chooses the way of the next window.
func (s *pebbleStore) weighGets() {
	way := 0
	if s.byDB {
		way = 1
	}
	avg := float64(s.timed) / float64(s.ntimed)
	if c := &s.getCost[way]; *c == 0 {
		*c = avg
	} else {
		*c = 0.7**c + 0.3*avg
	}
	s.gets, s.timed, s.ntimed = 0, 0, 0
	s.nwindows++
	other := 1 - way
	if s.getCost[other] == 0 || s.nwindows%getExplore == 0 {
		s.byDB = other == 1
		return
	}
	s.byDB = s.getCost[1] < s.getCost[0]
}

func (s *pebbleStore) get(key []byte) ([]byte, bool, error) {
	if s.byDB {
		return s.getOnce(key)
	}
	it := s.getIter
	if it == nil {
		if s.getWrites != s.db.writes {
			s.getWrites = s.db.writes
			return s.getOnce(key)
		}
		var err error
		if it, err = s.db.pdb.NewIter(&getIterOptions); err != nil {
			return nil, false, storeErr(s.name, "get", err)
		}
		s.getIter = it
		s.db.readers = append(s.db.readers, s)
	}
	k := s.key(key)
	if !it.SeekPrefixGE(k) || !bytes.Equal(it.Key(), k) {
		if err := it.Error(); err != nil {
			// An iterator that failed is not trusted with the next Get.
			return nil, false, errors.Join(storeErr(s.name, "get", err), s.db.wrote())
		}
		return s.notFound()
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return nil, false, errors.Join(storeErr(s.name, "get", err), s.db.wrote())
	}
	s.vbuf = append(s.vbuf[:0], v...)
	return s.vbuf, true, nil
}

// getOnce is Get through Pebble's DB.Get.
func (s *pebbleStore) getOnce(key []byte) ([]byte, bool, error) {
	v, closer, err := s.db.pdb.Get(s.key(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return s.notFound()
	}
	if err != nil {
		return nil, false, storeErr(s.name, "get", err)
	}
	s.vbuf = append(s.vbuf[:0], v...)
	if err := closer.Close(); err != nil {
		return nil, false, storeErr(s.name, "get", err)
	}
	return s.vbuf, true, nil
}

// notFound is the outcome of a Get Pebble found nothing for. A key Pebble
// did not find is absent only if Pebble read what it had to: a DB that
// broke meanwhile (a short read of a table, on this goroutine or another)
// cannot say so.
func (s *pebbleStore) notFound() ([]byte, bool, error) {
	if fe := s.db.broken.Load(); fe != nil {
		return nil, false, storeErr(s.name, "get", fe)
	}
	return nil, false, nil
}

func (s *pebbleStore) Put(key, value []byte) error {
	if err := s.check("put"); err != nil {
		return err
	}
	s.filter.add(key)
	if s.batch != nil {
		return s.batch.Set(s.key(key), value, nil)
	}
	err := s.db.pdb.Set(s.key(key), value, pebble.NoSync)
	if werr := s.db.wrote(); err == nil {
		err = werr
	}
	if err != nil {
		return storeErr(s.name, "put", err)
	}
	return nil
}

func (s *pebbleStore) Delete(key []byte) error {
	if err := s.check("delete"); err != nil {
		return err
	}
	if s.batch != nil {
		return s.batch.Delete(s.key(key), nil)
	}
	err := s.db.pdb.Delete(s.key(key), pebble.NoSync)
	if werr := s.db.wrote(); err == nil {
		err = werr
	}
	if err != nil {
		return storeErr(s.name, "delete", err)
	}
	return nil
}

// DeleteRange is one Pebble range deletion over the store's prefix: its
// cost does not grow with the number of keys it covers, and compactions
// reclaim their space.
func (s *pebbleStore) DeleteRange(from, to []byte) error {
	if err := s.check("delete range"); err != nil {
		return err
	}
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return nil
	}
	lower, upper := s.bounds(from, to)
	var err error
	if s.batch != nil {
		err = s.batch.DeleteRange(lower, upper, nil)
	} else {
		err = s.db.pdb.DeleteRange(lower, upper, pebble.NoSync)
		if werr := s.db.wrote(); err == nil {
			err = werr
		}
	}
	if err != nil {
		return storeErr(s.name, "delete range", err)
	}
	return nil
}

// bounds returns the Pebble bounds of [from, to) in the store, in a new
// buffer: Pebble keeps referring to iterator bounds while the iterator
// lives.
func (s *pebbleStore) bounds(from, to []byte) (lower, upper []byte) {
	return keyBounds(s.prefix, s.end, from, to)
}

func keyBounds(prefix, end, from, to []byte) (lower, upper []byte) {
	buf := make([]byte, 0, 2*len(prefix)+len(from)+len(to))
	buf = append(append(buf, prefix...), from...)
	lower = buf[:len(buf):len(buf)]
	upper = end
	if to != nil {
		buf = append(append(buf, prefix...), to...)
		upper = buf[len(lower):]
	}
	return lower, upper
}

func (s *pebbleStore) Range(from, to []byte) (BytesIterator, error) {
	return s.newIter("range", from, to, false)
}

func (s *pebbleStore) ReverseRange(from, to []byte) (BytesIterator, error) {
	return s.newIter("reverse range", from, to, true)
}

func (s *pebbleStore) newIter(op string, from, to []byte, reverse bool) (BytesIterator, error) {
	if err := s.check(op); err != nil {
		return nil, err
	}
	if from != nil && to != nil && bytes.Compare(from, to) >= 0 {
		return emptyIterator{}, nil
	}
	lower, upper := s.bounds(from, to)
	pit, err := s.db.pdb.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, storeErr(s.name, op, err)
	}
	it := &pebbleIterator{s: s, it: pit, reverse: reverse}
	s.db.iters[it] = struct{}{}
	return it, nil
}

// ApproximateNumEntries counts the store's keys by iterating over them: it
// is exact but costs a scan of the store. Pebble keeps no per-prefix key
// count to estimate from, and the method serves queries rather than the
// processing path.
func (s *pebbleStore) ApproximateNumEntries() (int64, error) {
	it, err := s.newIter("count", nil, nil, false)
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var n int64
	for it.Next() {
		n++
	}
	return n, it.Err()
}

// Flush applies what a restore holds back, if one is under way; otherwise
// it does nothing: writes are in Pebble as soon as Put returns, and their
// durability comes from the changelog, not from syncing the DB.
func (s *pebbleStore) Flush() error { return s.check("flush") }

// Close closes this view only; the DB stays open for the task's other
// stores. Closing twice is not an error.
func (s *pebbleStore) rowCache() *RowCache { return s.db.rows }

func (s *pebbleStore) Close() error {
	s.closed = true
	s.viewsGone.Store(true)
	s.dropRestore()
	if s.batch != nil {
		s.batch.Close()
		s.batch = nil
		s.filter.batches--
	}
	if s.getIter != nil && s.db.fatal.Load() == nil {
		// Closing the others' too costs them one reopening.
		return s.db.wrote()
	}
	return nil
}

type pebbleIterator struct {
	s       *pebbleStore
	it      *pebble.Iterator // nil once released
	reverse bool
	started bool
	done    bool
	value   []byte
	err     error
}

func (it *pebbleIterator) Next() bool {
	if it.err != nil {
		return false
	}
	if it.s.closed || it.s.db.closed {
		it.err = closedErr(it.s.name, "iterate")
		return false
	}
	if it.it == nil || it.done {
		return false
	}
	var ok bool
	switch {
	case !it.started && it.reverse:
		ok = it.it.Last()
	case !it.started:
		ok = it.it.First()
	case it.reverse:
		ok = it.it.Prev()
	default:
		ok = it.it.Next()
	}
	it.started = true
	if !ok {
		// Pebble would step back in from the far end on another call.
		it.done = true
		if err := it.it.Error(); err != nil {
			it.err = storeErr(it.s.name, "iterate", err)
		} else if fe := it.s.db.broken.Load(); fe != nil {
			// The end of a range is its end only if Pebble read it all
			// (see Get).
			it.err = storeErr(it.s.name, "iterate", fe)
		}
		return false
	}
	v, err := it.it.ValueAndErr()
	if err != nil {
		it.err = storeErr(it.s.name, "iterate", err)
		return false
	}
	it.value = v
	return true
}

func (it *pebbleIterator) Key() []byte   { return it.it.Key()[len(it.s.prefix):] }
func (it *pebbleIterator) Value() []byte { return it.value }
func (it *pebbleIterator) Err() error    { return it.err }

func (it *pebbleIterator) Close() error {
	if it.it == nil {
		return nil
	}
	delete(it.s.db.iters, it)
	return it.release()
}

func (it *pebbleIterator) release() error {
	pit := it.it
	it.it = nil
	if err := pit.Close(); err != nil {
		return storeErr(it.s.name, "close iterator", err)
	}
	return nil
}

// emptyIterator serves ranges that cannot hold a key (from ≥ to).
type emptyIterator struct{}

func (emptyIterator) Next() bool    { return false }
func (emptyIterator) Key() []byte   { return nil }
func (emptyIterator) Value() []byte { return nil }
func (emptyIterator) Err() error    { return nil }
func (emptyIterator) Close() error  { return nil }

// pebbleLogger bridges Pebble's printf-style logger to slog. fatal is
// the database's, set by Fatalf.
type pebbleLogger struct {
	l     *slog.Logger
	fatal *atomic.Pointer[fatalError]
}

func (p pebbleLogger) Infof(format string, args ...any) {
	if p.l.Enabled(context.Background(), slog.LevelDebug) {
		p.l.Debug("pebble: " + fmt.Sprintf(format, args...))
	}
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("pebble: " + fmt.Sprintf(format, args...))
}

// Fatalf must not return: Pebble calls it on states it cannot continue
// from. It panics with an error matching ErrStorage, which the task
// recovers on its own goroutine (a commit whose WAL write failed) and acts
// on as a fault of storage. On one of Pebble's background goroutines the
// panic ends the process, as Pebble's own Fatalf would.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := "pebble: " + fmt.Sprintf(format, args...)
	p.l.Error(msg)
	fe := &fatalError{msg: msg}
	for _, a := range args {
		if err, ok := a.(error); ok {
			fe.causes = append(fe.causes, err)
		}
	}
	p.fatal.CompareAndSwap(nil, fe)
	panic(fe)
}

// fatalError is what Fatalf panics with: Pebble's message, matching
// ErrStorage and the errors Pebble gave it (a disk full, say).
type fatalError struct {
	msg    string
	causes []error
}

func (e *fatalError) Error() string   { return "state: storage failed: " + e.msg }
func (e *fatalError) Unwrap() []error { return append([]error{ErrStorage}, e.causes...) }
