package state

import (
	"fmt"
	"unsafe"

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
// goroutine of its task (other goroutines read through a
// ReadOnlyKeyValueStore). A processor reads and writes the store but
// cannot flush or close it: the task does that through its Store.
type KeyValueStore[K, V any] struct {
	kvCodec[K, V]
	top KeyValueBytesStore
	// cache is the store's cache, under top, if it has one.
	cache      *CachingStore
	persistent bool
	kbuf       []byte
	vbuf       []byte
	// shareKey says keys are of serde.String, passed down as the string's
	// own bytes (see stringKey).
	shareKey bool
	// plain is, for a timestamped store, the same store seen with plain
	// values (a *KeyValueStore[K, V'] where V is ValueAndTimestamp[V']).
	plain any
}

// kvCodec is what a typed store and its views and iterators share: the
// name, the topic serdes are given (the store's changelog topic) and the
// serdes.
type kvCodec[K, V any] struct {
	name  string
	topic string
	ks    serde.Serde[K]
	vs    serde.Serde[V]
}

// emptyValue stands in for a serde's nil result: a present, empty value.
var emptyValue = []byte{}

// Name returns the store's name.
func (s *KeyValueStore[K, V]) Name() string { return s.name }

// Persistent reports whether the store keeps its data in Pebble.
func (s *KeyValueStore[K, V]) Persistent() bool { return s.persistent }

func (s *KeyValueStore[K, V]) plainStore() any { return s.plain }

func (s *KeyValueStore[K, V]) key(op string, k K) ([]byte, error) {
	if s.shareKey {
		return stringBytes(&k), nil
	}
	return s.serializeKey(op, k)
}

// serializeKey is key for a key that is not shared: key itself is small
// enough to inline.
func (s *KeyValueStore[K, V]) serializeKey(op string, k K) ([]byte, error) {
	kb, err := s.ks.Serialize(s.kbuf[:0], s.topic, k)
	if err != nil {
		return nil, storeErr(s.name, op, fmt.Errorf("serialize key: %w", err))
	}
	// Kept only when the serde grew it: a slice stored per call costs a
	// write barrier while the garbage collector marks.
	if cap(kb) > cap(s.kbuf) {
		s.kbuf = kb
	}
	return kb, nil
}

func (c *kvCodec[K, V]) decodeValue(op string, b []byte) (V, error) {
	v, err := c.vs.Deserialize(c.topic, b)
	if err != nil {
		return v, storeErr(c.name, op, fmt.Errorf("deserialize value: %w", err))
	}
	return v, nil
}

// Get returns the value stored under k; found is false when there is none.
func (s *KeyValueStore[K, V]) Get(k K) (v V, found bool, err error) {
	// A shared key is taken here: the call to key is not inlined in a
	// generic method.
	var kb []byte
	if s.shareKey {
		kb = stringBytes(&k)
	} else if kb, err = s.serializeKey("get", k); err != nil {
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
	var kb []byte
	var err error
	if s.shareKey {
		kb = stringBytes(&k)
	} else if kb, err = s.serializeKey("put", k); err != nil {
		return err
	}
	vb, err := s.vs.Serialize(s.vbuf[:0], s.topic, v)
	if err != nil {
		return storeErr(s.name, "put", fmt.Errorf("serialize value: %w", err))
	}
	if cap(vb) > cap(s.vbuf) {
		s.vbuf = vb
	}
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
	return s.rangeOf(s.top, "range", from, to, false)
}

// ReverseRange is Range from the last key to the first.
func (s *KeyValueStore[K, V]) ReverseRange(from, to K) (*KeyValueIterator[K, V], error) {
	return s.rangeOf(s.top, "reverse range", from, to, true)
}

// All iterates over every key, in order.
func (s *KeyValueStore[K, V]) All() (*KeyValueIterator[K, V], error) {
	return s.iter(s.top, "all", nil, nil, false)
}

// ReverseAll iterates over every key, last first.
func (s *KeyValueStore[K, V]) ReverseAll() (*KeyValueIterator[K, V], error) {
	return s.iter(s.top, "reverse all", nil, nil, true)
}

// PrefixScan iterates, in order, over the keys whose serialized bytes start
// with prefix serialized by ps. ps need not be the key serde: a string
// prefix finds the keys of a serde that writes the string first.
func (s *KeyValueStore[K, V]) PrefixScan[P any](prefix P, ps serde.Serde[P]) (*KeyValueIterator[K, V], error) {
	return prefixScan(&s.kvCodec, s.top, prefix, ps)
}

// ApproximateNumEntries estimates the number of keys; see the bytes store
// for how close the estimate is.
func (s *KeyValueStore[K, V]) ApproximateNumEntries() (int64, error) {
	return s.top.ApproximateNumEntries()
}

// ranger is what typed iteration needs of a bytes store or view.
type ranger interface {
	Range(from, to []byte) (BytesIterator, error)
	ReverseRange(from, to []byte) (BytesIterator, error)
}

func (c *kvCodec[K, V]) rangeOf(src ranger, op string, from, to K, reverse bool) (*KeyValueIterator[K, V], error) {
	// The bounds outlive this call (iterators keep them), so they get their
	// own buffer rather than a reused one.
	buf, err := c.ks.Serialize(nil, c.topic, from)
	if err != nil {
		return nil, storeErr(c.name, op, fmt.Errorf("serialize from key: %w", err))
	}
	n := len(buf)
	buf, err = c.ks.Serialize(buf, c.topic, to)
	if err != nil {
		return nil, storeErr(c.name, op, fmt.Errorf("serialize to key: %w", err))
	}
	// The bytes store's upper bound is exclusive; to+0x00 is the first key
	// after to, so appending it makes to itself part of the range.
	buf = append(buf, 0)
	return c.iter(src, op, buf[:n:n], buf[n:], reverse)
}

func prefixScan[K, V, P any](c *kvCodec[K, V], src ranger, prefix P, ps serde.Serde[P]) (*KeyValueIterator[K, V], error) {
	pb, err := ps.Serialize(nil, c.topic, prefix)
	if err != nil {
		return nil, storeErr(c.name, "prefix scan", fmt.Errorf("serialize prefix: %w", err))
	}
	if len(pb) == 0 {
		return c.iter(src, "prefix scan", nil, nil, false)
	}
	return c.iter(src, "prefix scan", pb, prefixEnd(pb), false)
}

func (c *kvCodec[K, V]) iter(src ranger, op string, from, to []byte, reverse bool) (*KeyValueIterator[K, V], error) {
	var it BytesIterator
	var err error
	if reverse {
		it, err = src.ReverseRange(from, to)
	} else {
		it, err = src.Range(from, to)
	}
	if err != nil {
		return nil, storeErr(c.name, op, err)
	}
	return &KeyValueIterator[K, V]{it: it, c: c}, nil
}

// KeyValueIterator walks the keys of a KeyValueStore or a
// ReadOnlyKeyValueStore. Call Next before the first Key; when Next returns
// false, Err says whether iteration stopped on an error (including a key or
// value the serdes could not read). Close must be called.
type KeyValueIterator[K, V any] struct {
	it    BytesIterator
	c     *kvCodec[K, V]
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
			it.err = storeErr(it.c.name, "iterate", err)
		}
		return false
	}
	k, err := it.c.ks.Deserialize(it.c.topic, it.it.Key())
	if err != nil {
		it.err = storeErr(it.c.name, "iterate", fmt.Errorf("deserialize key: %w", err))
		return false
	}
	v, err := it.c.vs.Deserialize(it.c.topic, it.it.Value())
	if err != nil {
		it.err = storeErr(it.c.name, "iterate", fmt.Errorf("deserialize value: %w", err))
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

// plainer is implemented by typed stores and views: plainStore is the
// plain-value facade of a timestamped one, nil otherwise.
type plainer interface{ plainStore() any }

// GetKeyValueStore returns the store called name, reachable through g, as a
// KeyValueStore with keys K and values V. Processors call it in Init. A
// timestamped store (TimestampedKeyValueStore[K, V]) can be had either way:
// as itself, or with plain values V, whose reads drop the timestamp and
// whose writes are stamped with the time of the record being processed. A
// store of another kind, or with other types, yields an error wrapping
// ErrWrongStoreType.
func GetKeyValueStore[K, V any](g processor.StoreGetter, name string) (*KeyValueStore[K, V], error) {
	return getStore[*KeyValueStore[K, V]](g, name)
}

// GetTimestampedKeyValueStore returns the timestamped store called name,
// reachable through g: GetKeyValueStore with values ValueAndTimestamp[V].
func GetTimestampedKeyValueStore[K, V any](g processor.StoreGetter, name string) (*TimestampedKeyValueStore[K, V], error) {
	return GetKeyValueStore[K, ValueAndTimestamp[V]](g, name)
}

func getStore[T processor.StateStore](g processor.StoreGetter, name string) (T, error) {
	var zero T
	st, err := g.StateStore(name)
	if err != nil {
		return zero, err
	}
	if st == nil {
		return zero, &StoreError{Store: name, Err: ErrUnknownStore}
	}
	if s, ok := st.(T); ok {
		return s, nil
	}
	if p, ok := st.(plainer); ok {
		if s, ok := p.plainStore().(T); ok {
			return s, nil
		}
	}
	return zero, &StoreError{Store: name, Err: fmt.Errorf("%w: is a %T, not a %T", ErrWrongStoreType, st, zero)}
}

// stringKey reports whether ks is serde.String, whose encoding is the
// string's bytes: a store's layers never write to a key they are given
// (each copies what it keeps), so a string key goes down as the string's
// own bytes (see stringBytes), without a copy.
func stringKey[K any](ks serde.Serde[K]) bool { return any(ks) == any(serde.String) }

// stringBytes returns the bytes of the string *k, shared; empty is an
// empty slice, never nil. K is a string: call it only when stringKey holds.
func stringBytes[K any](k *K) []byte {
	s := *(*string)(unsafe.Pointer(k))
	if len(s) == 0 {
		return emptyValue
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
