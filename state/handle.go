package state

import (
	"errors"
	"fmt"

	"github.com/samsa-go/samsa/processor"
)

// kvHandle is the task's side of a key-value store: the Store a
// KeyValueBuilder builds. The typed store it hands processors shares its
// layers but has none of its methods.
type kvHandle[K, V any] struct {
	store *KeyValueStore[K, V]
	// bytes is the innermost store; top the outermost layer.
	bytes       KeyValueBytesStore
	top         KeyValueBytesStore
	cache       *CachingStore
	logging     *changeLoggingStore
	txn         *TxnStore
	timestamped bool
	restoreBuf  []byte
	plainView   func(kvCodec[K, V], BytesView) any
	view        *ReadOnlyKeyValueStore[K, V]
}

func (h *kvHandle[K, V]) Name() string                { return h.store.name }
func (h *kvHandle[K, V]) Persistent() bool            { return h.store.persistent }
func (h *kvHandle[K, V]) Typed() processor.StateStore { return h.store }
func (h *kvHandle[K, V]) Flush() error                { return h.top.Flush() }
func (h *kvHandle[K, V]) Dirty() bool {
	return h.cache != nil && h.cache.Dirty() || h.logging != nil && h.logging.unsent()
}
func (h *kvHandle[K, V]) Close() error              { return h.top.Close() }
func (h *kvHandle[K, V]) Bytes() KeyValueBytesStore { return h.bytes }
func (h *kvHandle[K, V]) Txn() *TxnStore            { return h.txn }

// RestoreBatch writes the records to the bytes store: a tombstone deletes,
// a value is put as it is, or for a timestamped store in the timestamped
// format with the record's timestamp.
func (h *kvHandle[K, V]) RestoreBatch(recs []ChangelogRecord) error {
	if h.cache != nil {
		if h.cache.Dirty() {
			return storeErr(h.Name(), "restore", errors.New("the cache holds unflushed writes"))
		}
		h.cache.dropClean()
	}
	if h.txn != nil && h.txn.Pending() > 0 {
		return storeErr(h.Name(), "restore", fmt.Errorf("the transaction buffer holds %d uncommitted writes", h.txn.Pending()))
	}
	if h.txn != nil {
		// The restore writes below the buffer: what it kept of inner is
		// stale, once inner holds what commits left held.
		if err := h.txn.ApplyDeferred(); err != nil {
			return err
		}
		h.txn.dropClean()
	}
	if rw, ok := h.bytes.(restoreWriter); ok {
		return storeErr(h.Name(), "restore", rw.restoreRecords(recs, h.timestamped))
	}
	bw, batched := h.bytes.(BatchWriter)
	if batched {
		bw.BeginBatch()
	}
	err := h.restoreTo(h.bytes.Put, h.bytes.Delete, recs)
	if batched {
		if cerr := bw.CommitBatch(); err == nil {
			err = cerr
		}
	}
	return storeErr(h.Name(), "restore", err)
}

func (h *kvHandle[K, V]) restoreTo(put func(k, v []byte) error, del func(k []byte) error, recs []ChangelogRecord) error {
	for i := range recs {
		r := &recs[i]
		var err error
		switch {
		case r.Value == nil:
			err = del(r.Key)
		case h.timestamped:
			h.restoreBuf = append(appendTimestamped(h.restoreBuf[:0], r.Timestamp), r.Value...)
			err = put(r.Key, h.restoreBuf)
		default:
			err = put(r.Key, r.Value)
		}
		if err != nil {
			return fmt.Errorf("changelog offset %d: %w", r.Offset, err)
		}
	}
	return nil
}

// viewer is implemented by the innermost bytes stores, which alone can be
// read from other goroutines.
type viewer interface{ view() BytesView }

// View returns the store's *ReadOnlyKeyValueStore, made on the first call.
func (h *kvHandle[K, V]) View() (processor.StateStore, error) {
	if h.view != nil {
		return h.view, nil
	}
	vw, ok := h.bytes.(viewer)
	if !ok {
		return nil, storeErr(h.Name(), "view", fmt.Errorf("a %T cannot be read from other goroutines", h.bytes))
	}
	bv := vw.view()
	if h.txn != nil {
		bv = h.txn.viewOver(bv)
	}
	h.view = &ReadOnlyKeyValueStore[K, V]{kvCodec: h.store.kvCodec, v: bv}
	if h.plainView != nil {
		h.view.plain = h.plainView(h.store.kvCodec, bv)
	}
	return h.view, nil
}

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

// SetFlushListener has fn called with each update the cache of s writes
// down, on flush or eviction, decoded with the store's serdes; it reports
// false, and sets nothing, when the store has no cache. It takes the task's
// Store, so it is the task's way: it replaces any listener, and a nil fn
// removes it. Processors set theirs with SetCacheFlushListener. A Store that
// is not a key-value store with keys K and values V yields an error wrapping
// ErrWrongStoreType.
func SetFlushListener[K, V any](s Store, fn func(Flushed[K, V]) error) (bool, error) {
	h, ok := s.(*kvHandle[K, V])
	if !ok {
		return false, &StoreError{Store: s.Name(), Op: "set flush listener", Err: fmt.Errorf("%w: is a %T, not a %T", ErrWrongStoreType, s.Typed(), (*KeyValueStore[K, V])(nil))}
	}
	if h.cache == nil {
		return false, nil
	}
	if fn == nil {
		h.cache.SetFlushListener(nil)
		return true, nil
	}
	h.cache.SetFlushListener(decodeFlushed(&h.store.kvCodec, fn))
	return true, nil
}

// SetCacheFlushListener has fn called with each update the cache of the
// store called name, reachable through g, writes down, on flush or
// eviction, decoded with the store's serdes; it reports false, and sets
// nothing, when the store has no cache. A processor that writes a cached
// store calls it in Init to forward the store's updates once per key and
// commit, as the DSL's tables and aggregations do. sendOldValues says
// whether fn needs the old values: without them the cache does not read
// the store before each write down, and Flushed.HasOld is set only for
// deletes (see CachingStore.SetSendOldValues).
//
// A store's updates go to one listener: once one is set, setting another is
// an error, so a processor connected to a store that another forwards from
// cannot take its updates over. K and V are as for GetKeyValueStore: a
// timestamped store can be listened to with values ValueAndTimestamp[V] or
// with plain values V.
func SetCacheFlushListener[K, V any](g processor.StoreGetter, name string, fn func(Flushed[K, V]) error, sendOldValues bool) (bool, error) {
	s, err := GetKeyValueStore[K, V](g, name)
	if err != nil {
		return false, err
	}
	cache := s.cache
	if cache == nil {
		return false, nil
	}
	if cache.listener != nil {
		return false, storeErr(name, "set flush listener", errors.New("its cache's updates already go to a listener"))
	}
	cache.SetFlushListener(decodeFlushed(&s.kvCodec, fn))
	cache.SetSendOldValues(sendOldValues)
	return true, nil
}

// decodeFlushed adapts fn to the cache's listener of bytes.
func decodeFlushed[K, V any](c *kvCodec[K, V], fn func(Flushed[K, V]) error) func(key, newValue, oldValue []byte, ts int64) error {
	return func(key, newValue, oldValue []byte, ts int64) error {
		f := Flushed[K, V]{Timestamp: ts}
		var err error
		if f.Key, err = c.ks.Deserialize(c.topic, key); err != nil {
			return fmt.Errorf("deserialize key: %w", err)
		}
		if newValue != nil {
			if f.New, err = c.vs.Deserialize(c.topic, newValue); err != nil {
				return fmt.Errorf("deserialize new value: %w", err)
			}
			f.HasNew = true
		}
		if oldValue != nil {
			if f.Old, err = c.vs.Deserialize(c.topic, oldValue); err != nil {
				return fmt.Errorf("deserialize old value: %w", err)
			}
			f.HasOld = true
		}
		return fn(f)
	}
}
