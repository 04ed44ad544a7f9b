package dsl

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// Join joins the stream with other on their keys within windows, as Kafka
// Streams' KStream#join(KStream, ValueJoiner, JoinWindows): each record
// joins every record of the other stream with its key whose timestamp the
// windows admit, whichever arrives first, and a result has the later of
// the two timestamps and the key. Records with a null key or value are
// dropped and counted; records later than the grace period are not kept
// for later records to join.
//
// Each side's records are kept in a window store that retains duplicates,
// named after the join's nodes, or StreamJoined's WithStoreName, with
// "-store"; their changelogs are on unless WithLoggingDisabled. The
// streams must be co-partitioned; a stream whose key may have changed goes
// through a repartition topic first, "<name>-left-repartition" (and
// "-right-") after StreamJoined's name, or after the stream's node.
// StreamJoinedWith gives the serdes of both.
func (s KStream[K, V]) Join[VO, VR any](other KStream[K, VO], joiner func(value V, other VO) VR, windows JoinWindows, opts ...StreamJoined[K, V, VO]) KStream[K, VR] {
	return streamStreamJoin(s, other, innerJoin, func(v V, _ bool, o VO, _ bool) VR { return joiner(v, o) }, windows, "Join", opts)
}

// LeftJoin is Join keeping the records of this stream that join nothing:
// the joiner is called for them with found false and the zero VO, once
// their window has closed (see JoinWindows), with their own timestamp.
// Records with a null key are joined with nothing at once and keep their
// null key.
func (s KStream[K, V]) LeftJoin[VO, VR any](other KStream[K, VO], joiner func(value V, other VO, found bool) VR, windows JoinWindows, opts ...StreamJoined[K, V, VO]) KStream[K, VR] {
	return streamStreamJoin(s, other, leftJoin, func(v V, _ bool, o VO, ok bool) VR { return joiner(v, o, ok) }, windows, "LeftJoin", opts)
}

// OuterJoin is Join keeping the records of either stream that join
// nothing: the joiner is called for them with found (or otherFound) false
// and a zero value for the other side, once their window has closed.
func (s KStream[K, V]) OuterJoin[VO, VR any](other KStream[K, VO], joiner func(value V, found bool, other VO, otherFound bool) VR, windows JoinWindows, opts ...StreamJoined[K, V, VO]) KStream[K, VR] {
	return streamStreamJoin(s, other, outerJoin, joiner, windows, "OuterJoin", opts)
}

// streamStreamJoin adds the join's nodes as Kafka Streams does: one per
// side, which keeps the side's records and joins them with the other
// side's, and a merging node that is the result. A left or outer join
// keeps the records that have joined nothing yet in a store of both
// sides' (the outer store), in time order, until their windows close.
func streamStreamJoin[K, V, VO, VR any](s KStream[K, V], other KStream[K, VO], kind joinKind, joiner func(V, bool, VO, bool) VR, windows JoinWindows, op string, opts []StreamJoined[K, V, VO]) KStream[K, VR] {
	b := s.b
	c := merge(opts)
	if err := windows.check(); err != nil {
		b.fail("%s: %v", op, err)
	}
	ks, err := pickSerde(c.keySerde, s.ks)
	if err != nil {
		b.fail("%s: key %w", op, err)
	}
	vs, err := pickSerde(c.valueSerde, s.vs)
	if err != nil {
		b.fail("%s: value %w", op, err)
	}
	vos, err := pickSerde(c.otherValueSerde, other.vs)
	if err != nil {
		b.fail("%s: other value %w", op, err)
	}
	if s.rekeyed {
		s = joinRepartition(s, c, "-left", ks, vs, op)
	}
	if other.rekeyed {
		other = joinRepartition(other, c, "-right", ks, vos, op)
	}

	leftOuter, rightOuter := kind != innerJoin, kind == outerJoin
	thisPrefix, thisSuffix := "KSTREAM-JOINTHIS", "-this-join"
	if rightOuter {
		thisPrefix, thisSuffix = "KSTREAM-OUTERTHIS", "-outer-this-join"
	}
	otherPrefix, otherSuffix := "KSTREAM-JOINOTHER", "-other-join"
	if leftOuter {
		otherPrefix, otherSuffix = "KSTREAM-OUTEROTHER", "-outer-other-join"
	}
	thisName, otherName := b.generate(thisPrefix), b.generate(otherPrefix)
	mergeName := b.generate("KSTREAM-MERGE")
	if c.name != "" {
		thisName, otherName, mergeName = c.name+thisSuffix, c.name+otherSuffix, c.name+"-merge"
	}
	b.only(mergeName, op, c, setName|setKeySerde|setValueSerde|setOtherValueSerde|setStore|setNoLogging)
	thisStore, otherStore, outerStore := thisName+"-store", otherName+"-store", thisName+"-outer-shared-join-store"
	if c.store != "" {
		thisStore, otherStore, outerStore = c.store+thisSuffix+"-store", c.store+otherSuffix+"-store", c.store+"-outer-shared-join-store"
	}
	if !leftOuter {
		outerStore = ""
	}
	if ks == nil || vs == nil || vos == nil {
		b.fail("%w: %s %q keeps both streams' records in stores and needs serdes for their keys and values: pass them with dsl.StreamJoinedWith", errMissingSerde, op, mergeName)
	}

	clocks := &joinClocks{m: map[processor.TaskID]*joinClock{}}
	w := windows
	b.topo.AddProcessor(thisName, supply(func() processor.Processor[K, V, K, VR] {
		return &streamJoinProc[K, V, VO, VR]{
			thisStore: thisStore, otherStore: otherStore, outerStore: outerStore,
			before: w.before, after: w.after, grace: w.grace, winBefore: w.before, winAfter: w.after,
			outerSide: leftOuter, left: true, joiner: joiner, ks: ks, as: vs, bs: vos, clocks: clocks,
		}
	}), s.node)
	b.topo.AddProcessor(otherName, supply(func() processor.Processor[K, VO, K, VR] {
		return &streamJoinProc[K, VO, V, VR]{
			thisStore: otherStore, otherStore: thisStore, outerStore: outerStore,
			before: w.after, after: w.before, grace: w.grace, winBefore: w.before, winAfter: w.after,
			outerSide: rightOuter, left: false, ks: ks, as: vos, bs: vs, clocks: clocks,
			joiner: func(o VO, ook bool, v V, vok bool) VR { return joiner(v, vok, o, ook) },
		}
	}), other.node)
	// Each side writes its store and reads the other's.
	retention := time.Duration(windows.size()+windows.grace) * time.Millisecond
	size := time.Duration(windows.size()) * time.Millisecond
	addWindowStore(b, c, thisStore, retention, size, ks, vs, thisName, otherName)
	addWindowStore(b, c, otherStore, retention, size, ks, vos, otherName, thisName)
	if outerStore != "" {
		sb := state.KeyValueStoreBuilder(outerStore, serde.Bytes, serde.Bytes)
		if c.set&setNoLogging != 0 {
			sb = sb.WithLoggingDisabled()
		}
		b.topo.AddStateStore(sb, thisName, otherName)
	}
	b.topo.AddProcessor(mergeName, supply(func() processor.Processor[K, VR, K, VR] {
		return &passThrough[K, VR]{}
	}), thisName, otherName)
	out := newStream[K, VR](b, mergeName, ks, nil, false)
	out.topics = copartition(b, s.topics, other.topics)
	return out
}

// joinRepartition writes a side of a join through a repartition topic,
// named after the join with suffix, or after the side's node.
func joinRepartition[K, V any](s KStream[K, V], c options, suffix string, ks serde.Serde[K], vs serde.Serde[V], op string) KStream[K, V] {
	prefix, named := c.name+suffix, c.name != ""
	if !named {
		prefix = s.node
	}
	topic := prefix + "-repartition"
	if ks == nil || vs == nil {
		s.b.fail("%w: %s repartitions a stream through %q, which has no %s serde: pass them with dsl.StreamJoinedWith", errMissingSerde, op, topic, missing(ks == nil, vs == nil))
	}
	src := repartition(s.b, s.node, prefix, named, ks, vs, 0)
	return KStream[K, V]{b: s.b, node: src, ks: ks, vs: vs, topics: []string{topic}}
}

// addWindowStore adds the window store of one side of a stream-stream
// join, keeping duplicates: every record of the side within retention.
func addWindowStore[K, V any](b *Builder, c options, store string, retention, size time.Duration, ks serde.Serde[K], vs serde.Serde[V], nodes ...string) {
	sb := state.WindowStoreBuilder(store, retention, size, ks, vs).WithRetainDuplicates()
	if c.set&setNoLogging != 0 {
		sb = sb.WithLoggingDisabled()
	}
	b.topo.AddStateStore(sb, nodes...)
}

// joinClock is the stream time of one task's stream-stream join, which both
// sides advance (Kafka Streams' TimeTracker), and the earliest time of a
// record in the outer store, if known.
type joinClock struct {
	streamTime, minTime int64
	refs                int
}

// joinClocks hands the two sides of a join in one task the same clock.
// Tasks are built on their threads' goroutines, hence the lock.
type joinClocks struct {
	mu sync.Mutex
	m  map[processor.TaskID]*joinClock
}

func (c *joinClocks) get(id processor.TaskID) *joinClock {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.m[id]
	if t == nil {
		t = &joinClock{streamTime: -1, minTime: math.MaxInt64}
		c.m[id] = t
	}
	t.refs++
	return t
}

func (c *joinClocks) release(id processor.TaskID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.m[id]; t != nil {
		if t.refs--; t.refs == 0 {
			delete(c.m, id)
		}
	}
}

// streamJoinProc is one side of a stream-stream join (this side, values
// A; the other, values B), as Kafka Streams' KStreamKStreamJoin: it keeps
// this side's records in its window store and joins each with the other
// side's records in the window from ts - before to ts + after, before and
// after seen from this side. An outer side keeps the records that joined
// nothing in the outer store until their window closes.
type streamJoinProc[K, A, B, VR any] struct {
	base[K, VR]
	thisStore, otherStore, outerStore string
	this                              *state.WindowStore[K, A]
	other                             *state.WindowStore[K, B]
	outer                             *state.KeyValueStore[[]byte, []byte]
	before, after, grace              int64
	// winBefore and winAfter are the windows' own, for the look-back of
	// the outer store's records of each side.
	winBefore, winAfter int64
	outerSide, left     bool
	joiner              func(A, bool, B, bool) VR
	ks                  serde.Serde[K]
	as                  serde.Serde[A]
	bs                  serde.Serde[B]
	clocks              *joinClocks
	clock               *joinClock
	id                  processor.TaskID
	kbuf, okey, vbuf    []byte
	done                [][]byte
}

func (p *streamJoinProc[K, A, B, VR]) Init(ctx processor.Context[K, VR]) error {
	p.ctx = ctx
	var err error
	if p.this, err = state.GetWindowStore[K, A](ctx, p.thisStore); err != nil {
		return err
	}
	if p.other, err = state.GetWindowStore[K, B](ctx, p.otherStore); err != nil {
		return err
	}
	if p.outerStore != "" {
		if p.outer, err = state.GetKeyValueStore[[]byte, []byte](ctx, p.outerStore); err != nil {
			return err
		}
	}
	p.id = ctx.TaskID()
	p.clock = p.clocks.get(p.id)
	return nil
}

func (p *streamJoinProc[K, A, B, VR]) Close() error {
	p.clocks.release(p.id)
	return nil
}

func (p *streamJoinProc[K, A, B, VR]) Process(rec processor.Record[K, A]) error {
	ts := rec.Timestamp
	if ts > p.clock.streamTime {
		p.clock.streamTime = ts
	}
	var noB B
	switch {
	case rec.NullValue:
		p.ctx.DropRecord(processor.DropNullValue)
		return nil
	case rec.NullKey && p.outerSide:
		return p.ctx.Forward(processor.Record[K, VR]{Value: p.joiner(rec.Value, true, noB, false), Timestamp: ts, Headers: rec.Headers, NullKey: true})
	case rec.NullKey:
		p.ctx.DropRecord(processor.DropNullKey)
		return nil
	}
	if err := p.this.Put(rec.Key, rec.Value, ts); err != nil {
		return err
	}
	if p.outer != nil && ts == p.clock.streamTime {
		if err := p.emitClosed(); err != nil {
			return err
		}
	}
	from, to := max(0, ts-p.before), max(0, ts+p.after)
	it, err := p.other.Fetch(rec.Key, from, to)
	if err != nil {
		return err
	}
	matched := false
	out := processor.Record[K, VR]{Key: rec.Key, Headers: rec.Headers}
	for it.Next() {
		matched = true
		if p.outer != nil {
			// The other record has a partner now: it will not be emitted
			// alone.
			if err := p.deleteOuter(it.Start(), !p.left, rec.Key); err != nil {
				it.Close()
				return err
			}
		}
		out.Value, out.Timestamp = p.joiner(rec.Value, true, it.Value(), true), max(ts, it.Start())
		if err := p.ctx.Forward(out); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Err(); err != nil {
		it.Close()
		return err
	}
	if err := it.Close(); err != nil {
		return err
	}
	if matched || !p.outerSide {
		return nil
	}
	if p.outer == nil || to < p.clock.streamTime {
		// Its window closed already: no partner can come.
		out.Value, out.Timestamp = p.joiner(rec.Value, true, noB, false), ts
		return p.ctx.Forward(out)
	}
	p.clock.minTime = min(p.clock.minTime, ts)
	return p.putOuter(ts, rec.Key, rec.Value)
}

// The outer store's keys order its records by time: the record's
// timestamp (8 bytes, big-endian), its side (0 left, 1 right), then its
// key's bytes. Its values are lists of values, each its length (uvarint)
// and its bytes as the side's serde writes them: records of one key, side
// and time share an entry.
func (p *streamJoinProc[K, A, B, VR]) outerKey(ts int64, left bool, key K) ([]byte, error) {
	var err error
	if p.kbuf, err = p.ks.Serialize(p.kbuf[:0], "", key); err != nil {
		return nil, err
	}
	side := byte(1)
	if left {
		side = 0
	}
	p.okey = append(append(binary.BigEndian.AppendUint64(p.okey[:0], uint64(ts)), side), p.kbuf...)
	return p.okey, nil
}

func (p *streamJoinProc[K, A, B, VR]) putOuter(ts int64, key K, v A) error {
	k, err := p.outerKey(ts, p.left, key)
	if err != nil {
		return err
	}
	list, _, err := p.outer.Get(k)
	if err != nil {
		return err
	}
	p.vbuf = append(p.vbuf[:0], list...)
	at := len(p.vbuf)
	if p.vbuf, err = p.as.Serialize(p.vbuf, "", v); err != nil {
		return err
	}
	n := len(p.vbuf) - at
	// Prefix the value with its length: move it up.
	var lb [binary.MaxVarintLen64]byte
	w := binary.PutUvarint(lb[:], uint64(n))
	p.vbuf = append(p.vbuf, lb[:w]...)
	copy(p.vbuf[at+w:], p.vbuf[at:at+n])
	copy(p.vbuf[at:], lb[:w])
	return p.outer.Put(k, p.vbuf)
}

func (p *streamJoinProc[K, A, B, VR]) deleteOuter(ts int64, left bool, key K) error {
	k, err := p.outerKey(ts, left, key)
	if err != nil {
		return err
	}
	_, _, err = p.outer.Delete(k)
	return err
}

// emitClosed emits, joined with nothing, the outer store's records whose
// windows have closed, oldest first, and removes them, as Kafka Streams'
// emitNonJoinedOuterRecords: it reads the store only when its earliest
// record may have closed, and stops at the first record of each side whose
// window is still open.
func (p *streamJoinProc[K, A, B, VR]) emitClosed() error {
	c := p.clock
	if c.minTime != math.MaxInt64 && c.minTime+p.after+p.grace >= c.streamTime {
		return nil
	}
	c.minTime = math.MaxInt64
	it, err := p.outer.All()
	if err != nil {
		return err
	}
	p.done = p.done[:0]
	leftOpen, rightOpen := false, false
	var noA A
	var noB B
	for it.Next() {
		key := it.Key()
		if len(key) < 9 {
			it.Close()
			return fmt.Errorf("dsl: outer join store key of %d bytes", len(key))
		}
		ets, left := int64(binary.BigEndian.Uint64(key)), key[8] == 0
		c.minTime = ets
		if leftOpen && rightOpen {
			break
		}
		lookBack := p.winBefore
		if left {
			lookBack = p.winAfter
		}
		if ets+lookBack+p.grace >= c.streamTime {
			if left {
				leftOpen = true
			} else {
				rightOpen = true
			}
			continue
		}
		k, err := p.ks.Deserialize("", key[9:])
		if err != nil {
			it.Close()
			return err
		}
		out := processor.Record[K, VR]{Key: k, Timestamp: ets}
		for list := it.Value(); len(list) > 0; {
			n, w := binary.Uvarint(list)
			if w <= 0 || uint64(len(list)-w) < n {
				it.Close()
				return fmt.Errorf("dsl: outer join store value list is cut short")
			}
			v := list[w : w+int(n)]
			list = list[w+int(n):]
			if left == p.left {
				a, err := p.as.Deserialize("", v)
				if err != nil {
					it.Close()
					return err
				}
				out.Value = p.joiner(a, true, noB, false)
			} else {
				b, err := p.bs.Deserialize("", v)
				if err != nil {
					it.Close()
					return err
				}
				out.Value = p.joiner(noA, false, b, true)
			}
			if err := p.ctx.Forward(out); err != nil {
				it.Close()
				return err
			}
		}
		p.done = append(p.done, append([]byte(nil), key...))
	}
	err = it.Err()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for _, k := range p.done {
		if _, _, err := p.outer.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
