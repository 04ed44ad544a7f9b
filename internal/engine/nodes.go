package engine

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// emptyBytes is a present, empty encoding; nil would mean a Kafka null.
var emptyBytes = []byte{}

// nodeError attributes an error to the node that returned it. It is made
// only on the error path.
type nodeError struct {
	node string
	err  error
}

func (e *nodeError) Error() string { return fmt.Sprintf("node %q: %v", e.node, e.err) }
func (e *nodeError) Unwrap() error { return e.err }

func attribute(err error, node string) error {
	var ne *nodeError
	var pe *processor.Error
	if errors.As(err, &ne) || errors.As(err, &pe) {
		return err
	}
	return &nodeError{node: node, err: err}
}

func receivers[K, V any](n *Node, children []any) ([]Receiver[K, V], error) {
	out := make([]Receiver[K, V], len(children))
	for i, c := range children {
		r, ok := c.(Receiver[K, V])
		if !ok {
			return nil, fmt.Errorf("%w: child %q of %q does not take records of the types %q forwards", ErrTypeMismatch, n.Children[i].Name, n.Name, n.Name)
		}
		out[i] = r
	}
	return out, nil
}

// SourceBuild returns the BuildFunc of a source reading keys with ks and
// values with vs.
func SourceBuild[K, V any](ks serde.Serde[K], vs serde.Serde[V]) BuildFunc {
	return func(t *Task, n *Node, children []any) (Instance, error) {
		kids, err := receivers[K, V](n, children)
		if err != nil {
			return Instance{}, err
		}
		src := &sourceNode[K, V]{t: t, n: n, ks: ks, vs: vs, children: kids}
		if t.cfg.StableRecordBytes {
			src.sharedKey, src.sharedValue = Shares(ks), Shares(vs)
		}
		if n.TimestampExtractor != nil {
			e, ok := n.TimestampExtractor.(processor.TimestampExtractor[K, V])
			if !ok {
				return Instance{}, fmt.Errorf("%w: the timestamp extractor of source %q is a %T, not a processor.TimestampExtractor of the source's types", ErrTypeMismatch, n.Name, n.TimestampExtractor)
			}
			src.extract = e
			src.partitionTime = make([]int64, len(n.Topics))
			for i := range src.partitionTime {
				src.partitionTime[i] = -1
			}
		}
		return Instance{Receiver: src}, nil
	}
}

type sourceNode[K, V any] struct {
	t        *Task
	n        *Node
	ks       serde.Serde[K]
	vs       serde.Serde[V]
	children []Receiver[K, V]
	// sharedKey and sharedValue, when set, decode in place of ks and vs
	// (Config.StableRecordBytes), with DecodeShared.
	sharedKey   bool
	sharedValue bool
	// extract, when set, gives each record its timestamp, from the time of
	// its partition (by the source's topics, in order) so far.
	extract       processor.TimestampExtractor[K, V]
	partitionTime []int64
	topic         int // the index of the topic last seen
}

func (s *sourceNode[K, V]) ProcessRaw(r *RawRecord) error {
	t := s.t
	t.at = s.n.id
	if s.extract == nil {
		t.setRecordTime(r.Timestamp)
	}
	rec := processor.Record[K, V]{Timestamp: r.Timestamp}
	if len(r.Headers) > 0 {
		h := processor.Headers(r.Headers)
		rec.Headers = &h
	}
	var err error
	switch {
	case r.Key == nil:
		rec.NullKey = true
	case s.sharedKey:
		DecodeShared(&rec.Key, r.Key)
	default:
		if rec.Key, err = s.ks.Deserialize(r.Topic, r.Key); err != nil {
			return s.badRecord("key", err)
		}
	}
	switch {
	case r.Value == nil:
		rec.NullValue = true
	case s.sharedValue:
		DecodeShared(&rec.Value, r.Value)
	default:
		if rec.Value, err = s.vs.Deserialize(r.Topic, r.Value); err != nil {
			return s.badRecord("value", err)
		}
	}
	if s.extract != nil {
		if keep, err := s.extractTime(r, &rec); !keep || err != nil {
			return err
		}
	}
	for i, c := range s.children {
		t.at = s.n.Children[i].id
		if err := c.Process(rec); err != nil {
			return attribute(err, s.n.Children[i].Name)
		}
	}
	return nil
}

// extractTime sets rec's timestamp with the extractor, and the task's
// record time and stream time from it: a record's time is what its
// extractor says, everywhere downstream. It reports false for a record
// dropped for a negative timestamp.
func (s *sourceNode[K, V]) extractTime(r *RawRecord, rec *processor.Record[K, V]) (bool, error) {
	if s.topic >= len(s.n.Topics) || s.n.Topics[s.topic] != r.Topic {
		s.topic = slices.Index(s.n.Topics, r.Topic)
		if s.topic < 0 {
			return false, &nodeError{node: s.n.Name, err: fmt.Errorf("source does not read topic %q", r.Topic)}
		}
	}
	pt := &s.partitionTime[s.topic]
	ts, err := s.extract(*rec, *pt)
	if err != nil {
		return false, &nodeError{node: s.n.Name, err: fmt.Errorf("extract timestamp: %w", err)}
	}
	if ts < 0 {
		s.t.DropRecord(processor.DropInvalidTimestamp)
		if l := s.t.cfg.Logger; l != nil {
			l.Warn("engine: skipping record with a negative extracted timestamp", "task", s.t.ID.String(),
				"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "record_timestamp", r.Timestamp, "extracted", ts)
		}
		return false, nil
	}
	*pt = max(*pt, ts)
	rec.Timestamp = ts
	s.t.setRecordTime(ts)
	return true, nil
}

// badRecord puts a record the source serdes cannot read to the
// deserialization handler.
func (s *sourceNode[K, V]) badRecord(part string, err error) error {
	pe := s.t.failedAt(s.n.Name, &serdeError{op: serde.ErrDeserialize, what: "deserialize " + part, err: err})
	return s.t.handle(s.t.cfg.DeserializationHandler, processor.DropDeserializationError, pe)
}

// serdeError is a serde's failure on a record: it matches
// serde.ErrDeserialize or serde.ErrSerialize, whatever the serde returned,
// and the serde's error, and says which part of which record failed without
// repeating the sentinel's text.
type serdeError struct {
	op   error
	what string
	err  error
}

func (e *serdeError) Error() string   { return "cannot " + e.what + ": " + e.err.Error() }
func (e *serdeError) Unwrap() []error { return []error{e.op, e.err} }

// ProcessorBuild returns the BuildFunc of a processor node.
func ProcessorBuild[KIn, VIn, KOut, VOut any](sup processor.Supplier[KIn, VIn, KOut, VOut]) BuildFunc {
	return func(t *Task, n *Node, children []any) (Instance, error) {
		kids, err := receivers[KOut, VOut](n, children)
		if err != nil {
			return Instance{}, err
		}
		p := sup.New()
		if p == nil {
			return Instance{}, fmt.Errorf("supplier of %q returned a nil processor", n.Name)
		}
		ctx := &ProcContext[KOut, VOut]{t: t, n: n, children: kids}
		if len(kids) == 1 {
			ctx.only, ctx.onlyNode = kids[0], n.Children[0]
		}
		inst := Instance{
			Receiver: Receiver[KIn, VIn](p),
			Init:     func() error { return p.Init(ctx) },
			Close:    p.Close,
		}
		if r := fuse[KIn, VIn](t, p, n, kids); r != nil {
			inst.Receiver = r
		}
		return inst, nil
	}
}

// ProcContext is the processor.Context of one node in one task.
//
// Forward and ForwardTo tell the task which node a record goes into, and
// back which node it is in once the child returned: what a panic is blamed
// on. Two stores per call; a deferred recover per node would cost more,
// and could not be fused away.
type ProcContext[K, V any] struct {
	t        *Task
	n        *Node
	children []Receiver[K, V]
	// only is the single child of a node that has one, as most do: Forward
	// then skips the loop.
	only     Receiver[K, V]
	onlyNode *Node
}

func (c *ProcContext[K, V]) Forward(rec processor.Record[K, V]) error {
	t := c.t
	if c.only != nil {
		t.at = c.onlyNode.id
		err := c.only.Process(rec)
		t.at = c.n.id
		if err != nil {
			return attribute(err, c.onlyNode.Name)
		}
		return nil
	}
	for i, ch := range c.children {
		t.at = c.n.Children[i].id
		err := ch.Process(rec)
		t.at = c.n.id
		if err != nil {
			return attribute(err, c.n.Children[i].Name)
		}
	}
	return nil
}

func (c *ProcContext[K, V]) ForwardTo(child string, rec processor.Record[K, V]) error {
	for i, ch := range c.n.Children {
		if ch.Name == child {
			c.t.at = ch.id
			err := c.children[i].Process(rec)
			c.t.at = c.n.id
			if err != nil {
				return attribute(err, child)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: %q is not a child of %q", ErrUnknownNode, child, c.n.Name)
}

func (c *ProcContext[K, V]) Schedule(interval time.Duration, typ processor.PunctuationType, fn processor.Punctuator) (processor.Cancellable, error) {
	s, err := c.t.schedule(c.n, interval, typ, fn)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (c *ProcContext[K, V]) StateStore(name string) (processor.StateStore, error) {
	return c.t.storeFor(c.n, name)
}

func (c *ProcContext[K, V]) RecordMetadata() (processor.RecordMetadata, bool) {
	r := c.t.raw
	if r == nil {
		return processor.RecordMetadata{}, false
	}
	return processor.RecordMetadata{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}, true
}

func (c *ProcContext[K, V]) StreamTime() int64        { return c.t.streamTime }
func (c *ProcContext[K, V]) WallClockTime() int64     { return c.t.wallClock }
func (c *ProcContext[K, V]) TaskID() processor.TaskID { return c.t.ID }
func (c *ProcContext[K, V]) ApplicationID() string    { return c.t.cfg.ApplicationID }

// DropRecord counts a record the node dropped on purpose.
func (c *ProcContext[K, V]) DropRecord(reason string) { c.t.DropRecord(reason) }

// TopicExtractor picks a sink's topic per record.
type TopicExtractor[K, V any] func(rec processor.Record[K, V]) string

// SinkBuild returns the BuildFunc of a sink writing to topic, or to the topic
// extract picks when topic is empty.
func SinkBuild[K, V any](topic string, extract TopicExtractor[K, V], ks serde.Serde[K], vs serde.Serde[V]) BuildFunc {
	return func(t *Task, n *Node, _ []any) (Instance, error) {
		s := &sinkNode[K, V]{t: t, n: n, topic: topic, extract: extract, ks: ks, vs: vs}
		if kc, ok := t.cfg.Collector.(KeepingCollector); ok && extract == nil {
			s.sharedKey, s.sharedValue = Shares(ks), Shares(vs)
			s.send = kc.Sender(topic)
		}
		return Instance{Receiver: Receiver[K, V](s)}, nil
	}
}

type sinkNode[K, V any] struct {
	t       *Task
	n       *Node
	topic   string
	extract TopicExtractor[K, V]
	ks      serde.Serde[K]
	vs      serde.Serde[V]
	kbuf    []byte
	vbuf    []byte
	// send is set when the task's Collector keeps bytes as they are (a
	// KeepingCollector) and the sink's topic is fixed; sharedKey and
	// sharedValue, when set, then encode strings as their own bytes, which
	// the sink hands it without a copy.
	send        KeptSender
	sharedKey   bool
	sharedValue bool
}

func (s *sinkNode[K, V]) Process(rec processor.Record[K, V]) error {
	topic := s.topic
	if s.extract != nil {
		if topic = s.extract(rec); topic == "" {
			return fmt.Errorf("sink %q: topic extractor returned an empty topic", s.n.Name)
		}
	}
	// The buffers are written back only when a serde grew them: a slice
	// stored to the heap per record costs a write barrier while the
	// garbage collector marks.
	var key, value []byte
	var err error
	var kept Kept
	switch {
	case rec.NullKey:
	case s.sharedKey:
		key, kept = EncodeShared(&rec.Key), KeptKey
	default:
		if key, err = s.ks.Serialize(s.kbuf[:0], topic, rec.Key); err != nil {
			return s.cannotSerialize(fmt.Sprintf("serialize key for topic %q", topic), err)
		}
		if cap(key) > cap(s.kbuf) {
			s.kbuf = key
		}
		if key == nil {
			key = emptyBytes
		}
	}
	switch {
	case rec.NullValue:
	case s.sharedValue:
		value, kept = EncodeShared(&rec.Value), kept|KeptValue
	default:
		if value, err = s.vs.Serialize(s.vbuf[:0], topic, rec.Value); err != nil {
			return s.cannotSerialize(fmt.Sprintf("serialize value for topic %q", topic), err)
		}
		if cap(value) > cap(s.vbuf) {
			s.vbuf = value
		}
		if value == nil {
			value = emptyBytes
		}
	}
	if s.send != nil {
		err = s.send(key, value, kept, rec.Timestamp, rec.HeaderList())
	} else {
		err = s.t.cfg.Collector.Send(topic, key, value, rec.Timestamp, rec.HeaderList())
	}
	if err != nil {
		return &failed{err}
	}
	return nil
}

// cannotSerialize puts a record the sink's serdes cannot write to the
// production handler, as Kafka Streams does (KIP-399): under Continue the
// sink drops it and the rest of the record's processing goes on.
func (s *sinkNode[K, V]) cannotSerialize(what string, err error) error {
	pe := s.t.failedAt(s.n.Name, &serdeError{op: serde.ErrSerialize, what: what, err: err})
	return s.t.handle(s.t.cfg.ProductionHandler, processor.DropProductionError, pe)
}
