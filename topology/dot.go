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

	dr := d.drawing()
	for _, tp := range dr.topics {
		b.WriteString("    " + dotItem(tp) + "\n")
	}
	for _, bl := range dr.blocks {
		b.WriteString("    subgraph cluster_" + strconv.Itoa(bl.id) + " {\n")
		b.WriteString("        label=" + dotQuote(bl.title) + ";\n")
		for _, it := range bl.items {
			b.WriteString("        " + dotItem(it) + "\n")
		}
		b.WriteString("    }\n")
	}
	for _, e := range dr.edges {
		attrs := ""
		if e.store {
			attrs = " [style=dashed, arrowhead=none]"
		}
		b.WriteString("    " + e.from + " -> " + e.to + attrs + ";\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// dotItem declares an item with its shape: the default box for a node, a
// cds for a topic (dashed for one picked per record), a cylinder for a
// store.
func dotItem(it drawItem) string {
	attrs := ""
	switch it.shape {
	case shapeTopic:
		attrs = ", shape=cds"
	case shapePerRecordTopic:
		attrs = ", shape=cds, style=dashed"
	case shapeStore:
		attrs = ", shape=cylinder"
	}
	return it.id + " [label=" + dotQuote(it.label) + attrs + "];"
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
