package testdriver

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
)

// Option configures a Driver.
type Option func(*options)

type options struct {
	pebble       bool
	appID        string
	wallClock    time.Time
	continueOnDe bool
}

// WithPebbleStores runs persistent stores on Pebble over an in-memory
// filesystem instead of the in-memory store.
func WithPebbleStores() Option { return func(o *options) { o.pebble = true } }

// WithApplicationID sets the application id processors see (default
// "test-driver").
func WithApplicationID(id string) Option { return func(o *options) { o.appID = id } }

// WithWallClock sets the driver's initial wall-clock time (default: now).
// Input topics start their record timestamps at it.
func WithWallClock(t time.Time) Option { return func(o *options) { o.wallClock = t } }

// WithContinueOnDeserializationError drops records the source serdes cannot
// read, counting them, instead of failing.
func WithContinueOnDeserializationError() Option {
	return func(o *options) { o.continueOnDe = true }
}

// Driver runs a topology with no broker. It is not safe for concurrent use.
type Driver struct {
	t     testing.TB
	g     *engine.Graph
	opts  options
	tasks []*engine.Task
	// byTopic maps a source topic to the task reading it.
	byTopic map[string]*engine.Task
	offsets map[string]int64
	outputs map[string]*queue
	pending []engine.RawRecord
	head    int // the next pending record to process
	// arena is where Send copies keys and values: one allocation serves
	// many records.
	arena  []byte
	now    int64
	fs     vfs.FS
	dbs    []*state.DB
	closed bool
}

type queue struct {
	recs []engine.RawRecord
	head int
}

// New builds topo and starts a driver for it; the driver is closed when the
// test ends. A topology that does not build fails the test.
func New(t testing.TB, topo *topology.Topology, opts ...Option) *Driver {
	t.Helper()
	d, err := open(t, topo, opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("%v", err)
		}
	})
	return d
}

func open(t testing.TB, topo *topology.Topology, opts []Option) (*Driver, error) {
	o := options{appID: "test-driver", wallClock: time.Now()}
	for _, f := range opts {
		f(&o)
	}
	if err := topo.Build(); err != nil {
		return nil, err
	}
	d := &Driver{
		t:       t,
		g:       engine.GraphOf(topo),
		opts:    o,
		byTopic: map[string]*engine.Task{},
		offsets: map[string]int64{},
		outputs: map[string]*queue{},
		now:     o.wallClock.UnixMilli(),
		fs:      vfs.NewMem(),
	}
	for _, st := range d.g.Subtopologies {
		// Pebble store writes wait in a transaction buffer until the
		// commit that ends each piped record, as they wait in the runtime
		// until their changelog records are committed: Pebble gets one
		// batch per commit.
		env := &state.Env{InMemory: !o.pebble, Transactional: o.pebble}
		dir := fmt.Sprintf("/state/%s/%d_0", o.appID, st.ID)
		env.DB = d.dbOpener(dir)
		task, err := engine.NewTask(d.g, st.ID, 0, engine.Config{
			ApplicationID:                  o.appID,
			Collector:                      d,
			Stores:                         env,
			WallClock:                      d.now,
			ContinueOnDeserializationError: o.continueOnDe,
		})
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("testdriver: %w", err)
		}
		d.tasks = append(d.tasks, task)
		for _, topic := range st.SourceTopics {
			d.byTopic[topic] = task
		}
	}
	for _, task := range d.tasks {
		if err := task.Init(); err != nil {
			d.Close()
			return nil, fmt.Errorf("testdriver: %w", err)
		}
	}
	return d, nil
}

func (d *Driver) dbOpener(dir string) func() (*state.DB, error) {
	var db *state.DB
	return func() (*state.DB, error) {
		if db != nil {
			return db, nil
		}
		var err error
		db, err = state.OpenDB(dir, state.DBOptions{FS: d.fs})
		if err == nil {
			d.dbs = append(d.dbs, db)
		}
		return db, err
	}
}

// Send implements engine.Collector: sinks write here.
func (d *Driver) Send(topic string, key, value []byte, timestamp int64, headers []processor.Header) error {
	r := engine.RawRecord{Topic: topic, Timestamp: timestamp, Headers: slices.Clone(headers)}
	buf := d.alloc(len(key) + len(value))
	if key != nil {
		r.Key = buf[:len(key):len(key)]
		copy(r.Key, key)
	}
	if value != nil {
		r.Value = buf[len(key):]
		copy(r.Value, value)
	}
	if d.byTopic[topic] != nil {
		r.Offset = d.nextOffset(topic)
		d.pending = append(d.pending, r)
	}
	if !d.g.IsInternal(topic) {
		q := d.outputs[topic]
		if q == nil {
			q = &queue{}
			d.outputs[topic] = q
		}
		q.recs = append(q.recs, r)
	}
	return nil
}

// alloc returns n bytes of their own, never nil.
func (d *Driver) alloc(n int) []byte {
	const block = 16 << 10
	if n > block/8 {
		return make([]byte, n)
	}
	if n > len(d.arena) {
		d.arena = make([]byte, block)
	}
	b := d.arena[:n:n]
	d.arena = d.arena[n:]
	return b
}

func (d *Driver) nextOffset(topic string) int64 {
	off := d.offsets[topic]
	d.offsets[topic] = off + 1
	return off
}

// pipe processes one input record to completion: everything it causes in
// downstream sub-topologies, then a commit (store flush) of every task.
func (d *Driver) pipe(r *engine.RawRecord) error {
	if d.closed {
		return errors.New("testdriver: driver is closed")
	}
	task := d.byTopic[r.Topic]
	if task == nil {
		return fmt.Errorf("testdriver: topic %q is not read by the topology (it reads %v)", r.Topic, d.sourceTopics())
	}
	r.Offset = d.nextOffset(r.Topic)
	if err := task.Process(r); err != nil {
		d.dropPending()
		return err
	}
	return d.settle()
}

// settle processes pending internal records and flushes, until quiet.
func (d *Driver) settle() error {
	for {
		// Processing appends to pending: walk it by index.
		for d.head < len(d.pending) {
			r := d.pending[d.head]
			d.head++
			if err := d.byTopic[r.Topic].Process(&r); err != nil {
				d.dropPending()
				return err
			}
		}
		d.dropPending()
		for _, task := range d.tasks {
			if err := task.Flush(); err != nil {
				return fmt.Errorf("testdriver: %w", err)
			}
		}
		if len(d.pending) == 0 {
			return d.commit()
		}
	}
}

// commit applies the stores' transaction buffers.
func (d *Driver) commit() error {
	for _, task := range d.tasks {
		for _, s := range task.Stores() {
			if x := s.Txn(); x != nil {
				if err := x.Commit(); err != nil {
					return fmt.Errorf("testdriver: commit store %q: %w", s.Name(), err)
				}
			}
		}
	}
	return nil
}

// dropPending empties pending, keeping its capacity.
func (d *Driver) dropPending() {
	clear(d.pending)
	d.pending, d.head = d.pending[:0], 0
}

func (d *Driver) sourceTopics() []string {
	var ts []string
	for t := range d.byTopic {
		if !d.g.IsInternal(t) {
			ts = append(ts, t)
		}
	}
	sort.Strings(ts)
	return ts
}

// AdvanceWallClockTime moves the wall clock forward by by and runs the
// wall-clock punctuators that come due.
func (d *Driver) AdvanceWallClockTime(by time.Duration) {
	d.t.Helper()
	if err := d.TryAdvanceWallClockTime(by); err != nil {
		d.t.Fatalf("%v", err)
	}
}

// TryAdvanceWallClockTime is AdvanceWallClockTime returning the error.
func (d *Driver) TryAdvanceWallClockTime(by time.Duration) error {
	d.now += by.Milliseconds()
	for _, task := range d.tasks {
		if err := task.AdvanceWallClock(d.now); err != nil {
			return err
		}
	}
	return d.settle()
}

// WallClockTime is the driver's current wall-clock time.
func (d *Driver) WallClockTime() time.Time { return time.UnixMilli(d.now) }

// DroppedRecords returns how many records the topology dropped on purpose,
// by reason ("null-key", "null-value", "deserialization-error").
func (d *Driver) DroppedRecords() map[string]int64 {
	out := map[string]int64{}
	for _, task := range d.tasks {
		for k, v := range task.Dropped() {
			out[k] += v
		}
	}
	return out
}

// StateStore returns the store named name, or nil if there is none.
func (d *Driver) StateStore(name string) processor.StateStore {
	for _, task := range d.tasks {
		if s := task.Store(name); s != nil {
			return s.Typed()
		}
	}
	return nil
}

// storeGetter lets state.GetKeyValueStore find the driver's stores.
type storeGetter struct{ d *Driver }

func (g storeGetter) StateStore(name string) (processor.StateStore, error) {
	if s := g.d.StateStore(name); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("testdriver: %w: %q", state.ErrUnknownStore, name)
}

// KeyValueStore returns the typed key-value store named name; a missing
// store or one of other types fails the test.
func KeyValueStore[K, V any](d *Driver, name string) *state.KeyValueStore[K, V] {
	d.t.Helper()
	s, err := state.GetKeyValueStore[K, V](storeGetter{d}, name)
	if err != nil {
		d.t.Fatalf("%v", err)
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
		errs = append(errs, task.Close())
	}
	for _, db := range d.dbs {
		errs = append(errs, db.Close())
	}
	return errors.Join(errs...)
}
