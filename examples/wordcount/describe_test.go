package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/topology"
)

// -describe prints the topology the flags configure and exits without
// touching Kafka: no broker is given, and none is started.
func TestDescribeFlag(t *testing.T) {
	p := start(t, nil, nil, "-describe", "json", "-input-topic", "lines-in")
	if code := p.exit(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, p.stderr.String())
	}
	if strings.Contains(p.stderr.String(), "broker") {
		t.Errorf("-describe touched a broker:\n%s", p.stderr.String())
	}
	var d topology.Description
	if err := json.Unmarshal([]byte(p.stdout.String()), &d); err != nil {
		t.Fatalf("output is not a description: %v\n%s", err, p.stdout.String())
	}
	topo, err := Topology("lines-in", OutputTopic)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.String(), topo.Describe().String(); got != want {
		t.Errorf("decoded description =\n%s\nwant\n%s", got, want)
	}

	for format, want := range map[string]string{
		"text":    "Topologies:\n   Sub-topology: 0\n    Source: KSTREAM-SOURCE-0000000000 (topics: [text-lines])",
		"mermaid": "flowchart TD\n",
		"dot":     "digraph topology {\n",
	} {
		p := start(t, nil, nil, "-describe", format)
		if code := p.exit(t, 30*time.Second); code != 0 || !strings.HasPrefix(p.stdout.String(), want) {
			t.Errorf("-describe %s: exit %d, output\n%s\nwant it to start with\n%s", format, code, p.stdout.String(), want)
		}
	}

	p = start(t, nil, nil, "-describe", "yaml")
	if code := p.exit(t, 30*time.Second); code != exitUsage || !strings.Contains(p.stderr.String(), `-describe "yaml"`) {
		t.Errorf("-describe yaml: exit %d, stderr %q; want %d and the bad format named", code, p.stderr.String(), exitUsage)
	}
}
