package topology

import (
	"fmt"
	"maps"
	"slices"
)

// RepartitionTopic is a topic the application owns and both writes and
// reads, to partition records by a new key, as Kafka Streams' repartition
// topics. Sinks and sources name it by Name; the runtime creates it as
// "<application id>-<Name>".
type RepartitionTopic struct {
	Name string
	// Partitions is the partition count; 0 takes the count of the topics
	// upstream of the sub-topology that writes it.
	Partitions int32
	// Configs are topic configs set when the runtime creates the topic,
	// over the defaults Samsa creates repartition topics with, as Kafka
	// Streams does: cleanup.policy=delete, retention.ms=-1 (records are
	// purged once they are processed).
	Configs map[string]string
}

// AddRepartitionTopic declares a repartition topic. Declaring one topic
// twice is allowed where the declarations agree: Build reports different
// partition counts or configs.
func (t *Topology) AddRepartitionTopic(topic RepartitionTopic) *Topology {
	it, existed := t.g.Internal[topic.Name]
	if existed && len(it.Configs) > 0 && len(topic.Configs) > 0 && !maps.Equal(it.Configs, topic.Configs) {
		t.g.Fail(fmt.Errorf("topology: repartition topic %q is declared with configs %v and %v", topic.Name, it.Configs, topic.Configs))
	}
	it = t.g.AddInternalTopic(topic.Name, topic.Partitions)
	if len(topic.Configs) > 0 {
		it.Configs = maps.Clone(topic.Configs)
	}
	return t
}

// RepartitionTopics returns the declared repartition topics, by name.
func (t *Topology) RepartitionTopics() []RepartitionTopic {
	out := make([]RepartitionTopic, 0, len(t.g.Internal))
	for _, name := range slices.Sorted(maps.Keys(t.g.Internal)) {
		it := t.g.Internal[name]
		out = append(out, RepartitionTopic{Name: it.Name, Partitions: it.Partitions, Configs: maps.Clone(it.Configs)})
	}
	return out
}

// AddCopartitionGroup declares that topics must have the same number of
// partitions, because a task reads partition n of each of them together (a
// join, say). Build checks the groups whose counts it knows (repartition
// topics with a count); the runtime checks the others against the broker.
// Topics read by one sub-topology are a group without being declared.
func (t *Topology) AddCopartitionGroup(topics ...string) *Topology {
	t.g.AddCopartitionGroup(topics...)
	return t
}
