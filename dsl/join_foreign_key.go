package dsl

import (
	"bytes"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
)

// JoinForeignKey joins each row of the table with the row of other whose
// key foreignKey extracts from the row's value, as Kafka Streams'
// KTable#join with a foreign-key extractor: many rows of this table may
// join one row of other, and the tables need not be co-partitioned. The
// result has this table's keys; a row whose foreign key is absent
// (foreignKey returns false) or finds no row joins nothing.
//
// Each row subscribes to its foreign key through a repartition topic
// partitioned by foreign key ("<name>-subscription-registration-topic"),
// where other's task keeps the subscriptions in a store
// ("<name>-subscription-store") and answers, now and on every update of
// the foreign row, through a topic partitioned by this table's key
// ("<name>-subscription-response-topic"). An answer carries a hash of the
// row it answers, and is dropped when the row has changed since: so a
// slow answer for an old value, or for an old foreign key, never reaches
// the result. A result has the timestamp of the update that caused it:
// the later of the two rows for a row's own update, the foreign row's for
// an update of the foreign row.
//
// The table is asked for old values, to unsubscribe from a foreign key the
// row no longer has. Both tables must carry the serdes of their keys and
// values: the topics carry them, and rows are hashed as their serde
// writes them. Named names the join's nodes, topics and store. The result
// is forwarded as it is answered, a delete each time a row stops or fails
// to join, even if it did not join before, as in Kafka Streams; with
// Materialized it is kept in a store, and then deletes are forwarded only
// for rows it held.
func (t KTable[K, V]) JoinForeignKey[KO, VO, VR any](other KTable[KO, VO], foreignKey func(value V) (KO, bool), joiner func(value V, other VO) VR, opts ...Materialized[K, VR]) KTable[K, VR] {
	return foreignKeyJoin(t, other, foreignKey, func(v V, o VO, _ bool) VR { return joiner(v, o) }, false, "KTable.JoinForeignKey", opts)
}

// LeftJoinForeignKey is JoinForeignKey keeping every row of this table:
// joiner is called with found false and the zero VO for a row whose
// foreign key is absent or finds no row, and again when the foreign row is
// deleted.
func (t KTable[K, V]) LeftJoinForeignKey[KO, VO, VR any](other KTable[KO, VO], foreignKey func(value V) (KO, bool), joiner func(value V, other VO, found bool) VR, opts ...Materialized[K, VR]) KTable[K, VR] {
	return foreignKeyJoin(t, other, foreignKey, joiner, true, "KTable.LeftJoinForeignKey", opts)
}

func foreignKeyJoin[K, V, KO, VO, VR any](t KTable[K, V], other KTable[KO, VO], foreignKey func(V) (KO, bool), joiner func(V, VO, bool) VR, left bool, op string, opts []Materialized[K, VR]) KTable[K, VR] {
	b := t.b
	c := merge(opts)
	store := t.materialization(c, "KTABLE-FK-JOIN-OUTPUT")
	base := b.name(c.name, "KTABLE-FK-JOIN")
	b.only(base, op, c, setName|materializedSettings)
	var (
		send       = base + "-subscription-send"
		subTopic   = base + "-subscription-registration-topic"
		subSink    = base + "-subscription-registration-sink"
		subSource  = base + "-subscription-registration-source"
		receive    = base + "-subscription-receive"
		subStore   = base + "-subscription-store"
		foreign    = base + "-foreign-table-join"
		respTopic  = base + "-subscription-response-topic"
		respSink   = base + "-subscription-response-sink"
		respSource = base + "-subscription-response-source"
	)
	for _, s := range []struct {
		side, part string
		missing    bool
	}{
		{"this", "key", t.ks == nil}, {"this", "value", t.vs == nil},
		{"the other", "key", other.ks == nil}, {"the other", "value", other.vs == nil},
	} {
		if s.missing {
			b.fail("%w: %s %q needs the serdes of both tables' keys and values, and %s table has no %s serde: give it one with dsl.MaterializedWith", errMissingSerde, op, base, s.side, s.part)
		}
	}
	t.m.enableSendingOldValues()

	// This table's task subscribes.
	b.topo.AddProcessor(send, supply(func() processor.Processor[K, change[V], KO, subscription[K]] {
		return &fkSendProc[K, V, KO]{fk: foreignKey, kos: other.ks, hasher: newHasher(t.vs), left: left}
	}), t.node)
	var subs serde.Serde[subscription[K]]
	if t.ks != nil {
		subs = subscriptionSerde[K]{t.ks}
	}
	b.topo.AddSink(subSink, subTopic, other.ks, subs, send)
	b.topo.AddRepartitionTopic(topology.RepartitionTopic{Name: subTopic})
	b.topo.AddSource(subSource, other.ks, subs, subTopic)
	copartition(b, []string{subTopic}, other.topics)

	// The other table's task keeps the subscriptions and answers them, now
	// and when its rows change.
	b.topo.AddStateStore(state.TimestampedKeyValueStoreBuilder(subStore, borrowedBytes{}, borrowedBytes{}))
	otherGetter, otherStores := other.m.valueGetter()
	b.topo.AddProcessor(receive, supply(func() processor.Processor[KO, subscription[K], K, response[VO]] {
		return &fkReceiveProc[K, KO, VO]{store: subStore, kos: other.ks, ks: t.ks, getter: otherGetter()}
	}), subSource)
	b.topo.ConnectProcessorAndStateStores(receive, append([]string{subStore}, otherStores...)...)
	b.topo.AddProcessor(foreign, supply(func() processor.Processor[KO, change[VO], K, response[VO]] {
		return &fkForeignProc[K, KO, VO]{store: subStore, kos: other.ks, ks: t.ks}
	}), other.node)
	b.topo.ConnectProcessorAndStateStores(foreign, subStore)
	var resps serde.Serde[response[VO]]
	if other.vs != nil {
		resps = responseSerde[VO]{other.vs}
	}
	b.topo.AddSink(respSink, respTopic, t.ks, resps, receive, foreign)
	b.topo.AddRepartitionTopic(topology.RepartitionTopic{Name: respTopic})

	// This table's task checks each answer against its row and joins.
	b.topo.AddSource(respSource, t.ks, resps, respTopic)
	topics := copartition(b, []string{respTopic}, t.topics)
	vs, _ := pickSerde[VR](nil, nil)
	out := newTable(b, base, store, t.ks, vs, topics)
	if store != "" {
		out.ks, _ = pickSerde(c.keySerde, t.ks)
		out.vs, _ = pickSerde(c.valueSerde, vs)
	}
	m := out.m
	thisGetter, thisStores := t.m.valueGetter()
	b.topo.AddProcessor(base, supply(func() processor.Processor[K, response[VO], K, change[VR]] {
		return &fkResolveProc[K, V, VO, VR]{
			rows:   rows[K, VR]{store: m.store, sendOld: m.sendOld},
			getter: thisGetter(), hasher: newHasher(t.vs), joiner: joiner, left: left,
		}
	}), respSource)
	b.topo.ConnectProcessorAndStateStores(base, thisStores...)
	if store != "" {
		addStore(b, c, store, base, t.ks, vs)
		return out
	}
	// The result cannot be read from its inputs, which live in other
	// tasks: a node downstream that needs its rows or old values gets it a
	// store.
	m.materialize = func() {
		m.store = b.generate("KTABLE-FK-JOIN-OUTPUT-STATE-STORE")
		addStore(b, c, m.store, base, t.ks, vs)
	}
	return out
}

// fkSendProc turns each change of a left row into subscriptions, as Kafka
// Streams' SubscriptionSendProcessorSupplier: when the foreign key changes
// the old one is unsubscribed, and one message per change asks for an
// answer, so that each change of a row yields at most one result.
type fkSendProc[K, V, KO any] struct {
	base[KO, subscription[K]]
	fk           func(V) (KO, bool)
	kos          serde.Serde[KO]
	hasher       *hasher[V]
	left         bool
	oldBuf, nbuf []byte
}

func (p *fkSendProc[K, V, KO]) Process(rec processor.Record[K, change[V]]) error {
	in := rec.Value
	var oldFK, newFK KO
	oldOK, newOK := false, false
	if in.HasOld {
		oldFK, oldOK = p.fk(in.Old)
	}
	if in.HasNew {
		newFK, newOK = p.fk(in.New)
	}
	sub := subscription[K]{pk: rec.Key}
	if in.HasNew {
		h, err := p.hasher.hash("", in.New)
		if err != nil {
			return err
		}
		sub.hash, sub.hasHash = h, true
	}
	out := processor.Record[KO, subscription[K]]{Timestamp: rec.Timestamp, Headers: rec.Headers}
	if oldOK {
		moved := !newOK
		if newOK {
			var err error
			if moved, err = p.differ(oldFK, newFK); err != nil {
				return err
			}
		}
		if moved {
			out.Key, out.Value = oldFK, sub
			out.Value.instruction = deleteNoPropagate
			if !in.HasNew || (!newOK && !p.left) {
				// The row is gone, or no longer joins: the old key's
				// answer deletes the result.
				out.Value.instruction = deleteAndPropagate
				return p.ctx.Forward(out)
			}
			if err := p.ctx.Forward(out); err != nil {
				return err
			}
		}
	}
	out.Value = sub
	switch {
	case newOK:
		out.Key, out.Value.instruction = newFK, propagateNull
		if !p.left && !oldOK {
			// No result to delete if the foreign row is missing.
			out.Value.instruction = propagateIfFound
		}
	case p.left && (in.HasNew || in.HasOld):
		// No foreign key: the answer, with no foreign row, comes back
		// from whichever task of the other table gets it, keeping the
		// order of this row's answers.
		out.NullKey, out.Value.instruction = true, propagateNull
	default:
		return nil
	}
	return p.ctx.Forward(out)
}

// differ reports whether two foreign keys differ as their serde writes
// them, which is what partitions them.
func (p *fkSendProc[K, V, KO]) differ(a, b KO) (bool, error) {
	var err error
	if p.oldBuf, err = p.kos.Serialize(p.oldBuf[:0], "", a); err != nil {
		return false, err
	}
	if p.nbuf, err = p.kos.Serialize(p.nbuf[:0], "", b); err != nil {
		return false, err
	}
	return !bytes.Equal(p.oldBuf, p.nbuf), nil
}

// fkReceiveProc keeps the subscriptions of the right table's rows and
// answers each, as Kafka Streams' SubscriptionReceiveProcessorSupplier and
// SubscriptionJoinProcessorSupplier.
type fkReceiveProc[K, KO, VO any] struct {
	base[K, response[VO]]
	store          string
	kv             *state.TimestampedKeyValueStore[[]byte, []byte]
	kos            serde.Serde[KO]
	ks             serde.Serde[K]
	getter         valueGetter[KO, VO]
	kbuf, pbuf, ck []byte
}

func (p *fkReceiveProc[K, KO, VO]) Init(ctx processor.Context[K, response[VO]]) error {
	p.ctx = ctx
	var err error
	if p.kv, err = state.GetTimestampedKeyValueStore[[]byte, []byte](ctx, p.store); err != nil {
		return err
	}
	return p.getter.init(ctx)
}

func (p *fkReceiveProc[K, KO, VO]) Process(rec processor.Record[KO, subscription[K]]) error {
	sub := rec.Value
	out := processor.Record[K, response[VO]]{Key: sub.pk, Value: response[VO]{hash: sub.hash, hasHash: sub.hasHash}, Timestamp: rec.Timestamp, Headers: rec.Headers}
	if rec.NullKey {
		if sub.instruction != propagateNull {
			p.ctx.DropRecord(processor.DropNullKey)
			return nil
		}
		return p.ctx.Forward(out)
	}
	var err error
	if p.kbuf, err = p.kos.Serialize(p.kbuf[:0], "", rec.Key); err != nil {
		return err
	}
	if p.pbuf, err = p.ks.Serialize(p.pbuf[:0], "", sub.pk); err != nil {
		return err
	}
	p.ck = combinedKey(p.ck[:0], p.kbuf, p.pbuf)
	switch sub.instruction {
	case deleteNoPropagate, deleteAndPropagate:
		if _, _, err := p.kv.Delete(p.ck); err != nil {
			return err
		}
	default:
		if err := p.kv.Put(p.ck, state.ValueAndTimestamp[[]byte]{Value: sub.hash[:], Timestamp: rec.Timestamp}); err != nil {
			return err
		}
	}
	if sub.instruction == deleteNoPropagate {
		return nil
	}
	row, found, err := p.getter.get(rec.Key)
	if err != nil {
		return err
	}
	if found {
		out.Timestamp = max(out.Timestamp, row.Timestamp)
		if sub.instruction != deleteAndPropagate {
			out.Value.value, out.Value.hasValue = row.Value, true
		}
	} else if sub.instruction == propagateIfFound {
		return nil
	}
	return p.ctx.Forward(out)
}

// fkForeignProc answers every subscriber of a right row when the row
// changes, as Kafka Streams' ForeignTableJoinProcessorSupplier.
type fkForeignProc[K, KO, VO any] struct {
	base[K, response[VO]]
	store       string
	kv          *state.TimestampedKeyValueStore[[]byte, []byte]
	kos         serde.Serde[KO]
	ks          serde.Serde[K]
	kbuf, prefx []byte
}

func (p *fkForeignProc[K, KO, VO]) Init(ctx processor.Context[K, response[VO]]) error {
	p.ctx = ctx
	var err error
	p.kv, err = state.GetTimestampedKeyValueStore[[]byte, []byte](ctx, p.store)
	return err
}

func (p *fkForeignProc[K, KO, VO]) Process(rec processor.Record[KO, change[VO]]) error {
	var err error
	if p.kbuf, err = p.kos.Serialize(p.kbuf[:0], "", rec.Key); err != nil {
		return err
	}
	p.prefx = combinedPrefix(p.prefx[:0], p.kbuf)
	it, err := p.kv.PrefixScan(p.prefx, borrowedBytes{})
	if err != nil {
		return err
	}
	defer it.Close()
	out := processor.Record[K, response[VO]]{Timestamp: rec.Timestamp, Headers: rec.Headers}
	out.Value.value, out.Value.hasValue = rec.Value.New, rec.Value.HasNew
	out.Value.hasHash = true
	for it.Next() {
		pk, err := primaryOf(it.Key())
		if err != nil {
			return err
		}
		if out.Key, err = p.ks.Deserialize("", pk); err != nil {
			return err
		}
		copy(out.Value.hash[:], it.Value().Value)
		if err := p.ctx.Forward(out); err != nil {
			return err
		}
	}
	return it.Err()
}

// fkResolveProc checks each answer against the left row it answers and
// joins, as Kafka Streams' ResponseJoinProcessorSupplier: an answer whose
// hash is not the row's current one answers a value the row no longer
// has, and is dropped.
type fkResolveProc[K, V, VO, VR any] struct {
	rows[K, VR]
	getter valueGetter[K, V]
	hasher *hasher[V]
	joiner func(V, VO, bool) VR
	left   bool
}

func (p *fkResolveProc[K, V, VO, VR]) Init(ctx processor.Context[K, change[VR]]) error {
	if p.store != "" {
		if err := p.init(ctx); err != nil {
			return err
		}
	}
	p.ctx = ctx
	return p.getter.init(ctx)
}

func (p *fkResolveProc[K, V, VO, VR]) Close() error { return nil }

func (p *fkResolveProc[K, V, VO, VR]) Process(rec processor.Record[K, response[VO]]) error {
	resp := rec.Value
	row, found, err := p.getter.get(rec.Key)
	if err != nil {
		return err
	}
	if resp.hasHash != found {
		return nil
	}
	if found {
		h, err := p.hasher.hash("", row.Value)
		if err != nil {
			return err
		}
		if h != resp.hash {
			return nil
		}
	}
	if !found || (!resp.hasValue && !p.left) {
		return p.emit(rec, change[VR]{})
	}
	return p.emit(rec, change[VR]{New: p.joiner(row.Value, resp.value, resp.hasValue), HasNew: true})
}

func (p *fkResolveProc[K, V, VO, VR]) emit(rec processor.Record[K, response[VO]], c change[VR]) error {
	switch {
	case p.store == "":
		return p.ctx.Forward(processor.Record[K, change[VR]]{Key: rec.Key, Value: c, Timestamp: rec.Timestamp, Headers: rec.Headers})
	case c.HasNew:
		return p.put(rec.Key, c.New, rec.Timestamp, rec.Headers)
	}
	return p.delete(rec.Key, rec.Timestamp, rec.Headers)
}
