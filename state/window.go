package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// WindowStore is the typed window store processors use, as Kafka Streams'
// WindowStore: a value per key and window, the window named by its start
// time in milliseconds. Windowed aggregations keep their results in one;
// stream-stream joins keep each side's records in one that retains
// duplicates.
//
// Records live in time segments (see the layout in window_segments.go) and
// expire with their segment: once the largest window start put exceeds a
// window's start by the store's retention, the window is no longer
// returned, a put of it is dropped, and the segments wholly expired are
// deleted with one DeleteRange each, which writes nothing to the
// changelog. Fetches take time ranges with both ends included, as Kafka
// Streams' do, and iterate in time order per key (Fetch) or in segment and
// key order (FetchAll, All); the Backward variants in reverse.
//
// Window starts are never negative. Like KeyValueStore, a WindowStore
// reuses its key buffer and belongs to the goroutine of its task; other
// goroutines read through a ReadOnlyWindowStore. Processors cannot flush or
// close it.
type WindowStore[K, V any] struct {
	windowReader[K, V]
	top  KeyValueBytesStore
	seq  uint32
	vbuf []byte
	// plain is, for a timestamped store, the same store seen with plain
	// values.
	plain any
}

// TimestampedWindowStore is a window store whose values carry the
// timestamp of the record that last wrote them, as Kafka Streams'
// TimestampedWindowStore: the store of the DSL's windowed aggregations.
type TimestampedWindowStore[K, V any] = WindowStore[K, ValueAndTimestamp[V]]

// windowSource is what reading a window or session store needs of the
// bytes below it: a bytes store (the typed store) or a view.
type windowSource interface {
	Get(key []byte) ([]byte, bool, error)
	Range(from, to []byte) (BytesIterator, error)
	ReverseRange(from, to []byte) (BytesIterator, error)
}

// windowReader is the read side a WindowStore and its ReadOnlyWindowStore
// share.
type windowReader[K, V any] struct {
	name, topic string
	ks          serde.Serde[K]
	vs          serde.Serde[V]
	size        int64 // window size, ms: a Windowed key's End is Start + size
	src         windowSource
	segs        *segments
	persistent  bool
	// duplicates is set for a store that retains duplicates: each put adds
	// a record under a new sequence number.
	duplicates bool
	// reuse is set for the typed store, whose key buffer kbuf serves every
	// call; a view, read from many goroutines, allocates instead.
	reuse bool
	kbuf  []byte
}

// Name returns the store's name.
func (r *windowReader[K, V]) Name() string { return r.name }

// Persistent reports whether the store keeps its data in Pebble.
func (r *windowReader[K, V]) Persistent() bool { return r.persistent }

func (s *WindowStore[K, V]) plainStore() any { return s.plain }

// WindowSize returns the size of the store's windows, in milliseconds.
func (r *windowReader[K, V]) WindowSize() int64 { return r.size }

// Retention returns how long the store keeps a window after the largest
// window start it was given, in milliseconds.
func (r *windowReader[K, V]) Retention() int64 { return r.segs.retention }

// ObservedStreamTime returns the largest window start the store was given
// or restored, -1 before any: the time its retention counts back from.
// Windowed processors read the stream time they had before a restart from
// the windows that start there.
func (r *windowReader[K, V]) ObservedStreamTime() int64 { return r.segs.observed.Load() }

// windowKey appends the bytes-store key of (k, start, seq) to dst.
func (r *windowReader[K, V]) windowKey(dst []byte, op string, k K, start int64, seq uint32) ([]byte, error) {
	dst = segmentBound(dst, r.segs.id(start))
	out, err := r.ks.Serialize(dst, r.topic, k)
	if err != nil {
		return nil, storeErr(r.name, op, fmt.Errorf("serialize key: %w", err))
	}
	if out == nil {
		out = dst
	}
	out = binary.BigEndian.AppendUint64(out, uint64(start))
	return binary.BigEndian.AppendUint32(out, seq), nil
}

func (r *windowReader[K, V]) keyBuf() []byte {
	if r.reuse {
		return r.kbuf[:0]
	}
	return nil
}

func (r *windowReader[K, V]) decodeValue(op string, b []byte) (V, error) {
	v, err := r.vs.Deserialize(r.topic, b)
	if err != nil {
		return v, storeErr(r.name, op, fmt.Errorf("deserialize value: %w", err))
	}
	return v, nil
}

// Get returns the value of k's window starting at windowStart, as Kafka
// Streams' fetch(key, time); found is false when there is none or it
// expired. In a store that retains duplicates it is the first one put.
func (r *windowReader[K, V]) Get(k K, windowStart int64) (v V, found bool, err error) {
	if windowStart < 0 || r.segs.expired(windowStart) {
		return v, false, nil
	}
	if r.duplicates {
		it, err := r.fetch("get", k, windowStart, windowStart, false)
		if err != nil {
			return v, false, err
		}
		defer it.Close()
		if it.Next() {
			return it.Value(), true, nil
		}
		return v, false, it.Err()
	}
	kb, err := r.windowKey(r.keyBuf(), "get", k, windowStart, 0)
	if err != nil {
		return v, false, err
	}
	if r.reuse {
		r.kbuf = kb
	}
	b, found, err := r.src.Get(kb)
	if err != nil || !found {
		return v, false, storeErr(r.name, "get", err)
	}
	v, err = r.decodeValue("get", b)
	return v, err == nil, err
}

// Fetch iterates over k's windows whose start is in [timeFrom, timeTo],
// both included, oldest first.
func (r *windowReader[K, V]) Fetch(k K, timeFrom, timeTo int64) (*WindowStoreIterator[V], error) {
	return r.fetch("fetch", k, timeFrom, timeTo, false)
}

// BackwardFetch is Fetch, newest first.
func (r *windowReader[K, V]) BackwardFetch(k K, timeFrom, timeTo int64) (*WindowStoreIterator[V], error) {
	return r.fetch("backward fetch", k, timeFrom, timeTo, true)
}

func (r *windowReader[K, V]) fetch(op string, k K, from, to int64, reverse bool) (*WindowStoreIterator[V], error) {
	from, to, ok := r.segs.timeRange(from, to)
	if !ok {
		return r.windowIter(emptyIterator{}), nil
	}
	kb, err := r.ks.Serialize(nil, r.topic, k)
	if err != nil {
		return nil, storeErr(r.name, op, fmt.Errorf("serialize key: %w", err))
	}
	first, last := r.segs.id(from), r.segs.id(to)
	spans := make([]segmentSpan, 0, last-first+1)
	unit := 2*(segmentIDSize+windowLayout.suffix) + 2*len(kb) + 1
	buf := make([]byte, 0, int(last-first+1)*unit)
	for id := first; id <= last; id++ {
		lo := len(buf)
		buf = append(segmentBound(buf, id), kb...)
		buf = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(buf, uint64(from)), 0)
		mid := len(buf)
		buf = append(segmentBound(buf, id), kb...)
		buf = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(buf, uint64(to)), math.MaxUint32)
		// The first key after (to, the last sequence number).
		buf = append(buf, 0)
		spans = append(spans, segmentSpan{from: buf[lo:mid:mid], to: buf[mid:len(buf):len(buf)]})
	}
	if reverse {
		reverseSpans(spans)
	}
	keep := func(key []byte) bool {
		return len(key) == segmentIDSize+len(kb)+windowLayout.suffix && bytes.Equal(key[segmentIDSize:segmentIDSize+len(kb)], kb)
	}
	return r.windowIter(spanIterator(r.src, spans, reverse, keep)), nil
}

func reverseSpans(spans []segmentSpan) {
	for i, j := 0, len(spans)-1; i < j; i, j = i+1, j-1 {
		spans[i], spans[j] = spans[j], spans[i]
	}
}

// FetchKeyRange iterates over the windows of the keys from keyFrom to
// keyTo (both included, in the order of their serialized bytes) whose
// start is in [timeFrom, timeTo], segment by segment, and within a segment
// by key and start.
func (r *windowReader[K, V]) FetchKeyRange(keyFrom, keyTo K, timeFrom, timeTo int64) (*WindowedIterator[K, V], error) {
	return r.fetchKeyRange("fetch key range", keyFrom, keyTo, timeFrom, timeTo, false)
}

// BackwardFetchKeyRange is FetchKeyRange in reverse order.
func (r *windowReader[K, V]) BackwardFetchKeyRange(keyFrom, keyTo K, timeFrom, timeTo int64) (*WindowedIterator[K, V], error) {
	return r.fetchKeyRange("backward fetch key range", keyFrom, keyTo, timeFrom, timeTo, true)
}

func (r *windowReader[K, V]) fetchKeyRange(op string, keyFrom, keyTo K, from, to int64, reverse bool) (*WindowedIterator[K, V], error) {
	lo, err := r.ks.Serialize(nil, r.topic, keyFrom)
	if err != nil {
		return nil, storeErr(r.name, op, fmt.Errorf("serialize from key: %w", err))
	}
	hi, err := r.ks.Serialize(nil, r.topic, keyTo)
	if err != nil {
		return nil, storeErr(r.name, op, fmt.Errorf("serialize to key: %w", err))
	}
	from, to, ok := r.segs.timeRange(from, to)
	if !ok || bytes.Compare(lo, hi) > 0 {
		return r.windowedIter(emptyIterator{}), nil
	}
	first, last := r.segs.id(from), r.segs.id(to)
	spans := make([]segmentSpan, 0, last-first+1)
	for id := first; id <= last; id++ {
		spans = append(spans, segmentSpan{from: append(segmentBound(nil, id), lo...), to: segmentBound(nil, id+1)})
	}
	if reverse {
		reverseSpans(spans)
	}
	keep := func(key []byte) bool {
		k, ts, ok := splitWindowKey(key)
		return ok && ts >= from && ts <= to && bytes.Compare(k, lo) >= 0 && bytes.Compare(k, hi) <= 0
	}
	return r.windowedIter(spanIterator(r.src, spans, reverse, keep)), nil
}

// FetchAll iterates over every window whose start is in [timeFrom,
// timeTo], segment by segment, and within a segment by key and start.
func (r *windowReader[K, V]) FetchAll(timeFrom, timeTo int64) (*WindowedIterator[K, V], error) {
	return r.fetchAll("fetch all", timeFrom, timeTo, false)
}

// BackwardFetchAll is FetchAll in reverse order.
func (r *windowReader[K, V]) BackwardFetchAll(timeFrom, timeTo int64) (*WindowedIterator[K, V], error) {
	return r.fetchAll("backward fetch all", timeFrom, timeTo, true)
}

// All iterates over every live window, as FetchAll over all time.
func (r *windowReader[K, V]) All() (*WindowedIterator[K, V], error) {
	return r.fetchAll("all", 0, math.MaxInt64, false)
}

// BackwardAll is All in reverse order.
func (r *windowReader[K, V]) BackwardAll() (*WindowedIterator[K, V], error) {
	return r.fetchAll("backward all", 0, math.MaxInt64, true)
}

func (r *windowReader[K, V]) fetchAll(op string, from, to int64, reverse bool) (*WindowedIterator[K, V], error) {
	from, to, ok := r.segs.timeRange(from, to)
	if !ok {
		return r.windowedIter(emptyIterator{}), nil
	}
	spans := []segmentSpan{{from: segmentBound(nil, r.segs.id(from)), to: segmentBound(nil, r.segs.id(to)+1)}}
	keep := func(key []byte) bool {
		_, ts, ok := splitWindowKey(key)
		return ok && ts >= from && ts <= to
	}
	it := spanIterator(r.src, spans, reverse, keep)
	return r.windowedIter(it), nil
}

// splitWindowKey splits a window store's bytes-store key into the user
// key's bytes and the window start.
func splitWindowKey(key []byte) (k []byte, start int64, ok bool) {
	n := len(key) - windowLayout.suffix
	if n < segmentIDSize {
		return nil, 0, false
	}
	return key[segmentIDSize:n], int64(binary.BigEndian.Uint64(key[n:])), true
}

func (r *windowReader[K, V]) windowIter(it BytesIterator) *WindowStoreIterator[V] {
	return &WindowStoreIterator[V]{it: it, name: r.name, topic: r.topic, vs: r.vs}
}

func (r *windowReader[K, V]) windowedIter(it BytesIterator) *WindowedIterator[K, V] {
	return &WindowedIterator[K, V]{it: it, c: windowCodec[K, V]{name: r.name, topic: r.topic, ks: r.ks, vs: r.vs, size: r.size}}
}

// windowCodec is what iterators need to decode records.
type windowCodec[K, V any] struct {
	name, topic string
	ks          serde.Serde[K]
	vs          serde.Serde[V]
	size        int64
	session     bool
}

// Put stores v as k's value in the window starting at windowStart, or,
// in a store that retains duplicates, adds it beside the ones there. A
// window that already expired is not stored (Kafka Streams drops it too);
// a put can make older windows expire.
func (s *WindowStore[K, V]) Put(k K, v V, windowStart int64) error {
	if err := checkTimestamp(s.name, "put", "window start", windowStart); err != nil {
		return err
	}
	if err := s.segs.advance(windowStart, s.top); err != nil {
		return err
	}
	if s.segs.expired(windowStart) {
		return nil
	}
	var seq uint32
	if s.duplicates {
		// As Kafka Streams: a positive 31-bit counter.
		s.seq = (s.seq + 1) & math.MaxInt32
		seq = s.seq
	}
	kb, err := s.windowKey(s.kbuf[:0], "put", k, windowStart, seq)
	if err != nil {
		return err
	}
	s.kbuf = kb
	vb, err := s.vs.Serialize(s.vbuf[:0], s.topic, v)
	if err != nil {
		return storeErr(s.name, "put", fmt.Errorf("serialize value: %w", err))
	}
	s.vbuf = vb
	if vb == nil {
		vb = emptyValue
	}
	return s.top.Put(kb, vb)
}

// Delete removes k's window starting at windowStart, as Kafka Streams'
// put of a null. Like a put, it counts as seeing that window start. A
// store that retains duplicates ignores deletes, as Kafka Streams does:
// its records leave only by expiring.
func (s *WindowStore[K, V]) Delete(k K, windowStart int64) error {
	if err := checkTimestamp(s.name, "delete", "window start", windowStart); err != nil {
		return err
	}
	if s.duplicates {
		return nil
	}
	if err := s.segs.advance(windowStart, s.top); err != nil {
		return err
	}
	if s.segs.expired(windowStart) {
		return nil
	}
	kb, err := s.windowKey(s.kbuf[:0], "delete", k, windowStart, 0)
	if err != nil {
		return err
	}
	s.kbuf = kb
	if _, found, err := s.top.Get(kb); err != nil || !found {
		return storeErr(s.name, "delete", err)
	}
	return s.top.Delete(kb)
}

// WindowStoreIterator walks one key's windows: Start is the window's
// start, Value its value. Call Next before the first Start; when Next
// returns false, Err says whether iteration stopped on an error. Close must
// be called.
type WindowStoreIterator[V any] struct {
	it          BytesIterator
	name, topic string
	vs          serde.Serde[V]
	start       int64
	value       V
	err         error
}

// Next moves to the next window.
func (it *WindowStoreIterator[V]) Next() bool {
	if it.err != nil {
		return false
	}
	if !it.it.Next() {
		if err := it.it.Err(); err != nil {
			it.err = storeErr(it.name, "iterate", err)
		}
		return false
	}
	_, start, ok := splitWindowKey(it.it.Key())
	if !ok {
		it.err = storeErr(it.name, "iterate", fmt.Errorf("store key of %d bytes is too short", len(it.it.Key())))
		return false
	}
	v, err := it.vs.Deserialize(it.topic, it.it.Value())
	if err != nil {
		it.err = storeErr(it.name, "iterate", fmt.Errorf("deserialize value: %w", err))
		return false
	}
	it.start, it.value = start, v
	return true
}

// Start returns the current window's start.
func (it *WindowStoreIterator[V]) Start() int64 { return it.start }

// Value returns the current window's value.
func (it *WindowStoreIterator[V]) Value() V { return it.value }

// Err returns the error that stopped iteration, or nil.
func (it *WindowStoreIterator[V]) Err() error { return it.err }

// Close releases the iterator.
func (it *WindowStoreIterator[V]) Close() error { return it.it.Close() }

// WindowedIterator walks windows of several keys (or sessions): Key is the
// key with its window, Value the window's value. Call Next before the first
// Key; when Next returns false, Err says whether iteration stopped on an
// error. Close must be called.
type WindowedIterator[K, V any] struct {
	it    BytesIterator
	c     windowCodec[K, V]
	key   serde.Windowed[K]
	value V
	err   error
}

// Next moves to the next window and decodes it and its value.
func (it *WindowedIterator[K, V]) Next() bool {
	if it.err != nil {
		return false
	}
	if !it.it.Next() {
		if err := it.it.Err(); err != nil {
			it.err = storeErr(it.c.name, "iterate", err)
		}
		return false
	}
	key := it.it.Key()
	var kb []byte
	var w serde.Windowed[K]
	if it.c.session {
		var ok bool
		if kb, w.Start, w.End, ok = splitSessionKey(key); !ok {
			it.err = storeErr(it.c.name, "iterate", fmt.Errorf("store key of %d bytes is too short", len(key)))
			return false
		}
	} else {
		var ok bool
		if kb, w.Start, ok = splitWindowKey(key); !ok {
			it.err = storeErr(it.c.name, "iterate", fmt.Errorf("store key of %d bytes is too short", len(key)))
			return false
		}
		w.End = addSaturated(w.Start, it.c.size)
	}
	k, err := it.c.ks.Deserialize(it.c.topic, kb)
	if err != nil {
		it.err = storeErr(it.c.name, "iterate", fmt.Errorf("deserialize key: %w", err))
		return false
	}
	w.Key = k
	v, err := it.c.vs.Deserialize(it.c.topic, it.it.Value())
	if err != nil {
		it.err = storeErr(it.c.name, "iterate", fmt.Errorf("deserialize value: %w", err))
		return false
	}
	it.key, it.value = w, v
	return true
}

// addSaturated is a+b for b ≥ 0, at most the largest int64.
func addSaturated(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxInt64
}

// Key returns the current key and its window.
func (it *WindowedIterator[K, V]) Key() serde.Windowed[K] { return it.key }

// Value returns the current value.
func (it *WindowedIterator[K, V]) Value() V { return it.value }

// Err returns the error that stopped iteration, or nil.
func (it *WindowedIterator[K, V]) Err() error { return it.err }

// Close releases the iterator.
func (it *WindowedIterator[K, V]) Close() error { return it.it.Close() }

// GetWindowStore returns the window store called name, reachable through
// g, with keys K and values V. A timestamped window store can be had as
// itself (values ValueAndTimestamp[V]) or with plain values V, as with
// GetKeyValueStore. A store of another kind, or with other types, yields
// an error wrapping ErrWrongStoreType.
func GetWindowStore[K, V any](g processor.StoreGetter, name string) (*WindowStore[K, V], error) {
	return getStore[*WindowStore[K, V]](g, name)
}

// GetTimestampedWindowStore returns the timestamped window store called
// name: GetWindowStore with values ValueAndTimestamp[V].
func GetTimestampedWindowStore[K, V any](g processor.StoreGetter, name string) (*TimestampedWindowStore[K, V], error) {
	return GetWindowStore[K, ValueAndTimestamp[V]](g, name)
}
