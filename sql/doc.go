// Package sql compiles ksqlDB-style streaming SQL into a Samsa topology.
//
// Statements declare streams and tables over topics (CREATE STREAM/TABLE
// with columns and WITH (KAFKA_TOPIC, KEY_FORMAT, VALUE_FORMAT, ...)) and
// persistent queries over them (CREATE STREAM/TABLE ... AS SELECT, INSERT
// INTO). Compile parses them with a hand-written recursive-descent parser
// and plans every query through the DSL into one topology, run by the
// runtime or the test driver like any other.
//
// Rows are Row values: one Value per column, in a layout the planner fixes
// for each edge of the plan. A Value holds its datum unboxed (integers,
// booleans and times in I, doubles in F, strings in S, arrays in A), and
// the column's type, known at plan time, says which. Expressions are
// compiled once into closures over that layout; nothing walks the syntax
// tree per record, and no row is a map.
//
// Formats: KAFKA (Java-compatible primitives), JSON and DELIMITED for keys
// and values. Errors carry the line and column; a construct this package
// knows but does not implement is an error wrapping ErrNotSupported that
// names it, never a silently different result.
package sql
