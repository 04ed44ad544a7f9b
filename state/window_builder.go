package state

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// WindowBuilder describes a window store of a topology and opens one per
// task, as Kafka Streams' Stores.windowStoreBuilder. By default the store
// is persistent (Pebble), split into segments of half its retention (at
// least a minute), and logged to a changelog topic with
// cleanup.policy=compact,delete and a retention of the store's plus a day.
type WindowBuilder[K, V any] struct {
	segmentedConfig
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
	windowSize time.Duration
	duplicates bool
	// plainStore and plainView make a timestamped store's plain-value
	// facades.
	plainStore func(s *WindowStore[K, V], clock func() int64) any
	plainView  func(r *ReadOnlyWindowStore[K, V]) any
}

// WindowStoreBuilder returns a builder for the window store name, which
// keeps windows of windowSize for retention after the largest window start
// it was given. retention must be at least windowSize; a windowed
// aggregation's is its window size plus grace period.
func WindowStoreBuilder[K, V any](name string, retention, windowSize time.Duration, keySerde serde.Serde[K], valueSerde serde.Serde[V]) *WindowBuilder[K, V] {
	return &WindowBuilder[K, V]{
		segmentedConfig: segmentedConfig{name: name, retention: retention},
		keySerde:        keySerde,
		valueSerde:      valueSerde,
		windowSize:      windowSize,
	}
}

// TimestampedWindowStoreBuilder returns a builder for a window store whose
// values carry the timestamp of the record that wrote them
// (TimestampedWindowStore), as the DSL's windowed aggregations keep them.
// Its changelog carries the values as valueSerde writes them, with the
// timestamp as the record's, as Kafka Streams' timestamped window stores
// log.
func TimestampedWindowStoreBuilder[K, V any](name string, retention, windowSize time.Duration, keySerde serde.Serde[K], valueSerde serde.Serde[V]) *WindowBuilder[K, ValueAndTimestamp[V]] {
	b := &WindowBuilder[K, ValueAndTimestamp[V]]{
		segmentedConfig: segmentedConfig{name: name, retention: retention, timestamped: true},
		keySerde:        keySerde,
		windowSize:      windowSize,
	}
	if valueSerde == nil {
		return b
	}
	b.valueSerde = timestampedSerde[V]{valueSerde}
	b.plainStore = func(s *WindowStore[K, ValueAndTimestamp[V]], clock func() int64) any {
		return &WindowStore[K, V]{windowReader: plainWindowReader(&s.windowReader, plainSerde[V]{valueSerde, clock}), top: s.top}
	}
	b.plainView = func(r *ReadOnlyWindowStore[K, ValueAndTimestamp[V]]) any {
		return &ReadOnlyWindowStore[K, V]{windowReader: plainWindowReader(&r.windowReader, plainSerde[V]{inner: valueSerde})}
	}
	return b
}

// plainWindowReader is r read with the value serde vs.
func plainWindowReader[K, V, VT any](r *windowReader[K, VT], vs serde.Serde[V]) windowReader[K, V] {
	return windowReader[K, V]{
		name: r.name, topic: r.topic, ks: r.ks, vs: vs, size: r.size, src: r.src,
		segs: r.segs, persistent: r.persistent, duplicates: r.duplicates, reuse: r.reuse,
	}
}

// WithRetainDuplicates keeps every value put for a key and window, each
// under its own sequence number, instead of replacing it: the store of a
// stream-stream join's side. Such a store ignores Delete.
func (b *WindowBuilder[K, V]) WithRetainDuplicates() *WindowBuilder[K, V] {
	b.duplicates = true
	return b
}

// WithSegmentInterval sets the time span of one segment, the unit in which
// windows expire; by default half the retention, at least a minute.
func (b *WindowBuilder[K, V]) WithSegmentInterval(d time.Duration) *WindowBuilder[K, V] {
	b.interval = d
	return b
}

// WithLoggingDisabled keeps the store off any changelog topic.
func (b *WindowBuilder[K, V]) WithLoggingDisabled() *WindowBuilder[K, V] {
	b.noLogging = true
	return b
}

// WithLoggingEnabled logs the store (the default) and adds configs to the
// ones its changelog topic is created with.
func (b *WindowBuilder[K, V]) WithLoggingEnabled(configs map[string]string) *WindowBuilder[K, V] {
	b.noLogging = false
	b.changelogConfigs = maps.Clone(configs)
	return b
}

// InMemory keeps the store in memory, one B-tree per segment; with logging
// on, it is rebuilt from the changelog whenever the task starts.
func (b *WindowBuilder[K, V]) InMemory() *WindowBuilder[K, V] {
	b.inMemory = true
	return b
}

// Name returns the store's name.
func (b *WindowBuilder[K, V]) Name() string { return b.name }

// Logged reports whether the store is backed by a changelog topic.
func (b *WindowBuilder[K, V]) Logged() bool { return b.logged() }

// ChangelogConfigs returns the configs of the store's changelog topic:
// CompactDeleteChangelogConfigs of the retention plus a day, with those of
// WithLoggingEnabled over them.
func (b *WindowBuilder[K, V]) ChangelogConfigs() map[string]string { return b.changelogTopicConfigs() }

// Retention returns how long the store keeps windows.
func (b *WindowBuilder[K, V]) Retention() time.Duration { return b.retention }

// WindowSize returns the size of the store's windows.
func (b *WindowBuilder[K, V]) WindowSize() time.Duration { return b.windowSize }

// KeySerde returns the key serde.
func (b *WindowBuilder[K, V]) KeySerde() serde.Serde[K] { return b.keySerde }

// ValueSerde returns the value serde (for a timestamped store, the serde
// of the timestamped format).
func (b *WindowBuilder[K, V]) ValueSerde() serde.Serde[V] { return b.valueSerde }

// Build opens the store for the task env describes. Its Typed is a
// *WindowStore[K, V].
func (b *WindowBuilder[K, V]) Build(env *Env) (Store, error) {
	if err := b.check("window"); err != nil {
		return nil, err
	}
	switch {
	case b.keySerde == nil:
		return nil, &StoreError{Store: b.name, Op: "build", Err: errors.New("no key serde")}
	case b.valueSerde == nil:
		return nil, &StoreError{Store: b.name, Op: "build", Err: errors.New("no value serde")}
	case env == nil:
		return nil, &StoreError{Store: b.name, Op: "build", Err: errors.New("no environment")}
	case b.windowSize < 0:
		return nil, &StoreError{Store: b.name, Op: "build", Err: fmt.Errorf("window size %v is negative", b.windowSize)}
	case b.retention < b.windowSize:
		return nil, &StoreError{Store: b.name, Op: "build", Err: fmt.Errorf("retention %v is shorter than the window size %v", b.retention, b.windowSize)}
	}
	h, err := b.buildStack(env, windowLayout)
	if err != nil {
		return nil, err
	}
	r := windowReader[K, V]{
		name:       b.name,
		topic:      changelogTopic(env.ApplicationID, b.name),
		ks:         b.keySerde,
		vs:         b.valueSerde,
		size:       b.windowSize.Milliseconds(),
		segs:       h.segs,
		persistent: h.bytes.Persistent(),
		duplicates: b.duplicates,
	}
	store := &WindowStore[K, V]{windowReader: r, top: h.top}
	store.src, store.reuse = h.top, true
	if b.plainStore != nil {
		store.plain = b.plainStore(store, env.RecordTime)
	}
	h.typed = store
	h.newView = func(v BytesView) processor.StateStore {
		view := &ReadOnlyWindowStore[K, V]{windowReader: r}
		view.src = v
		if b.plainView != nil {
			view.plain = b.plainView(view)
		}
		return view
	}
	return h, nil
}
