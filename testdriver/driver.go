package testdriver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/internal/topics"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
)

// Driver runs a topology with no broker. It is not safe for concurrent use.
type Driver struct {
	t    testing.TB
	g    *engine.Graph
	opts options
	cfg  engine.Config
	fs   vfs.FS

	// tasks are ordered by subtopology, then partition.
	tasks []*engine.Task
	group engine.Group
	// current is the index of the task running, whose records Send and
	// SendChangelog get.
	current int
	// global keeps the global stores, if the topology has any (global.go).
	global *engine.GlobalTask
	// globalDropped counts what global tasks closed by a crash had dropped.
	globalDropped map[string]int64
	// drops are the tasks' drop counts, which a crash does not reset.
	drops []*engine.DropCounts

	topics     map[string]*topic
	counts     map[string]int32
	taskCounts []int32
	changelogs map[string]bool
	touched    []*topic
	// The topics last sent to, and the one last piped to: a topology's
	// sinks write to a few topics, taking turns (a repartition topic, then
	// the output), and a look-up in topics per record costs more than a
	// scan of these.
	sent      [sentCache]sentTopic
	sentNext  int
	lastPiped *topic

	now         int64
	sinceCommit int
	lastCommit  int64
	arena       []byte
	restoreBuf  []engine.ChangelogRecord
	closed      bool
}

// New builds topo and starts a driver for it; the driver is closed when the
// test ends. A topology that does not build fails the test.
func New(t testing.TB, topo *topology.Topology, opts ...Option) *Driver {
	t.Helper()
	d, err := open(t, topo, opts)
	if err != nil {
		t.Fatalf("%v", relabel(err))
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("%v", err)
		}
	})
	return d
}

func open(t testing.TB, topo *topology.Topology, opts []Option) (*Driver, error) {
	o := defaults()
	for _, f := range opts {
		f(&o)
	}
	if o.partitions < 1 {
		return nil, fmt.Errorf("testdriver: %d partitions: need at least one", o.partitions)
	}
	for tp, n := range o.topicPartitions {
		if n < 1 {
			return nil, fmt.Errorf("testdriver: topic %q with %d partitions: need at least one", tp, n)
		}
	}
	if err := topo.Build(); err != nil {
		return nil, err
	}
	d := &Driver{
		t:          t,
		g:          engine.GraphOf(topo),
		opts:       o,
		topics:     map[string]*topic{},
		changelogs: map[string]bool{},
		now:        o.wallClock.UnixMilli(),
		current:    -1,
	}
	d.lastCommit = d.now
	d.cfg = engine.Config{
		ApplicationID:          o.appID,
		Collector:              host{d},
		InMemory:               !o.pebble,
		MaxTaskIdle:            o.maxTaskIdle,
		DeserializationHandler: o.deserialization,
		ProcessingHandler:      o.processing,
		ProductionHandler:      o.production,
		DeadLetterTopic:        o.deadLetter,
		Logger:                 o.logger,
		// Records live in the driver's arenas; what tasks and output
		// topics read is never written again (see Driver.alloc).
		StableRecordBytes: true,
	}
	if o.pebble {
		d.fs = vfs.NewMem()
		if o.stateDir != "" {
			d.fs = vfs.Default
		}
		d.cfg.OpenDB = func(id processor.TaskID) (*state.DB, error) {
			return state.OpenDB(d.taskDir(id), state.DBOptions{FS: d.fs})
		}
		d.group.DeferApply = deferApplyBytes
	}
	if err := d.layout(); err != nil {
		return nil, err
	}
	if len(d.g.Globals) > 0 {
		if err := d.openGlobal(); err != nil {
			d.Close()
			return nil, err
		}
	}
	for _, st := range d.g.Subtopologies {
		for p := int32(0); p < d.taskCounts[st.ID]; p++ {
			d.tasks = append(d.tasks, nil)
			d.drops = append(d.drops, &engine.DropCounts{})
			if err := d.startTask(len(d.tasks)-1, st.ID, p); err != nil {
				d.Close()
				return nil, err
			}
		}
	}
	d.current = -1
	return d, nil
}

// layout works out the partitions of every topic the topology reads, and
// the tasks, as the runtime does from the source topics' partitions.
func (d *Driver) layout() error {
	external := map[string]int32{}
	for _, st := range d.g.Subtopologies {
		for _, t := range st.SourceTopics {
			if !d.g.IsInternal(t) {
				external[t] = d.partitionsOf(t)
			}
		}
	}
	counts, tasks, err := topics.PartitionCounts(d.g, external)
	if err != nil {
		return err
	}
	d.counts = counts
	maps.Copy(d.counts, d.opts.topicPartitions)
	d.taskCounts = tasks
	for _, st := range d.g.Subtopologies {
		for _, name := range st.Stores {
			if d.g.Store(name).Builder.Logged() {
				cl := engine.ChangelogTopic(d.opts.appID, name)
				d.changelogs[cl] = true
				d.counts[cl] = tasks[st.ID]
			}
		}
	}
	for _, st := range d.g.Subtopologies {
		for _, name := range st.SourceTopics {
			tp := d.topic(name)
			tp.read = make([]*readPart, tp.partitions)
			for p := range tp.read {
				tp.read[p] = &readPart{}
			}
		}
	}
	for _, name := range d.g.GlobalTopics() {
		d.counts[name] = d.partitionsOf(name)
		tp := d.topic(name)
		tp.global = make([]*globalPart, tp.partitions)
		for p := range tp.global {
			tp.global[p] = &globalPart{}
		}
	}
	return nil
}

func (d *Driver) partitionsOf(topic string) int32 {
	if n, ok := d.opts.topicPartitions[topic]; ok {
		return n
	}
	return d.opts.partitions
}

func (d *Driver) taskDir(id processor.TaskID) string {
	return filepath.Join(d.stateRoot(), d.opts.appID, id.String())
}

// stateRoot is the directory of the task databases: WithStateDir's, or a
// directory of the in-memory filesystem.
func (d *Driver) stateRoot() string {
	if d.opts.stateDir != "" {
		return d.opts.stateDir
	}
	return "/state"
}

// startTask opens task (sub, partition) as slot i of d.tasks: it opens the
// stores, restores them from their changelogs, starts the processors and
// hands the task what it reads from its committed offsets on.
func (d *Driver) startTask(i, sub int, partition int32) error {
	d.cfg.WallClock = d.now
	d.cfg.Drops = d.drops[i]
	t, err := engine.NewTask(d.g, sub, partition, d.cfg)
	if err != nil {
		return err
	}
	if err := d.restore(t); err != nil {
		t.Close()
		return err
	}
	d.tasks[i] = t
	d.current = i
	for _, cl := range t.Changelogs() {
		cl.HostData = d.topic(cl.Topic)
	}
	for _, in := range t.Inputs() {
		rp := d.topics[in.Topic].read[partition]
		rp.task, rp.in = i, in
		in.HostData = rp
		for i := range rp.log {
			raw := rp.log[i].raw(in.Topic)
			in.Add(&raw)
		}
	}
	if err := t.Start(); err != nil {
		return err
	}
	return nil
}

// restore replays the changelogs of t's logged stores into them, from where
// each store's database stands (the start, for in-memory stores).
func (d *Driver) restore(t *engine.Task) error {
	for _, cl := range t.Changelogs() {
		tp := d.topics[cl.Topic]
		if tp == nil {
			continue
		}
		from, err := t.RestoreFrom(cl)
		if err != nil {
			return err
		}
		batch := d.restoreBuf[:0]
		last := int64(-1)
		for _, r := range tp.view.recs {
			if r.partition == cl.Partition && r.offset >= from {
				batch = append(batch, engine.ChangelogRecord{Key: r.key, Value: r.value, Timestamp: r.ts, Headers: r.headers, Offset: r.offset})
				last = r.offset
			}
		}
		d.restoreBuf = batch[:0]
		if len(batch) == 0 {
			continue
		}
		if err := t.Restore(cl, batch); err != nil {
			return err
		}
		if err := t.RestoreDone(cl, last); err != nil {
			return err
		}
	}
	return nil
}

// pipe adds one record piped into a source topic, routed to its partition
// by key, and processes what is ready; it commits when WithCommitEvery says.
// kept says which of r's key and value the driver may keep as they are.
func (d *Driver) pipe(r *engine.RawRecord, kept engine.Kept) error {
	if d.closed {
		return errors.New("testdriver: driver is closed")
	}
	tp := d.lastPiped
	if tp == nil || tp.name != r.Topic {
		tp = d.topics[r.Topic]
		if tp == nil || (tp.read == nil && tp.global == nil) || d.g.IsInternal(r.Topic) {
			return fmt.Errorf("testdriver: topic %q is not read by the topology (it reads %v)", r.Topic, d.sourceTopics())
		}
		d.lastPiped = tp
	}
	d.add(tp, -1, r.Key, r.Value, r.Timestamp, r.Headers, -1, false, kept)
	d.sinceCommit++
	if tp.global != nil {
		if err := d.updateGlobal(); err != nil {
			return err
		}
	}
	if _, err := d.run(); err != nil {
		return err
	}
	if d.opts.commitEvery > 0 && d.sinceCommit >= d.opts.commitEvery {
		return d.commit()
	}
	return nil
}

// run processes what the tasks have ready until none has more, and returns
// how many records that was. Records written to topics the topology reads
// reach their task at once: one call processes a piped record to the end
// of everything it causes.
//
// A processing error is returned as it is: the driver does not rewind,
// the record counts as processed and what it did before failing stays, as
// in Kafka's TopologyTestDriver. Crash shows what a restarted runtime would
// do instead.
func (d *Driver) run() (int, error) {
	total := 0
	for {
		n := 0
		for i, t := range d.tasks {
			if t.Buffered() == 0 {
				continue
			}
			d.current = i
			k, err := t.ProcessReady(d.now, 0)
			n += k
			if err != nil {
				// A processor.Error: it names the task, node and record.
				return total + n, err
			}
		}
		total += n
		if n == 0 {
			return total, nil
		}
	}
}

// deferApplyBytes is how much committed writes a task's transaction
// buffers hold before a commit applies them to Pebble (see
// engine.Group.DeferApply). The driver commits after every record: a
// Pebble batch for each, and the memtable churn of the same keys written
// again and again, made a piped record on Pebble cost more than the
// runtime's, which commits every 30 s. Between two applies, the buffer
// serves the reads, the hot keys' among them.
const deferApplyBytes = 16 << 20

// commit runs the engine's commit sequence over every task. Flushed caches
// forward updates, which may reach topics the topology reads: those are
// processed, and the caches flushed again, before the commit.
func (d *Driver) commit() error {
	for {
		for i, t := range d.tasks {
			d.current = i
			if err := t.Flush(); err != nil {
				return err
			}
		}
		n, err := d.run()
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	d.group.Tasks = d.tasks
	if _, err := d.group.Commit(context.Background(), host{d}); err != nil {
		return err
	}
	d.sinceCommit, d.lastCommit = 0, d.now
	// What sinks wrote to global stores' topics is committed now.
	if err := d.updateGlobal(); err != nil {
		return err
	}
	return d.checkpointGlobal()
}

// Commit commits every task now: caches are flushed, and what the tasks
// wrote becomes readable.
func (d *Driver) Commit() {
	d.t.Helper()
	if err := d.commit(); err != nil {
		d.t.Fatalf("%v", relabel(err))
	}
}

func (d *Driver) sourceTopics() []string {
	ts := d.g.GlobalTopics()
	for _, st := range d.g.Subtopologies {
		for _, t := range st.SourceTopics {
			if !d.g.IsInternal(t) {
				ts = append(ts, t)
			}
		}
	}
	sort.Strings(ts)
	return ts
}

// AdvanceWallClockTime moves the wall clock forward by by, runs the
// wall-clock punctuators that come due and processes what is ready (records
// a task held back under WithMaxTaskIdle, say); then it commits, unless
// WithCommitInterval asks for more time since the last commit.
func (d *Driver) AdvanceWallClockTime(by time.Duration) {
	d.t.Helper()
	if err := d.TryAdvanceWallClockTime(by); err != nil {
		d.t.Fatalf("%v", relabel(err))
	}
}

// TryAdvanceWallClockTime is AdvanceWallClockTime returning the error.
func (d *Driver) TryAdvanceWallClockTime(by time.Duration) error {
	return relabel(d.advanceWallClock(by))
}

func (d *Driver) advanceWallClock(by time.Duration) error {
	if d.closed {
		return errors.New("testdriver: driver is closed")
	}
	d.now += by.Milliseconds()
	for i, t := range d.tasks {
		d.current = i
		if err := t.AdvanceWallClock(d.now); err != nil {
			return err
		}
	}
	if _, err := d.run(); err != nil {
		return err
	}
	if d.opts.commitInterval <= 0 || d.now-d.lastCommit >= d.opts.commitInterval.Milliseconds() {
		return d.commit()
	}
	return nil
}

// WallClockTime is the driver's current wall-clock time.
func (d *Driver) WallClockTime() time.Time { return time.UnixMilli(d.now) }

// Tasks returns the ids of the driver's tasks: one per subtopology and
// partition of its source topics, as the runtime makes them.
func (d *Driver) Tasks() []processor.TaskID {
	ids := make([]processor.TaskID, len(d.tasks))
	for i, t := range d.tasks {
		ids[i] = t.ID
	}
	return ids
}

// StreamTime returns the stream time of task id (the largest timestamp it
// processed, -1 before any), and false if there is no such task.
func (d *Driver) StreamTime(id processor.TaskID) (int64, bool) {
	if t := d.task(id); t != nil {
		return t.StreamTime(), true
	}
	return 0, false
}

func (d *Driver) task(id processor.TaskID) *engine.Task {
	for _, t := range d.tasks {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// DroppedRecords returns how many records the topology dropped, by reason
// (processor.DropNullKey, DropDeserializationError, ...), over every task
// and across crashes.
func (d *Driver) DroppedRecords() map[string]int64 {
	out := map[string]int64{}
	for _, dc := range d.drops {
		for k, v := range dc.Snapshot() {
			out[k] += v
		}
	}
	if d.global != nil {
		for k, v := range d.global.Dropped() {
			out[k] += v
		}
	}
	for k, v := range d.globalDropped {
		out[k] += v
	}
	return out
}

// DroppedRecordsByTask returns the counts of DroppedRecords per task; tasks
// that dropped nothing are absent.
func (d *Driver) DroppedRecordsByTask() map[processor.TaskID]map[string]int64 {
	out := map[processor.TaskID]map[string]int64{}
	for i, dc := range d.drops {
		if m := dc.Snapshot(); len(m) > 0 {
			out[d.tasks[i].ID] = m
		}
	}
	return out
}

// StateStore returns the store named name of the first task that has it
// (partition 0 of its subtopology), or the global store named name, or nil
// if there is none. A crash replaces the stores: get them again after one.
func (d *Driver) StateStore(name string) processor.StateStore {
	if s := d.globalStore(name); s != nil {
		return s
	}
	for _, task := range d.tasks {
		if s := task.Store(name); s != nil {
			return s.Typed()
		}
	}
	return nil
}

// StateStoreAt returns the store named name of the task on partition, or
// nil; a global store, which no partition owns, whatever the partition.
func (d *Driver) StateStoreAt(name string, partition int32) processor.StateStore {
	if s := d.globalStore(name); s != nil {
		return s
	}
	for _, task := range d.tasks {
		if task.ID.Partition != partition {
			continue
		}
		if s := task.Store(name); s != nil {
			return s.Typed()
		}
	}
	return nil
}

func (d *Driver) globalStore(name string) processor.StateStore {
	if d.global == nil {
		return nil
	}
	if s := d.global.Store(name); s != nil {
		return s.Typed()
	}
	return nil
}

// storeGetter lets state.GetKeyValueStore find the driver's stores.
type storeGetter struct {
	d         *Driver
	partition int32
}

func (g storeGetter) StateStore(name string) (processor.StateStore, error) {
	if s := g.d.StateStoreAt(name, g.partition); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("testdriver: %w: %q", state.ErrUnknownStore, name)
}

// KeyValueStore returns the typed key-value store named name (of partition
// 0); a missing store or one of other types fails the test.
func KeyValueStore[K, V any](d *Driver, name string) *state.KeyValueStore[K, V] {
	d.t.Helper()
	return KeyValueStoreAt[K, V](d, name, 0)
}

// KeyValueStoreAt returns the typed key-value store named name of the task
// on partition.
func KeyValueStoreAt[K, V any](d *Driver, name string, partition int32) *state.KeyValueStore[K, V] {
	d.t.Helper()
	s, err := state.GetKeyValueStore[K, V](storeGetter{d, partition}, name)
	if err != nil {
		d.t.Fatalf("%v", relabel(err))
	}
	return s
}

// Close closes every task and store. New registers it with t.Cleanup.
func (d *Driver) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for _, task := range d.tasks {
		if task != nil {
			// What the commits left in the transaction buffers goes to
			// the databases, as a runtime shutting down cleanly leaves
			// them.
			errs = append(errs, task.ApplyCommitted(), task.Close())
		}
	}
	// Last: the tasks closed above read its stores.
	if d.global != nil {
		errs = append(errs, d.global.Close())
	}
	return relabel(errors.Join(errs...))
}

// relabel gives an error of the engine the driver's prefix, as the
// runtime gives it its own: "testdriver: task 0_0: ..." rather than
// "engine: task 0_0: ...". Nil costs a comparison.
func relabel(err error) error {
	if err == nil {
		return nil
	}
	return engine.Relabel("testdriver", err)
}

// host is the engine's Collector and Committer for the driver's tasks: it
// writes to the driver's topics, and commits by making them readable.
type host struct{ d *Driver }

func (h host) Send(topic string, key, value []byte, timestamp int64, headers []processor.Header) error {
	d := h.d
	d.add(d.sentTo(topic), -1, key, value, timestamp, headers, d.current, true, 0)
	return nil
}

// Sender returns what a sink writing to topic sends with: add to the
// topic, looked up once, keeping the parts kept says as they are.
func (h host) Sender(topic string) engine.KeptSender {
	d := h.d
	tp := d.topic(topic)
	return func(key, value []byte, kept engine.Kept, timestamp int64, headers []processor.Header) error {
		if len(headers) > 0 || d.current < 0 {
			d.add(tp, -1, key, value, timestamp, headers, d.current, true, kept)
		} else {
			d.addSent(tp, -1, key, value, kept, timestamp)
		}
		return nil
	}
}

const sentCache = 4

type sentTopic struct {
	name string
	tp   *topic
}

// sentTo returns the topic named name, from the cache of the topics last
// sent to if it is there; a miss takes the cache's slots in turn.
func (d *Driver) sentTo(name string) *topic {
	for i := range d.sent {
		if e := &d.sent[i]; e.tp != nil && e.name == name {
			return e.tp
		}
	}
	tp := d.topic(name)
	d.sent[d.sentNext] = sentTopic{name, tp}
	d.sentNext = (d.sentNext + 1) % sentCache
	return tp
}

func (h host) SendChangelog(cl *engine.Changelog, key, value []byte, timestamp int64, headers []processor.Header) error {
	d := h.d
	if len(headers) > 0 || d.current < 0 {
		d.add(cl.HostData.(*topic), cl.Partition, key, value, timestamp, headers, d.current, true, 0)
	} else {
		d.addSent(cl.HostData.(*topic), cl.Partition, key, value, 0, timestamp)
	}
	return nil
}

func (h host) Commit(_ context.Context, offsets []engine.Offset) (bool, error) {
	h.d.settleTopics(offsets)
	return true, nil
}

func (h host) ChangelogOffset(cl *engine.Changelog) (int64, bool) {
	tp := cl.HostData.(*topic)
	if tp.next[cl.Partition] == 0 {
		return 0, false
	}
	return tp.next[cl.Partition] - 1, true
}
