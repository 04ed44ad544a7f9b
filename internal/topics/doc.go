// Package topics manages the topics of a Samsa application on the broker.
//
// An application reads external source topics, which the user creates, and
// owns two kinds of internal topics, which the runtime creates:
//
//   - repartition topics, "<application id>-<name>-repartition", written by
//     one sub-topology and read by another after a key change; they use
//     cleanup.policy=delete and are purged with PurgeRepartition once the
//     reading tasks have committed past their records;
//   - changelog topics, "<application id>-<store>-changelog", one per logged
//     store, compacted, the durable copy of the store.
//
// Setup runs once when an instance starts. It looks every topic up, works out
// the partition count of each repartition topic, checks that the topics one
// task reads together are co-partitioned, creates the internal topics that
// are missing and checks the ones that exist. Several instances of one
// application may start at once: a topic that another instance created first
// counts as created, and is checked like any existing one. What Setup learned
// is returned as a Layout, from which the runtime derives its tasks.
//
// A repartition topic has the partition count the topology asks for, if any.
// Otherwise it takes the count of the topics it must be co-partitioned with,
// if those have fixed counts, and else the largest count among the source
// topics of the sub-topologies that write it, as in Kafka Streams.
//
// Every error Setup returns names the topics at fault and matches one of the
// sentinels of errors.go with errors.Is.
package topics
