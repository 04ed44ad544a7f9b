// Package processor is Samsa's processor API: the typed record, the Processor
// interface that every node of a topology implements, and the Context a
// processor uses to forward records, schedule punctuators, reach state stores
// and read the metadata of the record it is processing.
//
// The DSL (package dsl) compiles to this API, and users who need more than
// the DSL offers write a Processor and plug it in with dsl's Process or
// ProcessValues, or with topology.AddProcessor.
//
// # Nulls
//
// Kafka distinguishes a null key or value (absent on the wire; a null value
// in a table topic is a tombstone that deletes the row) from an empty or zero
// one. A Record carries that distinction in its NullKey and NullValue flags:
// when a flag is set the matching field holds the zero value of its type and
// means nothing. Serdes never see nulls, stores never hold them (putting a
// null deletes), and sinks write them as Kafka nulls. A count of 0 is a value;
// a tombstone is not.
//
// # Dropped records and fusion
//
// A processor that drops a record on purpose (a null key where one is
// needed, say) counts it with Context.DropRecord, and the runtime and the
// test driver report the counts by reason. A processor can also offer to
// run fused with its neighbours, without a call per node and record, by
// implementing Stepper or Fuser; the DSL's stateless operations do.
//
// # Lifetime and concurrency
//
// A Supplier makes one Processor per task. The runtime calls Init once, then
// Process for each record and punctuators as scheduled, then Close, all from
// the one goroutine that owns the task: a Processor needs no locking of its
// own. Errors returned from Process, Forward or a punctuator, and panics,
// go to the processing ErrorHandler: by default they stop the task and
// surface from the runtime (or the test driver) as an *Error with the
// node, task, topic, partition and offset attached; LogAndContinue drops
// the record instead. A panic reaches the handler as a *PanicError, with
// its stack; it never ends the process.
package processor
