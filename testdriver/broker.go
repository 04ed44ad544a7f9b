package testdriver

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
)

// The driver's topics stand in for a broker's, under exactly-once: a record
// becomes readable when the commit after it happened, and a crash aborts
// what the crashed tasks wrote since.

// record is a record in one of the driver's topics; its key and value are
// the driver's own. from is the index of the task that wrote it, -1 for a
// record piped in.
type record struct {
	key, value []byte
	headers    []processor.Header
	ts, offset int64
	partition  int32
	from       int32
}

// raw returns r as the engine takes it from topic.
func (r *record) raw(topic string) engine.RawRecord {
	return engine.RawRecord{Topic: topic, Partition: r.partition, Offset: r.offset, Timestamp: r.ts, Key: r.key, Value: r.value, Headers: r.headers}
}

// topic is one topic of the driver. read is set for a topic the topology
// reads, view for one a test can read (sink topics and changelogs).
type topic struct {
	name       string
	partitions int32
	next       []int64 // the offset of the next record, per partition
	rr         int32   // the partition of the next record with a null key
	read       []*readPart
	view       *view
	// global is set for a global store's topic, per partition.
	global []*globalPart
	// touched says whether records were added since the last commit.
	touched bool
}

// readPart is one partition of a topic the topology reads, as its task's
// consumer sees it: the records from its committed offset on, which a crash
// makes the task read again.
type readPart struct {
	task      int // index in Driver.tasks
	in        *engine.Input
	log       []record
	stable    int // log[:stable] were written before the last commit
	committed int64
}

// view holds what a test reads from a topic: every record, in the order
// written across partitions, of which recs[:stable] are committed and
// readable. A plain topic is read once (head moves, records go); a
// changelog keeps its records, which restores read, compacted as Kafka
// compacts them once it grows.
type view struct {
	recs      []record
	stable    int
	head      int
	changelog bool
	compactAt int
	// A changelog's index: per partition, the slot in last of each key;
	// last holds the index in recs of the key's last record. keep is
	// compact's buffer.
	index   []map[string]int32
	last    []int32
	keep    []int32
	indexed bool
	// slotKey and slotPart are each slot's key and partition, and hot
	// maps a cheap hash of a key and partition to the slot last found
	// under it, plus one: a changelog takes a record per key and commit,
	// most of them of keys it had before, which hot finds without the
	// map's hashing.
	slotKey  []string
	slotPart []int32
	hot      [hotSlots]int32
	// A changelog no task reads holds its records' bytes in an arena of
	// its own, whose blocks compact recycles once the records left have
	// moved out: nothing else refers to them (tests read a changelog with
	// copies, see TestOutputTopic), and a changelog takes a record per
	// store write.
	own    bool
	arena  []byte
	blocks [][]byte
	spare  [][]byte
}

// compactMin is the length of a changelog below which it is never
// compacted: beyond what a test reads, so that tests see every change.
const compactMin = 4096

func (d *Driver) topic(name string) *topic {
	if tp := d.topics[name]; tp != nil {
		return tp
	}
	n := d.opts.partitions
	if c, ok := d.counts[name]; ok {
		n = c
	}
	tp := &topic{name: name, partitions: n, next: make([]int64, n)}
	if !d.g.IsInternal(name) {
		tp.view = &view{changelog: d.changelogs[name], compactAt: compactMin, indexed: true}
		tp.view.own = tp.view.changelog && !d.readsTopic(name)
	}
	d.topics[name] = tp
	return tp
}

// partition picks the partition of a record with key, as a producer does:
// by the murmur2 hash of the key, and round-robin for null keys (the
// producer's sticky partitioning, made deterministic).
func (tp *topic) partition(key []byte) int32 {
	if tp.partitions == 1 {
		return 0
	}
	if key == nil {
		p := tp.rr
		tp.rr = (tp.rr + 1) % tp.partitions
		return p
	}
	return engine.KeyPartition(key, tp.partitions)
}

// add appends a record to tp, to the partition of its key unless p ≥ 0
// says which: to the input of the task reading the partition if the
// topology reads tp, to the topic's view if toView and a test can read it.
// It copies key, value and headers, but for the parts kept says the
// driver may keep as they are: a string's own bytes, piped or sent by a
// sink (see engine.KeepingCollector). from is the task writing, -1 for a record
// piped in.
//
// Each place a record goes gets it written field by field into its slot:
// a record built first and copied in would be copied through memory once
// per place, which costs more than the rest of add.
func (d *Driver) add(tp *topic, p int32, key, value []byte, ts int64, headers []processor.Header, from int, toView bool, kept engine.Kept) {
	switch {
	case p >= 0:
	case tp.partitions == 1:
		p = 0
	default:
		p = tp.partition(key)
	}
	off := tp.next[p]
	tp.next[p]++
	v := tp.view
	// A record whose parts are all kept (a string a sink wrote, a null)
	// needs no copy: the call to own is skipped.
	k, val := key, value
	if (v != nil && v.own) || (key != nil && kept&engine.KeptKey == 0) || (value != nil && kept&engine.KeptValue == 0) {
		k, val = d.own(v, key, value, from, kept)
	}
	var hs []processor.Header
	if len(headers) > 0 {
		hs = slices.Clone(headers)
	}
	if !tp.touched {
		tp.touched = true
		d.touched = append(d.touched, tp)
	}
	if tp.global != nil {
		gp := tp.global[p]
		gp.log = appendRecord(gp.log, k, val, hs, ts, off, p, from)
		// A piped record is committed at once: the global store sees it
		// before the next record is piped.
		if from < 0 {
			gp.stable = len(gp.log)
		}
	}
	if tp.read != nil {
		rp := tp.read[p]
		rp.log = appendRecord(rp.log, k, val, hs, ts, off, p, from)
		// A task not started yet gets its log when it starts.
		if rp.in != nil {
			rp.in.Push(off, ts, k, val, hs)
		}
	}
	if toView && v != nil {
		v.recs = appendRecord(v.recs, k, val, hs, ts, off, p, from)
		if v.changelog && v.indexed {
			v.note(len(v.recs) - 1)
		}
	}
}

// addSent is add for a record without headers that the task running
// sent, to partition p or, if p < 0, that of its key: what sinks and
// changelogs send, with fewer arguments to pass than add takes, which
// costs more than the rest of a call for records of a few bytes.
func (d *Driver) addSent(tp *topic, p int32, key, value []byte, kept engine.Kept, ts int64) {
	if p < 0 {
		p = 0
		if tp.partitions > 1 {
			p = tp.partition(key)
		}
	}
	from := d.current
	v := tp.view
	switch {
	case v != nil && v.own:
		// A changelog's record, copied into its arena as own would.
		key, value = fill(v.alloc(len(key)+len(value)), key, value)
	case key != nil && kept&engine.KeptKey == 0:
		key, value = d.own(v, key, value, from, kept)
	case value != nil && kept&engine.KeptValue == 0:
		if len(value) <= smallValue {
			// A long (a count) after a kept key, as a table's sink sends:
			// copied for less than own would spend looking for bytes to
			// share.
			value = fill8(d.alloc(len(value)), value)
		} else {
			key, value = d.own(v, key, value, from, kept)
		}
	}
	off := tp.next[p]
	tp.next[p]++
	if !tp.touched {
		tp.touched = true
		d.touched = append(d.touched, tp)
	}
	if tp.global != nil {
		gp := tp.global[p]
		gp.log = appendRecord(gp.log, key, value, nil, ts, off, p, from)
	}
	if tp.read != nil {
		rp := tp.read[p]
		rp.log = appendRecord(rp.log, key, value, nil, ts, off, p, from)
		if rp.in != nil {
			rp.in.Push(off, ts, key, value, nil)
		}
	}
	if v != nil {
		v.recs = appendRecord(v.recs, key, value, nil, ts, off, p, from)
		if v.changelog && v.indexed {
			v.note(len(v.recs) - 1)
		}
	}
}

// own returns copies of key and value for a record the driver keeps, in
// the view's arena if it has one of its own; the parts kept says are
// returned as they are. Bytes nothing writes again may serve more than
// one record: a value equal to the key shares the key's copy, and a key
// or value equal to that of the record the sending task is processing
// (from, -1 for none) shares that record's, as the output of a
// key-preserving operation does. Less to copy means fewer collections.
func (d *Driver) own(v *view, key, value []byte, from int, kept engine.Kept) (k, val []byte) {
	if v != nil && v.own {
		// Compaction recycles the arena, so what is in it shares nothing.
		buf := v.alloc(len(key) + len(value))
		return fill(buf, key, value)
	}
	if kept&engine.KeptKey != 0 {
		k, key = key, nil
	}
	if kept&engine.KeptValue != 0 {
		val, value = value, nil
	}
	if key == nil && value == nil {
		return k, val
	}
	if from >= 0 {
		if t := d.tasks[from]; t != nil {
			if cur := t.Current(); cur != nil {
				if key != nil && cur.Key != nil && bytes.Equal(key, cur.Key) {
					k, key = cur.Key, nil
				}
				if value != nil && cur.Value != nil && bytes.Equal(value, cur.Value) {
					val, value = cur.Value, nil
				}
			}
		}
	}
	dup := key != nil && value != nil && bytes.Equal(key, value)
	if dup {
		value = nil
	}
	if key != nil || value != nil {
		kk, vv := fill(d.alloc(len(key)+len(value)), key, value)
		if key != nil {
			k = kk
		}
		if value != nil {
			val = vv
		}
	}
	if dup {
		val = k
	}
	return k, val
}

// fill copies key and value into buf, which has room for both (nil stays
// nil).
func fill(buf, key, value []byte) (k, val []byte) {
	if key != nil {
		k = buf[:len(key):len(key)]
		copy(k, key)
	}
	if value != nil {
		val = buf[len(key) : len(key)+len(value) : len(key)+len(value)]
		if len(value) == 8 {
			// A long, or a timestamp: copied without a call to memmove.
			*(*[8]byte)(val) = *(*[8]byte)(value)
		} else {
			copy(val, value)
		}
	}
	return k, val
}

// smallValue is the length up to which addSent copies a value rather than
// share it (see own).
const smallValue = 8

// fill8 copies value, of at most 8 bytes, into buf, which has its length.
func fill8(buf, value []byte) []byte {
	if len(value) == 8 {
		*(*[8]byte)(buf) = *(*[8]byte)(value)
		return buf
	}
	copy(buf, value)
	return buf
}

// appendRecord appends a record to recs, written in place.
func appendRecord(recs []record, key, value []byte, headers []processor.Header, ts, offset int64, p int32, from int) []record {
	// Every field is written below: the slot is not zeroed first, as
	// append(recs, record{}) would.
	n := len(recs)
	if n == cap(recs) {
		recs = append(recs, record{})
	}
	recs = recs[:n+1]
	r := &recs[n]
	r.key, r.value, r.headers = key, value, headers
	r.ts, r.offset, r.partition, r.from = ts, offset, p, int32(from)
	return recs
}

const arenaBlock = 16 << 10

// alloc returns n bytes of their own, never nil, which nothing writes
// again: sources and output topics decode strings that share them.
func (d *Driver) alloc(n int) []byte {
	if n > arenaBlock/8 {
		return make([]byte, n)
	}
	// A nil arena would make the first empty key or value nil: a null.
	if n > len(d.arena) || d.arena == nil {
		d.arena = make([]byte, arenaBlock)
	}
	b := d.arena[:n:n]
	d.arena = d.arena[n:]
	return b
}

// alloc returns n bytes, never nil, from the view's own arena, valid until
// the next compact.
func (v *view) alloc(n int) []byte {
	if n > arenaBlock/8 {
		return make([]byte, n)
	}
	if n > len(v.arena) || v.arena == nil {
		if k := len(v.spare); k > 0 {
			v.arena, v.spare = v.spare[k-1], v.spare[:k-1]
		} else {
			v.arena = make([]byte, arenaBlock)
		}
		v.blocks = append(v.blocks, v.arena)
	}
	b := v.arena[:n:n]
	v.arena = v.arena[n:]
	return b
}

// readsTopic reports whether a task or the global task reads topic.
func (d *Driver) readsTopic(name string) bool {
	for _, st := range d.g.Subtopologies {
		if slices.Contains(st.SourceTopics, name) {
			return true
		}
	}
	return slices.Contains(d.g.GlobalTopics(), name)
}

// settleTopics makes what was written since the last commit readable and
// forgets the records each task committed it read.
func (d *Driver) settleTopics(offsets []engine.Offset) {
	for _, o := range offsets {
		rp := o.Input.HostData.(*readPart)
		rp.committed = o.Next
		if n := len(rp.log); n > 0 && rp.log[n-1].offset < o.Next {
			// Every record was committed, as usual after each record piped.
			clear(rp.log)
			rp.log = rp.log[:0]
			continue
		}
		k := 0
		for k < len(rp.log) && rp.log[k].offset < o.Next {
			k++
		}
		if k > 0 {
			n := copy(rp.log, rp.log[k:])
			clear(rp.log[n:])
			rp.log = rp.log[:n]
		}
	}
	for _, tp := range d.touched {
		tp.touched = false
		for _, rp := range tp.read {
			rp.stable = len(rp.log)
		}
		for _, gp := range tp.global {
			gp.stable = len(gp.log)
		}
		if v := tp.view; v != nil {
			v.stable = len(v.recs)
			if v.changelog && v.stable >= v.compactAt {
				v.compact()
			}
		}
	}
	d.touched = d.touched[:0]
}

// compact keeps the last record of each key in each partition, as Kafka's
// log cleaner does (tombstones included), with their offsets: a restore
// reads the same state from what is left. It runs right after a commit,
// when every record is committed, and works in place; the survivors' bytes
// move to memory of their own, so that the arena blocks of the records
// dropped can go.
func (v *view) compact() {
	if !v.indexed {
		v.reindex()
	}
	keep := v.keep[:0]
	for _, ix := range v.index {
		for _, slot := range ix {
			keep = append(keep, slot)
		}
	}
	slices.SortFunc(keep, func(a, b int32) int { return cmp.Compare(v.last[a], v.last[b]) })
	size := 0
	for _, slot := range keep {
		r := &v.recs[v.last[slot]]
		size += len(r.key) + len(r.value)
	}
	buf := make([]byte, 0, size)
	head := 0
	for n, slot := range keep {
		i := v.last[slot]
		r := v.recs[i]
		if int(i) < v.head {
			head++
		}
		buf, r.key = appendOwn(buf, r.key)
		buf, r.value = appendOwn(buf, r.value)
		v.recs[n] = r
		v.last[slot] = int32(n)
	}
	clear(v.recs[len(keep):])
	v.recs, v.stable, v.head = v.recs[:len(keep)], len(keep), head
	v.keep = keep
	v.compactAt = max(compactMin, 2*len(keep))
	if v.own {
		// Every record left is in buf now.
		for _, b := range v.blocks {
			v.spare = append(v.spare, b[:cap(b)])
		}
		clear(v.blocks)
		v.blocks, v.arena = v.blocks[:0], nil
	}
}

// note records in the changelog index that recs[i] is the last record of
// its key in its partition.
func (v *view) note(i int) {
	r := &v.recs[i]
	h := hotHash(r.key, r.partition)
	if s := v.hot[h] - 1; s >= 0 && v.slotPart[s] == r.partition && v.slotKey[s] == string(r.key) {
		v.last[s] = int32(i)
		return
	}
	for int(r.partition) >= len(v.index) {
		v.index = append(v.index, map[string]int32{})
	}
	ix := v.index[r.partition]
	slot, ok := ix[string(r.key)]
	if !ok {
		k := string(r.key)
		slot = int32(len(v.last))
		ix[k] = slot
		v.last = append(v.last, 0)
		v.slotKey = append(v.slotKey, k)
		v.slotPart = append(v.slotPart, r.partition)
	}
	v.last[slot] = int32(i)
	v.hot[h] = slot + 1
}

// hotSlots is the size of a changelog's table of hot keys (see
// view.hot).
const hotSlots = 256

// hotHash sums up key and partition in a slot of view.hot: the key's
// length and three of its bytes, which tell most keys apart.
func hotHash(key []byte, partition int32) uint32 {
	h := uint32(len(key))*0x9e3779b1 + uint32(partition)*0x85ebca6b
	if n := len(key); n > 0 {
		h ^= (uint32(key[0]) | uint32(key[n/2])<<8 | uint32(key[n-1])<<16) * 0xc2b2ae35
	}
	return (h >> 24) % hotSlots
}

// reindex builds the changelog index anew, after a crash removed records.
func (v *view) reindex() {
	v.index, v.last = nil, v.last[:0]
	clear(v.slotKey)
	v.slotKey, v.slotPart, v.hot = v.slotKey[:0], v.slotPart[:0], [hotSlots]int32{}
	for i := range v.recs {
		v.note(i)
	}
	v.indexed = true
}

// appendOwn copies b to the end of buf, which has room for it, and returns
// the copy (nil stays nil).
func appendOwn(buf, b []byte) ([]byte, []byte) {
	if b == nil {
		return buf, nil
	}
	n := len(buf)
	buf = append(buf, b...)
	return buf, buf[n:len(buf):len(buf)]
}
