package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
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
	// DeserializationHandler, ProcessingHandler and ProductionHandler
	// decide about records that fail (see processor.ErrorHandler); nil is
	// processor.LogAndFail. The engine puts to ProductionHandler the
	// records its sinks cannot serialize; the host puts to it those it
	// could not deliver.
	DeserializationHandler processor.ErrorHandler
	ProcessingHandler      processor.ErrorHandler
	ProductionHandler      processor.ErrorHandler
	// DeadLetterTopic, if set, receives every input record a handler
	// drops, with its key, value, timestamp and headers as read, and
	// headers naming the error (processor.DeadLetterException, ...). It is
	// sent with Collector.Send, so it commits with the records the task
	// sends: under exactly-once in the transaction of the offsets that
	// skip the record.
	DeadLetterTopic string
	// Drops counts the task's dropped records; nil gives the task counts
	// of its own. A host that opens a task again passes the same counts.
	Drops *DropCounts
	// Logger receives a line when the task drops records, at most one a
	// minute per reason; nil logs nothing.
	Logger *slog.Logger
	// Global is the host's global task, whose stores the processors of
	// its tasks read (see GlobalTask); nil when the graph has no global
	// stores.
	Global *GlobalTask
	// Metrics, if set, is where the task reports its latencies (see
	// Metrics); a host sets one per task.
	Metrics *Metrics
	// StableRecordBytes says the host never modifies or reuses the key and
	// value bytes of the records it queues in Inputs, even once processed:
	// sources reading strings with serde.String then share those bytes
	// rather than copy them (see Shares). A string a processor keeps
	// keeps the record's memory alive with it, which is why a host whose
	// records share large fetch buffers leaves this off. The test driver,
	// whose records have memory of their own, sets it.
	StableRecordBytes bool
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

	// The record being processed: raw is the record as it was read (nil
	// outside a record's processing), at the node it is in as far as the
	// task tracks it (each call into a node sets it), which is what a
	// recovered panic is blamed on. node names the node in Init and in a
	// punctuator.
	//
	// at is the node's id (0: none), not a pointer: it is written at
	// every step of a record from node to node, and a pointer written to
	// the heap costs a write barrier while the garbage collector marks,
	// which on a loaded machine it does for a good part of the time.
	raw  *RawRecord
	at   int32
	node string
	// ts is the timestamp of the record being processed, or the time a
	// punctuator fires at: what changelog records are stamped with.
	ts int64

	streamTime int64
	wallClock  int64
	streamSch  []*schedule
	wallSch    []*schedule

	// dirty says whether the task processed or punctuated since its last
	// commit.
	dirty bool
	// deferred says the transaction buffers hold committed writes not
	// yet applied (see Group.DeferApply).
	deferred bool
	// flying says a store of the task has a commit that a job of the
	// database applies (state.TxnStore.Flying).
	flying bool
	// flushed says the last call into the task was a Flush that
	// succeeded: the stores hold nothing to flush.
	flushed bool
	started bool
	closed  bool
	// global says the task is a GlobalTask's: its stores are the global
	// stores, neither logged nor transactional.
	global bool

	drops *DropCounts
	// dropList holds the counters of drops's reasons this task has used,
	// looked up without drops's lock.
	dropList []*dropCount

	// metrics is Config.Metrics; sample counts the records down to the
	// next one whose processing is timed (see Metrics), 0 when none is;
	// sampled is true while a timed record is processed, for the stores.
	metrics *Metrics
	sample  uint32
	sampled bool
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
		global:     global,
		drops:      cfg.Drops,
	}
	t.metrics = cfg.Metrics
	if t.metrics != nil && t.metrics.Process != nil {
		t.sample = 1 // the first record is timed
	}
	if t.drops == nil {
		t.drops = &DropCounts{}
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
// Init. A panic in a supplier or an Init fails the start with a
// *processor.PanicError.
func (t *Task) Start() (err error) {
	if t.closed {
		return fmt.Errorf("engine: task %s is closed", t.ID)
	}
	if t.started {
		return nil
	}
	t.flushed = false
	defer func() {
		if v := recover(); v != nil {
			err = t.wrap(&processor.PanicError{Value: v, Stack: debug.Stack()})
			t.reset()
		}
	}()
	st := t.Sub
	built := map[*Node]any{}
	t.instances = make([]Instance, len(st.Nodes))
	for i := len(st.Nodes) - 1; i >= 0; i-- {
		n := st.Nodes[i]
		children := make([]any, len(n.Children))
		for j, c := range n.Children {
			children[j] = built[c]
		}
		t.node = n.Name
		inst, err := n.Build(t, n, children)
		t.node = ""
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
			err = t.wrap(err)
			t.reset()
			return err
		}
	}
	t.reset()
	return nil
}

// processRecord runs one input record through the subtopology from src.
// It returns nil when the record was processed or a handler dropped it,
// else the error that fails the task, a *failed, after which the record
// counts as not processed: its offset is not committed.
func (t *Task) processRecord(src RawSource, r *RawRecord) error {
	if src == nil {
		return &failed{fmt.Errorf("engine: task %s is not started", t.ID)}
	}
	t.raw = r
	t.ts = r.Timestamp
	t.dirty = true
	// The source sets the record's time and advances stream time
	// (setRecordTime): the topic's timestamp, or what its timestamp
	// extractor makes of the record.
	err := src.ProcessRaw(r)
	if err != nil {
		err = t.recordFailed(err)
	}
	t.raw, t.at = nil, 0
	return err
}

// errRecovered says that a call recovered a panic and the handler dropped
// what panicked: the caller goes on with the rest of its work.
var errRecovered = errors.New("engine: recovered")

// located returns what a failure of the task is to its host: the
// *processor.Error inside a *failed, in a *StoreFault when it is one.
func (t *Task) located(err error) error {
	if f, ok := err.(*failed); ok {
		err = f.err
	}
	return t.faulted(err)
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
	t.flushed = false
	if now > t.wallClock {
		t.wallClock = now
	}
	for {
		if err := t.punctuateRecovering(processor.WallClockTime, t.wallClock); err != errRecovered {
			return t.located(err)
		}
	}
}

// Current returns the input record the task is processing, or nil outside
// a record's processing (in a punctuator, a cache flush). A Collector may
// read it while a Send made by that processing runs: the test driver,
// which never modifies its records (Config.StableRecordBytes), shares the
// bytes of what a task sends with those of the record it read when they
// are equal, as a key-preserving operation's output key is. The record is
// the task's: never modify it.
func (t *Task) Current() *RawRecord { return t.raw }

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
// none is dirty. What a cache forwards is processed as a record is: an
// error or a panic downstream goes to the processing handler, with no input
// record, and under Continue the flush goes on with the next entry.
func (t *Task) Flush() error {
	for {
		t.flushed = false
		if err := t.flush(); err != errRecovered {
			t.flushed = err == nil
			return t.located(err)
		}
	}
}

func (t *Task) flush() (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = t.recovered(v)
		}
	}()
	for pass := 0; ; pass++ {
		for _, s := range t.storeList {
			if err := s.Flush(); err != nil {
				return t.flushFailed(s, err)
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

// flushFailed handles the error of flushing s: an error the nodes
// downstream of its cache returned goes to the processing handler (and
// errRecovered, the flush to start over, when it drops it); any other
// fails the task.
func (t *Task) flushFailed(s state.Store, err error) error {
	var se *state.StoreError
	if !errors.As(err, &se) || se.Op != "flush listener" || unhandled(err) {
		t.reset()
		return fmt.Errorf("engine: task %s: flush store %q: %w", t.ID, s.Name(), err)
	}
	err = t.recordFailed(err)
	t.reset()
	if err == nil {
		return errRecovered
	}
	return err
}

// Close closes the processors, then the stores and the task's database. It
// does not flush: what was not committed is dropped (cached writes, the
// transaction buffer, in-memory stores), and the next task opened on the
// same state restores what committed from the changelogs. A processor whose
// Close panics does not keep the others or the stores from closing.
func (t *Task) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	var errs []error
	for i, inst := range t.instances {
		if inst.Close != nil {
			if err := closeRecovering(inst.Close); err != nil {
				errs = append(errs, fmt.Errorf("engine: task %s: close %q: %w", t.ID, t.Sub.Nodes[i].Name, err))
			}
		}
	}
	errs = append(errs, t.closeStores())
	return errors.Join(errs...)
}

func closeRecovering(close func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &processor.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return close()
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
