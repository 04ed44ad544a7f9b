package state

import (
	"fmt"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// KeyValueStore is the typed key-value store processors use: the
// counterpart of Kafka Streams' KeyValueStore. It serializes keys and values
// with the store's serdes and passes the bytes to the layers below it
// (cache, changelog, Pebble or memory). Keys are ordered by their serialized
// bytes, which is what Range and PrefixScan follow: pick a key serde whose
// encoding orders the way queries need (big-endian integers do; the
// Java-compatible signed ones put negative numbers last).
//
// A store never holds nulls: deleting is Delete. Serialization buffers are
// reused across calls, so Get and Put allocate nothing for fixed-size serdes
// once warm; in exchange a store, like its iterators, belongs to the one
// goroutine of its task. Stores are opened (Build) and closed by the task,
// not by processors.
type KeyValueStore[K, V any] struct {
	name  string
	topic string // passed to serdes: the store's changelog topic
	top   KeyValueBytesStore
	bytes KeyValueBytesStore
	cache *CachingStore
	txn   *TxnStore
	ks    serde.Serde[K]
	vs    serde.Serde[V]
	kbuf  []byte
	vbuf  []byte
}

// emptyValue stands in for a serde's nil result: a present, empty value.
var emptyValue = []byte{}

// Name returns the store's name.
func (s *KeyValueStore[K, V]) Name() string { return s.name }

// Persistent reports whether the store keeps its data in Pebble.
func (s *KeyValueStore[K, V]) Persistent() bool { return s.bytes.Persistent() }

// Bytes returns the innermost bytes store, below caching and change logging,
// which the runtime restores changelog records into.
func (s *KeyValueStore[K, V]) Bytes() KeyValueBytesStore { return s.bytes }

// Cache returns the store's caching layer, or nil when caching is off. The
// DSL sets its flush listener to forward a table's updates on flush.
func (s *KeyValueStore[K, V]) Cache() *CachingStore { return s.cache }

// Dirty reports whether the store's cache holds writes not yet flushed.
func (s *KeyValueStore[K, V]) Dirty() bool { return s.cache != nil && s.cache.Dirty() }

// Flushed is one update a store's cache wrote down: the key, the value it
// kept (HasNew false for a delete), the value the store held before the
// writes it folded (HasOld false if none), and the record time of the last
// of those writes.
type Flushed[K, V any] struct {
	Key            K
	New, Old       V
	HasNew, HasOld bool
	Timestamp      int64
}

// SetFlushListener has fn called with each update the store's cache writes
// down, on flush or eviction, decoded with the store's serdes; it reports
// false, and sets nothing, when the store has no cache. The DSL forwards a
// cached table's updates this way, once per key and commit.
func (s *KeyValueStore[K, V]) SetFlushListener(fn func(Flushed[K, V]) error) bool {
	if s.cache == nil {
		return false
	}
	s.cache.SetFlushListener(func(key, newValue, oldValue []byte, ts int64) error {
		f := Flushed[K, V]{Timestamp: ts}
		var err error
		if f.Key, err = s.ks.Deserialize(s.topic, key); err != nil {
			return fmt.Errorf("deserialize key: %w", err)
		}
		if newValue != nil {
			if f.New, err = s.vs.Deserialize(s.topic, newValue); err != nil {
				return fmt.Errorf("deserialize new value: %w", err)
			}
			f.HasNew = true
		}
		if oldValue != nil {
			if f.Old, err = s.vs.Deserialize(s.topic, oldValue); err != nil {
				return fmt.Errorf("deserialize old value: %w", err)
			}
			f.HasOld = true
		}
		return fn(f)
	})
	return true
}

// Txn returns the store's transaction buffer, or nil when the store is not
// run under exactly-once.
func (s *KeyValueStore[K, V]) Txn() *TxnStore { return s.txn }

func (s *KeyValueStore[K, V]) key(op string, k K) ([]byte, error) {
	kb, err := s.ks.Serialize(s.kbuf[:0], s.topic, k)
	if err != nil {
		return nil, storeErr(s.name, op, fmt.Errorf("serialize key: %w", err))
	}
	s.kbuf = kb
	return kb, nil
}

func (s *KeyValueStore[K, V]) decodeValue(op string, b []byte) (V, error) {
	v, err := s.vs.Deserialize(s.topic, b)
	if err != nil {
		return v, storeErr(s.name, op, fmt.Errorf("deserialize value: %w", err))
	}
	return v, nil
}

// Get returns the value stored under k; found is false when there is none.
func (s *KeyValueStore[K, V]) Get(k K) (v V, found bool, err error) {
	kb, err := s.key("get", k)
	if err != nil {
		return v, false, err
	}
	b, found, err := s.top.Get(kb)
	if err != nil || !found {
		return v, false, err
	}
	v, err = s.decodeValue("get", b)
	return v, err == nil, err
}

// Put stores v under k, replacing any value there.
func (s *KeyValueStore[K, V]) Put(k K, v V) error {
	kb, err := s.key("put", k)
	if err != nil {
		return err
	}
	vb, err := s.vs.Serialize(s.vbuf[:0], s.topic, v)
	if err != nil {
		return storeErr(s.name, "put", fmt.Errorf("serialize value: %w", err))
	}
	s.vbuf = vb
	if vb == nil {
		vb = emptyValue
	}
	return s.top.Put(kb, vb)
}

// PutIfAbsent stores v under k unless k has a value; then it returns that
// value with found true and leaves it in place.
func (s *KeyValueStore[K, V]) PutIfAbsent(k K, v V) (existing V, found bool, err error) {
	existing, found, err = s.Get(k)
	if err != nil || found {
		return existing, found, err
	}
	return existing, false, s.Put(k, v)
}

// Delete removes k and returns the value it had. Deleting an absent key
// writes nothing, so it logs no tombstone.
func (s *KeyValueStore[K, V]) Delete(k K) (old V, found bool, err error) {
	kb, err := s.key("delete", k)
	if err != nil {
		return old, false, err
	}
	b, found, err := s.top.Get(kb)
	if err != nil || !found {
		return old, false, err
	}
	if old, err = s.decodeValue("delete", b); err != nil {
		return old, false, err
	}
	if err := s.top.Delete(kb); err != nil {
		return old, false, err
	}
	return old, true, nil
}

// Range iterates over the keys from from to to, both included, in the order
// of their serialized bytes. When from sorts after to the range is empty.
func (s *KeyValueStore[K, V]) Range(from, to K) (*KeyValueIterator[K, V], error) {
	return s.rangeOf("range", from, to, false)
}

// ReverseRange is Range from the last key to the first.
func (s *KeyValueStore[K, V]) ReverseRange(from, to K) (*KeyValueIterator[K, V], error) {
	return s.rangeOf("reverse range", from, to, true)
}

func (s *KeyValueStore[K, V]) rangeOf(op string, from, to K, reverse bool) (*KeyValueIterator[K, V], error) {
	// The bounds outlive this call (iterators keep them), so they get their
	// own buffer rather than kbuf.
	buf, err := s.ks.Serialize(nil, s.topic, from)
	if err != nil {
		return nil, storeErr(s.name, op, fmt.Errorf("serialize from key: %w", err))
	}
	n := len(buf)
	buf, err = s.ks.Serialize(buf, s.topic, to)
	if err != nil {
		return nil, storeErr(s.name, op, fmt.Errorf("serialize to key: %w", err))
	}
	// The bytes store's upper bound is exclusive; to+0x00 is the first key
	// after to, so appending it makes to itself part of the range.
	buf = append(buf, 0)
	return s.iter(op, buf[:n:n], buf[n:], reverse)
}

// All iterates over every key, in order.
func (s *KeyValueStore[K, V]) All() (*KeyValueIterator[K, V], error) {
	return s.iter("all", nil, nil, false)
}

// ReverseAll iterates over every key, last first.
func (s *KeyValueStore[K, V]) ReverseAll() (*KeyValueIterator[K, V], error) {
	return s.iter("reverse all", nil, nil, true)
}

// PrefixScan iterates, in order, over the keys whose serialized bytes start
// with prefix serialized by ps. ps need not be the key serde: a string
// prefix finds the keys of a serde that writes the string first.
func (s *KeyValueStore[K, V]) PrefixScan[P any](prefix P, ps serde.Serde[P]) (*KeyValueIterator[K, V], error) {
	pb, err := ps.Serialize(nil, s.topic, prefix)
	if err != nil {
		return nil, storeErr(s.name, "prefix scan", fmt.Errorf("serialize prefix: %w", err))
	}
	if len(pb) == 0 {
		return s.iter("prefix scan", nil, nil, false)
	}
	return s.iter("prefix scan", pb, prefixEnd(pb), false)
}

func (s *KeyValueStore[K, V]) iter(op string, from, to []byte, reverse bool) (*KeyValueIterator[K, V], error) {
	var it BytesIterator
	var err error
	if reverse {
		it, err = s.top.ReverseRange(from, to)
	} else {
		it, err = s.top.Range(from, to)
	}
	if err != nil {
		return nil, storeErr(s.name, op, err)
	}
	return &KeyValueIterator[K, V]{it: it, s: s}, nil
}

// ApproximateNumEntries estimates the number of keys; see the bytes store
// for how close the estimate is.
func (s *KeyValueStore[K, V]) ApproximateNumEntries() (int64, error) {
	return s.top.ApproximateNumEntries()
}

// Flush pushes cached writes down through the changelog to the bytes store.
// The task calls it on commit.
func (s *KeyValueStore[K, V]) Flush() error { return s.top.Flush() }

// Close closes every layer of the store; unflushed cached writes are
// dropped. The task calls it.
func (s *KeyValueStore[K, V]) Close() error { return s.top.Close() }

// KeyValueIterator walks the keys of a KeyValueStore. Call Next before the
// first Key; when Next returns false, Err says whether iteration stopped on
// an error (including a key or value the serdes could not read). Close must
// be called.
type KeyValueIterator[K, V any] struct {
	it    BytesIterator
	s     *KeyValueStore[K, V]
	key   K
	value V
	err   error
}

// Next moves to the next key and decodes it and its value.
func (it *KeyValueIterator[K, V]) Next() bool {
	if it.err != nil {
		return false
	}
	if !it.it.Next() {
		if err := it.it.Err(); err != nil {
			it.err = storeErr(it.s.name, "iterate", err)
		}
		return false
	}
	k, err := it.s.ks.Deserialize(it.s.topic, it.it.Key())
	if err != nil {
		it.err = storeErr(it.s.name, "iterate", fmt.Errorf("deserialize key: %w", err))
		return false
	}
	v, err := it.s.vs.Deserialize(it.s.topic, it.it.Value())
	if err != nil {
		it.err = storeErr(it.s.name, "iterate", fmt.Errorf("deserialize value: %w", err))
		return false
	}
	it.key, it.value = k, v
	return true
}

// Key returns the current key.
func (it *KeyValueIterator[K, V]) Key() K { return it.key }

// Value returns the current value.
func (it *KeyValueIterator[K, V]) Value() V { return it.value }

// Err returns the error that stopped iteration, or nil.
func (it *KeyValueIterator[K, V]) Err() error { return it.err }

// Close releases the iterator.
func (it *KeyValueIterator[K, V]) Close() error { return it.it.Close() }

// GetKeyValueStore returns the store called name, reachable through g, as a
// KeyValueStore with keys K and values V. Processors call it in Init. A
// store of another kind, or with other types, yields an error wrapping
// ErrWrongStoreType.
func GetKeyValueStore[K, V any](g processor.StoreGetter, name string) (*KeyValueStore[K, V], error) {
	st, err := g.StateStore(name)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, &StoreError{Store: name, Err: ErrUnknownStore}
	}
	kv, ok := st.(*KeyValueStore[K, V])
	if !ok {
		return nil, &StoreError{Store: name, Err: fmt.Errorf("%w: is a %T, not a %T", ErrWrongStoreType, st, kv)}
	}
	return kv, nil
}
