package dsl

import (
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// valueGetter reads a table's current rows by key, in the task of a node
// connected to the stores it reads: how a join looks the other side up, as
// Kafka Streams' KTableValueGetter. A table with a store reads it; one
// without reads its parent's rows and does to them what its node does to
// changes, down to the nearest store.
type valueGetter[K, V any] interface {
	init(g processor.StoreGetter) error
	get(key K) (row state.ValueAndTimestamp[V], found bool, err error)
}

type storeGetter[K, V any] struct {
	store string
	kv    *state.TimestampedKeyValueStore[K, V]
}

func (g *storeGetter[K, V]) init(sg processor.StoreGetter) error {
	var err error
	g.kv, err = state.GetTimestampedKeyValueStore[K, V](sg, g.store)
	return err
}

func (g *storeGetter[K, V]) get(key K) (state.ValueAndTimestamp[V], bool, error) {
	return g.kv.Get(key)
}

type filterGetter[K, V any] struct {
	parent valueGetter[K, V]
	pred   func(K, V) bool
	not    bool
}

func (g *filterGetter[K, V]) init(sg processor.StoreGetter) error { return g.parent.init(sg) }

func (g *filterGetter[K, V]) get(key K) (state.ValueAndTimestamp[V], bool, error) {
	row, found, err := g.parent.get(key)
	if err != nil || !found || g.pred(key, row.Value) == g.not {
		return state.ValueAndTimestamp[V]{}, false, err
	}
	return row, true, nil
}

type mapValuesGetter[K, V, VR any] struct {
	parent valueGetter[K, V]
	f      func(V) VR
}

func (g *mapValuesGetter[K, V, VR]) init(sg processor.StoreGetter) error { return g.parent.init(sg) }

func (g *mapValuesGetter[K, V, VR]) get(key K) (state.ValueAndTimestamp[VR], bool, error) {
	row, found, err := g.parent.get(key)
	if err != nil || !found {
		return state.ValueAndTimestamp[VR]{}, false, err
	}
	return state.ValueAndTimestamp[VR]{Value: g.f(row.Value), Timestamp: row.Timestamp}, true, nil
}
