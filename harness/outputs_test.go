package harness

import (
	"strings"
	"testing"
)

// The application's topology builds, and reads both inputs in one
// subtopology: the join needs the input and the table co-partitioned.
func TestTopologyBuilds(t *testing.T) {
	topo, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	d := topo.Describe().String()
	first, _, _ := strings.Cut(d, "Sub-topology: 1")
	for _, topic := range []string{InputTopic, TableTopic} {
		if !strings.Contains(first, "(topics: ["+topic+"])") {
			t.Errorf("sub-topology 0 reads no %q:\n%s", topic, d)
		}
	}
}
