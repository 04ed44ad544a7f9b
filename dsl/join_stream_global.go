package dsl

import (
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// JoinGlobal joins each record of the stream with the row of the global
// table g under the key keyMapper computes from the record, as Kafka
// Streams' KStream#join(GlobalKTable): a lookup, which an update of g
// never triggers. A record finding no row is dropped. The result has the
// record's key, timestamp and headers. Records with a null key or value
// are dropped and counted. The stream is not repartitioned, whatever its
// key: every task reads the whole table. Named names the join.
//
// The lookup reads the view of g's store, which the global consumer
// updates while the tasks run: it allocates for each record, which the
// lookup of a partitioned table (JoinTable) does not.
func (s KStream[K, V]) JoinGlobal[KG, VG, VR any](g GlobalKTable[KG, VG], keyMapper func(key K, value V) KG, joiner func(value V, other VG) VR, opts ...Option) KStream[K, VR] {
	return streamGlobalJoin(s, g, "KSTREAM-JOIN", "JoinGlobal", keyMapper, joiner, nil, opts)
}

// LeftJoinGlobal is JoinGlobal keeping the records that find no row: the
// joiner is called with found false and the zero VG for them. Records with
// a null key reach keyMapper with the zero key and keep their null key;
// those with a null value are dropped and counted.
func (s KStream[K, V]) LeftJoinGlobal[KG, VG, VR any](g GlobalKTable[KG, VG], keyMapper func(key K, value V) KG, joiner func(value V, other VG, found bool) VR, opts ...Option) KStream[K, VR] {
	return streamGlobalJoin(s, g, "KSTREAM-LEFTJOIN", "LeftJoinGlobal", keyMapper, nil, joiner, opts)
}

func streamGlobalJoin[K, V, KG, VG, VR any](s KStream[K, V], g GlobalKTable[KG, VG], prefix, op string, keyMapper func(K, V) KG, inner func(V, VG) VR, left func(V, VG, bool) VR, opts []Option) KStream[K, VR] {
	name := s.b.named(opts, prefix, op)
	store := g.store
	s.b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, K, VR] {
		return &streamGlobalJoinProc[K, V, KG, VG, VR]{store: store, mapper: keyMapper, inner: inner, left: left}
	}), s.node)
	out := newStream[K, VR](s.b, name, s.ks, nil, s.rekeyed)
	out.topics = s.topics
	return out
}

type streamGlobalJoinProc[K, V, KG, VG, VR any] struct {
	base[K, VR]
	store  string
	view   *state.ReadOnlyKeyValueStore[KG, state.ValueAndTimestamp[VG]]
	mapper func(K, V) KG
	// One of inner and left is set.
	inner func(V, VG) VR
	left  func(V, VG, bool) VR
}

func (p *streamGlobalJoinProc[K, V, KG, VG, VR]) Init(ctx processor.Context[K, VR]) error {
	p.ctx = ctx
	var err error
	p.view, err = state.GetReadOnlyKeyValueStore[KG, state.ValueAndTimestamp[VG]](ctx, p.store)
	return err
}

func (p *streamGlobalJoinProc[K, V, KG, VG, VR]) Process(rec processor.Record[K, V]) error {
	switch {
	case rec.NullValue:
		p.ctx.DropRecord(processor.DropNullValue)
		return nil
	case rec.NullKey && p.left == nil:
		p.ctx.DropRecord(processor.DropNullKey)
		return nil
	}
	row, found, err := p.view.Get(p.mapper(rec.Key, rec.Value))
	if err != nil {
		return err
	}
	out := processor.Record[K, VR]{Key: rec.Key, Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: rec.NullKey}
	if p.inner != nil {
		if !found {
			return nil
		}
		out.Value = p.inner(rec.Value, row.Value)
	} else {
		out.Value = p.left(rec.Value, row.Value, found)
	}
	return p.ctx.Forward(out)
}
