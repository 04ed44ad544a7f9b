package topology

import (
	"strconv"
	"strings"
)

// DOT builds the topology, if it is not built yet, and renders it in
// Graphviz's DOT language; see Description.DOT.
func (t *Topology) DOT() string { return t.Describe().DOT() }

// DOT renders the description as a Graphviz digraph, for "dot -Tsvg" and
// the many tools that read DOT.
//
// It draws what Mermaid draws: each sub-topology and global store is a
// cluster of its nodes; topics are drawn once each, outside every cluster,
// so a repartition topic links the sub-topology that writes it to the one
// that reads it; stores are cylinders inside the cluster of the processors
// that use them, joined by dashed lines without arrows. Ids are generated
// as in Mermaid and names appear only in quoted labels, so any name renders.
// If the topology could not be built, the graph holds one node with the
// error.
func (d Description) DOT() string {
	var b strings.Builder
	b.WriteString("digraph topology {\n")
	b.WriteString("    rankdir=TB;\n")
	b.WriteString("    node [shape=box, fontname=\"Helvetica\"];\n")
	if d.err != nil {
		b.WriteString("    err [label=" + dotQuote(d.err.Error()) + ", color=red];\n}\n")
		return b.String()
	}

	// The same walk as Mermaid's, so both drawings number things alike.
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
		b.WriteString("    " + topicIDs[tp] + " [label=" + dotQuote(tp) + ", shape=cds];\n")
	}

	storeIDs := map[string]string{}
	var edges []string
	extractors := 0
	for _, st := range blocks {
		b.WriteString("    subgraph cluster_" + strconv.Itoa(st.id) + " {\n")
		b.WriteString("        label=" + dotQuote(st.title) + ";\n")
		for _, n := range st.nodes {
			id := nodeIDs[n.Name]
			b.WriteString("        " + id + " [label=" + dotQuote(n.Kind.String()+": "+n.Name) + "];\n")
			for _, tp := range n.Topics {
				edges = append(edges, topicIDs[tp]+" -> "+id+";")
			}
			for _, c := range n.Successors {
				edges = append(edges, id+" -> "+nodeIDs[c]+";")
			}
			if n.Kind == SinkNode {
				if n.Topic != "" {
					edges = append(edges, id+" -> "+topicIDs[n.Topic]+";")
				} else {
					x := "r" + strconv.Itoa(extractors)
					extractors++
					b.WriteString("        " + x + " [label=\"topic chosen per record\", shape=cds, style=dashed];\n")
					edges = append(edges, id+" -> "+x+";")
				}
			}
			for _, s := range n.Stores {
				sid, ok := storeIDs[s]
				if !ok {
					sid = "s" + strconv.Itoa(len(storeIDs))
					storeIDs[s] = sid
					b.WriteString("        " + sid + " [label=" + dotQuote(s) + ", shape=cylinder];\n")
				}
				edges = append(edges, id+" -> "+sid+" [style=dashed, arrowhead=none];")
			}
		}
		b.WriteString("    }\n")
	}
	for _, e := range edges {
		b.WriteString("    " + e + "\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// dotQuote makes s a DOT quoted string. Inside quotes DOT gives meaning
// only to '"' and to a backslash before it; doubling every backslash keeps
// "\n" or "\l" in a name from turning into Graphviz's line breaks, and real
// line breaks become "\n", which Graphviz draws as one.
func dotQuote(s string) string { return `"` + dotReplacer.Replace(s) + `"` }

var dotReplacer = strings.NewReplacer(
	`\`, `\\`,
	`"`, `\"`,
	"\r\n", `\n`,
	"\n", `\n`,
	"\r", `\n`,
)
