// Package dsl is Samsa's typed, fluent stream-processing DSL, modelled on
// Kafka Streams' StreamsBuilder, KStream and KTable. A Builder collects
// streams and tables; Build compiles them to a topology.Topology of
// processor-API nodes that the runtime and the test driver run.
//
//	b := dsl.NewBuilder()
//	dsl.Stream(b, "text-lines", serde.String, serde.String).
//		FlatMapValues(func(line string) []string { return strings.Fields(line) }).
//		GroupBy(func(_, word string) string { return word }, dsl.GroupedWith(serde.String, serde.String)).
//		Count(dsl.Materialized("counts")).
//		ToStream().
//		To("word-counts", dsl.ProducedWith(serde.String, serde.Int64))
//	topo, err := b.Build()
//
// # Types and serdes
//
// Stream[K, V] and Table[K, V] are values; each operation returns a new one
// and adds nodes to the builder. Serdes are needed only where bytes are
// crossed: sources, sinks, repartition topics and stores. A stream remembers
// the serdes of its keys and values while their types do not change; when a
// type changes the built-in serde for it is used if there is one
// (serde.Default), and otherwise an option must name one. Build reports
// every place that lacks a serde.
//
// # Nulls
//
// User functions never see a null value. In a stream, records with a null
// value pass unchanged through the operations that keep the key (Filter,
// FilterNot, MapValues, FlatMapValues, Peek, Merge, Split: they reach the
// default branch) without calling the function; operations that compute a
// new key or value from the value (Map, FlatMap, SelectKey, GroupBy) and
// aggregations drop them and count them as dropped. A null key reaches
// functions as the zero key and stays null through operations that keep the
// key; aggregations drop null keys, as Kafka Streams does. In a table a null
// value is a delete: it removes the row and is forwarded, and ToStream turns
// it into a record with a null value. Process and ProcessValues see every
// record with its null flags.
//
// # Names
//
// Every node, store and internal topic gets a name. Unless Named,
// Materialized or Repartitioned give one, it is generated as Kafka Streams
// generates it (KSTREAM-FILTER-0000000003), from a counter, so the same code
// builds the same names every time. Names of stores and repartition topics
// are part of the application's state on the broker: name them explicitly in
// applications that will evolve.
package dsl
