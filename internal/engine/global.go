package engine

import (
	"errors"
	"fmt"
	"slices"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// Global stores, as Kafka Streams' global state stores: a store of which
// every instance keeps a whole copy, filled from every partition of its
// topic by a source and a processor of its own (the global subtopology)
// and read by the nodes of any task connected to it. The global topic is
// its changelog: the store is not logged, and is rebuilt from the topic.
// The host runs the global subtopology in a GlobalTask, apart from the
// tasks and before them, and hands the tasks read-only views of its stores
// (Config.GlobalStore): in the runtime the global stores change on a
// goroutine of their own while the tasks read them.

// AddGlobalStore registers a global store, filled by the global processor
// named processorName from the source named sourceName, which the caller
// adds with Global set, like the processor.
func (g *Graph) AddGlobalStore(b state.StoreBuilder, processorName string) *StoreSpec {
	s := g.AddStore(b, processorName)
	if s != nil {
		s.Global = true
	}
	return s
}

// IsGlobal reports whether topic is read by the global subtopology.
func (g *Graph) IsGlobal(topic string) bool {
	n := g.SourceNode(topic)
	return n != nil && n.Global
}

// addGlobal puts n, a global node, in the global subtopology.
func (g *Graph) addGlobal(n *Node) {
	if g.Global == nil {
		g.Global = &Subtopology{ID: -1}
	}
	st := g.Global
	n.sub = -1
	st.Nodes = append(st.Nodes, n)
	if n.Kind == KindSource {
		st.SourceTopics = append(st.SourceTopics, n.Topics...)
		slices.Sort(st.SourceTopics)
	}
	for _, s := range n.Stores {
		if !slices.Contains(st.Stores, s) {
			st.Stores = append(st.Stores, s)
		}
	}
}

// checkGlobal checks the global nodes and stores: a global store is filled
// by global nodes only and has no changelog, global nodes feed only global
// nodes and write to no topic.
func (g *Graph) checkGlobal() []error {
	var errs []error
	for _, s := range g.Stores {
		if !s.Global {
			continue
		}
		if s.Builder.Logged() {
			errs = append(errs, graphErr("global store %q is logged: its topic is its changelog; disable logging", s.Builder.Name()))
		}
	}
	for _, n := range g.Nodes {
		for _, c := range n.Children {
			if n.Global != c.Global {
				errs = append(errs, graphErr("global node %q and node %q are connected: a global store's source and processor stand apart from the tasks, which only read the store", pick(n.Global, n.Name, c.Name), pick(n.Global, c.Name, n.Name)))
			}
		}
		if n.Global && n.Kind == KindSink {
			errs = append(errs, graphErr("sink %q is global: a global subtopology writes no topic", n.Name))
		}
	}
	return errs
}

func pick(first bool, a, b string) string {
	if first {
		return a
	}
	return b
}

// GlobalTask runs the global subtopology: it keeps the global stores and
// applies to them each record of the global topics its host hands it, in
// the order the host reads them. It has no changelogs, commits nothing and
// drops nothing on a failure: a global store is rebuilt from its topic.
// Like a Task, it is driven by one goroutine; its stores' views may be read
// from any.
type GlobalTask struct {
	t *Task
}

// NewGlobalTask opens the global stores of g, in the database cfg.OpenDB
// opens for the task id -1_0 unless they are in memory, and builds and
// initializes the global processors. It returns nil when g has no global
// subtopology.
func NewGlobalTask(g *Graph, cfg Config) (*GlobalTask, error) {
	if !g.built {
		return nil, errors.New("engine: graph is not built")
	}
	if g.Global == nil {
		return nil, nil
	}
	cfg.Collector = nil
	t := &Task{
		ID:         processor.TaskID{Subtopology: -1},
		Sub:        g.Global,
		graph:      g,
		cfg:        cfg,
		stores:     map[string]state.Store{},
		streamTime: -1,
		wallClock:  cfg.WallClock,
		dropped:    map[string]int64{},
	}
	for _, topic := range g.Global.SourceTopics {
		t.inputs = append(t.inputs, &Input{Topic: topic, task: t, deadline: -1})
	}
	// The global stores are written right through: a store ahead of where
	// its host will read its topic again only sees records it applied
	// already, which leave a table as they found it.
	env := &state.Env{TaskID: t.ID, ApplicationID: cfg.ApplicationID, InMemory: cfg.InMemory, DB: t.openDB, RecordTime: t.RecordTimestamp}
	for _, name := range g.Global.Stores {
		s, err := g.stores[name].Builder.Build(env)
		if err != nil {
			t.closeStores()
			return nil, fmt.Errorf("engine: global store %q: %w", name, err)
		}
		t.stores[name] = s
		t.storeList = append(t.storeList, s)
	}
	if err := t.Start(); err != nil {
		t.Close()
		return nil, err
	}
	return &GlobalTask{t: t}, nil
}

// Topics returns the global topics, sorted.
func (gt *GlobalTask) Topics() []string { return gt.t.Sub.SourceTopics }

// Process applies one record of a global topic to the global stores.
func (gt *GlobalTask) Process(r *RawRecord) error {
	in := gt.t.Input(r.Topic)
	if in == nil {
		return fmt.Errorf("engine: topic %q is not a global topic", r.Topic)
	}
	return gt.t.process(in.src, r)
}

// Flush writes the global stores' cached writes down, where the tasks'
// views see them.
func (gt *GlobalTask) Flush() error { return gt.t.Flush() }

// View returns the view of the global store name that tasks read.
func (gt *GlobalTask) View(name string) (processor.StateStore, error) {
	s := gt.t.stores[name]
	if s == nil {
		return nil, fmt.Errorf("%w: %q is not a global store", state.ErrUnknownStore, name)
	}
	return s.View()
}

// Dropped returns how many records of the global topics were dropped, by
// reason.
func (gt *GlobalTask) Dropped() map[string]int64 { return gt.t.dropped }

// Close closes the global processors and stores.
func (gt *GlobalTask) Close() error { return gt.t.Close() }
