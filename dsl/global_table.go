package dsl

import (
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// GlobalKTable is a table of which every instance of the application keeps
// a whole copy, as Kafka Streams' GlobalKTable: filled from every
// partition of its topic before any task processes, kept up to date while
// the application runs, and read by stream joins whatever the partition
// of the stream record, so that a stream can look rows up by any key its
// records compute (JoinGlobal), with no repartitioning and no
// co-partitioning. A global table's updates go nowhere but its store: it
// has no operations of its own.
type GlobalKTable[K, V any] struct {
	b     *Builder
	store string
}

// GlobalTable reads topic as a global table, in a key-value store that
// MaterializedAs names (topology.AddGlobalStore underneath). The topic is
// the store's changelog: the store has none of its own, and a restart
// reads the topic again, from where a persistent store's checkpoint left
// off. Records with a null key are dropped and counted. Named names the
// node that fills the store.
func GlobalTable[K, V any](b *Builder, topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...Materialized[K, V]) GlobalKTable[K, V] {
	c := merge(opts)
	store := c.store
	if store == "" {
		store = b.generate(topic + "-STATE-STORE")
	}
	source := b.generate("KSTREAM-SOURCE")
	name := b.name(c.name, "KTABLE-SOURCE")
	b.only(name, "GlobalTable", c, setName|setStore|setKeySerde|setValueSerde|setInMemory|setNoLogging)
	k, err := pickSerde(c.keySerde, keySerde)
	if err != nil {
		b.fail("store %q: key %w", store, err)
	}
	v, err := pickSerde(c.valueSerde, valueSerde)
	if err != nil {
		b.fail("store %q: value %w", store, err)
	}
	sb := state.TimestampedKeyValueStoreBuilder(store, k, v).WithLoggingDisabled()
	if c.set&setInMemory != 0 {
		sb = sb.InMemory()
	}
	b.topo.AddGlobalStore(sb, source, keySerde, valueSerde, topic, name,
		supply(func() processor.Processor[K, V, struct{}, struct{}] { return &globalTableProc[K, V]{store: store} }))
	return GlobalKTable[K, V]{b: b, store: store}
}

// StoreName is the name of the store that holds the table.
func (g GlobalKTable[K, V]) StoreName() string { return g.store }

type globalTableProc[K, V any] struct {
	base[struct{}, struct{}]
	store string
	kv    *state.TimestampedKeyValueStore[K, V]
}

func (p *globalTableProc[K, V]) Init(ctx processor.Context[struct{}, struct{}]) error {
	p.ctx = ctx
	var err error
	p.kv, err = state.GetTimestampedKeyValueStore[K, V](ctx, p.store)
	return err
}

func (p *globalTableProc[K, V]) Process(rec processor.Record[K, V]) error {
	switch {
	case rec.NullKey:
		p.ctx.DropRecord(processor.DropNullKey)
		return nil
	case rec.NullValue:
		_, _, err := p.kv.Delete(rec.Key)
		return err
	}
	return p.kv.Put(rec.Key, state.ValueAndTimestamp[V]{Value: rec.Value, Timestamp: rec.Timestamp})
}
