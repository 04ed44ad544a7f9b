// Package devbroker runs a Kafka broker inside the current process, for
// development only: the examples and `samsa broker` use it so that a Samsa
// program runs with nothing installed.
//
// The broker is franz-go's kfake, one node listening on 127.0.0.1. It
// speaks the real Kafka protocol, transactions and consumer groups
// included, so an application cannot tell it from a small Kafka cluster.
// It is not Kafka: it keeps one copy of every partition, persists only when
// given a data directory, and has no security configured. Never point
// production traffic at it.
//
// Start starts a broker with Options; Brokers is what an example calls
// first: it returns the brokers named by SAMSA_BROKERS, or starts one when
// that is unset.
package devbroker
