package dsl

import (
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// rows is the end of a table node that keeps the node's rows in a store
// and forwards their changes: what source tables, aggregations and
// materialized operations share. It reads the row a write replaces only
// when it must: to forward an old value, or to forward a delete only when
// there was a row to delete. With a cache in front of the store, writes
// wait in the cache and the cache forwards them when it writes them down.
type rows[K, V any] struct {
	ctx     processor.Context[K, change[V]]
	store   string
	sendOld bool
	kv      *state.TimestampedKeyValueStore[K, V]
	cached  bool
}

func (r *rows[K, V]) init(ctx processor.Context[K, change[V]]) error {
	r.ctx = ctx
	var err error
	if r.kv, err = state.GetTimestampedKeyValueStore[K, V](ctx, r.store); err != nil {
		return err
	}
	r.cached, err = state.SetCacheFlushListener(ctx, r.store, forwardFlushed(ctx, r.sendOld), r.sendOld)
	return err
}

// put stores v as key's row and forwards the change.
func (r *rows[K, V]) put(key K, v V, ts int64, hs *processor.Headers) error {
	var c change[V]
	if r.sendOld && !r.cached {
		old, found, err := r.kv.Get(key)
		if err != nil {
			return err
		}
		c.Old, c.HasOld = old.Value, found
	}
	if err := r.kv.Put(key, state.ValueAndTimestamp[V]{Value: v, Timestamp: ts}); err != nil || r.cached {
		return err
	}
	c.New, c.HasNew = v, true
	return r.ctx.Forward(processor.Record[K, change[V]]{Key: key, Value: c, Timestamp: ts, Headers: hs})
}

// delete removes key's row and forwards the delete, if there was a row.
func (r *rows[K, V]) delete(key K, ts int64, hs *processor.Headers) error {
	old, found, err := r.kv.Delete(key)
	if err != nil || !found || r.cached {
		return err
	}
	var c change[V]
	if r.sendOld {
		c.Old, c.HasOld = old.Value, true
	}
	return r.ctx.Forward(processor.Record[K, change[V]]{Key: key, Value: c, Timestamp: ts, Headers: hs})
}

// write stores c.New as key's row, replacing c.Old, which the caller read
// (an aggregation reads it to compute the new row), and forwards c.
func (r *rows[K, V]) write(key K, c change[V], ts int64, hs *processor.Headers) error {
	if err := r.kv.Put(key, state.ValueAndTimestamp[V]{Value: c.New, Timestamp: ts}); err != nil || r.cached {
		return err
	}
	if !r.sendOld {
		c.Old, c.HasOld = *new(V), false
	}
	return r.ctx.Forward(processor.Record[K, change[V]]{Key: key, Value: c, Timestamp: ts, Headers: hs})
}

// forwardFlushed returns the flush listener of a cached table: it forwards
// each update the cache writes down as a change, with the new value's
// timestamp (for a delete, the time of the write the cache kept), and
// with the old value when sendOld asks for it.
func forwardFlushed[K, V any](fwd processor.Context[K, change[V]], sendOld bool) func(state.Flushed[K, state.ValueAndTimestamp[V]]) error {
	return func(f state.Flushed[K, state.ValueAndTimestamp[V]]) error {
		ts := f.Timestamp
		if f.HasNew {
			ts = f.New.Timestamp
		}
		c := change[V]{New: f.New.Value, HasNew: f.HasNew}
		if sendOld {
			c.Old, c.HasOld = f.Old.Value, f.HasOld
		}
		return fwd.Forward(processor.Record[K, change[V]]{Key: f.Key, Value: c, Timestamp: ts})
	}
}
