// Package e2e runs Samsa's end-to-end tests against a real Kafka protocol
// implementation instead of the in-process kfake broker the other packages
// use: word count under at-least-once and exactly-once, a restore from the
// changelog into an empty state directory, scaling a group out and in, and
// the crash harness's short at-least-once form (skipped with -short).
//
// The package has no code of its own; its tests pick their cluster so:
//
//   - SAMSA_TEST_BROKERS=host:port[,host:port...] runs them against that
//     cluster. Each run makes topics and groups with a random prefix
//     ("e2e-<run>-"), so runs can share a cluster; they are not deleted.
//     The harness's topics have fixed names: its test runs once per
//     cluster, and skips where they exist already.
//
//   - Otherwise, when a Docker engine answers, they start one Redpanda
//     container (testcontainers-go) for the package and remove it after.
//
//   - Otherwise every test is skipped with one line saying so.
//
//     go test ./e2e/                                    # Docker
//     SAMSA_TEST_BROKERS=localhost:9092 go test ./e2e/  # a cluster
package e2e
