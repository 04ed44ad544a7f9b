// Package engine holds the graph behind a topology and the task that runs
// one subtopology on one partition. The runtime and the test driver both run
// topologies through Task, so what the test driver checks is what the
// runtime executes.
//
// A Node carries a BuildFunc. When a task starts it builds its nodes from the
// sinks up: each BuildFunc receives the already built children and asserts
// their types once, so processing calls children through typed interfaces
// with no boxing and no reflection per record. Graph.Build checks the types
// of every edge beforehand, so those assertions cannot fail at run time.
package engine
