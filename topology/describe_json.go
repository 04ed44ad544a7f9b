package topology

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// descriptionJSONVersion is the version of the JSON a Description marshals
// to. Readers refuse versions they do not know rather than misread them.
const descriptionJSONVersion = 1

// DescribeJSON builds the topology, if it is not built yet, and returns its
// Description as JSON (see Description.MarshalJSON), indented for people
// to read. It fails if the topology could not be built.
//
// An application prints it (the word-count example does with -describe
// json) so that tools outside the process, such as "samsa describe" and
// "samsa lag", know its sub-topologies.
func (t *Topology) DescribeJSON() ([]byte, error) {
	return json.MarshalIndent(t.Describe(), "", "  ")
}

// The JSON form of a Description. Field names are those of Kafka Streams'
// TopologyDescription, lower camel case; empty lists are written as [] so
// readers in other languages need no null checks.
type (
	descriptionJSON struct {
		Version       int               `json:"version"`
		Subtopologies []subtopologyJSON `json:"subtopologies"`
		GlobalStores  []globalStoreJSON `json:"globalStores"`
	}
	subtopologyJSON struct {
		ID    int        `json:"id"`
		Nodes []nodeJSON `json:"nodes"`
	}
	globalStoreJSON struct {
		ID        int      `json:"id"`
		Store     string   `json:"store"`
		Source    nodeJSON `json:"source"`
		Processor nodeJSON `json:"processor"`
	}
	nodeJSON struct {
		Name         string   `json:"name"`
		Kind         NodeKind `json:"kind"`
		Topics       []string `json:"topics,omitempty"`
		Topic        string   `json:"topic,omitempty"`
		Stores       []string `json:"stores,omitempty"`
		Predecessors []string `json:"predecessors"`
		Successors   []string `json:"successors"`
	}
)

// MarshalJSON writes the description as a JSON object with a version,
// its sub-topologies and its global stores, each node with its name, kind
// ("Source", "Processor" or "Sink"), topics or stores, and the names of its
// predecessors and successors. A description of a topology that could not
// be built does not marshal: it returns the build error.
func (d Description) MarshalJSON() ([]byte, error) {
	if d.err != nil {
		return nil, d.err
	}
	out := descriptionJSON{
		Version:       descriptionJSONVersion,
		Subtopologies: make([]subtopologyJSON, 0, len(d.Subtopologies)),
		GlobalStores:  make([]globalStoreJSON, 0, len(d.GlobalStores)),
	}
	for _, st := range d.Subtopologies {
		sj := subtopologyJSON{ID: st.ID, Nodes: make([]nodeJSON, 0, len(st.Nodes))}
		for _, n := range st.Nodes {
			sj.Nodes = append(sj.Nodes, toNodeJSON(n))
		}
		out.Subtopologies = append(out.Subtopologies, sj)
	}
	for _, gs := range d.GlobalStores {
		out.GlobalStores = append(out.GlobalStores, globalStoreJSON{
			ID: gs.ID, Store: gs.Store, Source: toNodeJSON(gs.Source), Processor: toNodeJSON(gs.Processor),
		})
	}
	return json.Marshal(out)
}

func toNodeJSON(n NodeDescription) nodeJSON {
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	nj := nodeJSON{Name: n.Name, Kind: n.Kind, Topic: n.Topic,
		Predecessors: orEmpty(n.Predecessors), Successors: orEmpty(n.Successors)}
	switch n.Kind {
	case SourceNode:
		nj.Topics = orEmpty(n.Topics)
	case ProcessorNode:
		nj.Stores = orEmpty(n.Stores)
	}
	return nj
}

// UnmarshalJSON reads what MarshalJSON writes. It checks what String and
// the renderers rely on: a known version, unique sub-topology ids and node
// names, and edges only between nodes of the same sub-topology.
func (d *Description) UnmarshalJSON(data []byte) error {
	var in descriptionJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("topology: description JSON: %w", err)
	}
	if in.Version != descriptionJSONVersion {
		return fmt.Errorf("topology: description JSON has version %d; this reader knows version %d", in.Version, descriptionJSONVersion)
	}
	var out Description
	ids := map[int]bool{}
	names := map[string]bool{}
	claim := func(id int, what string) error {
		if ids[id] {
			return fmt.Errorf("topology: description JSON: %s id %d is used twice", what, id)
		}
		ids[id] = true
		return nil
	}
	node := func(nj nodeJSON, where string) (NodeDescription, error) {
		if nj.Name == "" {
			return NodeDescription{}, fmt.Errorf("topology: description JSON: %s has a node without a name", where)
		}
		if names[nj.Name] {
			return NodeDescription{}, fmt.Errorf("topology: description JSON: node %q appears twice", nj.Name)
		}
		names[nj.Name] = true
		return NodeDescription{Name: nj.Name, Kind: nj.Kind, Topics: nj.Topics, Topic: nj.Topic, Stores: nj.Stores,
			Predecessors: nj.Predecessors, Successors: nj.Successors}, nil
	}
	for _, sj := range in.Subtopologies {
		if err := claim(sj.ID, "sub-topology"); err != nil {
			return err
		}
		st := SubtopologyDescription{ID: sj.ID}
		where := fmt.Sprintf("sub-topology %d", sj.ID)
		for _, nj := range sj.Nodes {
			n, err := node(nj, where)
			if err != nil {
				return err
			}
			st.Nodes = append(st.Nodes, n)
		}
		if err := checkEdges(st.Nodes, where); err != nil {
			return err
		}
		out.Subtopologies = append(out.Subtopologies, st)
	}
	for _, gj := range in.GlobalStores {
		if err := claim(gj.ID, "global store"); err != nil {
			return err
		}
		where := fmt.Sprintf("global store %d", gj.ID)
		src, err := node(gj.Source, where)
		if err != nil {
			return err
		}
		proc, err := node(gj.Processor, where)
		if err != nil {
			return err
		}
		if src.Kind != SourceNode || proc.Kind != ProcessorNode {
			return fmt.Errorf("topology: description JSON: %s needs a Source and a Processor, has a %v and a %v", where, src.Kind, proc.Kind)
		}
		out.GlobalStores = append(out.GlobalStores, GlobalStoreDescription{ID: gj.ID, Store: gj.Store, Source: src, Processor: proc})
	}
	slices.SortStableFunc(out.Subtopologies, func(a, b SubtopologyDescription) int { return a.ID - b.ID })
	slices.SortStableFunc(out.GlobalStores, func(a, b GlobalStoreDescription) int { return a.ID - b.ID })
	*d = out
	return nil
}

// checkEdges reports an edge to a node outside nodes: the renderers would
// draw it to nowhere.
func checkEdges(nodes []NodeDescription, where string) error {
	in := map[string]bool{}
	for _, n := range nodes {
		in[n.Name] = true
	}
	for _, n := range nodes {
		for _, other := range slices.Concat(n.Predecessors, n.Successors) {
			if !in[other] {
				return fmt.Errorf("topology: description JSON: in %s, node %q links to %q, which is not in it", where, n.Name, other)
			}
		}
	}
	return nil
}

// MarshalText returns the kind as String does.
func (k NodeKind) MarshalText() ([]byte, error) {
	switch k {
	case SourceNode, ProcessorNode, SinkNode:
		return []byte(k.String()), nil
	}
	return nil, fmt.Errorf("topology: no such node kind %d", int(k))
}

// UnmarshalText reads "Source", "Processor" or "Sink".
func (k *NodeKind) UnmarshalText(text []byte) error {
	for _, c := range []NodeKind{SourceNode, ProcessorNode, SinkNode} {
		if string(text) == c.String() {
			*k = c
			return nil
		}
	}
	return errors.New("topology: node kind " + fmt.Sprintf("%q", text) + " is none of Source, Processor, Sink")
}
