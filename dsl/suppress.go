package dsl

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// Suppress holds back the table's updates and emits them later, as Kafka
// Streams' KTable.suppress:
//
//   - UntilWindowCloses, on a windowed aggregation's table (or one mapped or
//     filtered from it), emits each window's final row once, when stream
//     time reaches the window's close (end plus grace; for sliding and
//     session windows, whose end is included, a millisecond later), and
//     nothing before. Deletes (sessions merged away) are final results of
//     nothing and are not emitted.
//   - UntilTimeLimit emits a key's latest update once the limit has passed,
//     in stream time, since its first held-back update.
//
// Stream time here is the largest timestamp of the updates the suppression
// saw, as Kafka Streams' suppression keeps it. The held-back updates live
// in a buffer, a key-value store of its own, changelogged and restored
// like any store, so a restarted task emits what it would have emitted;
// when it holds more than BufferConfig's records or bytes it stops the
// task (ShutDownWhenFull, and Unbounded never fills) or emits its oldest
// updates early (EmitEarlyWhenFull; not allowed with UntilWindowCloses).
// The updates emitted carry the timestamp of the update held back, and no
// headers.
func (t KTable[K, V]) Suppress(s Suppressed[K]) KTable[K, V] {
	c := s.o
	name := t.b.name(c.name, "KTABLE-SUPPRESS")
	store := t.b.generate("KTABLE-SUPPRESS-STATE-STORE")
	if c.name != "" {
		store = c.name + "-store"
	}
	t.b.only(name, "Suppress", c, setName|setSuppress)
	out := t.derive(name, "", t.vs, options{})
	out.m.windowClose = t.m.windowClose
	// Joins read the rows upstream: the buffer holds what is not emitted
	// yet, not the table's rows.
	out.m.lookup = t.m.valueGetter
	var closeOf func(K) int64
	switch {
	case c.suppress == 0:
		t.b.fail("Suppress %q: no suppression: pass UntilWindowCloses or UntilTimeLimit", name)
	case c.suppress == suppressUntilWindowCloses && t.m.windowClose == nil:
		t.b.fail("Suppress %q: UntilWindowCloses needs the table of a windowed aggregation", name)
	case c.suppress == suppressUntilWindowCloses && !c.buffer.shutDown:
		t.b.fail("Suppress %q: UntilWindowCloses needs a buffer that never emits early (Unbounded, or ShutDownWhenFull): an early emit would not be a final result", name)
	case c.suppress == suppressUntilTimeLimit && c.timeLimit < 0:
		t.b.fail("Suppress %q: the time limit %v is negative", name, c.timeLimit)
	case c.suppress == suppressUntilWindowCloses:
		closeOf = t.m.windowClose
	}
	if t.ks == nil || t.vs == nil {
		t.b.fail("%w: Suppress %q buffers the table's rows and needs their serdes: give them to the table's Materialized", errMissingSerde, name)
	}
	ks, vs := t.ks, t.vs
	limit, buffer := c.timeLimit.Milliseconds(), c.buffer
	m := out.m
	t.b.topo.AddProcessor(name, supply(func() processor.Processor[K, change[V], K, change[V]] {
		return &suppressProc[K, V]{store: store, closeOf: closeOf, limit: limit, buffer: buffer, ks: ks, vs: vs, sendOld: m.sendOld}
	}), t.node)
	t.b.topo.AddStateStore(state.KeyValueStoreBuilder(store, serde.Bytes, serde.Bytes), name)
	return out
}

// suppressProc is the suppression buffer. Its store maps each key's bytes
// to its entry: the buffer time (when it is due), the timestamp of the
// update held back, and the change; an in-memory heap orders the keys by
// buffer time, then key, and is rebuilt from the store when the task
// starts.
type suppressProc[K, V any] struct {
	base[K, change[V]]
	store   string
	closeOf func(K) int64 // UntilWindowCloses; nil for UntilTimeLimit
	limit   int64
	buffer  BufferConfig
	ks      serde.Serde[K]
	vs      serde.Serde[V]
	sendOld bool

	kv       *state.KeyValueStore[[]byte, []byte]
	due      dueHeap
	times    map[string]int64 // key bytes → buffer time
	bytes    int64
	observed int64
	kbuf     []byte
	vbuf     []byte
	// topic is what the serdes are told: the buffer's changelog topic.
	topic string
}

func (p *suppressProc[K, V]) Init(ctx processor.Context[K, change[V]]) error {
	p.ctx = ctx
	p.observed = -1
	p.times = map[string]int64{}
	p.topic = ctx.ApplicationID() + "-" + p.store + "-changelog"
	var err error
	if p.kv, err = state.GetKeyValueStore[[]byte, []byte](ctx, p.store); err != nil {
		return err
	}
	it, err := p.kv.All()
	if err != nil {
		return err
	}
	for it.Next() {
		e, err := decodeEntry(it.Value())
		if err != nil {
			it.Close()
			return fmt.Errorf("dsl: suppression buffer %q: %w", p.store, err)
		}
		k := string(it.Key())
		p.times[k] = e.due
		heap.Push(&p.due, dueKey{e.due, k})
		p.bytes += int64(len(k) + len(it.Value()))
		p.observed = max(p.observed, e.ts)
	}
	return errors.Join(it.Err(), it.Close())
}

// entry is a held-back update: due is its buffer time, ts its timestamp,
// and the change's values in their serde's bytes.
type entry struct {
	due, ts        int64
	hasNew, hasOld bool
	newB, oldB     []byte
}

// The entry layout: due, ts (8 bytes each), a flags byte (1: new, 2: old),
// the new value's length (4 bytes), the new value, the old value.
func appendEntry(dst []byte, e entry) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.due))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.ts))
	var flags byte
	if e.hasNew {
		flags |= 1
	}
	if e.hasOld {
		flags |= 2
	}
	dst = append(dst, flags)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(e.newB)))
	return append(append(dst, e.newB...), e.oldB...)
}

func decodeEntry(b []byte) (entry, error) {
	const header = 8 + 8 + 1 + 4
	if len(b) < header {
		return entry{}, fmt.Errorf("entry of %d bytes is shorter than its %d-byte header", len(b), header)
	}
	e := entry{due: int64(binary.BigEndian.Uint64(b)), ts: int64(binary.BigEndian.Uint64(b[8:])), hasNew: b[16]&1 != 0, hasOld: b[16]&2 != 0}
	n := int(binary.BigEndian.Uint32(b[17:]))
	if n > len(b)-header {
		return entry{}, fmt.Errorf("entry holds a new value of %d bytes in %d", n, len(b)-header)
	}
	e.newB, e.oldB = b[header:header+n], b[header+n:]
	return e, nil
}

func (p *suppressProc[K, V]) Process(rec processor.Record[K, change[V]]) error {
	p.observed = max(p.observed, rec.Timestamp)
	if err := p.hold(rec); err != nil {
		return err
	}
	return p.evict()
}

// hold puts rec's update in the buffer, folded into the one held for its
// key, if any.
func (p *suppressProc[K, V]) hold(rec processor.Record[K, change[V]]) error {
	kb, err := p.ks.Serialize(p.kbuf[:0], p.topic, rec.Key)
	if err != nil {
		return fmt.Errorf("dsl: suppression buffer %q: serialize key: %w", p.store, err)
	}
	p.kbuf = kb
	k := string(kb)
	e := entry{ts: rec.Timestamp, hasNew: rec.Value.HasNew}
	_, held := p.times[k]
	var prev []byte
	if held {
		if prev, _, err = p.kv.Get(kb); err != nil {
			return err
		}
		old, err := decodeEntry(prev)
		if err != nil {
			return fmt.Errorf("dsl: suppression buffer %q: %w", p.store, err)
		}
		// The held-back update keeps its buffer time and the value before
		// the first update it folds, as Kafka Streams' buffer does.
		e.due, e.hasOld, e.oldB = old.due, old.hasOld, old.oldB
	} else {
		e.due = rec.Timestamp + p.limit
		if p.closeOf != nil {
			e.due = p.closeOf(rec.Key)
		}
		if p.sendOld && rec.Value.HasOld {
			if e.oldB, err = p.vs.Serialize(nil, p.topic, rec.Value.Old); err != nil {
				return fmt.Errorf("dsl: suppression buffer %q: serialize value: %w", p.store, err)
			}
			e.hasOld = true
		}
	}
	if e.hasNew {
		n := len(p.vbuf)
		if p.vbuf, err = p.vs.Serialize(p.vbuf, p.topic, rec.Value.New); err != nil {
			return fmt.Errorf("dsl: suppression buffer %q: serialize value: %w", p.store, err)
		}
		e.newB = p.vbuf[n:]
	}
	vb := appendEntry(nil, e)
	p.vbuf = p.vbuf[:0]
	if err := p.kv.Put(kb, vb); err != nil {
		return err
	}
	p.bytes += int64(len(kb) + len(vb) - len(prev))
	if !held {
		p.times[k] = e.due
		heap.Push(&p.due, dueKey{e.due, k})
	}
	return nil
}

// evict emits the updates that are due, then, while the buffer is over
// its limits, the oldest early or fails.
func (p *suppressProc[K, V]) evict() error {
	for p.due.Len() > 0 && p.due[0].due <= p.observed {
		if err := p.emit(); err != nil {
			return err
		}
	}
	for p.full() {
		if p.buffer.shutDown {
			return fmt.Errorf("dsl: suppression buffer %q is full (%d records, %d bytes; limits %d records, %d bytes) and must not emit early", p.store, len(p.times), p.bytes, p.buffer.maxRecords, p.buffer.maxBytes)
		}
		if err := p.emit(); err != nil {
			return err
		}
	}
	return nil
}

func (p *suppressProc[K, V]) full() bool {
	b := p.buffer
	return (b.maxRecords > 0 && int64(len(p.times)) > b.maxRecords) || (b.maxBytes > 0 && p.bytes > b.maxBytes)
}

// emit forwards the update at the head of the heap and removes it.
func (p *suppressProc[K, V]) emit() error {
	d := heap.Pop(&p.due).(dueKey)
	kb := []byte(d.key)
	vb, found, err := p.kv.Get(kb)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("dsl: suppression buffer %q lost the entry of a key it holds", p.store)
	}
	e, err := decodeEntry(vb)
	if err != nil {
		return fmt.Errorf("dsl: suppression buffer %q: %w", p.store, err)
	}
	size := int64(len(kb) + len(vb))
	k, err := p.ks.Deserialize(p.topic, kb)
	if err != nil {
		return fmt.Errorf("dsl: suppression buffer %q: deserialize key: %w", p.store, err)
	}
	var c change[V]
	if e.hasNew {
		if c.New, err = p.vs.Deserialize(p.topic, e.newB); err != nil {
			return fmt.Errorf("dsl: suppression buffer %q: deserialize value: %w", p.store, err)
		}
		c.HasNew = true
	}
	if e.hasOld && p.sendOld {
		if c.Old, err = p.vs.Deserialize(p.topic, e.oldB); err != nil {
			return fmt.Errorf("dsl: suppression buffer %q: deserialize value: %w", p.store, err)
		}
		c.HasOld = true
	}
	if _, _, err := p.kv.Delete(kb); err != nil {
		return err
	}
	delete(p.times, d.key)
	p.bytes -= size
	// A final result of a delete is no result: the window it belonged to
	// was merged into another, which gets its own.
	if !c.HasNew && p.closeOf != nil {
		return nil
	}
	return p.ctx.Forward(processor.Record[K, change[V]]{Key: k, Value: c, Timestamp: e.ts})
}

// dueKey is a held-back key and its buffer time; the heap orders by time,
// then key bytes.
type dueKey struct {
	due int64
	key string
}

type dueHeap []dueKey

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if h[i].due != h[j].due {
		return h[i].due < h[j].due
	}
	return h[i].key < h[j].key
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(dueKey)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
