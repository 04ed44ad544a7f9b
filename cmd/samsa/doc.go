// Command samsa is the Samsa command line: tools for developing and
// operating Samsa applications.
//
// Usage:
//
//	samsa <command> [flags] [arguments]
//
// The commands are:
//
//	broker    run an in-process Kafka broker for development
//	describe  print a topology, or an application's group members and tasks
//	lag       print an application's lag per task and input partition
//	reset     reset an application to reprocess its input
//	sql       run streaming SQL statements from a file or typed in, or print their topology
//	help      show usage, or the flags of one command
//
// samsa broker starts a single-node broker on 127.0.0.1 that speaks the
// Kafka protocol (transactions and consumer groups included) and creates
// topics on first use. It runs until interrupted:
//
//	samsa broker [-port 9092] [-partitions 3] [-data-dir DIR]
//
// Use -port 0 for any free port, and -data-dir to keep topics and offsets
// across restarts. It is for development only.
//
// samsa sql -f FILE runs a file of ksqlDB-style statements as one
// topology; without -f it reads statements from standard input, runs each
// persistent and push query as it ends with ';', and answers pull queries
// (SELECT ... FROM table WHERE key = ...) from the running queries' stores:
//
//	samsa sql -brokers localhost:9092
//	CREATE STREAM words (k STRING KEY, word STRING) WITH (KAFKA_TOPIC='words', VALUE_FORMAT='JSON');
//	CREATE TABLE counts AS SELECT word, COUNT(*) AS n FROM words GROUP BY word;
//	SELECT * FROM counts WHERE word = 'kafka';
//
// samsa describe draws a topology from the JSON an application writes
// (topology.Topology.DescribeJSON; the word-count example prints it with
// -describe json) in Kafka Streams' text format, as Mermaid or as Graphviz
// DOT; with -group it lists the members of a running application, with
// their processes, partitions, tasks and the tasks whose state they have on
// disk:
//
//	wordcount -describe json > topology.json
//	samsa describe -format dot topology.json | dot -Tsvg > topology.svg
//	samsa describe -group wordcount -brokers localhost:9092 -topology topology.json
//
// samsa lag prints, per task and input partition, the committed offset,
// the end offset and the lag, as a table or JSON:
//
//	samsa lag -brokers localhost:9092 -application-id wordcount -topology topology.json
//
// samsa reset does what Kafka's kafka-streams-application-reset does: with
// the application stopped, it moves its committed input offsets to the
// start (or the end, or a time) and deletes its repartition and changelog
// topics, so that the next run reprocesses the input from scratch:
//
//	samsa reset -brokers localhost:9092 -application-id wordcount -dry-run
//
// The commands that talk to Kafka read -brokers and the application id from
// SAMSA_BROKERS and SAMSA_APPLICATION_ID when the flags are not given, as
// the applications do.
//
// Exit status is 0 on success, 1 when a command fails, and 2 on a usage
// error. Errors go to standard error.
package main
