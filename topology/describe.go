package topology

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/samsa-go/samsa/internal/engine"
)

// Description is a built topology as Kafka Streams' TopologyDescription
// shows it: its sub-topologies, each with its nodes and the edges between
// them. It is a snapshot: changing it changes nothing in the topology.
//
// String prints it in the text format of Kafka Streams'
// TopologyDescription#toString, byte for byte, so tools that read those
// descriptions (visualizers, diff scripts) read Samsa's as well. The
// structured fields hold what String prints, each list in id order.
type Description struct {
	// Subtopologies are in id order.
	Subtopologies []SubtopologyDescription
	// GlobalStores are in id order. Their ids are sub-topology ids, given
	// out in one sequence with those of Subtopologies.
	GlobalStores []GlobalStoreDescription

	err error
}

// SubtopologyDescription is one sub-topology of a Description.
type SubtopologyDescription struct {
	ID int
	// Nodes are in Kafka Streams' order: nodes with more paths below them
	// first, then by name, so a chain lists from its source to its sink.
	Nodes []NodeDescription
}

// NodeKind is the role of a node in a Description.
type NodeKind int

// The kinds of nodes.
const (
	SourceNode NodeKind = iota
	ProcessorNode
	SinkNode
)

// String returns the kind as Kafka Streams prints it: Source, Processor or
// Sink.
func (k NodeKind) String() string {
	switch k {
	case SourceNode:
		return "Source"
	case ProcessorNode:
		return "Processor"
	case SinkNode:
		return "Sink"
	}
	return "NodeKind(" + strconv.Itoa(int(k)) + ")"
}

// NodeDescription is one node of a SubtopologyDescription.
type NodeDescription struct {
	Name string
	Kind NodeKind
	// Topics are the topics a source reads.
	Topics []string
	// Topic is the topic a sink writes; it is empty when the sink picks a
	// topic for each record.
	Topic string
	// Stores are the stores a processor uses.
	Stores []string
	// Predecessors and Successors are the names of the node's parents and
	// children, all in the same sub-topology.
	Predecessors []string
	Successors   []string
}

// Err returns the error that kept the topology from being built, or nil.
func (d Description) Err() error { return d.err }

// String renders the description as Kafka Streams'
// TopologyDescription#toString does; when the topology could not be built,
// it returns the error's text instead.
func (d Description) String() string {
	if d.err != nil {
		return d.err.Error()
	}
	var b strings.Builder
	// Kafka writes the header with one trailing space and every sub-topology
	// after two more, so the first is indented by three and the rest by two.
	b.WriteString("Topologies:\n ")
	// Kafka interleaves the two lists by counting ids from 0: at each
	// count it prints the next sub-topology if it has that id, and the
	// next global store otherwise, then whatever is left of either.
	subs, globals := d.Subtopologies, d.GlobalStores
	for id := 0; len(subs) > 0 && len(globals) > 0; id++ {
		b.WriteString("  ")
		if subs[0].ID == id {
			b.WriteString(subs[0].String())
			subs = subs[1:]
		} else {
			b.WriteString(globals[0].String())
			globals = globals[1:]
		}
	}
	for _, st := range subs {
		b.WriteString("  ")
		b.WriteString(st.String())
	}
	for _, gs := range globals {
		b.WriteString("  ")
		b.WriteString(gs.String())
	}
	return b.String()
}

// GlobalStoreDescription is a global store of a Description: the source
// that reads its topic and the processor that updates it (see
// Topology.AddGlobalStore).
type GlobalStoreDescription struct {
	ID int
	// Store is the store's name, which Processor lists as its one store.
	Store     string
	Source    NodeDescription
	Processor NodeDescription
}

// String renders the global store as Kafka Streams does: a header line
// saying it makes no tasks, then its source and its processor. Unlike a
// sub-topology's, the block ends without an empty line.
func (g GlobalStoreDescription) String() string {
	return "Sub-topology: " + strconv.Itoa(g.ID) + " for global store (will not generate tasks)\n" +
		"    " + g.Source.String() + "\n" +
		"    " + g.Processor.String() + "\n"
}

// String renders the sub-topology as Kafka Streams does: a header line, one
// block per node, and an empty line.
func (s SubtopologyDescription) String() string {
	var b strings.Builder
	b.WriteString("Sub-topology: ")
	b.WriteString(strconv.Itoa(s.ID))
	b.WriteString("\n")
	for _, n := range s.Nodes {
		b.WriteString("    ")
		b.WriteString(n.String())
		b.WriteString("\n")
	}
	b.WriteString("\n")
	return b.String()
}

// String renders the node as Kafka Streams does: its kind, name and topics
// or stores, then its successors (-->) and predecessors (<--) on indented
// lines, "none" standing for an empty list. Sources have no predecessor
// line and sinks no successor line.
func (n NodeDescription) String() string {
	const succ, pred = "\n      --> ", "\n      <-- "
	switch n.Kind {
	case SourceNode:
		return "Source: " + n.Name + " (topics: " + javaSetString(n.Topics) + ")" + succ + describeNames(n.Successors)
	case SinkNode:
		if n.Topic == "" {
			// Kafka prints the extractor object (a Java class name and
			// hash); a Go func has no such name, so this fixed text stands
			// in for it.
			return "Sink: " + n.Name + " (extractor class: topic extractor)" + pred + describeNames(n.Predecessors)
		}
		return "Sink: " + n.Name + " (topic: " + n.Topic + ")" + pred + describeNames(n.Predecessors)
	}
	return "Processor: " + n.Name + " (stores: " + javaSetString(n.Stores) + ")" + succ + describeNames(n.Successors) + pred + describeNames(n.Predecessors)
}

func describeNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func javaSetString(items []string) string {
	return "[" + strings.Join(items, ", ") + "]"
}

// Describe builds the topology, if it is not built yet, and describes it.
// If Build fails, the Description has no sub-topologies, its Err returns
// Build's error and its String the error's text.
func (t *Topology) Describe() Description {
	if err := t.Build(); err != nil {
		return Description{err: err}
	}
	d := Description{Subtopologies: make([]SubtopologyDescription, 0, len(t.g.Subtopologies))}
	for _, st := range t.g.Subtopologies {
		d.Subtopologies = append(d.Subtopologies, describeSubtopology(st))
	}
	for _, gs := range t.g.Globals {
		d.GlobalStores = append(d.GlobalStores, GlobalStoreDescription{
			ID:    gs.ID,
			Store: gs.Store,
			Source: NodeDescription{
				Name:       gs.Source.Name,
				Kind:       SourceNode,
				Topics:     []string{gs.Topic},
				Successors: []string{gs.Processor.Name},
			},
			Processor: NodeDescription{
				Name:         gs.Processor.Name,
				Kind:         ProcessorNode,
				Stores:       []string{gs.Store},
				Predecessors: []string{gs.Source.Name},
			},
		})
	}
	// Stores are added in order, and ids grow with the order of their
	// first node; sorting keeps the promise of id order regardless.
	sort.SliceStable(d.GlobalStores, func(i, j int) bool { return d.GlobalStores[i].ID < d.GlobalStores[j].ID })
	return d
}

// descNode is a node while its sub-topology is being described.
type descNode struct {
	n *engine.Node
	// size counts the paths from the node down to the sub-topology's
	// leaves, the node itself included, as far as the edges linked so far
	// reach.
	size         int
	preds, succs nodeSet
}

// describeSubtopology orders nodes and edges exactly as Kafka Streams does.
// Kafka sorts nodes by size, largest first, then by name. It links the edges
// one by one, visiting nodes in the iteration order of a java.util.HashMap
// keyed by name, and keeps each node's neighbours in a java.util.TreeSet
// ordered by the sizes known at the time of each insertion; as later edges
// grow the sizes, those sets are not re-sorted, and the order in which a
// node lists its neighbours keeps traces of that history. Replaying the same
// steps is the only way to print the same lists, so that is what this does.
// Names that share a hash bucket are visited in the order the nodes were
// added, as in Kafka; Samsa's DSL may add nodes in another order than Kafka's
// DSL, which can change the lists only through such names.
func describeSubtopology(st *engine.Subtopology) SubtopologyDescription {
	nodes := make([]*descNode, len(st.Nodes))
	byNode := make(map[*engine.Node]*descNode, len(st.Nodes))
	for i, n := range st.Nodes {
		dn := &descNode{n: n, size: 1}
		nodes[i] = dn
		byNode[n] = dn
	}
	names := make([]string, len(nodes))
	for i, dn := range nodes {
		names[i] = dn.n.Name
	}
	for _, i := range javaHashOrder(names) {
		dn := nodes[i]
		for _, p := range dn.n.Parents {
			pd := byNode[p]
			dn.preds.add(pd)
			pd.succs.add(dn)
			growSize(pd, dn.size)
		}
	}
	// The sizes are final now, so a plain sort gives Kafka's node order.
	sorted := append([]*descNode(nil), nodes...)
	sort.SliceStable(sorted, func(i, j int) bool { return compareDescNodes(sorted[i], sorted[j]) < 0 })

	sd := SubtopologyDescription{ID: st.ID, Nodes: make([]NodeDescription, 0, len(sorted))}
	for _, dn := range sorted {
		n := dn.n
		nd := NodeDescription{
			Name:         n.Name,
			Predecessors: dn.preds.names(),
			Successors:   dn.succs.names(),
		}
		switch n.Kind {
		case engine.KindSource:
			nd.Kind = SourceNode
			nd.Topics = javaSetOrder(n.Topics)
		case engine.KindSink:
			nd.Kind = SinkNode
			nd.Topic = n.Topic
		default:
			nd.Kind = ProcessorNode
			nd.Stores = javaSetOrder(n.Stores)
		}
		sd.Nodes = append(sd.Nodes, nd)
	}
	return sd
}

// growSize adds delta to the size of dn and of every node above it, once for
// every path that leads up to it.
func growSize(dn *descNode, delta int) {
	dn.size += delta
	dn.preds.each(func(p *descNode) { growSize(p, delta) })
}

// compareDescNodes is Kafka's node order: larger size first, then by name.
func compareDescNodes(a, b *descNode) int {
	if a == b {
		return 0
	}
	if a.size != b.size {
		return b.size - a.size
	}
	return javaCompare(a.n.Name, b.n.Name)
}

// javaCompare orders strings as Java's String#compareTo does: by UTF-16 code
// units, which differs from Go's byte order only beyond the ASCII range.
func javaCompare(a, b string) int {
	if allASCII(a) && allASCII(b) {
		return strings.Compare(a, b)
	}
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return int(ua[i]) - int(ub[i])
		}
	}
	return len(ua) - len(ub)
}

func allASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// javaSetOrder returns items in the order a java.util.HashSet holding them
// iterates, when the set was filled in the order of items. Kafka prints
// topics and stores from such sets.
func javaSetOrder(items []string) []string {
	if len(items) == 0 {
		return nil
	}
	out := make([]string, len(items))
	for i, j := range javaHashOrder(items) {
		out[i] = items[j]
	}
	return out
}

// javaHashOrder returns the indexes of keys in the iteration order of a
// java.util.HashMap (or HashSet) into which they were put in order: by
// bucket, then by insertion within a bucket. The table starts with 16
// buckets and doubles whenever it is more than three quarters full; copies
// made with the HashSet(Collection) constructor end up with the same number
// of buckets on current JDKs. Buckets overfull enough to be turned into
// trees (9 colliding names in a table of at least 64 buckets) are not
// modelled.
func javaHashOrder(keys []string) []int {
	buckets := 16
	for len(keys) > buckets/4*3 {
		buckets *= 2
	}
	idx := make([]int, len(keys))
	bucket := make([]int, len(keys))
	for i, k := range keys {
		idx[i] = i
		h := javaHash(k)
		bucket[i] = int((h ^ h>>16) & uint32(buckets-1))
	}
	sort.SliceStable(idx, func(i, j int) bool { return bucket[idx[i]] < bucket[idx[j]] })
	return idx
}

// javaHash is Java's String#hashCode, as the bits of an unsigned value.
func javaHash(s string) uint32 {
	var h uint32
	if allASCII(s) {
		for i := 0; i < len(s); i++ {
			h = 31*h + uint32(s[i])
		}
		return h
	}
	for _, c := range utf16.Encode([]rune(s)) {
		h = 31*h + uint32(c)
	}
	return h
}

// nodeSet is a red-black tree that inserts as java.util.TreeMap does, so
// that when the comparator's answers change between insertions (as sizes
// grow), the tree, and the order it iterates in, end up as Kafka's do.
type nodeSet struct {
	root *setEntry
}

type setEntry struct {
	node                *descNode
	left, right, parent *setEntry
	red                 bool
}

func (s *nodeSet) add(n *descNode) {
	if s.root == nil {
		s.root = &setEntry{node: n}
		return
	}
	var parent *setEntry
	var c int
	for e := s.root; e != nil; {
		parent = e
		c = compareDescNodes(n, e.node)
		switch {
		case c < 0:
			e = e.left
		case c > 0:
			e = e.right
		default:
			return
		}
	}
	e := &setEntry{node: n, parent: parent, red: true}
	if c < 0 {
		parent.left = e
	} else {
		parent.right = e
	}
	s.rebalance(e)
}

// rebalance restores the red-black properties after x was inserted, with
// the same recolourings and rotations as TreeMap, so the shapes match.
func (s *nodeSet) rebalance(x *setEntry) {
	for x != nil && x != s.root && x.parent.isRed() {
		p := x.parent
		g := p.parent
		if p == g.leftOf() {
			if u := g.rightOf(); u.isRed() {
				p.red, u.red = false, false
				g.setRed(true)
				x = g
				continue
			}
			if x == p.right {
				x = p
				s.rotateLeft(x)
			}
			x.parentOf().setRed(false)
			x.parentOf().parentOf().setRed(true)
			s.rotateRight(x.parentOf().parentOf())
		} else {
			if u := g.leftOf(); u.isRed() {
				p.red, u.red = false, false
				g.setRed(true)
				x = g
				continue
			}
			if x == p.left {
				x = p
				s.rotateRight(x)
			}
			x.parentOf().setRed(false)
			x.parentOf().parentOf().setRed(true)
			s.rotateLeft(x.parentOf().parentOf())
		}
	}
	s.root.red = false
}

// The accessors below treat a nil entry as a black leaf, as TreeMap does.

func (e *setEntry) isRed() bool { return e != nil && e.red }

func (e *setEntry) setRed(red bool) {
	if e != nil {
		e.red = red
	}
}

func (e *setEntry) parentOf() *setEntry {
	if e == nil {
		return nil
	}
	return e.parent
}

func (e *setEntry) leftOf() *setEntry {
	if e == nil {
		return nil
	}
	return e.left
}

func (e *setEntry) rightOf() *setEntry {
	if e == nil {
		return nil
	}
	return e.right
}

func (s *nodeSet) rotateLeft(p *setEntry) {
	if p == nil {
		return
	}
	r := p.right
	p.right = r.left
	if r.left != nil {
		r.left.parent = p
	}
	s.replace(p, r)
	r.left = p
	p.parent = r
}

func (s *nodeSet) rotateRight(p *setEntry) {
	if p == nil {
		return
	}
	l := p.left
	p.left = l.right
	if l.right != nil {
		l.right.parent = p
	}
	s.replace(p, l)
	l.right = p
	p.parent = l
}

// replace puts c where p hangs in the tree.
func (s *nodeSet) replace(p, c *setEntry) {
	c.parent = p.parent
	switch {
	case p.parent == nil:
		s.root = c
	case p.parent.left == p:
		p.parent.left = c
	default:
		p.parent.right = c
	}
}

// each calls f for the nodes in order.
func (s *nodeSet) each(f func(*descNode)) {
	var walk func(*setEntry)
	walk = func(e *setEntry) {
		if e == nil {
			return
		}
		walk(e.left)
		f(e.node)
		walk(e.right)
	}
	walk(s.root)
}

func (s *nodeSet) names() []string {
	var out []string
	s.each(func(n *descNode) { out = append(out, n.n.Name) })
	return out
}
