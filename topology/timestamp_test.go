package topology_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

func TestSetTimestampExtractorErrors(t *testing.T) {
	tests := []struct {
		name string
		set  func(*topology.Topology)
		is   error
		want string
	}{
		{"unknown node", func(t *topology.Topology) {
			t.SetTimestampExtractor("nope", processor.FailOnInvalidTimestamp[string, string])
		}, topology.ErrUnknownNode, `timestamp extractor set on "nope", which does not exist`},
		{"wrong types", func(t *topology.Topology) {
			t.SetTimestampExtractor("src", processor.FailOnInvalidTimestamp[string, int64])
		}, topology.ErrTypeMismatch, `source "src" reads <string, string> but its timestamp extractor takes <string, int64>`},
		{"not a source", func(t *topology.Topology) {
			t.SetTimestampExtractor("sink", processor.FailOnInvalidTimestamp[string, string])
		}, nil, `timestamp extractor set on "sink", which is not a source`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topo := topology.New().
				AddSource("src", serde.String, serde.String, "in").
				AddSink("sink", "out", serde.String, serde.String, "src")
			tt.set(topo)
			err := topo.Build()
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("Build() = %v, want %q (%v)", err, tt.want, tt.is)
			}
		})
	}
}
