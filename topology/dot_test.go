package topology_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites the file with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n%s\nwant\n%s", path, got, want)
	}
}

func TestDOTWordCount(t *testing.T) {
	got := wordCount(t).DOT()
	golden(t, "wordcount.dot", got)
	// The repartition topic is one node, written in one cluster and read
	// in the other; the store hangs off the aggregation.
	for _, want := range []string{
		`t1 [label="counts-store-repartition", shape=cds];`,
		"n4 -> t1;", "t1 -> n5;",
		`s0 [label="counts-store", shape=cylinder];`,
		"n6 -> s0 [style=dashed, arrowhead=none];",
		"subgraph cluster_0 {", "subgraph cluster_1 {",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("DOT lacks %q", want)
		}
	}
}

func TestDOTEscapesNames(t *testing.T) {
	name := "in \"quoted\" \\n back\nslash"
	topo := topology.New().
		AddSource(name, serde.String, serde.String, "in").
		AddDynamicSink("end", func(processor.Record[string, string]) string { return "x" },
			serde.String, serde.String, name)
	got := topo.DOT()
	if want := `n0 [label="Source: in \"quoted\" \\n back\nslash"];`; !strings.Contains(got, want) {
		t.Errorf("DOT =\n%s\nlacks %s", got, want)
	}
	if want := `r0 [label="topic chosen per record", shape=cds, style=dashed];`; !strings.Contains(got, want) {
		t.Errorf("DOT =\n%s\nlacks %s", got, want)
	}
}

func TestDOTBuildError(t *testing.T) {
	topo := topology.New().
		AddSource("source", serde.String, serde.String, "in").
		AddProcessor("orphan", forward, "nowhere")
	got := topo.DOT()
	if !strings.Contains(got, `err [label="topology: unknown node: processor \"orphan\"`) {
		t.Errorf("DOT of a broken topology =\n%s\nwant the error in one node", got)
	}
	if _, err := topo.DescribeJSON(); !errors.Is(err, topology.ErrUnknownNode) {
		t.Errorf("DescribeJSON error = %v, want ErrUnknownNode", err)
	}
}
