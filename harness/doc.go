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
// sums are visible. Generator.Run returns exactly what was written, per key
// and in order; a write whose outcome is unknown fails the run rather than
// guess.
//
// The application's topology is the table Outputs: each Output adds the part
// of the topology that writes its topic and carries the check the verifier
// runs on that topic. A new output (windowed counts, a join) is one more
// entry with its Build and its Check; the app, the drain and the verifier
// pick it up from the table.
//
// A Fleet runs the application's processes: each has its own state
// directory and a log file with everything it wrote to stderr, across its
// restarts. Fleet.Chaos kills (SIGKILL), pauses (SIGSTOP for longer than the
// session timeout, then SIGCONT) and stops cleanly (SIGTERM) the processes
// in rotation, restarting each soon after. A process that exits when nobody
// asked it to, or that does not exit 0 soon after SIGTERM, is a violation.
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
