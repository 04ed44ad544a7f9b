package state

import (
	"errors"
	"maps"
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// SessionBuilder describes a session store of a topology and opens one per
// task, as Kafka Streams' Stores.sessionStoreBuilder. By default the store
// is persistent (Pebble), split into segments of half its retention (at
// least a minute) by session end, and logged to a changelog topic with
// cleanup.policy=compact,delete and a retention of the store's plus a day.
type SessionBuilder[K, V any] struct {
	segmentedConfig
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
}

// SessionStoreBuilder returns a builder for the session store name, which
// keeps a session for retention after the largest session end it was
// given; a session-windowed aggregation's retention is its inactivity gap
// plus grace period.
func SessionStoreBuilder[K, V any](name string, retention time.Duration, keySerde serde.Serde[K], valueSerde serde.Serde[V]) *SessionBuilder[K, V] {
	return &SessionBuilder[K, V]{
		segmentedConfig: segmentedConfig{name: name, retention: retention},
		keySerde:        keySerde,
		valueSerde:      valueSerde,
	}
}

// WithSegmentInterval sets the time span of one segment, the unit in which
// sessions expire; by default half the retention, at least a minute.
func (b *SessionBuilder[K, V]) WithSegmentInterval(d time.Duration) *SessionBuilder[K, V] {
	b.interval = d
	return b
}

// WithLoggingDisabled keeps the store off any changelog topic.
func (b *SessionBuilder[K, V]) WithLoggingDisabled() *SessionBuilder[K, V] {
	b.noLogging = true
	return b
}

// WithLoggingEnabled logs the store (the default) and adds configs to the
// ones its changelog topic is created with.
func (b *SessionBuilder[K, V]) WithLoggingEnabled(configs map[string]string) *SessionBuilder[K, V] {
	b.noLogging = false
	b.changelogConfigs = maps.Clone(configs)
	return b
}

// InMemory keeps the store in memory, one B-tree per segment.
func (b *SessionBuilder[K, V]) InMemory() *SessionBuilder[K, V] {
	b.inMemory = true
	return b
}

// Name returns the store's name.
func (b *SessionBuilder[K, V]) Name() string { return b.name }

// Logged reports whether the store is backed by a changelog topic.
func (b *SessionBuilder[K, V]) Logged() bool { return b.logged() }

// ChangelogConfigs returns the configs of the store's changelog topic, as
// for a window store.
func (b *SessionBuilder[K, V]) ChangelogConfigs() map[string]string { return b.changelogTopicConfigs() }

// Retention returns how long the store keeps sessions.
func (b *SessionBuilder[K, V]) Retention() time.Duration { return b.retention }

// KeySerde returns the key serde.
func (b *SessionBuilder[K, V]) KeySerde() serde.Serde[K] { return b.keySerde }

// ValueSerde returns the value serde.
func (b *SessionBuilder[K, V]) ValueSerde() serde.Serde[V] { return b.valueSerde }

// Build opens the store for the task env describes. Its Typed is a
// *SessionStore[K, V].
func (b *SessionBuilder[K, V]) Build(env *Env) (Store, error) {
	if err := b.check("session"); err != nil {
		return nil, err
	}
	switch {
	case b.keySerde == nil:
		return nil, &StoreError{Store: b.name, Op: "build", Err: errors.New("no key serde")}
	case b.valueSerde == nil:
		return nil, &StoreError{Store: b.name, Op: "build", Err: errors.New("no value serde")}
	case env == nil:
		return nil, &StoreError{Store: b.name, Op: "build", Err: errors.New("no environment")}
	}
	h, err := b.buildStack(env, sessionLayout)
	if err != nil {
		return nil, err
	}
	r := sessionReader[K, V]{
		name:       b.name,
		topic:      changelogTopic(env.ApplicationID, b.name),
		ks:         b.keySerde,
		vs:         b.valueSerde,
		segs:       h.segs,
		persistent: h.bytes.Persistent(),
	}
	store := &SessionStore[K, V]{sessionReader: r, top: h.top}
	store.src, store.reuse = h.top, true
	h.typed = store
	h.newView = func(v BytesView) processor.StateStore {
		view := &ReadOnlySessionStore[K, V]{sessionReader: r}
		view.src = v
		return view
	}
	return h, nil
}
