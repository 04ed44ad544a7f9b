// Package dsl is Samsa's typed, fluent stream-processing DSL, modelled on
// Kafka Streams' StreamsBuilder, KStream and KTable. A Builder collects
// streams and tables; Build compiles them to a topology.Topology of
// processor-API nodes that the runtime and the test driver run.
//
//	b := dsl.NewBuilder()
//	dsl.Stream(b, "text-lines", serde.String, serde.String).
//		FlatMapValues(func(line string) []string { return strings.Fields(line) }).
//		GroupBy(func(_, word string) string { return word }, dsl.GroupedWith(serde.String, serde.String)).
//		Count(dsl.MaterializedAs[string, int64]("counts")).
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
// (serde.Default), and otherwise the next operation that crosses bytes must
// be given one. Build reports every place that lacks a serde.
//
// # Options
//
// Operations that cross bytes or own a store take a parameter object typed
// by the stream's keys and values, as Kafka Streams does: Stream and Streams
// a Consumed[K, V], To a Produced[K, V], GroupBy and GroupByKey a
// Grouped[K, V], Repartition a Repartitioned[K, V], Table and the
// aggregations a Materialized[K, V]; Process and ProcessValues take
// Processed (WithStores), Suppress a Suppressed[K]; stream-table joins a
// Joined[K, V, VO], stream-stream joins a StreamJoined[K, V, VO], table
// joins a Materialized[K, VR]. Every other operation takes Option.
// The parameter objects are built by constructors that infer their types
// from serdes (ProducedWith, GroupedWith, MaterializedWith,
// RepartitionedWith) or are told them (MaterializedAs[K, V]("store")), and
// changed with With... methods; their zero values are valid. So a serde of
// the wrong type, or a Materialized passed to To or Stream, does not
// compile:
//
//	s := dsl.Stream(b, "t", serde.String, serde.String)
//	s.To("out", dsl.ProducedWith(serde.String, serde.Int64)) // compile error: Produced[string, int64] is not Produced[string, string]
//
// Named names the node of any operation and is passed alongside the
// parameter object, if any. It can be, although Go does not infer a type
// argument of a call from where its result goes, because of how the types
// are built: every option type is a struct type whose only field is of one
// unexported type, so all have the same underlying type, and Named returns
// a value of that unnamed struct type (Name), which Go lets pass wherever a
// named type with that underlying type is expected. The type parameters of
// the parameter objects are used by their methods only; the typed
// constructors and methods guarantee the types of the serdes they hold.
// What the types cannot rule out, an option converted from one option type
// to another, Build reports as an error naming the node where it means
// nothing.
//
// # Windows
//
// A grouped stream aggregates per window with Kafka Streams' windows and
// semantics: TimeWindows (tumbling, or hopping with AdvanceBy; start
// included, end excluded), SlidingWindows (KIP-450; both ends included)
// and SessionWindows (an inactivity gap; sessions merge, never split), each
// with a grace period. The entry points are functions, one per kind of
// window, not methods of KGroupedStream:
//
//	dsl.WindowedBy(grouped, dsl.TimeWindowsOfSizeAndGrace(time.Minute, 10*time.Second)).Count()
//	dsl.WindowedBySliding(grouped, dsl.SlidingWindowsOfTimeDifferenceWithNoGrace(time.Minute)).Reduce(sum)
//	dsl.WindowedBySession(grouped, dsl.SessionWindowsOfInactivityGapWithNoGrace(30*time.Minute)).Count()
//
// Go has no overloading, so Kafka Streams' one windowedBy becomes three
// names; and they cannot be methods: a windowed aggregation turns keys K
// into Windowed[K], whose table can be grouped and windowed again, and as
// methods of the generic stream types that would ask the compiler for an
// endless chain of instantiations (an instantiation cycle). The windows'
// constructors carry Kafka Streams' names behind the kind:
// TimeWindowsOfSizeWithNoGrace for TimeWindows.ofSizeWithNoGrace, and so
// on.
//
// Count, Reduce and Aggregate (for sessions with a merger) return a
// KTable[Windowed[K], V] held in a window or session store (retention:
// window size plus grace by default, Materialized.WithRetention for
// more), which emits an update per window a record changes, stamped as
// Kafka Streams stamps it: the latest record time in the window, or a
// session's end. Its serdes write Kafka Streams' windowed keys
// (serde.TimeWindowed, serde.SessionWindowed), so a Java consumer reads the
// output topics. A record whose window has closed (stream time, the
// largest timestamp the aggregation saw, is at or past the window's end
// plus the grace period) is dropped, logged at debug level on
// slog.Default, and counted as processor.DropLateRecord. Windowed stores
// take no cache: Materialized.WithCachingEnabled is a Build error there.
// EmitStrategy(EmitStrategyOnWindowClose()), on any kind of window, emits
// each window's final result once, when it closes, instead of every update
// (KIP-825); KTable.Suppress(UntilWindowCloses(...)) does the same on any
// windowed table through a buffer of its own.
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
// value is a delete: it removes the row and is forwarded when there was a
// row (see KTable), and ToStream turns it into a record with a null value. Process and ProcessValues see every
// record with its null flags.
//
// # Names
//
// Every node, store and internal topic gets a name. Unless Named,
// MaterializedAs or the WithName of a parameter object give one, it is
// generated as Kafka Streams
// generates it (KSTREAM-FILTER-0000000003), from a counter, so the same code
// builds the same names every time. Names of stores and repartition topics
// are part of the application's state on the broker: name them explicitly in
// applications that will evolve.
package dsl
