package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

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

// Config is what a task needs from whoever runs it. One Config serves every
// task of a host.
type Config struct {
	ApplicationID string
	// Collector takes what the task sends: sink records and store changes.
	Collector Collector
	// InMemory keeps every store of the task in memory, whatever its
	// builder asks for (the test driver's default).
	InMemory bool
	// OpenDB opens the Pebble database of task id, on the first use by a
	// persistent store. The task closes it after its stores.
	OpenDB func(id processor.TaskID) (*state.DB, error)
	// WallClock is the wall-clock time when the task starts, in
	// milliseconds.
	WallClock int64
	// MaxTaskIdle is how long a task whose input partitions are not all
	// buffered waits for the empty ones before it processes the others
	// (max.task.idle.ms); see Task.ProcessReady. Default 0: no wait.
	MaxTaskIdle time.Duration
	// ContinueOnDeserializationError drops (and counts) records the source
	// serdes cannot read instead of failing the task, as Kafka Streams'
	// LogAndContinueExceptionHandler.
	ContinueOnDeserializationError bool
	// Logger receives a line per record dropped for a deserialization
	// error; nil logs nothing.
	Logger *slog.Logger
	// Global is the host's global task, whose stores the processors of
	// its tasks read (see GlobalTask); nil when the graph has no global
	// stores.
	Global *GlobalTask
}

// Task runs one subtopology on one partition: its stores, its inputs, the
// record chooser over them, its processors, punctuation and drop counts.
// It is driven by one goroutine.
//
// A task's life: NewTask opens its stores; the host restores them from their
// changelogs (Changelogs, RestoreFrom, Restore, RestoreDone); Start builds and
// initializes the processors. The host then queues fetched records in the
// task's Inputs, calls ProcessReady and AdvanceWallClock, and commits the
// tasks it runs together with Commit. Close drops whatever was not
// committed: a task that must rewind (an aborted transaction, a crash in the
// test driver) is closed and opened again, and restores what committed.
// Stores can live without processors: a task that is never started is a
// task's state alone (a standby's, later).
type Task struct {
	ID  processor.TaskID
	Sub *Subtopology

	graph     *Graph
	cfg       Config
	idle      int64
	inputs    []*Input
	buffered  int
	instances []Instance
	stores    map[string]state.Store
	storeList []state.Store
	// changelogs are those of the logged stores, in storeList order.
	changelogs []*Changelog
	db         *state.DB

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

	// dirty says whether the task processed or punctuated since its last
	// commit.
	dirty   bool
	started bool
	dropped map[string]int64
	closed  bool
	// global says the task is a GlobalTask's: its stores are the global
	// stores, neither logged nor transactional.
	global bool
}

// NewTask opens the stores of subtopology sub for partition. The task has
// no processors until Start.
func NewTask(g *Graph, sub int, partition int32, cfg Config) (*Task, error) {
	if !g.built {
		return nil, errors.New("engine: graph is not built")
	}
	st := g.SubtopologyByID(sub)
	if st == nil {
		return nil, fmt.Errorf("engine: no subtopology %d (the graph has %d)", sub, len(g.Subtopologies))
	}
	return newTask(g, st, partition, cfg, false)
}

func newTask(g *Graph, st *Subtopology, partition int32, cfg Config, global bool) (*Task, error) {
	sub := st.ID
	t := &Task{
		ID:         processor.TaskID{Subtopology: sub, Partition: partition},
		Sub:        st,
		graph:      g,
		cfg:        cfg,
		idle:       cfg.MaxTaskIdle.Milliseconds(),
		stores:     map[string]state.Store{},
		streamTime: -1,
		wallClock:  cfg.WallClock,
		dropped:    map[string]int64{},
		global:     global,
	}
	for _, topic := range st.SourceTopics {
		t.inputs = append(t.inputs, &Input{Topic: topic, Partition: partition, task: t, deadline: -1})
	}
	if err := t.openStores(); err != nil {
		t.closeStores()
		return nil, err
	}
	return t, nil
}

// Start builds the processors, from the sinks up, and initializes them,
// sources first. Restore the stores before: processors may read them in
// Init.
func (t *Task) Start() error {
	if t.closed {
		return fmt.Errorf("engine: task %s is closed", t.ID)
	}
	if t.started {
		return nil
	}
	st := t.Sub
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
			return fmt.Errorf("engine: task %s: build %q: %w", t.ID, n.Name, err)
		}
		built[n] = inst.Receiver
		t.instances[i] = inst
		if n.Kind == KindSource {
			src := inst.Receiver.(RawSource)
			for _, topic := range n.Topics {
				if in := t.Input(topic); in != nil {
					in.src = src
				}
			}
		}
	}
	t.started = true
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

// process runs one input record through the subtopology from src.
func (t *Task) process(src RawSource, r *RawRecord) error {
	if src == nil {
		return fmt.Errorf("engine: task %s is not started", t.ID)
	}
	t.meta = processor.RecordMetadata{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	t.hasMeta = true
	t.dirty = true
	// The source sets the record's time (setRecordTime): the topic's
	// timestamp, or what its timestamp extractor makes of the record.
	err := src.ProcessRaw(r)
	t.hasMeta = false
	if err != nil {
		return t.wrapAt(err, r)
	}
	return t.punctuate(processor.StreamTime, t.streamTime)
}

// setRecordTime makes ts the time of the record being processed, which
// changelog records are stamped with, and advances stream time to it.
func (t *Task) setRecordTime(ts int64) {
	t.ts = ts
	if ts > t.streamTime {
		t.streamTime = ts
	}
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

// WallClock is the task's wall-clock time (ms), as its host last moved it.
func (t *Task) WallClock() int64 { return t.wallClock }

// Store returns the task's store named name, or nil.
func (t *Task) Store(name string) state.Store { return t.stores[name] }

// Stores returns the task's stores in the order they were opened.
func (t *Task) Stores() []state.Store { return t.storeList }

// Dirty reports whether the task processed a record or ran a punctuator
// since its last commit.
func (t *Task) Dirty() bool { return t.dirty }

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
			if s.Dirty() {
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
// context. A record dropped because it could not be read is logged too, as
// Kafka Streams' LogAndContinueExceptionHandler does.
func (t *Task) DropRecord(reason string) {
	t.dropped[reason]++
	if reason == DropDeserialization && t.cfg.Logger != nil && t.hasMeta {
		t.cfg.Logger.Warn("dropped a record its source serdes cannot read", "task", t.ID.String(), "topic", t.meta.Topic, "partition", t.meta.Partition, "offset", t.meta.Offset)
	}
}

// Close closes the processors, then the stores and the task's database. It
// does not flush: what was not committed is dropped (cached writes, the
// transaction buffer, in-memory stores), and the next task opened on the
// same state restores what committed from the changelogs.
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
	if t.db != nil {
		if err := t.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("engine: task %s: close database: %w", t.ID, err))
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
	if t.graph.globals[name] != nil {
		return t.globalStoreFor(n, name)
	}
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
