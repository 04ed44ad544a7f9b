package state

import (
	"errors"

	"github.com/samsa-go/samsa/serde"
)

// KeyValueBuilder describes a key-value store of a topology and opens one
// per task. By default the store is persistent (Pebble), logged to its
// changelog topic, and not cached.
type KeyValueBuilder[K, V any] struct {
	name       string
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
	noLogging  bool
	cacheBytes int
	caching    bool
	inMemory   bool
}

// KeyValueStoreBuilder returns a builder for the key-value store name, whose
// keys and values cross into bytes with keySerde and valueSerde.
func KeyValueStoreBuilder[K, V any](name string, keySerde serde.Serde[K], valueSerde serde.Serde[V]) *KeyValueBuilder[K, V] {
	return &KeyValueBuilder[K, V]{name: name, keySerde: keySerde, valueSerde: valueSerde}
}

// WithLoggingDisabled keeps the store off any changelog topic: nothing
// restores it when a task moves or local state is lost.
func (b *KeyValueBuilder[K, V]) WithLoggingDisabled() *KeyValueBuilder[K, V] {
	b.noLogging = true
	return b
}

// WithCachingEnabled puts a cache of maxBytes in front of the store (see
// CachingStore); off by default.
func (b *KeyValueBuilder[K, V]) WithCachingEnabled(maxBytes int) *KeyValueBuilder[K, V] {
	b.caching, b.cacheBytes = true, maxBytes
	return b
}

// InMemory keeps the store in memory rather than in the task's Pebble DB;
// with logging on, it is rebuilt from the changelog whenever the task starts.
func (b *KeyValueBuilder[K, V]) InMemory() *KeyValueBuilder[K, V] {
	b.inMemory = true
	return b
}

// Name returns the store's name.
func (b *KeyValueBuilder[K, V]) Name() string { return b.name }

// Logged reports whether the store is backed by a changelog topic.
func (b *KeyValueBuilder[K, V]) Logged() bool { return !b.noLogging }

// KeySerde returns the key serde.
func (b *KeyValueBuilder[K, V]) KeySerde() serde.Serde[K] { return b.keySerde }

// ValueSerde returns the value serde.
func (b *KeyValueBuilder[K, V]) ValueSerde() serde.Serde[V] { return b.valueSerde }

// Build opens the store for the task env describes and returns it as a
// *KeyValueStore[K, V].
func (b *KeyValueBuilder[K, V]) Build(env *Env) (Store, error) {
	switch {
	case b.name == "":
		return nil, errors.New("state: key-value store builder has an empty name")
	case b.keySerde == nil:
		return nil, &StoreError{Store: b.name, Op: "build", Err: errors.New("no key serde")}
	case b.valueSerde == nil:
		return nil, &StoreError{Store: b.name, Op: "build", Err: errors.New("no value serde")}
	case env == nil:
		return nil, &StoreError{Store: b.name, Op: "build", Err: errors.New("no environment")}
	}
	var inner KeyValueBytesStore
	if env.InMemory || b.inMemory {
		inner = NewMemoryStore(b.name)
	} else {
		if env.DB == nil {
			return nil, &StoreError{Store: b.name, Op: "build", Err: errors.New("environment offers no database")}
		}
		db, err := env.DB()
		if err != nil {
			return nil, storeErr(b.name, "build", err)
		}
		inner = db.Store(b.name)
	}
	s := &KeyValueStore[K, V]{
		name:  b.name,
		topic: changelogTopic(env.ApplicationID, b.name),
		bytes: inner,
		top:   inner,
		ks:    b.keySerde,
		vs:    b.valueSerde,
	}
	if env.Transactional {
		s.txn = NewTxnStore(s.top)
		s.top = s.txn
	}
	if b.Logged() && env.Logger != nil {
		if l := env.Logger(b.name); l != nil {
			s.top = NewChangeLoggingStore(s.top, l)
		}
	}
	if b.caching {
		s.cache = NewCachingStore(s.top, b.cacheBytes)
		s.cache.SetClock(env.RecordTime)
		s.top = s.cache
	}
	return s, nil
}

// changelogTopic names the topic a store logs to. Serdes get it as their
// topic even when logging is off, as in Kafka Streams, so that serdes keyed
// by topic (schema registry subjects) see one stable name.
func changelogTopic(applicationID, store string) string {
	if applicationID == "" {
		return store + "-changelog"
	}
	return applicationID + "-" + store + "-changelog"
}
