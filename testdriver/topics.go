package testdriver

import (
	"fmt"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// TestInputTopic pipes typed records into one topic of a Driver.
//
// Records piped without a timestamp get the topic's current time, which
// starts at the driver's wall-clock time and moves by the auto-advance step
// after each record (zero unless set with AutoAdvance), or by AdvanceTime.
type TestInputTopic[K, V any] struct {
	d       *Driver
	topic   string
	ks      serde.Serde[K]
	vs      serde.Serde[V]
	now     int64
	advance int64
	kbuf    []byte
	vbuf    []byte
	// sharedKey and sharedValue encode strings as their own bytes, which
	// the driver keeps without a copy (see engine.Shares).
	sharedKey   bool
	sharedValue bool
	raw         engine.RawRecord
}

// InputTopic returns an input topic of d writing with the given serdes.
func InputTopic[K, V any](d *Driver, topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V]) *TestInputTopic[K, V] {
	d.t.Helper()
	if keySerde == nil || valueSerde == nil {
		d.t.Fatalf("testdriver: input topic %q needs a key and a value serde", topic)
	}
	return &TestInputTopic[K, V]{d: d, topic: topic, ks: keySerde, vs: valueSerde, now: d.now,
		sharedKey: engine.Shares(keySerde), sharedValue: engine.Shares(valueSerde)}
}

// AutoAdvance makes each piped record move the topic's time by step.
func (in *TestInputTopic[K, V]) AutoAdvance(step time.Duration) *TestInputTopic[K, V] {
	in.advance = step.Milliseconds()
	return in
}

// AdvanceTime moves the topic's current time by by.
func (in *TestInputTopic[K, V]) AdvanceTime(by time.Duration) { in.now += by.Milliseconds() }

func (in *TestInputTopic[K, V]) nextTime() int64 {
	ts := in.now
	in.now += in.advance
	return ts
}

// PipeInput pipes a record with key and value at the topic's current time.
func (in *TestInputTopic[K, V]) PipeInput(key K, value V) {
	in.must(in.TryPipeRecord(processor.Record[K, V]{Key: key, Value: value, Timestamp: in.nextTime()}))
}

// PipeInputAt pipes a record with key and value at timestamp ts.
func (in *TestInputTopic[K, V]) PipeInputAt(key K, value V, ts time.Time) {
	in.must(in.TryPipeRecord(processor.Record[K, V]{Key: key, Value: value, Timestamp: ts.UnixMilli()}))
}

// PipeValue pipes a record with a null key.
func (in *TestInputTopic[K, V]) PipeValue(value V) {
	in.must(in.TryPipeRecord(processor.Record[K, V]{Value: value, NullKey: true, Timestamp: in.nextTime()}))
}

// PipeTombstone pipes a record with key and a null value.
func (in *TestInputTopic[K, V]) PipeTombstone(key K) {
	in.must(in.TryPipeRecord(processor.Record[K, V]{Key: key, NullValue: true, Timestamp: in.nextTime()}))
}

// PipeValueList pipes one null-keyed record per value.
func (in *TestInputTopic[K, V]) PipeValueList(values []V) {
	in.d.t.Helper()
	for _, v := range values {
		in.PipeValue(v)
	}
}

// PipeKeyValueList pipes one record per key-value pair.
func (in *TestInputTopic[K, V]) PipeKeyValueList(kvs []dsl.KeyValue[K, V]) {
	in.d.t.Helper()
	for _, kv := range kvs {
		in.PipeInput(kv.Key, kv.Value)
	}
}

// PipeRecord pipes rec as it is: its timestamp, headers and null flags.
func (in *TestInputTopic[K, V]) PipeRecord(rec processor.Record[K, V]) {
	in.must(in.TryPipeRecord(rec))
}

// PipeRecordList pipes each record as it is.
func (in *TestInputTopic[K, V]) PipeRecordList(recs []processor.Record[K, V]) {
	in.d.t.Helper()
	for _, r := range recs {
		in.PipeRecord(r)
	}
}

// TryPipeRecord pipes rec and returns the error processing it raised.
func (in *TestInputTopic[K, V]) TryPipeRecord(rec processor.Record[K, V]) error {
	r := &in.raw
	*r = engine.RawRecord{Topic: in.topic, Timestamp: rec.Timestamp, Headers: rec.HeaderList()}
	var err error
	var kept engine.Kept
	switch {
	case rec.NullKey:
	case in.sharedKey:
		r.Key, kept = engine.EncodeShared(&rec.Key), kept|engine.KeptKey
	default:
		if in.kbuf, err = in.ks.Serialize(in.kbuf[:0], in.topic, rec.Key); err != nil {
			return fmt.Errorf("testdriver: serialize key for %q: %w", in.topic, err)
		}
		r.Key = nonNil(in.kbuf)
	}
	switch {
	case rec.NullValue:
	case in.sharedValue:
		r.Value, kept = engine.EncodeShared(&rec.Value), kept|engine.KeptValue
	default:
		if in.vbuf, err = in.vs.Serialize(in.vbuf[:0], in.topic, rec.Value); err != nil {
			return fmt.Errorf("testdriver: serialize value for %q: %w", in.topic, err)
		}
		r.Value = nonNil(in.vbuf)
	}
	return relabel(in.d.pipe(r, kept))
}

// TryPipeBytes pipes a raw record, for tests of bytes the serdes reject.
// nil key or value is a Kafka null.
func (in *TestInputTopic[K, V]) TryPipeBytes(key, value []byte, ts time.Time) error {
	r := &in.raw
	*r = engine.RawRecord{Topic: in.topic, Timestamp: ts.UnixMilli(), Key: key, Value: value}
	return relabel(in.d.pipe(r, 0))
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// must fails the test on err. Helper is called only then: it walks the
// stack, which would dominate the cost of piping a record.
func (in *TestInputTopic[K, V]) must(err error) {
	if err != nil {
		in.d.t.Helper()
		in.d.t.Fatalf("%v", relabel(err))
	}
}

// TestOutputTopic reads, with typed serdes, what sinks wrote to one topic,
// or the changes a store logged to its changelog topic
// ("<application id>-<store>-changelog"). Each record is read once; readers
// of one topic share the position.
type TestOutputTopic[K, V any] struct {
	d     *Driver
	topic string
	ks    serde.Serde[K]
	vs    serde.Serde[V]
	// sharedKey and sharedValue decode strings sharing the bytes of the
	// driver's records, which nothing writes again; except those of a
	// changelog in an arena of its own, which are decoded with copies.
	sharedKey   bool
	sharedValue bool
	v           *view // once looked up
}

// OutputTopic returns a reader of topic with the given serdes.
func OutputTopic[K, V any](d *Driver, topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V]) *TestOutputTopic[K, V] {
	d.t.Helper()
	if keySerde == nil || valueSerde == nil {
		d.t.Fatalf("testdriver: output topic %q needs a key and a value serde", topic)
	}
	return &TestOutputTopic[K, V]{d: d, topic: topic, ks: keySerde, vs: valueSerde,
		sharedKey: engine.Shares(keySerde), sharedValue: engine.Shares(valueSerde)}
}

// view returns the topic's view, looked up on the first call: the rest
// cost a load, inlined.
func (o *TestOutputTopic[K, V]) view() (*view, error) {
	if o.v != nil {
		return o.v, nil
	}
	return o.lookup()
}

func (o *TestOutputTopic[K, V]) lookup() (*view, error) {
	tp := o.d.topic(o.topic)
	if tp.view == nil {
		return nil, fmt.Errorf("testdriver: topic %q is internal to the topology: read what it feeds instead", o.topic)
	}
	o.v = tp.view
	if o.v.own {
		o.sharedKey, o.sharedValue = false, false
	}
	return o.v, nil
}

// QueueSize is the number of records not yet read.
func (o *TestOutputTopic[K, V]) QueueSize() int {
	v, err := o.view()
	if err != nil {
		return 0
	}
	return v.stable - v.head
}

// IsEmpty reports whether every record has been read.
func (o *TestOutputTopic[K, V]) IsEmpty() bool { return o.QueueSize() == 0 }

// TryReadRecord reads the next record, with its timestamp, headers and null
// flags. Records become readable when the commit after them happened (see
// WithCommitEvery).
func (o *TestOutputTopic[K, V]) TryReadRecord() (rec processor.Record[K, V], err error) {
	_, _, err = o.read(&rec)
	return rec, err
}

// OutputRecord is a record read from an output topic, with the partition
// and offset it was written at.
type OutputRecord[K, V any] struct {
	processor.Record[K, V]
	Partition int32
	Offset    int64
}

// TryReadOutputRecord reads the next record with its partition and offset.
func (o *TestOutputTopic[K, V]) TryReadOutputRecord() (out OutputRecord[K, V], err error) {
	out.Partition, out.Offset, err = o.read(&out.Record)
	return out, err
}

// read reads the next record into *rec, which is zero, and returns the
// partition and offset it was written at; on an error *rec holds what was
// read before the error.
func (o *TestOutputTopic[K, V]) read(rec *processor.Record[K, V]) (partition int32, offset int64, err error) {
	v, err := o.view()
	if err != nil {
		return 0, 0, err
	}
	if v.head == v.stable {
		return 0, 0, fmt.Errorf("testdriver: output topic %q is empty", o.topic)
	}
	r := &v.recs[v.head]
	key, value, headers := r.key, r.value, r.headers
	partition, offset = r.partition, r.offset
	rec.Timestamp = r.ts
	v.head++
	if !v.changelog {
		// A plain output topic is read once: what was read goes.
		*r = record{}
		if v.head == len(v.recs) {
			v.recs, v.stable, v.head = v.recs[:0], 0, 0
		}
	}
	if len(headers) > 0 {
		h := processor.Headers(headers)
		rec.Headers = &h
	}
	switch {
	case key == nil:
		rec.NullKey = true
	case o.sharedKey:
		engine.DecodeShared(&rec.Key, key)
	default:
		if rec.Key, err = o.ks.Deserialize(o.topic, key); err != nil {
			return partition, offset, fmt.Errorf("testdriver: output topic %q: key: %w", o.topic, err)
		}
	}
	switch {
	case value == nil:
		rec.NullValue = true
	case o.sharedValue:
		engine.DecodeShared(&rec.Value, value)
	default:
		if rec.Value, err = o.vs.Deserialize(o.topic, value); err != nil {
			return partition, offset, fmt.Errorf("testdriver: output topic %q: value: %w", o.topic, err)
		}
	}
	return partition, offset, nil
}

// ReadOutputRecord reads the next record with its partition and offset; an
// empty topic fails the test.
func (o *TestOutputTopic[K, V]) ReadOutputRecord() OutputRecord[K, V] {
	o.d.t.Helper()
	r, err := o.TryReadOutputRecord()
	if err != nil {
		o.d.t.Fatalf("%v", relabel(err))
	}
	return r
}

// ReadOutputRecordsToList reads every remaining record with its partition
// and offset.
func (o *TestOutputTopic[K, V]) ReadOutputRecordsToList() []OutputRecord[K, V] {
	o.d.t.Helper()
	var out []OutputRecord[K, V]
	for !o.IsEmpty() {
		out = append(out, o.ReadOutputRecord())
	}
	return out
}

// ReadRecord reads the next record; an empty topic fails the test.
func (o *TestOutputTopic[K, V]) ReadRecord() processor.Record[K, V] {
	o.d.t.Helper()
	rec, err := o.TryReadRecord()
	if err != nil {
		o.d.t.Fatalf("%v", relabel(err))
	}
	return rec
}

// ReadValue reads the next record's value.
func (o *TestOutputTopic[K, V]) ReadValue() V {
	o.d.t.Helper()
	return o.ReadRecord().Value
}

// ReadKeyValue reads the next record's key and value.
func (o *TestOutputTopic[K, V]) ReadKeyValue() dsl.KeyValue[K, V] {
	o.d.t.Helper()
	r := o.ReadRecord()
	return dsl.KV(r.Key, r.Value)
}

// ReadRecordsToList reads every remaining record.
func (o *TestOutputTopic[K, V]) ReadRecordsToList() []processor.Record[K, V] {
	o.d.t.Helper()
	var out []processor.Record[K, V]
	for !o.IsEmpty() {
		out = append(out, o.ReadRecord())
	}
	return out
}

// ReadValuesToList reads every remaining record's value.
func (o *TestOutputTopic[K, V]) ReadValuesToList() []V {
	o.d.t.Helper()
	var out []V
	for !o.IsEmpty() {
		out = append(out, o.ReadRecord().Value)
	}
	return out
}

// ReadKeyValuesToList reads every remaining record's key and value.
func (o *TestOutputTopic[K, V]) ReadKeyValuesToList() []dsl.KeyValue[K, V] {
	o.d.t.Helper()
	var out []dsl.KeyValue[K, V]
	for !o.IsEmpty() {
		out = append(out, o.ReadKeyValue())
	}
	return out
}

// ReadKeyValuesToMap reads every remaining record of out into a map holding
// the latest value per key; a record with a null value removes its key, as
// a table would.
func ReadKeyValuesToMap[K comparable, V any](out *TestOutputTopic[K, V]) map[K]V {
	out.d.t.Helper()
	m := map[K]V{}
	for !out.IsEmpty() {
		r := out.ReadRecord()
		if r.NullValue {
			delete(m, r.Key)
			continue
		}
		m[r.Key] = r.Value
	}
	return m
}
