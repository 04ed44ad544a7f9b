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
// Exit status is 0 on success, 1 when a command fails, and 2 on a usage
// error.
package main
