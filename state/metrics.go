package state

import "time"

// Observer takes one measurement: a latency in seconds. A Prometheus
// histogram (prometheus.Observer) is one.
type Observer interface{ Observe(float64) }

// Counter counts events. A Prometheus counter is one.
type Counter interface{ Add(float64) }

// StoreMetrics is where one store of one task reports what it measures; the
// host (the runtime) makes it and hands it over through Env.Metrics. Every
// field may be nil, and is then not measured. The store calls them from the
// task's goroutine, so they must be cheap and safe for use by several
// goroutines (those of other tasks' stores) at once, as Prometheus' are.
//
// Put, Get and Range observe the calls made while *Sampled is true, every
// call when Sampled is nil: the task sets it while it processes a record
// it times (see engine.Metrics), so that a store read and written for every
// record does not read the clock for each call, which costs more than the
// call where the clock is slow to read. Flush, which runs once per commit,
// observes every call. Range observes the time to open an iterator (Range
// or ReverseRange), not to walk it. CacheHits and CacheMisses count every
// Get the store's cache answers or passes down, added at each Flush (each
// commit) and at Close rather than one by one; a store without a cache
// counts neither.
type StoreMetrics struct {
	Put, Get, Range, Flush Observer
	CacheHits, CacheMisses Counter
	Sampled                *bool
}

// meteredStore is the outermost layer of a store whose host measures it,
// as Kafka Streams' MeteredKeyValueStore: it times the calls that come
// from the typed store above, before the cache.
type meteredStore struct {
	KeyValueBytesStore
	m *StoreMetrics
}

// metered wraps top in a meteredStore when m measures anything.
func metered(top KeyValueBytesStore, m *StoreMetrics) KeyValueBytesStore {
	if m == nil || m.Put == nil && m.Get == nil && m.Range == nil && m.Flush == nil {
		return top
	}
	return &meteredStore{KeyValueBytesStore: top, m: m}
}

// timed says whether a call observed by o is to be timed now.
func (s *meteredStore) timed(o Observer) bool {
	return o != nil && (s.m.Sampled == nil || *s.m.Sampled)
}

func (s *meteredStore) Get(key []byte) ([]byte, bool, error) {
	if !s.timed(s.m.Get) {
		return s.KeyValueBytesStore.Get(key)
	}
	start := time.Now()
	v, ok, err := s.KeyValueBytesStore.Get(key)
	s.m.Get.Observe(time.Since(start).Seconds())
	return v, ok, err
}

func (s *meteredStore) Put(key, value []byte) error {
	if !s.timed(s.m.Put) {
		return s.KeyValueBytesStore.Put(key, value)
	}
	start := time.Now()
	err := s.KeyValueBytesStore.Put(key, value)
	s.m.Put.Observe(time.Since(start).Seconds())
	return err
}

func (s *meteredStore) Range(from, to []byte) (BytesIterator, error) {
	if !s.timed(s.m.Range) {
		return s.KeyValueBytesStore.Range(from, to)
	}
	start := time.Now()
	it, err := s.KeyValueBytesStore.Range(from, to)
	s.m.Range.Observe(time.Since(start).Seconds())
	return it, err
}

func (s *meteredStore) ReverseRange(from, to []byte) (BytesIterator, error) {
	if !s.timed(s.m.Range) {
		return s.KeyValueBytesStore.ReverseRange(from, to)
	}
	start := time.Now()
	it, err := s.KeyValueBytesStore.ReverseRange(from, to)
	s.m.Range.Observe(time.Since(start).Seconds())
	return it, err
}

func (s *meteredStore) Flush() error {
	if s.m.Flush == nil {
		return s.KeyValueBytesStore.Flush()
	}
	start := time.Now()
	err := s.KeyValueBytesStore.Flush()
	s.m.Flush.Observe(time.Since(start).Seconds())
	return err
}
