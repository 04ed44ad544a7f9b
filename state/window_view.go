package state

import "github.com/samsa-go/samsa/processor"

// ReadOnlyWindowStore is a read-only view of a window store that any
// goroutine may use while the task processes, as Kafka Streams'
// ReadOnlyWindowStore: the seam interactive queries read through. It has
// the read methods of WindowStore (Get, Fetch, FetchKeyRange, FetchAll,
// All and their Backward variants) and sees what the task has flushed
// (at-least-once) or committed (exactly-once); see BytesView.
//
// The task makes it with Store.View. It keeps no buffers between calls,
// so each call allocates. Once the task closes the store, every call fails
// with an error wrapping ErrClosed.
type ReadOnlyWindowStore[K, V any] struct {
	windowReader[K, V]
	// plain is, for a timestamped store, the view with plain values.
	plain any
}

func (s *ReadOnlyWindowStore[K, V]) plainStore() any { return s.plain }

// GetReadOnlyWindowStore returns the view called name, reachable through
// g, with keys K and values V; a timestamped store's view can be had with
// plain values too, as with GetWindowStore.
func GetReadOnlyWindowStore[K, V any](g processor.StoreGetter, name string) (*ReadOnlyWindowStore[K, V], error) {
	return getStore[*ReadOnlyWindowStore[K, V]](g, name)
}

// KeyBytes returns k serialized by the store's key serde; see
// ReadOnlyKeyValueStore.KeyBytes.
func (s *ReadOnlyWindowStore[K, V]) KeyBytes(k K) ([]byte, error) {
	return s.ks.Serialize(nil, s.topic, k)
}
