package topology_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

func TestDescribeJSONWordCount(t *testing.T) {
	topo := wordCount(t)
	data, err := topo.DescribeJSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "wordcount.json", string(data)+"\n")

	var d topology.Description
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	// What is read back renders exactly as the topology itself does.
	if got := d.String(); got != wordCountDescription {
		t.Errorf("String() of the decoded description =\n%s\nwant\n%s", got, wordCountDescription)
	}
	if got, want := d.Mermaid(), topo.Mermaid(); got != want {
		t.Errorf("Mermaid() of the decoded description =\n%s\nwant\n%s", got, want)
	}
	if got, want := d.DOT(), topo.DOT(); got != want {
		t.Errorf("DOT() of the decoded description =\n%s\nwant\n%s", got, want)
	}
	if !reflect.DeepEqual(d.Subtopologies[1].Nodes[1].Stores, []string{"counts-store"}) {
		t.Errorf("stores of the aggregation = %v", d.Subtopologies[1].Nodes[1].Stores)
	}
}

func TestDescribeJSONGlobalStore(t *testing.T) {
	topo := topology.New().
		AddSource("orders-source", serde.String, serde.String, "orders").
		AddGlobalStore(globalBuilder("rates"), "rates-source", serde.String, serde.String, "rates", "rates-updater", updater("rates")).
		AddProcessor("pricer", passThrough(), "orders-source").
		AddSink("priced-sink", "priced", serde.String, serde.String, "pricer")
	data, err := topo.DescribeJSON()
	if err != nil {
		t.Fatal(err)
	}
	var d topology.Description
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	if got, want := d.String(), topo.Describe().String(); got != want {
		t.Errorf("String() of the decoded description =\n%s\nwant\n%s", got, want)
	}
}

func TestDescribeJSONBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, json, want string
	}{
		{"wrong type", `{"version":"1"}`, "description JSON"},
		{"no version", `{"subtopologies":[]}`, "version 0"},
		{"future version", `{"version":2}`, "version 2"},
		{"bad kind", `{"version":1,"subtopologies":[{"id":0,"nodes":[{"name":"a","kind":"Tap"}]}]}`, `"Tap" is none of Source, Processor, Sink`},
		{"duplicate id", `{"version":1,"subtopologies":[{"id":0,"nodes":[]},{"id":0,"nodes":[]}]}`, "sub-topology id 0 is used twice"},
		{"duplicate node", `{"version":1,"subtopologies":[{"id":0,"nodes":[{"name":"a","kind":"Source"}]},{"id":1,"nodes":[{"name":"a","kind":"Source"}]}]}`, `node "a" appears twice`},
		{"dangling edge", `{"version":1,"subtopologies":[{"id":0,"nodes":[{"name":"a","kind":"Source","successors":["b"]}]}]}`, `node "a" links to "b"`},
		{"unnamed node", `{"version":1,"subtopologies":[{"id":3,"nodes":[{"kind":"Sink"}]}]}`, "sub-topology 3 has a node without a name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d topology.Description
			err := json.Unmarshal([]byte(tc.json), &d)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
