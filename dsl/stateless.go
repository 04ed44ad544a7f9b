package dsl

import "github.com/samsa-go/samsa/processor"

// The processors behind the stateless operations. In a task, a node with
// at most one child is fused with it (see processor.Stepper): processors
// that keep their types run as steps of one loop, the others as a function
// that calls the rest of the chain (processor.Fuser). Process runs the nodes
// with several children and forwards through the context. Each processor's
// Process, Step and Fuse must do the same; none allocates. Steps and fused
// functions capture what they use rather than call helper methods, which the
// compiler does not inline into closures of generic methods.

type base[K, V any] struct {
	ctx processor.Context[K, V]
}

func (p *base[K, V]) Init(ctx processor.Context[K, V]) error {
	p.ctx = ctx
	return nil
}

func (p *base[K, V]) Close() error { return nil }

type passThrough[K, V any] struct{ base[K, V] }

func (p *passThrough[K, V]) Process(rec processor.Record[K, V]) error { return p.ctx.Forward(rec) }

// Step is nil: a fused branch or merge costs nothing.
func (p *passThrough[K, V]) Step() (func(*processor.Record[K, V]) bool, bool) {
	return nil, true
}

type filterProc[K, V any] struct {
	base[K, V]
	pred func(K, V) bool
	not  bool
}

func (p *filterProc[K, V]) Process(rec processor.Record[K, V]) error {
	if rec.NullValue || p.pred(rec.Key, rec.Value) != p.not {
		return p.ctx.Forward(rec)
	}
	return nil
}

func (p *filterProc[K, V]) Step() (func(*processor.Record[K, V]) bool, bool) {
	pred, not := p.pred, p.not
	return func(rec *processor.Record[K, V]) bool {
		return rec.NullValue || pred(rec.Key, rec.Value) != not
	}, true
}

type mapValuesProc[K, V, VR any] struct {
	base[K, VR]
	f func(V) VR
}

func (p *mapValuesProc[K, V, VR]) Process(rec processor.Record[K, V]) error {
	if rec.NullValue {
		return p.ctx.Forward(processor.WithNullValue[VR](rec))
	}
	return p.ctx.Forward(processor.Record[K, VR]{Key: rec.Key, Value: p.f(rec.Value), Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: rec.NullKey})
}

// Step runs the mappers that keep the value type.
func (p *mapValuesProc[K, V, VR]) Step() (func(*processor.Record[K, V]) bool, bool) {
	f, ok := any(p.f).(func(V) V)
	if !ok {
		return nil, false
	}
	return func(rec *processor.Record[K, V]) bool {
		if rec.NullValue {
			rec.Value = *new(V)
		} else {
			rec.Value = f(rec.Value)
		}
		return true
	}, true
}

func (p *mapValuesProc[K, V, VR]) Fuse(next func(processor.Record[K, VR]) error) func(processor.Record[K, V]) error {
	f := p.f
	return func(rec processor.Record[K, V]) error {
		if rec.NullValue {
			return next(processor.Record[K, VR]{Key: rec.Key, Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: rec.NullKey, NullValue: true})
		}
		return next(processor.Record[K, VR]{Key: rec.Key, Value: f(rec.Value), Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: rec.NullKey})
	}
}

type flatMapValuesProc[K, V, VR any] struct {
	base[K, VR]
	f func(V) []VR
}

func (p *flatMapValuesProc[K, V, VR]) Process(rec processor.Record[K, V]) error {
	return p.each(rec, p.ctx.Forward)
}

func (p *flatMapValuesProc[K, V, VR]) Fuse(next func(processor.Record[K, VR]) error) func(processor.Record[K, V]) error {
	return func(rec processor.Record[K, V]) error { return p.each(rec, next) }
}

func (p *flatMapValuesProc[K, V, VR]) each(rec processor.Record[K, V], next func(processor.Record[K, VR]) error) error {
	if rec.NullValue {
		return next(processor.WithNullValue[VR](rec))
	}
	out := processor.Record[K, VR]{Key: rec.Key, Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: rec.NullKey}
	for _, v := range p.f(rec.Value) {
		out.Value = v
		if err := next(out); err != nil {
			return err
		}
	}
	return nil
}

// keyed is the base of processors that compute a new key from the value:
// they drop records with a null value.
type keyed[KR, VR any] struct{ base[KR, VR] }

type mapProc[K, V, KR, VR any] struct {
	keyed[KR, VR]
	f func(K, V) (KR, VR)
}

func (p *mapProc[K, V, KR, VR]) Process(rec processor.Record[K, V]) error {
	if rec.NullValue {
		p.ctx.DropRecord(processor.DropNullValue)
		return nil
	}
	k, v := p.f(rec.Key, rec.Value)
	return p.ctx.Forward(processor.Record[KR, VR]{Key: k, Value: v, Timestamp: rec.Timestamp, Headers: rec.Headers})
}

// Step runs the mappers that keep the key and value types.
func (p *mapProc[K, V, KR, VR]) Step() (func(*processor.Record[K, V]) bool, bool) {
	f, ok := any(p.f).(func(K, V) (K, V))
	if !ok {
		return nil, false
	}
	return func(rec *processor.Record[K, V]) bool {
		if rec.NullValue {
			p.ctx.DropRecord(processor.DropNullValue)
			return false
		}
		rec.Key, rec.Value = f(rec.Key, rec.Value)
		rec.NullKey = false
		return true
	}, true
}

func (p *mapProc[K, V, KR, VR]) Fuse(next func(processor.Record[KR, VR]) error) func(processor.Record[K, V]) error {
	f := p.f
	return func(rec processor.Record[K, V]) error {
		if rec.NullValue {
			p.ctx.DropRecord(processor.DropNullValue)
			return nil
		}
		k, v := f(rec.Key, rec.Value)
		return next(processor.Record[KR, VR]{Key: k, Value: v, Timestamp: rec.Timestamp, Headers: rec.Headers})
	}
}

type flatMapProc[K, V, KR, VR any] struct {
	keyed[KR, VR]
	f func(K, V) []KeyValue[KR, VR]
}

func (p *flatMapProc[K, V, KR, VR]) Process(rec processor.Record[K, V]) error {
	return p.each(rec, p.ctx.Forward)
}

func (p *flatMapProc[K, V, KR, VR]) Fuse(next func(processor.Record[KR, VR]) error) func(processor.Record[K, V]) error {
	return func(rec processor.Record[K, V]) error { return p.each(rec, next) }
}

func (p *flatMapProc[K, V, KR, VR]) each(rec processor.Record[K, V], next func(processor.Record[KR, VR]) error) error {
	if rec.NullValue {
		p.ctx.DropRecord(processor.DropNullValue)
		return nil
	}
	for _, kv := range p.f(rec.Key, rec.Value) {
		if err := next(processor.Record[KR, VR]{Key: kv.Key, Value: kv.Value, Timestamp: rec.Timestamp, Headers: rec.Headers}); err != nil {
			return err
		}
	}
	return nil
}

type selectKeyProc[K, V, KR any] struct {
	keyed[KR, V]
	f func(K, V) KR
}

func (p *selectKeyProc[K, V, KR]) Process(rec processor.Record[K, V]) error {
	if rec.NullValue {
		p.ctx.DropRecord(processor.DropNullValue)
		return nil
	}
	return p.ctx.Forward(processor.Record[KR, V]{Key: p.f(rec.Key, rec.Value), Value: rec.Value, Timestamp: rec.Timestamp, Headers: rec.Headers})
}

// Step runs the key selectors that keep the key type.
func (p *selectKeyProc[K, V, KR]) Step() (func(*processor.Record[K, V]) bool, bool) {
	f, ok := any(p.f).(func(K, V) K)
	if !ok {
		return nil, false
	}
	return func(rec *processor.Record[K, V]) bool {
		if rec.NullValue {
			p.ctx.DropRecord(processor.DropNullValue)
			return false
		}
		rec.Key, rec.NullKey = f(rec.Key, rec.Value), false
		return true
	}, true
}

func (p *selectKeyProc[K, V, KR]) Fuse(next func(processor.Record[KR, V]) error) func(processor.Record[K, V]) error {
	f := p.f
	return func(rec processor.Record[K, V]) error {
		if rec.NullValue {
			p.ctx.DropRecord(processor.DropNullValue)
			return nil
		}
		return next(processor.Record[KR, V]{Key: f(rec.Key, rec.Value), Value: rec.Value, Timestamp: rec.Timestamp, Headers: rec.Headers})
	}
}

type peekProc[K, V any] struct {
	base[K, V]
	f        func(K, V)
	terminal bool
}

func (p *peekProc[K, V]) Process(rec processor.Record[K, V]) error {
	if !rec.NullValue {
		p.f(rec.Key, rec.Value)
	}
	if p.terminal {
		return nil
	}
	return p.ctx.Forward(rec)
}

func (p *peekProc[K, V]) Step() (func(*processor.Record[K, V]) bool, bool) {
	f, terminal := p.f, p.terminal
	return func(rec *processor.Record[K, V]) bool {
		if !rec.NullValue {
			f(rec.Key, rec.Value)
		}
		return !terminal
	}, true
}

// nullKeyFilter drops records with a null key before a repartition topic,
// where they could not be partitioned, as Kafka Streams does.
type nullKeyFilter[K, V any] struct{ keyed[K, V] }

func (p *nullKeyFilter[K, V]) Process(rec processor.Record[K, V]) error {
	if rec.NullKey {
		p.ctx.DropRecord(processor.DropNullKey)
		return nil
	}
	return p.ctx.Forward(rec)
}

func (p *nullKeyFilter[K, V]) Step() (func(*processor.Record[K, V]) bool, bool) {
	return func(rec *processor.Record[K, V]) bool {
		if rec.NullKey {
			p.ctx.DropRecord(processor.DropNullKey)
			return false
		}
		return true
	}, true
}
