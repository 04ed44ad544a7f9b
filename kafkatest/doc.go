// Package kafkatest runs a Kafka broker inside the current process, for
// tests and examples: it is to Kafka what net/http/httptest is to HTTP.
//
// A test starts a broker, points its application and clients at Addrs, and
// forgets about it: NewBroker closes it when the test ends.
//
//	b := kafkatest.NewBroker(t, kafkatest.Topics(3, "text-lines", "word-counts"))
//	app, err := runtime.New(topo, runtime.ApplicationID("wordcount"), runtime.Brokers(b.Addrs()...))
//
// Programs that are not tests, such as examples and `samsa broker`, use
// Start and close the broker themselves.
//
// The broker is franz-go's kfake: it speaks the real Kafka protocol,
// transactions, read_committed fetches, consumer groups and compaction
// included, so an application cannot tell it from a small Kafka cluster.
// It is not Kafka: it keeps one copy of every partition, persists only when
// given a data directory, and has no security configured. Never point
// production traffic at it. Tests that inject faults reach the kfake
// cluster underneath through Broker.Cluster.
//
// Topics are created on first use when a client asks for it (Kafka's
// auto.create.topics.enable), with Partitions partitions; Topics creates
// topics before the broker answers its first request, and CreateTopic at
// any time.
package kafkatest
