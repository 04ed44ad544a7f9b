package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// SessionStore is the typed session store processors use, as Kafka
// Streams' SessionStore: an aggregate per key and session, a session being
// a window [Start, End] (both included) that grows as records arrive
// within the inactivity gap of it. Session-windowed aggregations find the
// sessions a record falls into with FindSessions, merge them, Remove the
// old ones and Put the merged one.
//
// Sessions live in segments by their end time and expire with them: once
// the largest session end put exceeds a session's end by the store's
// retention, the session is no longer returned, a put of it is dropped,
// and wholly expired segments are deleted with one DeleteRange each,
// logging nothing. Session times are never negative.
//
// Like WindowStore, it reuses its key buffer and belongs to the task's
// goroutine; other goroutines read through a ReadOnlySessionStore.
type SessionStore[K, V any] struct {
	sessionReader[K, V]
	top  KeyValueBytesStore
	vbuf []byte
}

// sessionReader is the read side a SessionStore and its
// ReadOnlySessionStore share.
type sessionReader[K, V any] struct {
	name, topic string
	ks          serde.Serde[K]
	vs          serde.Serde[V]
	src         windowSource
	segs        *segments
	persistent  bool
	reuse       bool
	kbuf        []byte
}

// Name returns the store's name.
func (r *sessionReader[K, V]) Name() string { return r.name }

// Persistent reports whether the store keeps its data in Pebble.
func (r *sessionReader[K, V]) Persistent() bool { return r.persistent }

// Retention returns how long the store keeps a session after the largest
// session end it was given, in milliseconds.
func (r *sessionReader[K, V]) Retention() int64 { return r.segs.retention }

// ObservedStreamTime returns the largest session end the store was given
// or restored, -1 before any: the time its retention counts back from,
// and, a session ending at its latest record, the largest timestamp a
// session aggregation put in it.
func (r *sessionReader[K, V]) ObservedStreamTime() int64 { return r.segs.observed.Load() }

// sessionKey appends the bytes-store key of k's session [start, end].
func (r *sessionReader[K, V]) sessionKey(dst []byte, op string, k K, start, end int64) ([]byte, error) {
	dst = segmentBound(dst, r.segs.id(end))
	out, err := r.ks.Serialize(dst, r.topic, k)
	if err != nil {
		return nil, storeErr(r.name, op, fmt.Errorf("serialize key: %w", err))
	}
	if out == nil {
		out = dst
	}
	out = binary.BigEndian.AppendUint64(out, uint64(end))
	return binary.BigEndian.AppendUint64(out, uint64(start)), nil
}

// splitSessionKey splits a session store's bytes-store key into the user
// key's bytes and the session's times.
func splitSessionKey(key []byte) (k []byte, start, end int64, ok bool) {
	n := len(key) - sessionLayout.suffix
	if n < segmentIDSize {
		return nil, 0, 0, false
	}
	end = int64(binary.BigEndian.Uint64(key[n:]))
	start = int64(binary.BigEndian.Uint64(key[n+8:]))
	return key[segmentIDSize:n], start, end, true
}

func checkSession(store, op string, start, end int64) error {
	if start < 0 {
		return storeErr(store, op, fmt.Errorf("session start %d is negative", start))
	}
	if end < start {
		return storeErr(store, op, fmt.Errorf("session end %d is before its start %d", end, start))
	}
	return nil
}

// FetchSession returns the aggregate of k's session [start, end]; found is
// false when there is none or it expired.
func (r *sessionReader[K, V]) FetchSession(k K, start, end int64) (v V, found bool, err error) {
	if start < 0 || end < start || r.segs.expired(end) {
		return v, false, nil
	}
	var buf []byte
	if r.reuse {
		buf = r.kbuf[:0]
	}
	kb, err := r.sessionKey(buf, "fetch session", k, start, end)
	if err != nil {
		return v, false, err
	}
	if r.reuse {
		r.kbuf = kb
	}
	b, found, err := r.src.Get(kb)
	if err != nil || !found {
		return v, false, storeErr(r.name, "fetch session", err)
	}
	if v, err = r.vs.Deserialize(r.topic, b); err != nil {
		return v, false, storeErr(r.name, "fetch session", fmt.Errorf("deserialize value: %w", err))
	}
	return v, true, nil
}

// FindSessions iterates over k's sessions that end at or after
// earliestSessionEnd and start at or before latestSessionStart: the
// sessions a record at t falls into or extends, for t-gap and t+gap. They
// come by end time, the earliest first.
func (r *sessionReader[K, V]) FindSessions(k K, earliestSessionEnd, latestSessionStart int64) (*WindowedIterator[K, V], error) {
	return r.find("find sessions", k, earliestSessionEnd, latestSessionStart, false)
}

// BackwardFindSessions is FindSessions, the latest end first.
func (r *sessionReader[K, V]) BackwardFindSessions(k K, earliestSessionEnd, latestSessionStart int64) (*WindowedIterator[K, V], error) {
	return r.find("backward find sessions", k, earliestSessionEnd, latestSessionStart, true)
}

// Fetch iterates over all of k's live sessions, by end time.
func (r *sessionReader[K, V]) Fetch(k K) (*WindowedIterator[K, V], error) {
	return r.find("fetch", k, 0, math.MaxInt64, false)
}

// BackwardFetch is Fetch, the latest end first.
func (r *sessionReader[K, V]) BackwardFetch(k K) (*WindowedIterator[K, V], error) {
	return r.find("backward fetch", k, 0, math.MaxInt64, true)
}

func (r *sessionReader[K, V]) find(op string, k K, earliestEnd, latestStart int64, reverse bool) (*WindowedIterator[K, V], error) {
	from, to, ok := r.segs.timeRange(earliestEnd, math.MaxInt64)
	if !ok || latestStart < 0 {
		return r.iter(emptyIterator{}), nil
	}
	kb, err := r.ks.Serialize(nil, r.topic, k)
	if err != nil {
		return nil, storeErr(r.name, op, fmt.Errorf("serialize key: %w", err))
	}
	first, last := r.segs.id(from), r.segs.id(to)
	spans := make([]segmentSpan, 0, last-first+1)
	unit := 2*(segmentIDSize+len(kb)+sessionLayout.suffix) + 1
	buf := make([]byte, 0, int(last-first+1)*unit)
	for id := first; id <= last; id++ {
		lo := len(buf)
		buf = append(segmentBound(buf, id), kb...)
		buf = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(buf, uint64(from)), 0)
		mid := len(buf)
		buf = append(segmentBound(buf, id), kb...)
		buf = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(buf, math.MaxUint64), math.MaxUint64)
		buf = append(buf, 0)
		spans = append(spans, segmentSpan{from: buf[lo:mid:mid], to: buf[mid:len(buf):len(buf)]})
	}
	if reverse {
		reverseSpans(spans)
	}
	keep := func(key []byte) bool {
		if len(key) != segmentIDSize+len(kb)+sessionLayout.suffix || !bytes.Equal(key[segmentIDSize:segmentIDSize+len(kb)], kb) {
			return false
		}
		start := int64(binary.BigEndian.Uint64(key[len(key)-8:]))
		return start <= latestStart
	}
	return r.iter(spanIterator(r.src, spans, reverse, keep)), nil
}

// FindSessionsKeyRange is FindSessions for the keys from keyFrom to keyTo,
// both included, in the order of their serialized bytes: segment by
// segment, and within a segment by key and end.
func (r *sessionReader[K, V]) FindSessionsKeyRange(keyFrom, keyTo K, earliestSessionEnd, latestSessionStart int64) (*WindowedIterator[K, V], error) {
	return r.findKeyRange("find sessions key range", keyFrom, keyTo, earliestSessionEnd, latestSessionStart, false)
}

// BackwardFindSessionsKeyRange is FindSessionsKeyRange in reverse order.
func (r *sessionReader[K, V]) BackwardFindSessionsKeyRange(keyFrom, keyTo K, earliestSessionEnd, latestSessionStart int64) (*WindowedIterator[K, V], error) {
	return r.findKeyRange("backward find sessions key range", keyFrom, keyTo, earliestSessionEnd, latestSessionStart, true)
}

// FetchKeyRange iterates over all live sessions of the keys from keyFrom
// to keyTo.
func (r *sessionReader[K, V]) FetchKeyRange(keyFrom, keyTo K) (*WindowedIterator[K, V], error) {
	return r.findKeyRange("fetch key range", keyFrom, keyTo, 0, math.MaxInt64, false)
}

func (r *sessionReader[K, V]) findKeyRange(op string, keyFrom, keyTo K, earliestEnd, latestStart int64, reverse bool) (*WindowedIterator[K, V], error) {
	lo, err := r.ks.Serialize(nil, r.topic, keyFrom)
	if err != nil {
		return nil, storeErr(r.name, op, fmt.Errorf("serialize from key: %w", err))
	}
	hi, err := r.ks.Serialize(nil, r.topic, keyTo)
	if err != nil {
		return nil, storeErr(r.name, op, fmt.Errorf("serialize to key: %w", err))
	}
	from, to, ok := r.segs.timeRange(earliestEnd, math.MaxInt64)
	if !ok || latestStart < 0 || bytes.Compare(lo, hi) > 0 {
		return r.iter(emptyIterator{}), nil
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
		k, start, end, ok := splitSessionKey(key)
		return ok && end >= from && start <= latestStart && bytes.Compare(k, lo) >= 0 && bytes.Compare(k, hi) <= 0
	}
	return r.iter(spanIterator(r.src, spans, reverse, keep)), nil
}

// FindSessionsByEnd iterates over the sessions of every key that end in
// [earliestSessionEnd, latestSessionEnd], segment by segment, and within a
// segment by key and end, as Kafka Streams' findSessions by end times: how
// a session-windowed aggregation that emits on close finds the sessions
// that closed.
func (r *sessionReader[K, V]) FindSessionsByEnd(earliestSessionEnd, latestSessionEnd int64) (*WindowedIterator[K, V], error) {
	from, to, ok := r.segs.timeRange(earliestSessionEnd, latestSessionEnd)
	if !ok {
		return r.iter(emptyIterator{}), nil
	}
	spans := []segmentSpan{{from: segmentBound(nil, r.segs.id(from)), to: segmentBound(nil, r.segs.id(to)+1)}}
	keep := func(key []byte) bool {
		_, _, end, ok := splitSessionKey(key)
		return ok && end >= from && end <= to
	}
	return r.iter(spanIterator(r.src, spans, false, keep)), nil
}

// All iterates over every live session, by segment, key and end.
func (r *sessionReader[K, V]) All() (*WindowedIterator[K, V], error) { return r.all(false) }

// BackwardAll is All in reverse order.
func (r *sessionReader[K, V]) BackwardAll() (*WindowedIterator[K, V], error) { return r.all(true) }

func (r *sessionReader[K, V]) all(reverse bool) (*WindowedIterator[K, V], error) {
	from, to, ok := r.segs.timeRange(0, math.MaxInt64)
	if !ok {
		return r.iter(emptyIterator{}), nil
	}
	spans := []segmentSpan{{from: segmentBound(nil, r.segs.id(from)), to: segmentBound(nil, r.segs.id(to)+1)}}
	keep := func(key []byte) bool {
		_, _, end, ok := splitSessionKey(key)
		return ok && end >= from
	}
	return r.iter(spanIterator(r.src, spans, reverse, keep)), nil
}

func (r *sessionReader[K, V]) iter(it BytesIterator) *WindowedIterator[K, V] {
	return &WindowedIterator[K, V]{it: it, c: windowCodec[K, V]{name: r.name, topic: r.topic, ks: r.ks, vs: r.vs, session: true}}
}

// Put stores v as the aggregate of the session s, replacing any there. A
// session that already expired is not stored; a put can make older
// sessions expire.
func (s *SessionStore[K, V]) Put(session serde.Windowed[K], v V) error {
	if err := checkSession(s.name, "put", session.Start, session.End); err != nil {
		return err
	}
	if err := s.segs.advance(session.End, s.top); err != nil {
		return err
	}
	if s.segs.expired(session.End) {
		return nil
	}
	kb, err := s.sessionKey(s.kbuf[:0], "put", session.Key, session.Start, session.End)
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

// Remove deletes the session s. Removing a session that is not there
// writes nothing, so it logs no tombstone.
func (s *SessionStore[K, V]) Remove(session serde.Windowed[K]) error {
	if err := checkSession(s.name, "remove", session.Start, session.End); err != nil {
		return err
	}
	kb, err := s.sessionKey(s.kbuf[:0], "remove", session.Key, session.Start, session.End)
	if err != nil {
		return err
	}
	s.kbuf = kb
	if _, found, err := s.top.Get(kb); err != nil || !found {
		return storeErr(s.name, "remove", err)
	}
	return s.top.Delete(kb)
}

// GetSessionStore returns the session store called name, reachable
// through g, with keys K and aggregates V. A store of another kind, or
// with other types, yields an error wrapping ErrWrongStoreType.
func GetSessionStore[K, V any](g processor.StoreGetter, name string) (*SessionStore[K, V], error) {
	return getStore[*SessionStore[K, V]](g, name)
}
