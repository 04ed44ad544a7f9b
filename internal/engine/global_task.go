package engine

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// GlobalTaskID is the id of the global task, as Kafka Streams names it.
var GlobalTaskID = processor.TaskID{Subtopology: -1, Partition: -1}

// GlobalTask keeps the global stores of one application instance, as Kafka
// Streams' GlobalStateUpdateTask: one task over every global store of the
// graph, fed every partition of their topics, in the order its host reads
// them (no record chooser: a global store is a table of its topic, not a
// stream of events in time). It reuses the task lifecycle, with a
// subtopology of the global stores' nodes, so that store stacks, record
// metadata, drop counts and errors work as in any task.
//
// The store stacks have no changelog layer and no transaction buffer: the
// topic is the changelog, read committed. A store restores by reprocessing
// its topic through its processor, from the offset the task recorded for a
// persistent store (StartOffset) and from the start for an in-memory one,
// as Kafka Streams' Topology#addGlobalStore does; bootstrapping to the end
// offsets and keeping up afterwards are the same Update calls, and the host
// alone knows which one it is doing.
//
// Processors of the host's other tasks (Config.Global) read the stores
// through their read-only views, made when the task opens: they run on other
// goroutines than the one that updates the stores, and cannot write them.
// A view sees what the task flushed: a host calls Flush after each batch it
// applied, so that cached writes become visible.
//
// A GlobalTask is driven by one goroutine. Its views may be read from any
// until Close; the host stops the tasks that read them first.
type GlobalTask struct {
	t       *Task
	views   map[string]processor.StateStore
	byTopic map[string]*globalInput
	last    *globalInput
}

// globalInput is one global store's topic as the task reads it.
type globalInput struct {
	gs *GlobalStore
	in *Input
	// next is the offset after the last record updated from, per
	// partition, -1 where none was since the task opened; moved says
	// whether one was since the last checkpoint.
	next  []int64
	moved []bool
}

// NewGlobalTask opens the global stores of g, with cfg as a task's (the
// Collector is never used: global stores send nothing). Start builds the
// processors.
func NewGlobalTask(g *Graph, cfg Config) (*GlobalTask, error) {
	if !g.built {
		return nil, errors.New("engine: graph is not built")
	}
	if len(g.Globals) == 0 {
		return nil, errors.New("engine: the graph has no global stores")
	}
	st := &Subtopology{ID: GlobalTaskID.Subtopology}
	for _, n := range g.Nodes {
		if n.global != nil {
			st.Nodes = append(st.Nodes, n)
		}
	}
	st.SourceTopics = g.GlobalTopics()
	for _, gs := range g.Globals {
		st.Stores = append(st.Stores, gs.Store)
	}
	cfg.Global = nil
	t, err := newTask(g, st, GlobalTaskID.Partition, cfg, true)
	if err != nil {
		return nil, err
	}
	gt := &GlobalTask{t: t, views: map[string]processor.StateStore{}, byTopic: map[string]*globalInput{}}
	for _, gs := range g.Globals {
		v, err := t.stores[gs.Store].View()
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("engine: global store %q cannot be read by other tasks: %w", gs.Store, err)
		}
		gt.views[gs.Store] = v
		gt.byTopic[gs.Topic] = &globalInput{gs: gs, in: t.Input(gs.Topic)}
	}
	return gt, nil
}

// Start builds and initializes the stores' processors. Call it before the
// first Update: bootstrapping runs them too.
func (gt *GlobalTask) Start() error { return gt.t.Start() }

// Topics returns the topics the task reads, sorted.
func (gt *GlobalTask) Topics() []string { return gt.t.Sub.SourceTopics }

// StartOffset returns the offset to read partition of topic from: the one
// the task recorded at its last checkpoint for a persistent store, 0 for an
// in-memory store or where none was recorded.
func (gt *GlobalTask) StartOffset(topic string, partition int32) (int64, error) {
	gi, err := gt.input(topic)
	if err != nil {
		return 0, err
	}
	t := gt.t
	if t.db == nil || !t.stores[gi.gs.Store].Bytes().Persistent() {
		return 0, nil
	}
	off, ok, err := t.db.ChangelogOffset(offsetKey(gi.gs.Store, partition))
	if err != nil {
		return 0, fmt.Errorf("engine: global store %q: read the offset of topic %q partition %d: %w", gi.gs.Store, topic, partition, err)
	}
	if !ok {
		return 0, nil
	}
	return off, nil
}

// offsetKey is the name under which the offset reached in partition of a
// global store's topic is recorded in the task's database, next to the
// store: the DB keeps one offset per name, and a global store reads many
// partitions. No store is logged in the global task's database, so no
// changelog offset takes these names.
func offsetKey(store string, partition int32) string {
	return store + "\x00" + strconv.Itoa(int(partition))
}

// Update runs r, a record of one of the task's topics, through its store's
// processor, and notes that the partition's next offset is after it. A
// processing error is a *processor.Error naming the global task, node and
// record.
func (gt *GlobalTask) Update(r *RawRecord) error {
	gi := gt.last
	if gi == nil || gi.in.Topic != r.Topic {
		var err error
		if gi, err = gt.input(r.Topic); err != nil {
			return err
		}
		gt.last = gi
	}
	err := gt.t.update(gi.in.src, r)
	gi.reached(r.Partition, r.Offset+1)
	return err
}

// update processes r as Process does, through the processing handler; a
// global store's processor runs no punctuators.
func (t *Task) update(src RawSource, r *RawRecord) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if err = t.recovered(v); err == errRecovered {
				err = nil
			}
			err = located(err)
		}
	}()
	return located(t.processRecord(src, r))
}

func (gi *globalInput) reached(partition int32, next int64) {
	for int(partition) >= len(gi.next) {
		gi.next = append(gi.next, -1)
		gi.moved = append(gi.moved, false)
	}
	gi.next[partition], gi.moved[partition] = next, true
}

func (gt *GlobalTask) input(topic string) (*globalInput, error) {
	gi := gt.byTopic[topic]
	if gi == nil {
		return nil, fmt.Errorf("engine: no global store reads topic %q (they read %q)", topic, gt.Topics())
	}
	return gi, nil
}

// Flush writes cached updates down, where the stores' views, which other
// tasks read, see them.
func (gt *GlobalTask) Flush() error { return gt.t.Flush() }

// Checkpoint flushes the stores, then records in the task's database the
// offset each partition of a persistent store's topic reached, after the
// data it covers, so that a restart resumes from there and never skips
// what the database lost. Kafka Streams checkpoints its global stores every
// commit interval, and when the global thread stops.
func (gt *GlobalTask) Checkpoint() error {
	if err := gt.Flush(); err != nil {
		return err
	}
	t := gt.t
	for _, gi := range gt.byTopic {
		persistent := t.db != nil && t.stores[gi.gs.Store].Bytes().Persistent()
		for p, moved := range gi.moved {
			if !moved {
				continue
			}
			gi.moved[p] = false
			if !persistent {
				continue
			}
			if err := t.db.SetChangelogOffset(offsetKey(gi.gs.Store, int32(p)), gi.next[p]); err != nil {
				return fmt.Errorf("engine: global store %q: record the offset of topic %q partition %d: %w", gi.gs.Store, gi.in.Topic, p, err)
			}
		}
	}
	return nil
}

// Store returns the global store named name, as the task holds it, or nil.
func (gt *GlobalTask) Store(name string) state.Store { return gt.t.Store(name) }

// Dropped returns how many records the task dropped, by reason.
func (gt *GlobalTask) Dropped() map[string]int64 { return gt.t.Dropped() }

// Close closes the processors, the stores and the task's database, without
// flushing: call Checkpoint first to keep what was updated. The stores'
// views fail with state.ErrClosed afterwards.
func (gt *GlobalTask) Close() error { return gt.t.Close() }
