package state

import "github.com/samsa-go/samsa/processor"

// ReadOnlySessionStore is a read-only view of a session store that any
// goroutine may use while the task processes, as Kafka Streams'
// ReadOnlySessionStore. It has the read methods of SessionStore
// (FetchSession, FindSessions, Fetch, FetchKeyRange, All and their
// Backward variants) and sees what the task has flushed or committed; see
// BytesView. Each call allocates. Once the task closes the store, every
// call fails with an error wrapping ErrClosed.
type ReadOnlySessionStore[K, V any] struct {
	sessionReader[K, V]
}

// GetReadOnlySessionStore returns the view called name, reachable through
// g, with keys K and aggregates V.
func GetReadOnlySessionStore[K, V any](g processor.StoreGetter, name string) (*ReadOnlySessionStore[K, V], error) {
	return getStore[*ReadOnlySessionStore[K, V]](g, name)
}

// KeyBytes returns k serialized by the store's key serde; see
// ReadOnlyKeyValueStore.KeyBytes.
func (s *ReadOnlySessionStore[K, V]) KeyBytes(k K) ([]byte, error) {
	return s.ks.Serialize(nil, s.topic, k)
}
