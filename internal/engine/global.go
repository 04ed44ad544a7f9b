package engine

import (
	"fmt"
	"slices"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// GlobalStore is a global store of the graph, Kafka Streams' global state
// store: a store every instance of the application keeps whole, filled from
// every partition of one topic by a processor of its own, and read by the
// processors of every task. Its source and processor form a node group of
// their own, which takes a sub-topology id as Kafka Streams numbers them but
// makes no tasks: the instance's one GlobalTask runs every global store.
//
// The store is not logged: the topic is its changelog. Processors of the
// subtopologies read it without being connected to it.
type GlobalStore struct {
	// ID is the sub-topology id of the store's node group, set by Build.
	ID        int
	Store     string
	Topic     string
	Source    *Node
	Processor *Node
}

// AddGlobalStore adds the global store b, filled from the records source
// reads by processor, which it connects to the store. source must have one
// topic and processor must be its child. Errors are recorded for Build.
func (g *Graph) AddGlobalStore(b state.StoreBuilder, source, processor *Node) {
	gs := &GlobalStore{Source: source, Processor: processor}
	if len(source.Topics) == 1 {
		gs.Topic = source.Topics[0]
	}
	source.global, processor.global = gs, gs
	g.Add(source)
	g.Add(processor, source.Name)
	if b == nil {
		g.fail("global store with source %q and processor %q has no store builder", source.Name, processor.Name)
		return
	}
	gs.Store = b.Name()
	if g.AddStore(b) == nil {
		return
	}
	g.globals[gs.Store] = gs
	g.Globals = append(g.Globals, gs)
	g.ConnectStore(gs.Store, processor.Name)
}

// GlobalTopics returns the topics the global stores are filled from,
// sorted.
func (g *Graph) GlobalTopics() []string {
	topics := make([]string, 0, len(g.Globals))
	for _, gs := range g.Globals {
		topics = append(topics, gs.Topic)
	}
	slices.Sort(topics)
	return topics
}

// checkGlobals finds the mistakes Kafka Streams' addGlobalStore refuses:
// a logged store, a topic read by another source, a store connected to
// other processors; and nodes hung below a global store's, which would
// join its node group. readers maps the topics of the other sources to
// them.
func (g *Graph) checkGlobals(readers map[string]string) []error {
	var errs []error
	byTopic := map[string]*GlobalStore{}
	for _, gs := range g.Globals {
		src, proc := gs.Source, gs.Processor
		switch {
		case len(src.Topics) != 1 || src.Topics[0] == "":
			errs = append(errs, graphErr("%w: source %q of global store %q must read exactly one topic, not %q", ErrGlobalStore, src.Name, gs.Store, src.Topics))
			continue
		case g.IsInternal(gs.Topic):
			errs = append(errs, graphErr("%w: global store %q reads repartition topic %q; a global store reads a topic of its own", ErrGlobalStore, gs.Store, gs.Topic))
		}
		if other, ok := readers[gs.Topic]; ok {
			errs = append(errs, graphErr("%w: topic %q is read by both source %q and global store %q (source %q); a global store's topic is read by nothing else", ErrDuplicateName, gs.Topic, other, gs.Store, src.Name))
		}
		if other := byTopic[gs.Topic]; other != nil {
			errs = append(errs, graphErr("%w: topic %q is read by both global store %q and global store %q", ErrDuplicateName, gs.Topic, other.Store, gs.Store))
		}
		byTopic[gs.Topic] = gs
		if g.stores[gs.Store].Builder.Logged() {
			errs = append(errs, graphErr("%w: global store %q is logged; it restores from its topic %q, so build it with logging disabled (WithLoggingDisabled)", ErrGlobalStore, gs.Store, gs.Topic))
		}
		for _, n := range g.stores[gs.Store].Nodes {
			if n != proc.Name {
				errs = append(errs, graphErr("%w: global store %q is connected to %q; processors read global stores without being connected to them", ErrGlobalStore, gs.Store, n))
			}
		}
		for _, n := range []*Node{src, proc} {
			for _, c := range n.Children {
				if c != proc {
					errs = append(errs, graphErr("%w: %q of global store %q has a child, %q; a global store's processor only updates the store", ErrGlobalStore, n.Name, gs.Store, c.Name))
				}
			}
		}
		for _, s := range proc.Stores {
			if s != gs.Store && g.globals[s] == nil {
				errs = append(errs, graphErr("%w: processor %q of global store %q is connected to store %q; it can use global stores only", ErrGlobalStore, proc.Name, gs.Store, s))
			}
		}
	}
	return errs
}

// globalStoreFor returns global store name for node n: the store itself,
// read and written, for the global task's own processors, and the store's
// read-only view for processors of other tasks, which read it while the
// global task writes it.
func (t *Task) globalStoreFor(n *Node, name string) (processor.StateStore, error) {
	if t.global {
		if s := t.stores[name]; s != nil {
			return s.Typed(), nil
		}
		return nil, fmt.Errorf("%w: global store %q is not open in the global task", state.ErrUnknownStore, name)
	}
	if t.cfg.Global == nil {
		return nil, fmt.Errorf("%w: global store %q (asked for by %q) is not open: the host runs no global task", state.ErrUnknownStore, name, n.Name)
	}
	return t.cfg.Global.views[name], nil
}
