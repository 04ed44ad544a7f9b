package dsl

import (
	"github.com/samsa-go/samsa/processor"
)

// JoinTable joins each record of the stream with the row of t under the
// record's key, as Kafka Streams' KStream#join(KTable): a lookup, not a
// join in time. Only stream records trigger it; an update of t changes
// the rows later records find and emits nothing. A record finding no row
// is dropped. The result has the record's key, timestamp and headers.
// Records with a null key or value are dropped and counted.
//
// The stream and t must be co-partitioned: their topics must have the
// same number of partitions, which the runtime checks (and Build, where it
// knows the counts), and be partitioned alike. If the stream's key may have
// changed since it left a topic, it first goes through a repartition
// topic, "<name>-repartition" after the Joined name or the stream's node;
// JoinedWith gives its serdes. Named or Joined's WithName names the join.
func (s KStream[K, V]) JoinTable[VO, VR any](t KTable[K, VO], joiner func(value V, other VO) VR, opts ...Joined[K, V, VO]) KStream[K, VR] {
	return streamTableJoin(s, t, "KSTREAM-JOIN", "JoinTable", joiner, nil, opts)
}

// LeftJoinTable is JoinTable keeping the records that find no row: the
// joiner is called with found false and the zero VO for them. Records with
// a null key are joined with no row and keep their null key, as in Kafka
// Streams since 3.7; those with a null value are dropped and counted.
func (s KStream[K, V]) LeftJoinTable[VO, VR any](t KTable[K, VO], joiner func(value V, other VO, found bool) VR, opts ...Joined[K, V, VO]) KStream[K, VR] {
	return streamTableJoin(s, t, "KSTREAM-LEFTJOIN", "LeftJoinTable", nil, joiner, opts)
}

// streamTableJoin adds a join calling inner, or left for a left join.
func streamTableJoin[K, V, VO, VR any](s KStream[K, V], t KTable[K, VO], prefix, op string, inner func(V, VO) VR, left func(V, VO, bool) VR, opts []Joined[K, V, VO]) KStream[K, VR] {
	b := s.b
	c := merge(opts)
	if s.rekeyed {
		s = s.repartitionForJoin(c, op)
	}
	name := b.name(c.name, prefix)
	b.only(name, op, c, setName|setKeySerde|setValueSerde|setOtherValueSerde|setGrace)
	if c.set&setGrace != 0 {
		b.fail("%s %q: WithGracePeriod needs a versioned table, which Samsa does not have", op, name)
	}
	newGetter, stores := t.m.valueGetter()
	b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, K, VR] {
		return &streamTableJoinProc[K, V, VO, VR]{getter: newGetter(), inner: inner, left: left}
	}), s.node)
	b.topo.ConnectProcessorAndStateStores(name, stores...)
	topics := copartition(b, s.topics, t.topics)
	ks, _ := pickSerde(c.keySerde, s.ks)
	out := newStream[K, VR](b, name, ks, nil, false)
	out.topics = topics
	return out
}

// repartitionForJoin writes s through a repartition topic before a join,
// named after the join's name or, unnamed, after s's node, as Kafka
// Streams names it.
func (s KStream[K, V]) repartitionForJoin(c options, op string) KStream[K, V] {
	prefix, named := c.name, c.name != ""
	if !named {
		prefix = s.node
	}
	topic := prefix + "-repartition"
	ks, vs := s.serdes(topic, c)
	if ks == nil || vs == nil {
		s.b.fail("%w: %s repartitions its stream through %q, which has no %s serde: pass them with dsl.JoinedWith", errMissingSerde, op, topic, missing(ks == nil, vs == nil))
	}
	src := repartition(s.b, s.node, prefix, named, ks, vs, 0)
	return KStream[K, V]{b: s.b, node: src, ks: ks, vs: vs, topics: []string{topic}}
}

// copartition declares that the topics of both sides of a join must be
// co-partitioned, and returns them. A side whose topics are not known is
// left to the check of the sub-topology that reads it.
func copartition(b *Builder, a, c []string) []string {
	topics := union(a, c)
	if len(a) > 0 && len(c) > 0 && len(topics) > 1 {
		b.topo.AddCopartitionGroup(topics...)
	}
	return topics
}

type streamTableJoinProc[K, V, VO, VR any] struct {
	base[K, VR]
	getter valueGetter[K, VO]
	// One of inner and left is set.
	inner func(V, VO) VR
	left  func(V, VO, bool) VR
}

func (p *streamTableJoinProc[K, V, VO, VR]) Init(ctx processor.Context[K, VR]) error {
	p.ctx = ctx
	return p.getter.init(ctx)
}

func (p *streamTableJoinProc[K, V, VO, VR]) Process(rec processor.Record[K, V]) error {
	if rec.NullValue {
		p.ctx.DropRecord(processor.DropNullValue)
		return nil
	}
	out := processor.Record[K, VR]{Key: rec.Key, Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: rec.NullKey}
	if rec.NullKey {
		if p.left == nil {
			p.ctx.DropRecord(processor.DropNullKey)
			return nil
		}
		var none VO
		out.Value = p.left(rec.Value, none, false)
		return p.ctx.Forward(out)
	}
	row, found, err := p.getter.get(rec.Key)
	switch {
	case err != nil:
		return err
	case p.inner != nil:
		if !found {
			return nil
		}
		out.Value = p.inner(rec.Value, row.Value)
	default:
		out.Value = p.left(rec.Value, row.Value, found)
	}
	return p.ctx.Forward(out)
}
