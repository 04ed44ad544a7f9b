package state

import (
	"errors"
	"maps"

	"github.com/samsa-go/samsa/serde"
)

// KeyValueBuilder describes a key-value store of a topology and opens one
// per task. By default the store is persistent (Pebble), logged to a
// compacted changelog topic, and not cached.
type KeyValueBuilder[K, V any] struct {
	name             string
	keySerde         serde.Serde[K]
	valueSerde       serde.Serde[V]
	noLogging        bool
	changelogConfigs map[string]string
	cacheBytes       int
	caching          bool
	inMemory         bool
	// timestamped stores hold V = ValueAndTimestamp[V'] in the timestamped
	// format; plainStore and plainView make their plain-value facades,
	// knowing V'.
	timestamped bool
	plainStore  func(s *KeyValueStore[K, V], clock func() int64) any
	plainView   func(c kvCodec[K, V], v BytesView) any
}

// KeyValueStoreBuilder returns a builder for the key-value store name, whose
// keys and values cross into bytes with keySerde and valueSerde.
func KeyValueStoreBuilder[K, V any](name string, keySerde serde.Serde[K], valueSerde serde.Serde[V]) *KeyValueBuilder[K, V] {
	return &KeyValueBuilder[K, V]{name: name, keySerde: keySerde, valueSerde: valueSerde}
}

// TimestampedKeyValueStoreBuilder returns a builder for the timestamped
// key-value store name: each value is kept with the timestamp of the record
// that wrote it (TimestampedKeyValueStore), as the DSL keeps tables. The
// store's changelog carries the values as valueSerde writes them, with the
// timestamp as the record's, so it reads like a plain key-value store's.
func TimestampedKeyValueStoreBuilder[K, V any](name string, keySerde serde.Serde[K], valueSerde serde.Serde[V]) *KeyValueBuilder[K, ValueAndTimestamp[V]] {
	b := &KeyValueBuilder[K, ValueAndTimestamp[V]]{name: name, keySerde: keySerde, timestamped: true}
	if valueSerde == nil {
		return b
	}
	b.valueSerde = timestampedSerde[V]{valueSerde}
	b.plainStore = func(s *KeyValueStore[K, ValueAndTimestamp[V]], clock func() int64) any {
		return &KeyValueStore[K, V]{
			kvCodec:    kvCodec[K, V]{name: s.name, topic: s.topic, ks: s.ks, vs: plainSerde[V]{valueSerde, clock}},
			top:        s.top,
			cache:      s.cache,
			persistent: s.persistent,
			shareKey:   s.shareKey,
		}
	}
	b.plainView = func(c kvCodec[K, ValueAndTimestamp[V]], v BytesView) any {
		return &ReadOnlyKeyValueStore[K, V]{
			kvCodec: kvCodec[K, V]{name: c.name, topic: c.topic, ks: c.ks, vs: plainSerde[V]{inner: valueSerde}},
			v:       v,
		}
	}
	return b
}

// WithLoggingDisabled keeps the store off any changelog topic: nothing
// restores it when a task moves or local state is lost.
func (b *KeyValueBuilder[K, V]) WithLoggingDisabled() *KeyValueBuilder[K, V] {
	b.noLogging = true
	return b
}

// WithLoggingEnabled logs the store to its changelog topic (the default)
// and adds configs to the ones the topic is created with, over the
// defaults (CompactedChangelogConfigs), as Kafka Streams'
// withLoggingEnabled.
func (b *KeyValueBuilder[K, V]) WithLoggingEnabled(configs map[string]string) *KeyValueBuilder[K, V] {
	b.noLogging = false
	b.changelogConfigs = maps.Clone(configs)
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

// ChangelogConfigs returns the configs of the store's changelog topic:
// CompactedChangelogConfigs with those of WithLoggingEnabled over them.
func (b *KeyValueBuilder[K, V]) ChangelogConfigs() map[string]string {
	c := CompactedChangelogConfigs()
	maps.Copy(c, b.changelogConfigs)
	return c
}

// KeySerde returns the key serde.
func (b *KeyValueBuilder[K, V]) KeySerde() serde.Serde[K] { return b.keySerde }

// ValueSerde returns the value serde (for a timestamped store, the serde
// of the timestamped format).
func (b *KeyValueBuilder[K, V]) ValueSerde() serde.Serde[V] { return b.valueSerde }

// Build opens the store for the task env describes. Its Typed is a
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
	h := &kvHandle[K, V]{bytes: inner, top: inner, timestamped: b.timestamped, plainView: b.plainView}
	if env.Transactional {
		h.txn = NewTxnStore(h.top)
		// View reads through the buffer: commits may be deferred, and
		// applied by a job of the database.
		h.txn.deferrable = true
		h.txn.async = true
		h.top = h.txn
	}
	var logging *changeLoggingStore
	if b.Logged() && env.Logger != nil {
		if l := env.Logger(b.name); l != nil {
			logging = &changeLoggingStore{KeyValueBytesStore: h.top, logger: l, clock: env.RecordTime, timestamped: b.timestamped, keepValues: true}
			h.top, h.logging = logging, logging
		}
	}
	m := env.metricsOf(b.name)
	if b.caching {
		h.cache = NewCachingStore(h.top, b.cacheBytes)
		h.cache.SetClock(env.RecordTime)
		h.top = h.cache
		if logging != nil {
			logging.clock = h.cache.writeTime
		}
		if m != nil {
			h.cache.hits, h.cache.misses = m.CacheHits, m.CacheMisses
		}
	}
	h.top = metered(h.top, m)
	h.store = &KeyValueStore[K, V]{
		kvCodec: kvCodec[K, V]{
			name:  b.name,
			topic: changelogTopic(env.ApplicationID, b.name),
			ks:    b.keySerde,
			vs:    b.valueSerde,
		},
		top:        h.top,
		cache:      h.cache,
		persistent: inner.Persistent(),
		shareKey:   stringKey(b.keySerde),
	}
	if b.plainStore != nil {
		h.store.plain = b.plainStore(h.store, env.RecordTime)
	}
	return h, nil
}
