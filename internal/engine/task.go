package engine

import (
	"errors"
	"fmt"
	"slices"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// RawRecord is an input record as it comes off a topic. Key and Value are nil
// for Kafka nulls.
type RawRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   []processor.Header
}

// RawSource is a built source node.
type RawSource interface {
	ProcessRaw(r *RawRecord) error
}

// Receiver is a built processor or sink node that takes records of type
// Record[K, V].
type Receiver[K, V any] interface {
	Process(rec processor.Record[K, V]) error
}

// Collector takes what sinks write. key and value are nil for nulls and may
// be reused by the caller once Send returns: the collector copies them.
// topic is the topic's name in the graph (internal topics without the
// application id prefix).
type Collector interface {
	Send(topic string, key, value []byte, timestamp int64, headers []processor.Header) error
}

// Config is what a task needs from whoever runs it.
type Config struct {
	ApplicationID string
	Collector     Collector
	Stores        *state.Env
	// WallClock is the wall-clock time when the task starts, in
	// milliseconds.
	WallClock int64
	// ContinueOnDeserializationError drops (and counts) records the source
	// serdes cannot read instead of failing the task.
	ContinueOnDeserializationError bool
}

// Task runs one subtopology on one partition. It is driven by one goroutine.
type Task struct {
	ID  processor.TaskID
	Sub *Subtopology

	graph   *Graph
	cfg     Config
	sources map[string]RawSource
	// The source of the topic last processed.
	lastTopic  string
	lastSource RawSource
	instances  []Instance
	stores     map[string]state.Store
	storeList  []state.Store

	// The record being processed.
	meta    processor.RecordMetadata
	hasMeta bool
	node    string
	// ts is the timestamp of the record being processed, or the time a
	// punctuator fires at: what changelog records are stamped with.
	ts int64

	streamTime int64
	wallClock  int64
	streamSch  []*schedule
	wallSch    []*schedule

	dropped map[string]int64
	closed  bool
}

// NewTask builds the nodes and opens the stores of subtopology sub for
// partition. Call Init before processing.
func NewTask(g *Graph, sub int, partition int32, cfg Config) (*Task, error) {
	if !g.built {
		return nil, errors.New("engine: graph is not built")
	}
	st := g.Subtopologies[sub]
	t := &Task{
		ID:         processor.TaskID{Subtopology: sub, Partition: partition},
		Sub:        st,
		graph:      g,
		cfg:        cfg,
		sources:    map[string]RawSource{},
		stores:     map[string]state.Store{},
		streamTime: -1,
		wallClock:  cfg.WallClock,
		dropped:    map[string]int64{},
	}
	env := cfg.Stores
	if env == nil {
		env = &state.Env{InMemory: true}
	}
	env.TaskID = t.ID
	env.ApplicationID = cfg.ApplicationID
	env.RecordTime = t.RecordTimestamp
	for _, name := range st.Stores {
		s, err := g.stores[name].Builder.Build(env)
		if err != nil {
			t.closeStores()
			return nil, fmt.Errorf("engine: task %s: open store %q: %w", t.ID, name, err)
		}
		t.stores[name] = s
		t.storeList = append(t.storeList, s)
	}
	built := map[*Node]any{}
	t.instances = make([]Instance, len(st.Nodes))
	for i := len(st.Nodes) - 1; i >= 0; i-- {
		n := st.Nodes[i]
		children := make([]any, len(n.Children))
		for j, c := range n.Children {
			children[j] = built[c]
		}
		inst, err := n.Build(t, n, children)
		if err != nil {
			t.closeStores()
			return nil, fmt.Errorf("engine: task %s: build %q: %w", t.ID, n.Name, err)
		}
		built[n] = inst.Receiver
		t.instances[i] = inst
		if n.Kind == KindSource {
			src := inst.Receiver.(RawSource)
			for _, topic := range n.Topics {
				t.sources[topic] = src
			}
		}
	}
	return t, nil
}

// Init initializes the processors, sources first.
func (t *Task) Init() error {
	for i, inst := range t.instances {
		if inst.Init == nil {
			continue
		}
		t.node = t.Sub.Nodes[i].Name
		if err := inst.Init(); err != nil {
			t.node = ""
			return t.wrap(err)
		}
	}
	t.node = ""
	return nil
}

// Process runs one input record through the subtopology.
func (t *Task) Process(r *RawRecord) error {
	// Records come in runs of one topic: look the source up once a run.
	if r.Topic != t.lastTopic || t.lastSource == nil {
		src := t.sources[r.Topic]
		if src == nil {
			return fmt.Errorf("engine: task %s has no source for topic %q", t.ID, r.Topic)
		}
		t.lastTopic, t.lastSource = r.Topic, src
	}
	src := t.lastSource
	t.meta = processor.RecordMetadata{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	t.hasMeta = true
	t.ts = r.Timestamp
	if r.Timestamp > t.streamTime {
		t.streamTime = r.Timestamp
	}
	err := src.ProcessRaw(r)
	t.hasMeta = false
	if err != nil {
		return t.wrapAt(err, r)
	}
	return t.punctuate(processor.StreamTime, t.streamTime)
}

// AdvanceWallClock moves the wall clock to now (ms) and runs the wall-clock
// punctuators that are due.
func (t *Task) AdvanceWallClock(now int64) error {
	if now > t.wallClock {
		t.wallClock = now
	}
	return t.punctuate(processor.WallClockTime, t.wallClock)
}

// RecordTimestamp is the timestamp of the record being processed, or of
// the punctuation running.
func (t *Task) RecordTimestamp() int64 { return t.ts }

// StreamTime is the largest timestamp the task has processed, -1 before any.
func (t *Task) StreamTime() int64 { return t.streamTime }

// Store returns the task's store named name, or nil.
func (t *Task) Store(name string) state.Store { return t.stores[name] }

// Stores returns the task's stores in the order they were opened.
func (t *Task) Stores() []state.Store { return t.storeList }

// Flush flushes every store: cached writes go down through changelogging.
// A cache forwards what it flushes, which can dirty the cache of a store
// downstream in the same task, so Flush goes over the stores again until
// none is dirty.
func (t *Task) Flush() error {
	for pass := 0; ; pass++ {
		for _, s := range t.storeList {
			if err := s.Flush(); err != nil {
				return fmt.Errorf("engine: task %s: flush store %q: %w", t.ID, s.Name(), err)
			}
		}
		dirty := ""
		for _, s := range t.storeList {
			if d, ok := s.(interface{ Dirty() bool }); ok && d.Dirty() {
				dirty = s.Name()
				break
			}
		}
		if dirty == "" {
			return nil
		}
		if pass > len(t.storeList) {
			return fmt.Errorf("engine: task %s: store %q is still dirty after %d flushes: its flushed updates feed back into it", t.ID, dirty, pass+1)
		}
	}
}

// Dropped returns how many records the task dropped, by reason.
func (t *Task) Dropped() map[string]int64 { return t.dropped }

// DropRecord counts a dropped record. Processors reach it through their
// context.
func (t *Task) DropRecord(reason string) { t.dropped[reason]++ }

// Close closes the processors, then the stores. It does not flush.
func (t *Task) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	var errs []error
	for i, inst := range t.instances {
		if inst.Close != nil {
			if err := inst.Close(); err != nil {
				errs = append(errs, fmt.Errorf("engine: task %s: close %q: %w", t.ID, t.Sub.Nodes[i].Name, err))
			}
		}
	}
	errs = append(errs, t.closeStores())
	return errors.Join(errs...)
}

func (t *Task) closeStores() error {
	var errs []error
	for _, s := range t.storeList {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("engine: task %s: close store %q: %w", t.ID, s.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func (t *Task) wrapAt(err error, r *RawRecord) error {
	var pe *processor.Error
	if errors.As(err, &pe) {
		return err
	}
	node := t.node
	var ne *nodeError
	if errors.As(err, &ne) {
		node, err = ne.node, ne.err
	}
	return &processor.Error{Task: t.ID, Node: node, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Err: err}
}

func (t *Task) wrap(err error) error {
	var pe *processor.Error
	if errors.As(err, &pe) {
		return err
	}
	return &processor.Error{Task: t.ID, Node: t.node, Offset: -1, Err: err}
}

// storeFor returns store name for node n, checking that n may use it.
func (t *Task) storeFor(n *Node, name string) (processor.StateStore, error) {
	if !slices.Contains(n.Stores, name) {
		if t.graph.stores[name] == nil {
			return nil, fmt.Errorf("%w: %q (asked for by %q)", state.ErrUnknownStore, name, n.Name)
		}
		return nil, fmt.Errorf("%w: store %q is not connected to %q; connect it when building the topology", state.ErrUnknownStore, name, n.Name)
	}
	s := t.stores[name]
	if s == nil {
		return nil, fmt.Errorf("%w: %q is not open in task %s", state.ErrUnknownStore, name, t.ID)
	}
	// Processors get the typed store, which cannot flush or close.
	return s.Typed(), nil
}
