package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Window and session stores keep their records in time segments of one
// bytes store, as Kafka Streams' segmented stores do: every key starts
// with the 8-byte big-endian id of its segment, timestamp / interval, where
// the timestamp is a window's start or a session's end. What follows the
// segment id is the record's changelog key, in Kafka Streams' layout:
//
//	window store:  [segment][key bytes][start, 8 bytes][sequence number, 4 bytes]
//	session store: [segment][key bytes][end, 8 bytes][start, 8 bytes]
//
// So a segment is a contiguous key range, and expiring one is a single
// DeleteRange over it: one Pebble range deletion, or dropping one tree of
// the in-memory store, whatever the number of keys. DeleteRange is not
// logged; the changelog topic (compact,delete with a retention above the
// store's) drops the same records by itself. Within a segment the records
// of one key are contiguous and ordered by time, so fetching a key's
// windows is a bounded range scan per live segment.

// segmentIDSize is the width of the segment id in front of every key.
const segmentIDSize = 8

// defaultSegmentInterval is Kafka Streams' default for window and session
// stores: half the retention, and at least a minute.
func defaultSegmentInterval(retention time.Duration) time.Duration {
	return max(retention/2, time.Minute)
}

// segmentLayout says where a record's segment timestamp sits in its
// changelog key: it starts the suffix, of width suffix, that follows the
// user key (a window's start, a session's end).
type segmentLayout struct{ suffix int }

var (
	windowLayout  = segmentLayout{suffix: 8 + 4}
	sessionLayout = segmentLayout{suffix: 8 + 8}
)

// timestamp extracts the segment timestamp from a changelog key (without
// segment id); ok is false when the key is too short to hold the suffix.
func (l segmentLayout) timestamp(changelogKey []byte) (int64, bool) {
	n := len(changelogKey) - l.suffix
	if n < 0 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(changelogKey[n:])), true
}

// segments is the time bookkeeping of one window or session store, shared
// by its typed store, its task handle and its views. Only the task's
// goroutine writes it; views read observed atomically.
//
// A record is expired once its segment timestamp is at most observed -
// retention, observed being the largest segment timestamp the store was
// given (as Kafka Streams' observedStreamTime of a segmented store): reads
// do not return it, puts of it are dropped, and the segments wholly before
// the oldest live timestamp are deleted.
type segments struct {
	name      string
	layout    segmentLayout
	interval  int64 // milliseconds
	retention int64 // milliseconds
	// observed is -1 until a record is put or found in the store.
	observed atomic.Int64
	// live is the lowest segment id not yet deleted.
	live int64
	// bound buffers the DeleteRange bound.
	bound [segmentIDSize]byte
}

func newSegments(name string, layout segmentLayout, retention, interval time.Duration) *segments {
	s := &segments{name: name, layout: layout, interval: interval.Milliseconds(), retention: retention.Milliseconds()}
	s.observed.Store(-1)
	return s
}

// id returns the segment of timestamp ts ≥ 0.
func (s *segments) id(ts int64) int64 { return ts / s.interval }

// oldestLive returns the smallest segment timestamp that is not expired.
func oldestLive(observed, retention int64) int64 {
	if observed < 0 {
		return 0
	}
	return max(0, observed-retention+1)
}

// expired reports whether a record with segment timestamp ts is expired.
func (s *segments) expired(ts int64) bool {
	return ts < oldestLive(s.observed.Load(), s.retention)
}

// open reads observed back from the store's data when the store is
// built: the largest segment timestamp in its last segment. Segments of a
// Pebble store survive a restart, and without it reads would return
// records that expired before the restart until the next put. The
// segments that expired are deleted.
func (s *segments) open(src KeyValueBytesStore) error {
	it, err := src.ReverseRange(nil, nil)
	if err != nil {
		return err
	}
	var last []byte
	if it.Next() {
		last = bytes.Clone(it.Key())
	}
	if err := errors.Join(it.Err(), it.Close()); err != nil {
		return err
	}
	if len(last) < segmentIDSize {
		return nil
	}
	seg := last[:segmentIDSize]
	it, err = src.Range(seg, segmentBound(nil, int64(binary.BigEndian.Uint64(seg))+1))
	if err != nil {
		return err
	}
	top := int64(-1)
	for it.Next() {
		if ts, ok := s.layout.timestamp(it.Key()[segmentIDSize:]); ok && ts > top {
			top = ts
		}
	}
	if err := errors.Join(it.Err(), it.Close()); err != nil {
		return err
	}
	if top < 0 {
		return nil
	}
	return s.advance(top, src)
}

// advance records that a record with segment timestamp ts was written and
// deletes, through dst, the segments that expired because of it.
func (s *segments) advance(ts int64, dst KeyValueBytesStore) error {
	if ts <= s.observed.Load() {
		return nil
	}
	s.observed.Store(ts)
	live := s.id(oldestLive(ts, s.retention))
	if live <= s.live {
		return nil
	}
	// A nil lower bound also covers segments older than any this store
	// instance has seen, left by an earlier run.
	binary.BigEndian.PutUint64(s.bound[:], uint64(live))
	if err := dst.DeleteRange(nil, s.bound[:]); err != nil {
		return storeErr(s.name, "drop expired segments", err)
	}
	s.live = live
	return nil
}

// timeRange clamps [from, to] to the times that can hold live records:
// nothing is older than the oldest live timestamp or newer than observed.
// ok is false when nothing is left.
func (s *segments) timeRange(from, to int64) (int64, int64, bool) {
	observed := s.observed.Load()
	from = max(from, oldestLive(observed, s.retention))
	to = min(to, observed)
	return from, to, from <= to
}

// segmentBound appends the first key of segment id to dst.
func segmentBound(dst []byte, id int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(id))
}

// checkTimestamp rejects the negative times that segment ids cannot
// order; Kafka Streams never writes them either.
func checkTimestamp(store, op, what string, ts int64) error {
	if ts < 0 {
		return storeErr(store, op, fmt.Errorf("%s %d is negative", what, ts))
	}
	return nil
}

// segmentSpan is one segment's part of a range: [from, to) in bytes-store
// keys.
type segmentSpan struct{ from, to []byte }

// spanIterator walks the spans of consecutive segments of src in order
// (reverse: each span backwards, the spans from last to first).
func spanIterator(src ranger, spans []segmentSpan, reverse bool, keep func([]byte) bool) *chainIterator {
	return &chainIterator{n: len(spans), keep: keep, open: func(i int) (BytesIterator, error) {
		if reverse {
			return src.ReverseRange(spans[i].from, spans[i].to)
		}
		return src.Range(spans[i].from, spans[i].to)
	}}
}

// chainIterator walks n iterators one after the other, opening each only
// when the previous one is exhausted, as Kafka Streams' SegmentIterator
// does, and passes on the keys keep accepts (all, if keep is nil). So it
// reads each segment as it was when it reached it.
type chainIterator struct {
	n      int
	open   func(i int) (BytesIterator, error)
	keep   func(key []byte) bool
	cur    BytesIterator
	next   int
	err    error
	closed bool
}

func (it *chainIterator) Next() bool {
	if it.err != nil || it.closed {
		return false
	}
	for {
		if it.cur == nil {
			if it.next >= it.n {
				return false
			}
			cur, err := it.open(it.next)
			it.next++
			if err != nil {
				it.err = err
				return false
			}
			it.cur = cur
		}
		for it.cur.Next() {
			if it.keep == nil || it.keep(it.cur.Key()) {
				return true
			}
		}
		err := errors.Join(it.cur.Err(), it.cur.Close())
		it.cur = nil
		if err != nil {
			it.err = err
			return false
		}
	}
}

func (it *chainIterator) Key() []byte   { return it.cur.Key() }
func (it *chainIterator) Value() []byte { return it.cur.Value() }
func (it *chainIterator) Err() error    { return it.err }

func (it *chainIterator) Close() error {
	if it.closed {
		return nil
	}
	it.closed = true
	if it.cur != nil {
		err := it.cur.Close()
		it.cur = nil
		return err
	}
	return nil
}
