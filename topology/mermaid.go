package topology

import (
	"slices"
	"strconv"
	"strings"
)

// Mermaid builds the topology, if it is not built yet, and renders it as a
// Mermaid flowchart; see Description.Mermaid.
func (t *Topology) Mermaid() string { return t.Describe().Mermaid() }

// Mermaid renders the description as a Mermaid flowchart (flowchart TD) to
// paste into Markdown that GitHub, GitLab and most wikis draw.
//
// Each sub-topology, and each global store, is a subgraph of its nodes,
// labelled with their kind and name. Topics are drawn once each, outside every subgraph, so a repartition
// topic links the sink that writes it in one sub-topology to the source that
// reads it in another. A sink that picks its topic per record writes to a
// topic node of its own. Stores are cylinders inside the subgraph of the
// processors that use them, joined to them by dotted lines.
//
// Ids are generated (n0, n1, ... for nodes, t0, ... for topics, s0, ... for
// stores, r0, ... for per-record topics) and names appear only in quoted
// labels, escaped, so any name renders. If the topology could not be built,
// the chart holds one node with the error.
func (d Description) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	if d.err != nil {
		b.WriteString("    err[\"" + mermaidEscape(d.err.Error()) + "\"]\n")
		return b.String()
	}

	nodeIDs := map[string]string{}
	topicIDs := map[string]string{}
	var topics []string
	topicID := func(topic string) string {
		id, ok := topicIDs[topic]
		if !ok {
			id = "t" + strconv.Itoa(len(topics))
			topicIDs[topic] = id
			topics = append(topics, topic)
		}
		return id
	}
	blocks := d.mermaidBlocks()
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
	for _, tp := range topics {
		b.WriteString("    " + topicIDs[tp] + "[/\"" + mermaidEscape(tp) + "\"/]\n")
	}

	storeIDs := map[string]string{}
	var edges []string
	extractors := 0
	for _, st := range blocks {
		b.WriteString("    subgraph sub" + strconv.Itoa(st.id) + "[\"" + st.title + "\"]\n")
		for _, n := range st.nodes {
			id := nodeIDs[n.Name]
			b.WriteString("        " + id + "[\"" + n.Kind.String() + ": " + mermaidEscape(n.Name) + "\"]\n")
			for _, tp := range n.Topics {
				edges = append(edges, topicIDs[tp]+" --> "+id)
			}
			for _, c := range n.Successors {
				edges = append(edges, id+" --> "+nodeIDs[c])
			}
			if n.Kind == SinkNode {
				if n.Topic != "" {
					edges = append(edges, id+" --> "+topicIDs[n.Topic])
				} else {
					x := "r" + strconv.Itoa(extractors)
					extractors++
					b.WriteString("        " + x + "[/\"topic chosen per record\"/]\n")
					edges = append(edges, id+" --> "+x)
				}
			}
			for _, s := range n.Stores {
				sid, ok := storeIDs[s]
				if !ok {
					sid = "s" + strconv.Itoa(len(storeIDs))
					storeIDs[s] = sid
					b.WriteString("        " + sid + "[(\"" + mermaidEscape(s) + "\")]\n")
				}
				edges = append(edges, id+" -.- "+sid)
			}
		}
		b.WriteString("    end\n")
	}
	for _, e := range edges {
		b.WriteString("    " + e + "\n")
	}
	return b.String()
}

// mermaidBlock is a subgraph of the chart: a sub-topology or a global
// store.
type mermaidBlock struct {
	id    int
	title string
	nodes []NodeDescription
}

// mermaidBlocks lists the sub-topologies and global stores in id order.
func (d Description) mermaidBlocks() []mermaidBlock {
	var blocks []mermaidBlock
	for _, st := range d.Subtopologies {
		blocks = append(blocks, mermaidBlock{st.ID, "Sub-topology: " + strconv.Itoa(st.ID), st.Nodes})
	}
	for _, gs := range d.GlobalStores {
		blocks = append(blocks, mermaidBlock{gs.ID, "Sub-topology: " + strconv.Itoa(gs.ID) + " for global store", []NodeDescription{gs.Source, gs.Processor}})
	}
	slices.SortStableFunc(blocks, func(a, b mermaidBlock) int { return a.id - b.id })
	return blocks
}

// mermaidEscape makes s safe inside a quoted Mermaid label: a quote would
// end the label, '#' starts an entity, angle brackets and '&' would be read
// as HTML, and line breaks become spaces so that each statement stays on one
// line.
func mermaidEscape(s string) string { return mermaidReplacer.Replace(s) }

var mermaidReplacer = strings.NewReplacer(
	`"`, "#quot;",
	"#", "#35;",
	"<", "#lt;",
	">", "#gt;",
	"&", "#amp;",
	"\r\n", " ",
	"\n", " ",
	"\r", " ",
)
