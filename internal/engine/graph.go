package engine

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/samsa-go/samsa/state"
)

// Kind is the role of a node.
type Kind int

const (
	KindSource Kind = iota
	KindProcessor
	KindSink
)

// Instance is a node built for one task.
type Instance struct {
	// Receiver is a Receiver[K, V] for processors and sinks, a RawSource for
	// sources.
	Receiver any
	Init     func() error
	Close    func() error
}

// BuildFunc builds a node for task t. children are the built receivers of
// the node's children, in the node's child order.
type BuildFunc func(t *Task, n *Node, children []any) (Instance, error)

// Node is one vertex of the graph.
type Node struct {
	Name string
	Kind Kind
	// Topics are a source's topics.
	Topics []string
	// Topic is a sink's fixed topic; empty when the sink picks a topic per
	// record.
	Topic string
	// Stores are the names of the stores the node may use.
	Stores   []string
	Parents  []*Node
	Children []*Node

	// InKey and InValue are the types the node receives (nil for sources);
	// OutKey and OutValue the types it forwards (nil for sinks).
	InKey, InValue, OutKey, OutValue reflect.Type

	Build BuildFunc
	// Check reports a configuration error found when the graph is built
	// (a missing serde, say). May be nil.
	Check func() error
	// TimestampExtractor is a source's processor.TimestampExtractor[K, V],
	// of the source's types; nil for the topic's timestamps.
	TimestampExtractor any

	// sub is the index in Graph.Subtopologies of the node's subtopology,
	// -1 for the nodes of a global store.
	sub int
	// global is the global store whose source or processor the node is.
	global *GlobalStore
	// id is 1 + the node's index in Graph.Nodes: what Task.at holds.
	id int32
}

// InternalTopic is a topic the application owns: a repartition topic. Its
// name here lacks the application id prefix, which the runtime adds.
type InternalTopic struct {
	Name string
	// Partitions is the partition count asked for; 0 takes the count of the
	// upstream source topics.
	Partitions int32
	// Configs override the topic configs it is created with.
	Configs map[string]string
}

// StoreSpec is a store of the graph and the nodes connected to it.
type StoreSpec struct {
	Builder state.StoreBuilder
	Nodes   []string
	// SourceTopic is set for a table materialized straight from its source
	// topic; it can be restored from that topic instead of a changelog.
	SourceTopic string
	// Replayable, when set, reports once the topology is built whether
	// the nodes that write the store make no decision on what a restore
	// gives them back that the outputs they sent did not already carry:
	// handed an input again after their store was restored past it, they
	// send again what they sent the first time, updated (a stream,
	// cogrouped or table aggregation whose table sends no old values: the
	// count one higher, an at-least-once duplicate). The changelog may then
	// land before those outputs (see LogsAhead). A windowed aggregation,
	// which drops what its restored stream time makes late, or a table
	// that forwards a delete only for a row it holds, is not: a restore
	// ahead of its outputs would lose one.
	Replayable func() bool
	// Writers are the nodes Replayable speaks for: the store's own
	// aggregating nodes.
	Writers []string
}

// LogsAhead reports whether the store's changelog may land ahead of the
// outputs of the writes it records: the nodes that write it say they are
// Replayable, and no other node reads it, which could decide on it.
func (s *StoreSpec) LogsAhead() bool {
	if s.Replayable == nil {
		return false
	}
	for _, n := range s.Nodes {
		if !slices.Contains(s.Writers, n) {
			return false
		}
	}
	return s.Replayable()
}

// Subtopology is a connected part of the graph: the unit that becomes one
// task per partition.
type Subtopology struct {
	ID    int
	Nodes []*Node
	// SourceTopics and SinkTopics are sorted.
	SourceTopics []string
	SinkTopics   []string
	Stores       []string
	// RepartitionSourceTopics are the SourceTopics that are internal.
	RepartitionSourceTopics []string
}

// Graph is the untyped topology. It is built by one goroutine and read-only
// after Build.
type Graph struct {
	Nodes  []*Node
	Stores []*StoreSpec

	Internal map[string]*InternalTopic
	// CopartitionGroups lists groups of topics whose partitions must match
	// (each sorted).
	CopartitionGroups [][]string

	// Subtopologies are the subtopologies that become tasks, in id order.
	// Their ids count global stores too, as Kafka Streams numbers them, so
	// they skip the ids of global stores: look one up with SubtopologyByID.
	Subtopologies []*Subtopology
	// Globals are the global stores (global.go), in the order added; Build
	// gives them their ids.
	Globals []*GlobalStore
	// IDs is the number of sub-topology ids Build gave out, to
	// subtopologies and global stores: ids run from 0 to IDs-1.
	IDs int

	byName  map[string]*Node
	stores  map[string]*StoreSpec
	globals map[string]*GlobalStore // by store name
	errs    []error
	built   bool
	counter int
}

// NewGraph returns an empty graph.
func NewGraph() *Graph {
	return &Graph{
		Internal: map[string]*InternalTopic{},
		byName:   map[string]*Node{},
		stores:   map[string]*StoreSpec{},
		globals:  map[string]*GlobalStore{},
	}
}

// NextIndex returns the next value of the counter that generated names use,
// as Kafka Streams numbers its generated names.
func (g *Graph) NextIndex() int {
	i := g.counter
	g.counter++
	return i
}

// Fail records an error that Build will return as it is: an error of the
// graph's user, which says where it comes from.
func (g *Graph) Fail(err error) { g.errs = append(g.errs, err) }

// fail records an error of the graph's own, which users see as package
// topology's.
func (g *Graph) fail(format string, args ...any) { g.Fail(graphErr(format, args...)) }

// graphErr is an error found in the graph. The graph is reached through
// package topology only, so its errors carry that package's prefix.
func graphErr(format string, args ...any) error {
	return fmt.Errorf("topology: "+format, args...)
}

// Node returns the node named name, or nil.
func (g *Graph) Node(name string) *Node { return g.byName[name] }

// Store returns the store named name, or nil.
func (g *Graph) Store(name string) *StoreSpec { return g.stores[name] }

// Add adds n with the named parents. Errors are recorded for Build.
func (g *Graph) Add(n *Node, parents ...string) *Node {
	if n.Name == "" {
		g.fail("node has an empty name")
		return n
	}
	if _, dup := g.byName[n.Name]; dup {
		g.fail("%w: node %q is defined twice", ErrDuplicateName, n.Name)
		return n
	}
	if n.Kind == KindSource && len(parents) > 0 {
		g.fail("source %q cannot have parents", n.Name)
	}
	if n.Kind != KindSource && len(parents) == 0 {
		g.fail("%s %q needs at least one parent", kindName(n.Kind), n.Name)
	}
	for _, p := range parents {
		pn := g.byName[p]
		if pn == nil {
			g.fail("%w: %s %q names parent %q, which does not exist", ErrUnknownNode, kindName(n.Kind), n.Name, p)
			continue
		}
		if pn.Kind == KindSink {
			g.fail("sink %q cannot be a parent of %q", p, n.Name)
			continue
		}
		n.Parents = append(n.Parents, pn)
		pn.Children = append(pn.Children, n)
	}
	g.byName[n.Name] = n
	g.Nodes = append(g.Nodes, n)
	n.id = int32(len(g.Nodes))
	return n
}

// AddStore registers a store and connects it to nodes.
func (g *Graph) AddStore(b state.StoreBuilder, nodes ...string) *StoreSpec {
	name := b.Name()
	if name == "" {
		g.fail("store has an empty name")
		return nil
	}
	if _, dup := g.stores[name]; dup {
		g.fail("%w: store %q is defined twice", ErrDuplicateName, name)
		return nil
	}
	s := &StoreSpec{Builder: b}
	g.stores[name] = s
	g.Stores = append(g.Stores, s)
	for _, n := range nodes {
		g.ConnectStore(name, n)
	}
	return s
}

// ConnectStore gives node access to store.
func (g *Graph) ConnectStore(store, node string) {
	n := g.byName[node]
	if n == nil {
		g.fail("%w: store %q is connected to node %q, which does not exist", ErrUnknownNode, store, node)
		return
	}
	if !slices.Contains(n.Stores, store) {
		n.Stores = append(n.Stores, store)
	}
	if s := g.stores[store]; s != nil && !slices.Contains(s.Nodes, node) {
		s.Nodes = append(s.Nodes, node)
	}
}

// AddInternalTopic registers a repartition topic and returns it.
func (g *Graph) AddInternalTopic(name string, partitions int32) *InternalTopic {
	if t, ok := g.Internal[name]; ok {
		if partitions > 0 && t.Partitions > 0 && t.Partitions != partitions {
			g.fail("%w: internal topic %q asked for with %d and %d partitions", ErrNotCopartitioned, name, t.Partitions, partitions)
		} else if t.Partitions == 0 {
			t.Partitions = partitions
		}
		return t
	}
	t := &InternalTopic{Name: name, Partitions: partitions}
	g.Internal[name] = t
	return t
}

// AddCopartitionGroup records that topics must have equal partition counts.
func (g *Graph) AddCopartitionGroup(topics ...string) {
	grp := slices.Clone(topics)
	sort.Strings(grp)
	g.addGroup(slices.Compact(grp))
}

// addGroup records a sorted group of topics, once: a join declares the
// topics it reads, which are often those its sub-topology reads, and a
// mistake is reported once per group.
func (g *Graph) addGroup(grp []string) {
	for _, other := range g.CopartitionGroups {
		if slices.Equal(other, grp) {
			return
		}
	}
	g.CopartitionGroups = append(g.CopartitionGroups, grp)
}

// IsInternal reports whether topic is a repartition topic of the graph.
func (g *Graph) IsInternal(topic string) bool { _, ok := g.Internal[topic]; return ok }

// SourceNode returns the source node reading topic, or nil.
func (g *Graph) SourceNode(topic string) *Node {
	for _, n := range g.Nodes {
		if n.Kind == KindSource && slices.Contains(n.Topics, topic) {
			return n
		}
	}
	return nil
}

// SubtopologyOf returns the subtopology that reads topic, or nil.
func (g *Graph) SubtopologyOf(topic string) *Subtopology {
	if n := g.SourceNode(topic); n != nil && n.sub >= 0 {
		return g.Subtopologies[n.sub]
	}
	return nil
}

// SubtopologyByID returns the subtopology with id, or nil if there is none
// (a global store has that id, or no node group).
func (g *Graph) SubtopologyByID(id int) *Subtopology {
	for _, st := range g.Subtopologies {
		if st.ID == id {
			return st
		}
	}
	return nil
}

// Build checks the graph and splits it into subtopologies. It reports every
// error it finds, joined.
func (g *Graph) Build() error {
	if g.built {
		return nil
	}
	errs := slices.Clone(g.errs)
	if len(g.Nodes) == 0 {
		errs = append(errs, graphErr("%w", ErrEmpty))
	}
	// Each topic may be read by one source only.
	readers := map[string]string{}
	for _, n := range g.Nodes {
		if n.Kind != KindSource || n.global != nil {
			continue
		}
		if len(n.Topics) == 0 {
			errs = append(errs, graphErr("source %q has no topics", n.Name))
		}
		for _, t := range n.Topics {
			if other, ok := readers[t]; ok {
				errs = append(errs, graphErr("%w: topic %q is read by both source %q and source %q", ErrDuplicateName, t, other, n.Name))
				continue
			}
			readers[t] = n.Name
		}
	}
	for _, n := range g.Nodes {
		for _, s := range n.Stores {
			if g.stores[s] == nil {
				errs = append(errs, graphErr("%w: %s %q uses store %q, which was never added", ErrUnknownStore, kindName(n.Kind), n.Name, s))
			}
		}
		for _, c := range n.Children {
			if c.InKey != n.OutKey || c.InValue != n.OutValue {
				errs = append(errs, graphErr("%w: %q forwards <%v, %v> but its child %q takes <%v, %v>", ErrTypeMismatch, n.Name, n.OutKey, n.OutValue, c.Name, c.InKey, c.InValue))
			}
		}
		if n.Check != nil {
			if err := n.Check(); err != nil {
				errs = append(errs, graphErr("%w", err))
			}
		}
	}
	errs = append(errs, g.checkGlobals(readers)...)
	if len(errs) > 0 {
		return joinErrs(errs)
	}
	g.split()
	// Every record of a task comes from one partition number of all the
	// task's source topics, so they must be co-partitioned.
	for _, st := range g.Subtopologies {
		if len(st.SourceTopics) > 1 {
			g.addGroup(slices.Compact(slices.Clone(st.SourceTopics)))
		}
	}
	for _, st := range g.Subtopologies {
		for _, t := range st.SinkTopics {
			if slices.Contains(st.SourceTopics, t) {
				errs = append(errs, graphErr("%w: topic %q is both read and written by sub-topology %d (nodes %s); put a repartition step between them", ErrCycle, t, st.ID, nodeNames(st.Nodes, t)))
			}
		}
	}
	errs = append(errs, g.checkCopartitioning()...)
	if len(errs) > 0 {
		g.Subtopologies = nil
		return joinErrs(errs)
	}
	g.built = true
	return nil
}

func nodeNames(nodes []*Node, topic string) string {
	var names []string
	for _, n := range nodes {
		if slices.Contains(n.Topics, topic) || n.Topic == topic {
			names = append(names, fmt.Sprintf("%q", n.Name))
		}
	}
	return strings.Join(names, " and ")
}

// split groups nodes into connected components (edges and shared stores),
// numbered in the order of their first node, as Kafka Streams numbers them,
// global stores' node groups included.
func (g *Graph) split() {
	parent := make([]int, len(g.Nodes))
	index := map[*Node]int{}
	for i, n := range g.Nodes {
		parent[i] = i
		index[n] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		if ra < rb {
			parent[rb] = ra
		} else {
			parent[ra] = rb
		}
	}
	for i, n := range g.Nodes {
		for _, c := range n.Children {
			union(i, index[c])
		}
	}
	for _, s := range g.Stores {
		for j := 1; j < len(s.Nodes); j++ {
			union(index[g.byName[s.Nodes[0]]], index[g.byName[s.Nodes[j]]])
		}
	}
	// A component holding a global store's nodes is that store's node
	// group: it takes an id in the same sequence but makes no tasks.
	ids := map[int]int{}
	subs := map[int]int{}
	g.Subtopologies = nil
	next := 0
	for i, n := range g.Nodes {
		r := find(i)
		id, ok := ids[r]
		if !ok {
			id = next
			next++
			ids[r] = id
		}
		if n.global != nil {
			n.sub = -1
			n.global.ID = id
			continue
		}
		idx, ok := subs[id]
		if !ok {
			idx = len(g.Subtopologies)
			subs[id] = idx
			g.Subtopologies = append(g.Subtopologies, &Subtopology{ID: id})
		}
		st := g.Subtopologies[idx]
		n.sub = idx
		st.Nodes = append(st.Nodes, n)
		switch n.Kind {
		case KindSource:
			st.SourceTopics = append(st.SourceTopics, n.Topics...)
			for _, t := range n.Topics {
				if g.IsInternal(t) {
					st.RepartitionSourceTopics = append(st.RepartitionSourceTopics, t)
				}
			}
		case KindSink:
			if n.Topic != "" {
				st.SinkTopics = append(st.SinkTopics, n.Topic)
			}
		}
		for _, s := range n.Stores {
			if !slices.Contains(st.Stores, s) {
				st.Stores = append(st.Stores, s)
			}
		}
	}
	g.IDs = next
	for _, st := range g.Subtopologies {
		sort.Strings(st.SourceTopics)
		sort.Strings(st.SinkTopics)
		st.SinkTopics = slices.Compact(st.SinkTopics)
		sort.Strings(st.RepartitionSourceTopics)
	}
}

// checkCopartitioning finds groups whose partition counts are known when the
// graph is built (internal topics with explicit counts) and differ. Counts of
// external topics are checked by the runtime, against the broker.
func (g *Graph) checkCopartitioning() []error {
	var errs []error
	for _, grp := range g.CopartitionGroups {
		counts := map[string]int32{}
		var names []string
		for _, t := range grp {
			if it, ok := g.Internal[t]; ok && it.Partitions > 0 {
				counts[t] = it.Partitions
				names = append(names, fmt.Sprintf("%q (%d)", t, it.Partitions))
			}
		}
		var first int32
		for _, c := range counts {
			if first == 0 {
				first = c
			} else if c != first {
				errs = append(errs, graphErr("%w: topics %s must have the same number of partitions", ErrNotCopartitioned, strings.Join(names, ", ")))
				break
			}
		}
	}
	return errs
}

func kindName(k Kind) string {
	switch k {
	case KindSource:
		return "source"
	case KindSink:
		return "sink"
	}
	return "processor"
}

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// Access is the argument of topology.Topology's EngineGraph method. Code
// outside this module cannot name the type, and so cannot call the method:
// the graph stays internal while the runtime and the test driver, through
// GraphOf, reach it.
type Access struct{ _ accessKey }

// accessKey keeps Access from being written as a struct literal of an
// unnamed type outside this package.
type accessKey struct{}

// GraphOf returns the graph behind a *topology.Topology.
func GraphOf(t interface{ EngineGraph(Access) *Graph }) *Graph { return t.EngineGraph(Access{}) }
