package dsl

import (
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

// To writes the stream to topic. ProducedWith gives the serdes when the
// stream does not carry them; Named names the sink.
func (s KStream[K, V]) To(topic string, opts ...Produced[K, V]) {
	s.to(topic, nil, opts)
}

// ToDynamic writes each record to the topic extract returns for it. The
// topics must exist; they are not created.
func (s KStream[K, V]) ToDynamic(extract func(rec processor.Record[K, V]) string, opts ...Produced[K, V]) {
	s.to("", extract, opts)
}

func (s KStream[K, V]) to(topic string, extract func(processor.Record[K, V]) string, opts []Produced[K, V]) {
	c := merge(opts)
	name := s.b.name(c.name, "KSTREAM-SINK")
	s.b.only(name, "To", c, setName|setKeySerde|setValueSerde)
	ks, vs := s.serdes(name, c)
	if extract != nil {
		s.b.topo.AddDynamicSink(name, extract, ks, vs, s.node)
		return
	}
	s.b.topo.AddSink(name, topic, ks, vs, s.node)
}

// serdes resolves the serdes an operation writes with.
func (s KStream[K, V]) serdes(node string, c options) (serde.Serde[K], serde.Serde[V]) {
	ks, err := pickSerde(c.keySerde, s.ks)
	if err != nil {
		s.b.fail("%q: key %w", node, err)
	}
	vs, err := pickSerde(c.valueSerde, s.vs)
	if err != nil {
		s.b.fail("%q: value %w", node, err)
	}
	return ks, vs
}

// Repartition writes the stream through a repartition topic the application
// owns and reads it back, so that records are partitioned by their current
// key. Named or Repartitioned's WithName names the topic,
// WithNumberOfPartitions sets its size.
func (s KStream[K, V]) Repartition(opts ...Repartitioned[K, V]) KStream[K, V] {
	c := merge(opts)
	prefix := c.repartition
	if prefix == "" {
		prefix = c.name
	}
	named := prefix != ""
	if !named {
		prefix = s.b.generate("KSTREAM-REPARTITION")
	}
	s.b.only(prefix+"-repartition", "Repartition", c, setName|setRepartition|setKeySerde|setValueSerde|setPartitions)
	ks, vs := s.serdes(prefix+"-repartition", c)
	src := repartition(s.b, s.node, prefix, named, ks, vs, c.partitions)
	return KStream[K, V]{b: s.b, node: src, ks: ks, vs: vs, topics: []string{prefix + "-repartition"}}
}

// repartition adds null-key filter → sink → topic → source after parent and
// returns the source's name. Unnamed, its nodes are numbered as Kafka Streams
// numbers them (sink, filter, source).
func repartition[K, V any](b *Builder, parent, prefix string, named bool, ks serde.Serde[K], vs serde.Serde[V], partitions int32) string {
	topic := prefix + "-repartition"
	// The indices are used up even when named, as Kafka Streams does.
	sink := b.generate("KSTREAM-SINK")
	filter := b.generate("KSTREAM-FILTER")
	source := b.generate("KSTREAM-SOURCE")
	if named {
		sink, filter, source = topic+"-sink", topic+"-filter", topic+"-source"
	}
	b.topo.AddProcessor(filter, supply(func() processor.Processor[K, V, K, V] {
		return &nullKeyFilter[K, V]{}
	}), parent)
	b.topo.AddSink(sink, topic, ks, vs, filter)
	b.topo.AddRepartitionTopic(topology.RepartitionTopic{Name: topic, Partitions: partitions})
	b.topo.AddSource(source, ks, vs, topic)
	return source
}
