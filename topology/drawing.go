package topology

import (
	"slices"
	"strconv"
)

// drawing is what Mermaid and DOT draw of a description, laid out once so
// that both number and order things alike: topics outside every block,
// blocks of nodes, per-record topics and stores, and the edges between
// them. Labels are raw; each renderer escapes them for its language.
type drawing struct {
	topics []drawItem
	blocks []drawBlock
	edges  []drawEdge
}

// drawBlock is a sub-topology or a global store, with its items in the
// order a renderer writes them.
type drawBlock struct {
	id    int
	title string
	items []drawItem
}

type drawShape int

const (
	shapeNode drawShape = iota
	shapeTopic
	// shapePerRecordTopic stands for the topic a sink picks per record.
	shapePerRecordTopic
	shapeStore
)

type drawItem struct {
	id, label string
	shape     drawShape
}

type drawEdge struct {
	from, to string
	// store says the edge joins a processor to a store it uses, drawn
	// without an arrow.
	store bool
}

// drawing lays out d. Ids are generated (n0, n1, ... for nodes, t0, ... for
// topics, s0, ... for stores, r0, ... for per-record topics), so names
// appear only in labels and any name renders.
func (d Description) drawing() drawing {
	var dr drawing
	blocks := d.blocks()
	nodeIDs := map[string]string{}
	topicIDs := map[string]string{}
	topicID := func(topic string) string {
		id, ok := topicIDs[topic]
		if !ok {
			id = "t" + strconv.Itoa(len(dr.topics))
			topicIDs[topic] = id
			dr.topics = append(dr.topics, drawItem{id, topic, shapeTopic})
		}
		return id
	}
	// Nodes and topics are numbered in a first walk, so that an edge to a
	// node of a later block knows its id.
	for _, st := range blocks {
		for _, n := range st.nodes {
			nodeIDs[n.Name] = "n" + strconv.Itoa(len(nodeIDs))
			for _, tp := range n.Topics {
				topicID(tp)
			}
			if n.Kind == SinkNode && n.Topic != "" {
				topicID(n.Topic)
			}
		}
	}
	storeIDs := map[string]string{}
	extractors := 0
	for _, st := range blocks {
		b := drawBlock{id: st.id, title: st.title}
		for _, n := range st.nodes {
			id := nodeIDs[n.Name]
			b.items = append(b.items, drawItem{id, n.Kind.String() + ": " + n.Name, shapeNode})
			for _, tp := range n.Topics {
				dr.edges = append(dr.edges, drawEdge{from: topicIDs[tp], to: id})
			}
			for _, c := range n.Successors {
				dr.edges = append(dr.edges, drawEdge{from: id, to: nodeIDs[c]})
			}
			if n.Kind == SinkNode {
				if n.Topic != "" {
					dr.edges = append(dr.edges, drawEdge{from: id, to: topicIDs[n.Topic]})
				} else {
					x := "r" + strconv.Itoa(extractors)
					extractors++
					b.items = append(b.items, drawItem{x, "topic chosen per record", shapePerRecordTopic})
					dr.edges = append(dr.edges, drawEdge{from: id, to: x})
				}
			}
			for _, s := range n.Stores {
				sid, ok := storeIDs[s]
				if !ok {
					sid = "s" + strconv.Itoa(len(storeIDs))
					storeIDs[s] = sid
					b.items = append(b.items, drawItem{sid, s, shapeStore})
				}
				dr.edges = append(dr.edges, drawEdge{from: id, to: sid, store: true})
			}
		}
		dr.blocks = append(dr.blocks, b)
	}
	return dr
}

// block is a sub-topology or a global store with its nodes.
type block struct {
	id    int
	title string
	nodes []NodeDescription
}

// blocks lists the sub-topologies and global stores in id order.
func (d Description) blocks() []block {
	var blocks []block
	for _, st := range d.Subtopologies {
		blocks = append(blocks, block{st.ID, "Sub-topology: " + strconv.Itoa(st.ID), st.Nodes})
	}
	for _, gs := range d.GlobalStores {
		blocks = append(blocks, block{gs.ID, "Sub-topology: " + strconv.Itoa(gs.ID) + " for global store", []NodeDescription{gs.Source, gs.Processor}})
	}
	slices.SortStableFunc(blocks, func(a, b block) int { return a.id - b.id })
	return blocks
}
