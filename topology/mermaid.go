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
// Each sub-topology is a subgraph of its nodes, labelled with their kind and
// name. Topics are drawn once each, outside every subgraph, so a repartition
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
	for _, st := range d.Subtopologies {
		for _, n := range st.Nodes {
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
	for _, st := range d.Subtopologies {
		b.WriteString("    subgraph sub" + strconv.Itoa(st.ID) + "[\"Sub-topology: " + strconv.Itoa(st.ID) + "\"]\n")
		for _, n := range st.Nodes {
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
