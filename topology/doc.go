// Package topology is the processor graph that Samsa runs: sources that
// read topics, processors, sinks that write topics, and the state stores the
// processors use. The DSL (package dsl) builds a Topology for most
// applications; the methods here add nodes directly, as Kafka Streams'
// Topology does for its processor API.
//
// Nodes are typed: a source fixes the key and value types it forwards, and
// each processor's input types must match its parents' output types. Build
// checks the graph once, reports every mistake it finds (duplicate names,
// unknown stores, missing serdes, type mismatches, a topic both read and
// written by one sub-topology, internal topics that cannot be
// co-partitioned), and splits it into sub-topologies: connected parts
// between topics, each of which runs as one task per input partition.
//
// Besides nodes and stores, a topology declares what the runtime sets up
// around them: repartition topics with their partition counts and configs
// (AddRepartitionTopic), groups of topics that must be co-partitioned
// (AddCopartitionGroup), generated names (NewName) and mistakes found by
// code that builds it (AddError). The DSL builds with these methods only, so
// whatever it builds can be built by hand.
//
// Describe renders the built topology in the text format of Kafka Streams'
// Topology#describe(), so tools that draw those descriptions draw Samsa's
// too, Mermaid renders it as a Mermaid flowchart and DOT as a Graphviz
// graph. DescribeJSON writes the description as versioned JSON, which
// Description's UnmarshalJSON reads back, so that tools outside the
// application ("samsa describe", "samsa lag") can draw it and name its
// tasks.
package topology
