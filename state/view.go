package state

import (
	"fmt"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// ReadOnlyKeyValueStore is a read-only view of a key-value store that any
// goroutine may use while the task processes, and any number at once: the
// seam interactive queries read through (Kafka Streams'
// ReadOnlyKeyValueStore). It sees what the task has flushed (at-least-once)
// or committed (exactly-once), never a write still cached or in an open
// transaction; see BytesView for how far its iterations are snapshots.
//
// The task makes it with Store.View. It keeps no buffers between calls,
// so each call allocates; its serdes are called from the reader's
// goroutine, which serde.Serde allows. Once the task closes the store,
// every call fails with an error wrapping ErrClosed.
type ReadOnlyKeyValueStore[K, V any] struct {
	kvCodec[K, V]
	v BytesView
	// plain is, for a timestamped store, the view with plain values.
	plain any
}

// Name returns the store's name.
func (s *ReadOnlyKeyValueStore[K, V]) Name() string { return s.name }

// Persistent reports whether the store keeps its data in Pebble.
func (s *ReadOnlyKeyValueStore[K, V]) Persistent() bool { return s.v.Persistent() }

func (s *ReadOnlyKeyValueStore[K, V]) plainStore() any { return s.plain }

// Get returns the value stored under k; found is false when there is none.
func (s *ReadOnlyKeyValueStore[K, V]) Get(k K) (v V, found bool, err error) {
	kb, err := s.ks.Serialize(nil, s.topic, k)
	if err != nil {
		return v, false, storeErr(s.name, "get", fmt.Errorf("serialize key: %w", err))
	}
	b, found, err := s.v.Get(kb)
	if err != nil || !found {
		return v, false, err
	}
	v, err = s.decodeValue("get", b)
	return v, err == nil, err
}

// Range iterates over the keys from from to to, both included, in order.
func (s *ReadOnlyKeyValueStore[K, V]) Range(from, to K) (*KeyValueIterator[K, V], error) {
	return s.rangeOf(s.v, "range", from, to, false)
}

// ReverseRange is Range from the last key to the first.
func (s *ReadOnlyKeyValueStore[K, V]) ReverseRange(from, to K) (*KeyValueIterator[K, V], error) {
	return s.rangeOf(s.v, "reverse range", from, to, true)
}

// All iterates over every key, in order.
func (s *ReadOnlyKeyValueStore[K, V]) All() (*KeyValueIterator[K, V], error) {
	return s.iter(s.v, "all", nil, nil, false)
}

// ReverseAll iterates over every key, last first.
func (s *ReadOnlyKeyValueStore[K, V]) ReverseAll() (*KeyValueIterator[K, V], error) {
	return s.iter(s.v, "reverse all", nil, nil, true)
}

// PrefixScan iterates over the keys whose serialized bytes start with
// prefix serialized by ps, as KeyValueStore.PrefixScan.
func (s *ReadOnlyKeyValueStore[K, V]) PrefixScan[P any](prefix P, ps serde.Serde[P]) (*KeyValueIterator[K, V], error) {
	return prefixScan(&s.kvCodec, s.v, prefix, ps)
}

// ApproximateNumEntries estimates the number of keys.
func (s *ReadOnlyKeyValueStore[K, V]) ApproximateNumEntries() (int64, error) {
	return s.v.ApproximateNumEntries()
}

// GetReadOnlyKeyValueStore returns the view called name, reachable through
// g, with keys K and values V; a timestamped store's view can be had with
// plain values too, as with GetKeyValueStore. A query layer serves views
// through a processor.StoreGetter of its own.
func GetReadOnlyKeyValueStore[K, V any](g processor.StoreGetter, name string) (*ReadOnlyKeyValueStore[K, V], error) {
	return getStore[*ReadOnlyKeyValueStore[K, V]](g, name)
}

// KeyBytes returns k serialized by the store's key serde, which is how the
// store's records are keyed in its changelog and partitioned: a query
// router hashes these bytes to find the task that holds k.
func (s *ReadOnlyKeyValueStore[K, V]) KeyBytes(k K) ([]byte, error) {
	return s.ks.Serialize(nil, s.topic, k)
}
