// Package sql compiles ksqlDB-style streaming SQL into a Samsa topology.
//
// Statements declare streams and tables over topics and persistent queries
// over them. Compile parses them with a hand-written recursive-descent
// parser (errors carry line:column and say what was expected) and plans
// every query through the DSL into one topology, which the runtime or the
// test driver runs like any other; Program.Explain prints it.
//
// # Rows
//
// Rows are Row values: one Value per column, in a layout the planner fixes
// for each edge of the plan. A Value holds its datum unboxed (integers,
// booleans and times in I, doubles in F, strings in S, arrays, maps and
// structs in A), and the column's type, known at plan time, says which.
// Expressions are compiled once into closures over that layout; nothing
// walks the syntax tree per record, no row is a map, and value columns no
// query reads are not decoded.
//
// # What is supported
//
//   - CREATE [OR REPLACE] [SOURCE] STREAM/TABLE name (columns) WITH (...),
//     columns with KEY / PRIMARY KEY; properties KAFKA_TOPIC, KEY_FORMAT,
//     VALUE_FORMAT, FORMAT, PARTITIONS, REPLICAS, TIMESTAMP,
//     TIMESTAMP_FORMAT, WRAP_SINGLE_VALUE, KEY_DELIMITER, VALUE_DELIMITER,
//     WINDOW_TYPE and WINDOW_SIZE: a windowed source, whose keys carry
//     their window; a stateless query of a windowed stream reads
//     WINDOWSTART and WINDOWEND and writes a sink windowed alike (joins,
//     aggregations, PARTITION BY and push queries of one are not
//     supported; the joins ksqlDB refuses are errors).
//   - Formats KAFKA (Java-compatible INT, BIGINT, DOUBLE, STRING), JSON and
//     DELIMITED, for keys and values.
//   - Types BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL(p, s) up to 18 digits,
//     STRING, BYTES, TIMESTAMP, DATE, TIME, ARRAY, MAP<STRING, ...> and
//     STRUCT.
//   - SET 'name' = 'value' and UNSET 'name' of the properties WithProperty
//     lists, for the statements after.
//   - ALTER STREAM/TABLE ... ADD [COLUMN] of value columns, to a declared
//     source no query reads yet.
//   - DROP STREAM/TABLE [IF EXISTS] of a source no persistent query reads
//     or writes (TERMINATE is not supported); its topic stays.
//   - CREATE STREAM/TABLE ... AS SELECT and INSERT INTO ... SELECT; push
//     queries (SELECT ... EMIT CHANGES) into topics of their own
//     (Program.PushQueries, Source.Render).
//   - Projections with *, aliases and ksqlDB's column naming; WHERE;
//     arithmetic, comparison, AND/OR/NOT, ||, CASE, CAST, IS [NOT] NULL,
//     [NOT] LIKE, [NOT] BETWEEN, [NOT] IN, IS [NOT] DISTINCT FROM, array
//     and map subscripts, ->, ARRAY[...], MAP(...), STRUCT(...).
//   - Scalar functions: UCASE, LCASE, CONCAT, CONCAT_WS, SUBSTRING, LEN,
//     TRIM, LTRIM, RTRIM, INITCAP, REVERSE, REPLACE, INSTR, LPAD, RPAD,
//     SPLIT, ABS, ROUND, FLOOR, CEIL, SQRT, EXP, LN, SIGN, POWER, CBRT, PI,
//     the trigonometric functions, COALESCE, IFNULL, GREATEST, LEAST,
//     TIMESTAMPTOSTRING, STRINGTOTIMESTAMP, FORMAT_TIMESTAMP,
//     PARSE_TIMESTAMP, TRUNC, LOG, NULLIF, ARRAY_LENGTH, AS_VALUE,
//     TO_BYTES, FROM_BYTES; the table function EXPLODE.
//   - Lambdas in TRANSFORM, FILTER and REDUCE over arrays and maps
//     (x => e, (k, v) => e), nested; arithmetic on a NULL in a lambda
//     makes the call NULL, as in ksqlDB.
//   - PARTITION BY; GROUP BY with COUNT, SUM, MIN, MAX, AVG,
//     COUNT_DISTINCT, LATEST_BY_OFFSET, EARLIEST_BY_OFFSET, COLLECT_LIST,
//     COLLECT_SET, TOPK, TOPKDISTINCT, and HAVING; over streams and tables.
//   - WINDOW TUMBLING, HOPPING and SESSION with GRACE PERIOD (ksqlDB's
//     default grace of a day otherwise) and RETENTION; WINDOWSTART and
//     WINDOWEND; EMIT CHANGES and EMIT FINAL.
//   - Joins of any number of sources: stream-stream WITHIN (ksqlDB's
//     legacy eager semantics for outer joins without GRACE PERIOD),
//     stream-table and table-table, INNER, LEFT, RIGHT and FULL OUTER, on
//     keys or on expressions (the stream sides are rekeyed), and
//     foreign-key table-table joins; GROUP BY and PARTITION BY over joins.
//   - Pseudo-columns ROWTIME, ROWPARTITION and ROWOFFSET.
//
// # Pull queries
//
// A pull query, SELECT without EMIT CHANGES, reads a table's current rows
// from a running program: Program.Pull plans it against the program's
// statements and Pull.Execute answers it from the store of the
// aggregation that computes the table, through the runtime's interactive
// queries (runtime.QueryKeyValue, QueryWindow, QuerySession), applying
// the query's projection and HAVING to the stored accumulators. WHERE may
// set the key columns equal to constants and bound WINDOWSTART and
// WINDOWEND; without a key it scans the table. Only this instance's
// tasks answer.
//
// Anything else this package recognises is an error wrapping
// ErrNotSupported that names the construct (for example AVRO and PROTOBUF
// formats, DECIMAL beyond 18 digits and its division and SUM, joins and
// aggregations of windowed sources, INSERT ... VALUES, DROP ... DELETE
// TOPIC and other DDL), never a silently different result.
package sql
