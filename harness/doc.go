// Package harness is Samsa's exactly-once crash harness, in the spirit of
// Apache Kafka's StreamsEosTest: a generator writes keyed integers to a
// topic, an application (harness/app) runs as several OS processes that are
// killed, paused and restarted while it works, and a verifier reads what the
// application wrote with read_committed consumers and checks it against what
// the generator wrote.
//
// # Model
//
// The generator writes records with keys "k0".."k<N-1>" to the topic "data".
// The n-th value of the key with index i is n*N+i: values increase per key
// and no two records carry the same value, so the verifier can tell which
// input an output came from and catch a record counted twice even where only
// sums are visible. Timestamps come from an event clock that runs faster
// than the wall clock, each a little behind it (less than the windows'
// grace), so records are out of order within a partition but never late.
// Beside them it writes updates of the same keys to the topic "table",
// co-partitioned with "data": the n-th update of key i has the value n*N+i
// too, a pure function of key and version. Generator.Run returns exactly
// what was written, per key and in order, with partitions, timestamps and
// the table updates' offsets; a write whose outcome is unknown fails the run
// rather than guess.
//
// The application's topology is the table Outputs: each Output adds the part
// of the topology that writes its topic and carries the check the verifier
// runs on that topic. A new output is one more entry with its Build and its
// Check; the app, the drain and the verifier pick it up from the table. The
// outputs are:
//
//   - echo: the input, unchanged; each input once, in order.
//   - agg: sum, count, minimum and maximum per key; the running aggregate
//     after each input, in order.
//   - agg-rekeyed: sum and count per value mod 7, through a repartition
//     topic; counts 1..n, each step one input of that new key, each once.
//   - agg-cached: sum and count per value mod 4001, through a repartition
//     topic, in a store whose cache holds a few dozen entries (so that it
//     switches between entries of its own and entries in the transaction
//     buffer); outputs skip updates, so each must rise from the last and
//     the last must count every input of its key once.
//   - windowed: counts per key in tumbling windows of 10s with 5s grace,
//     every update; per window the counts 1..n, n the number of inputs whose
//     timestamps fall in it, each update stamped with the latest of them.
//   - windowed-final: the same counts with EmitStrategyOnWindowClose; exactly
//     one result for each window that closed (its end at least the grace
//     before the latest timestamp of its partition), with its n, and none for
//     the others.
//   - joined: each input left-joined with the table read from "table"; each
//     input once, in order, with a row of its key that was written, and per
//     task a reading of the table partition that never moves back (see the
//     comment on joined in outputs_join.go for why that is what can be
//     checked).
//
// A Fleet runs the application's processes: each has its own state
// directory and a log file with everything it wrote to stderr, across its
// restarts. Fleet.Chaos kills (SIGKILL), pauses (SIGSTOP for longer than the
// session timeout, then SIGCONT) and stops cleanly (SIGTERM) the processes
// in rotation, restarting each soon after. A process that exits when nobody
// asked it to, or that does not exit 0 soon after SIGTERM, is a violation.
//
// When the broker runs in the harness's process (a Broker, given as
// ChaosConfig.Broker), the chaos also injects broker faults on a clock of its
// own, with kfake's faults and control hooks: retriable errors on produce
// requests (some after the broker appended the batch, so a retry must be
// deduplicated) and on fetch requests; group and transaction coordinators
// answering NOT_COORDINATOR and COORDINATOR_LOAD_IN_PROGRESS; commits held
// for up to two seconds before the broker handles them (SleepControl);
// connections closed instead of answered (ControlKey with KeepControl); and
// broker restarts, which save the broker's state to its data directory and
// load it again on the same port. Each round of faults injects every kind
// once, in a seeded order with seeded details; the report counts the faults
// by kind and the requests they hit.
//
// Verify reads every output topic to its end and checks it under the
// guarantee: under exactly_once_v2 every input is reflected exactly once and
// in order, every transaction is finished (last stable offset equals high
// watermark) and the group is empty once the processes stopped; under
// at_least_once nothing may be lost and duplicates are only counted.
//
// Run strings these together: generator and chaos side by side, then every
// process restarted, a drain until the outputs cover the input, a clean stop
// and the verifier. It returns a Report; a violation is a finding about the
// code under test, never an error of the harness. When there is one, Dump
// writes every record of every topic, aborted ones and transaction markers
// included, with producer ids and epochs, next to the processes' logs.
//
// # kfake
//
// The tests run against kfake, whose classic consumer groups differ from
// Kafka's under this churn (see Fleet.Nudge and Fleet.victim): the harness
// works around that, and Report.Nudges counts the workarounds used.
package harness
