package topology

import (
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
	dr := d.drawing()
	for _, tp := range dr.topics {
		b.WriteString("    " + mermaidItem(tp) + "\n")
	}
	for _, bl := range dr.blocks {
		b.WriteString("    subgraph sub" + strconv.Itoa(bl.id) + "[\"" + mermaidEscape(bl.title) + "\"]\n")
		for _, it := range bl.items {
			b.WriteString("        " + mermaidItem(it) + "\n")
		}
		b.WriteString("    end\n")
	}
	for _, e := range dr.edges {
		link := " --> "
		if e.store {
			link = " -.- "
		}
		b.WriteString("    " + e.from + link + e.to + "\n")
	}
	return b.String()
}

// mermaidItem declares an item with its shape: a box for a node, a
// parallelogram for a topic, a cylinder for a store.
func mermaidItem(it drawItem) string {
	l := "\"" + mermaidEscape(it.label) + "\""
	switch it.shape {
	case shapeTopic, shapePerRecordTopic:
		return it.id + "[/" + l + "/]"
	case shapeStore:
		return it.id + "[(" + l + ")]"
	default:
		return it.id + "[" + l + "]"
	}
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
