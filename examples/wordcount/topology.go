package main

import (
	"strings"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

// Default topics, and the store, of the word-count application.
const (
	InputTopic  = "text-lines"
	OutputTopic = "word-counts"
	CountsStore = "counts"
)

// Topology splits each line of the input topic into lower-case words,
// counts each word in the CountsStore store and writes every updated count
// to the output topic, keyed by word, as Java's Long serde encodes it.
func Topology(input, output string) (*topology.Topology, error) {
	b := dsl.NewBuilder()
	dsl.Stream(b, input, serde.String, serde.String).
		FlatMapValues(func(line string) []string { return strings.Fields(strings.ToLower(line)) }).
		GroupBy(func(_, word string) string { return word }, dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.MaterializedAs[string, int64](CountsStore)).
		ToStream().
		To(output, dsl.ProducedWith(serde.String, serde.Int64))
	return b.Build()
}
