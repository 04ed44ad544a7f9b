package state

import (
	"bytes"
	"fmt"
)

// NewChangeLoggingStore returns a store that applies every Put and Delete
// to inner and sends the changes to logger on Flush, folded: one record
// per key written since the last Flush, carrying the key's last value (a
// Delete as value nil, a tombstone), stamped with clock's time (nil: 0) as
// of that last write. The task flushes its stores when it commits, before
// the offsets commit (and inside the transaction under exactly-once), so a
// changelog holds the state of each key as of every commit, which is what
// a restore needs, but no longer every value a key went through between
// two commits. Kafka Streams logs every write of an uncached store; a cache
// in front folds the same way, and outputs of processors still carry every
// update.
//
// Writing inner first means a failed write is never logged; a failed log
// call is returned from Flush and fails the task, whose changelog
// transaction (or restore from the last committed offset) then repairs
// inner. Reads, ranges and Close go straight to inner.
//
// Over a TxnStore the folding costs nothing extra: the buffer already
// holds each key's last write and remembers which it has not yet handed
// to the changelog. So does an in-memory store's index, whose entries
// mark the keys written since the last Flush. Over any other store the layer keeps the keys written
// since the last Flush, and reads their values back from inner when it
// sends them.
//
// DeleteRange goes to inner and is not logged (see KeyValueBytesStore):
// the changelog drops the same records through its retention. Writes it
// covers that were not sent yet are not sent at all.
func NewChangeLoggingStore(inner KeyValueBytesStore, logger ChangeLogger, clock func() int64) KeyValueBytesStore {
	return &changeLoggingStore{KeyValueBytesStore: inner, logger: logger, clock: clock}
}

type changeLoggingStore struct {
	KeyValueBytesStore
	logger ChangeLogger
	clock  func() int64
	// timestamped stores hold values in the timestamped format; their
	// changelog records carry the plain value, stamped with the value's
	// own timestamp, as Kafka Streams' timestamped stores log.
	timestamped bool
	// keyPrefix is the width of what a window or session store puts in
	// front of its changelog keys (the segment id): logged keys leave it
	// out, so the changelog reads as Kafka Streams' does.
	keyPrefix int

	// txn is inner when it is a transaction buffer, and mem when it is an
	// in-memory store: either folds the writes, each key's entry marking
	// whether it waits to be sent. probed says they were looked for
	// (builders make the layer as a literal).
	txn    *TxnStore
	mem    *memoryStore
	probed bool
	// Otherwise folded are the keys written since the last Flush, in the
	// order first written, their bytes in keys. A handful are found by
	// scanning them, allocating nothing; past foldScan, pending indexes
	// them.
	folded []foldedWrite
	// tags[i] is foldTag of folded[i]'s key: a scan reads these four bytes
	// an entry rather than the entries.
	tags    []uint32
	keys    []byte
	pending map[string]int
	// keepValues says inner holds what the layer wrote, key for key, until
	// the next Flush (a key-value store's; a window store's segments drop
	// keys below the layer). Then, while the folded keys are a handful,
	// their last values are kept in values, and sent from there rather
	// than read back from inner: a task that commits after every record
	// writes a few keys between flushes. Past foldScan the values are
	// read back (unvalued), so that the layer does not hold a second copy
	// of every value written in a commit interval.
	keepValues bool
	unvalued   bool
	values     []byte
}

// foldScan is how many folded keys are looked up by a scan before they
// get a map: a task that commits after every record, as the test driver
// does by default, writes a few keys between flushes.
const foldScan = 16

// foldedWrite is a key written since the last Flush (keys[start:end]) and
// the time of its last write; dropped when a DeleteRange covered it since,
// or once sent.
type foldedWrite struct {
	start, end int
	ts         int64
	// values[vstart:vend] is the key's last value, unless deleted, while
	// values are kept.
	vstart, vend int
	deleted      bool
	dropped      bool
}

// foldTag sums up key in its length and three of its bytes, enough to
// tell most keys of a scan apart without comparing them.
func foldTag(key []byte) uint32 {
	n := len(key)
	if n == 0 {
		return 0
	}
	return uint32(n)<<24 | uint32(key[0])<<16 | uint32(key[n/2])<<8 | uint32(key[n-1])
}

func (s *changeLoggingStore) now() int64 {
	if s.clock == nil {
		return 0
	}
	return s.clock()
}

func (s *changeLoggingStore) buffer() *TxnStore {
	if !s.probed {
		s.probe()
	}
	return s.txn
}

func (s *changeLoggingStore) probe() {
	s.txn, _ = s.KeyValueBytesStore.(*TxnStore)
	s.mem, _ = s.KeyValueBytesStore.(*memoryStore)
	s.probed = true
}

func (s *changeLoggingStore) Put(key, value []byte) error {
	ts := int64(0)
	if s.timestamped {
		var ok bool
		if ts, _, ok = cutTimestamped(value); !ok {
			return storeErr(s.Name(), "put", badTimestamped(value))
		}
	} else {
		ts = s.now()
	}
	if tx := s.buffer(); tx != nil {
		return tx.putLogged(key, value, ts)
	}
	if s.mem != nil {
		return s.mem.putLogged(key, value, ts)
	}
	if err := s.KeyValueBytesStore.Put(key, value); err != nil {
		return err
	}
	s.fold(key, value, ts)
	return nil
}

func (s *changeLoggingStore) Delete(key []byte) error {
	ts := s.now()
	if tx := s.buffer(); tx != nil {
		return tx.deleteLogged(key, ts)
	}
	if s.mem != nil {
		return s.mem.deleteLogged(key, ts)
	}
	if err := s.KeyValueBytesStore.Delete(key); err != nil {
		return err
	}
	s.fold(key, nil, ts)
	return nil
}

// fold notes a write of key: value nil is a delete.
func (s *changeLoggingStore) fold(key, value []byte, ts int64) {
	tag := foldTag(key)
	if i, ok := s.foldedIndex(key, tag); ok {
		w := &s.folded[i]
		w.ts = ts
		s.keepValue(w, value)
		return
	}
	start := len(s.keys)
	s.keys = append(s.keys, key...)
	s.folded = append(s.folded, foldedWrite{start: start, end: len(s.keys), ts: ts})
	s.tags = append(s.tags, tag)
	s.keepValue(&s.folded[len(s.folded)-1], value)
	switch {
	case s.pending != nil:
		s.pending[string(key)] = len(s.folded) - 1
	case len(s.folded) > foldScan:
		s.pending = make(map[string]int, 2*len(s.folded))
		for i, w := range s.folded {
			s.pending[string(s.keys[w.start:w.end])] = i
		}
		s.unvalued, s.values = true, s.values[:0]
	}
}

// keepValue keeps value as w's last one, when values are kept: over the
// last one if it has the same length.
func (s *changeLoggingStore) keepValue(w *foldedWrite, value []byte) {
	if !s.keepValues || s.unvalued {
		return
	}
	w.deleted = value == nil
	if w.vend-w.vstart == len(value) {
		copy(s.values[w.vstart:w.vend], value)
		return
	}
	w.vstart = len(s.values)
	s.values = append(s.values, value...)
	w.vend = len(s.values)
}

func (s *changeLoggingStore) foldedIndex(key []byte, tag uint32) (int, bool) {
	if s.pending != nil {
		i, ok := s.pending[string(key)]
		return i, ok
	}
	// A scan compares the keys only where the tags agree.
	for i, t := range s.tags {
		if t != tag {
			continue
		}
		if w := &s.folded[i]; !w.dropped && bytes.Equal(s.keys[w.start:w.end], key) {
			return i, true
		}
	}
	return 0, false
}

// DeleteRange is not logged: see NewChangeLoggingStore.
func (s *changeLoggingStore) DeleteRange(from, to []byte) error {
	if err := s.KeyValueBytesStore.DeleteRange(from, to); err != nil {
		return err
	}
	if s.buffer() == nil && s.mem == nil {
		for i := range s.folded {
			w := &s.folded[i]
			if k := s.keys[w.start:w.end]; !w.dropped && inRange(k, from, to) {
				// A later write of the key is folded anew.
				w.dropped = true
				delete(s.pending, string(k))
			}
		}
	}
	return nil
}

// unsent reports whether writes wait for the next Flush to be sent.
func (s *changeLoggingStore) unsent() bool {
	if tx := s.buffer(); tx != nil {
		return len(tx.unlogged) > 0
	}
	if s.mem != nil {
		return len(s.mem.unloggedList) > 0
	}
	return len(s.folded) > 0
}

// Flush sends the folded writes to the changelog, then flushes inner.
func (s *changeLoggingStore) Flush() error {
	if err := s.send(); err != nil {
		return err
	}
	return s.KeyValueBytesStore.Flush()
}

func (s *changeLoggingStore) send() error {
	if tx := s.buffer(); tx != nil {
		return tx.takeUnlogged(s.logChange)
	}
	if s.mem != nil {
		return s.mem.takeUnlogged(s.logChange)
	}
	for i := range s.folded {
		w := &s.folded[i]
		if w.dropped {
			continue
		}
		key := s.keys[w.start:w.end]
		var v []byte
		switch {
		case !s.keepValues || s.unvalued:
			var found bool
			var err error
			v, found, err = s.KeyValueBytesStore.Get(key)
			if err != nil {
				return storeErr(s.Name(), "log change", err)
			}
			if !found {
				v = nil
			}
		case !w.deleted:
			if v = s.values[w.vstart:w.vend]; v == nil {
				v = emptyValue
			}
		}
		if err := s.logChange(key, v, w.ts); err != nil {
			return err
		}
		// Sent: a failure further on does not send it again, and a later
		// write of the key is folded anew.
		w.dropped = true
		if s.pending != nil {
			delete(s.pending, string(key))
		}
	}
	s.folded, s.tags, s.keys, s.pending = s.folded[:0], s.tags[:0], s.keys[:0], nil
	s.values, s.unvalued = s.values[:0], false
	return nil
}

// emptyKey is the empty key as the changelog gets it: not nil, which is
// a null key.
var emptyKey = []byte{}

// logChange sends one folded write: value nil is a delete.
func (s *changeLoggingStore) logChange(key, value []byte, ts int64) error {
	if value != nil && s.timestamped {
		v := value
		var ok bool
		if ts, value, ok = cutTimestamped(v); !ok {
			return storeErr(s.Name(), "log change", fmt.Errorf("key %q: %w", key, badTimestamped(v)))
		}
	}
	key = key[s.keyPrefix:]
	if key == nil {
		// The folding buffers hold an empty key as a nil slice, which a
		// changelog would carry as a null key: a compacted topic refuses
		// it, and a restore would not read the key written.
		key = emptyKey
	}
	if err := s.logger.LogChange(key, value, ts, nil); err != nil {
		return storeErr(s.Name(), "log change", err)
	}
	return nil
}
