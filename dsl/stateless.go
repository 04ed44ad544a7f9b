package dsl

import (
	"fmt"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
)

// The processors behind the stateless operations. Each implements
// engine.Fuser: when the task is built, a node with at most one child runs as
// a function that calls its child's function, so a chain of stateless
// operations costs a closure call per operation (see internal/engine's
// fuse.go). Process, which forwards through the context, runs the nodes
// with several children. Both share the per-record logic and allocate
// nothing of their own.

// dropper finds the task's dropped-record counter behind a context.
func dropper(ctx any) engine.Dropper {
	if d, ok := ctx.(engine.Dropper); ok {
		return d
	}
	return noDrops{}
}

type noDrops struct{}

func (noDrops) DropRecord(string) {}

type base[K, V any] struct {
	ctx processor.Context[K, V]
	// fwd is ctx as the engine's concrete type: processors forward through
	// it with a direct call instead of an interface call.
	fwd *engine.ProcContext[K, V]
}

func (p *base[K, V]) Init(ctx processor.Context[K, V]) error {
	return p.setContext(ctx)
}

func (p *base[K, V]) setContext(ctx processor.Context[K, V]) error {
	p.ctx = ctx
	fwd, ok := ctx.(*engine.ProcContext[K, V])
	if !ok {
		return fmt.Errorf("dsl: processor given a %T context; DSL processors run in Samsa's engine", ctx)
	}
	p.fwd = fwd
	return nil
}

func (p *base[K, V]) Close() error { return nil }

type passThrough[K, V any] struct{ base[K, V] }

func (p *passThrough[K, V]) Process(rec processor.Record[K, V]) error { return p.fwd.Forward(rec) }

// Fuse returns next itself: a fused branch or merge costs nothing.
func (p *passThrough[K, V]) Fuse(next func(processor.Record[K, V]) error) func(processor.Record[K, V]) error {
	return next
}

type filterProc[K, V any] struct {
	base[K, V]
	pred func(K, V) bool
	not  bool
}

func (p *filterProc[K, V]) keep(rec processor.Record[K, V]) bool {
	return rec.NullValue || p.pred(rec.Key, rec.Value) != p.not
}

func (p *filterProc[K, V]) Process(rec processor.Record[K, V]) error {
	if p.keep(rec) {
		return p.fwd.Forward(rec)
	}
	return nil
}

func (p *filterProc[K, V]) Fuse(next func(processor.Record[K, V]) error) func(processor.Record[K, V]) error {
	return func(rec processor.Record[K, V]) error {
		if p.keep(rec) {
			return next(rec)
		}
		return nil
	}
}

type mapValuesProc[K, V, VR any] struct {
	base[K, VR]
	f func(V) VR
}

func (p *mapValuesProc[K, V, VR]) mapped(rec processor.Record[K, V]) processor.Record[K, VR] {
	if rec.NullValue {
		return processor.WithNullValue[VR](rec)
	}
	return processor.Record[K, VR]{Key: rec.Key, Value: p.f(rec.Value), Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: rec.NullKey}
}

func (p *mapValuesProc[K, V, VR]) Process(rec processor.Record[K, V]) error {
	return p.fwd.Forward(p.mapped(rec))
}

func (p *mapValuesProc[K, V, VR]) Fuse(next func(processor.Record[K, VR]) error) func(processor.Record[K, V]) error {
	return func(rec processor.Record[K, V]) error { return next(p.mapped(rec)) }
}

type flatMapValuesProc[K, V, VR any] struct {
	base[K, VR]
	f func(V) []VR
}

func (p *flatMapValuesProc[K, V, VR]) Process(rec processor.Record[K, V]) error {
	return p.each(rec, p.fwd.Forward)
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
type keyed[KR, VR any] struct {
	base[KR, VR]
	drops engine.Dropper
}

func (p *keyed[KR, VR]) Init(ctx processor.Context[KR, VR]) error {
	p.drops = dropper(ctx)
	return p.setContext(ctx)
}

// dropNullValue counts and reports a record with a null value, which keyed
// processors drop.
func (p *keyed[KR, VR]) dropNullValue(null bool) bool {
	if null {
		p.drops.DropRecord(engine.DropNullValue)
	}
	return null
}

type mapProc[K, V, KR, VR any] struct {
	keyed[KR, VR]
	f func(K, V) (KR, VR)
}

func (p *mapProc[K, V, KR, VR]) mapped(rec processor.Record[K, V]) processor.Record[KR, VR] {
	k, v := p.f(rec.Key, rec.Value)
	return processor.Record[KR, VR]{Key: k, Value: v, Timestamp: rec.Timestamp, Headers: rec.Headers}
}

func (p *mapProc[K, V, KR, VR]) Process(rec processor.Record[K, V]) error {
	if p.dropNullValue(rec.NullValue) {
		return nil
	}
	return p.fwd.Forward(p.mapped(rec))
}

func (p *mapProc[K, V, KR, VR]) Fuse(next func(processor.Record[KR, VR]) error) func(processor.Record[K, V]) error {
	return func(rec processor.Record[K, V]) error {
		if p.dropNullValue(rec.NullValue) {
			return nil
		}
		return next(p.mapped(rec))
	}
}

type flatMapProc[K, V, KR, VR any] struct {
	keyed[KR, VR]
	f func(K, V) []KeyValue[KR, VR]
}

func (p *flatMapProc[K, V, KR, VR]) Process(rec processor.Record[K, V]) error {
	return p.each(rec, p.fwd.Forward)
}

func (p *flatMapProc[K, V, KR, VR]) Fuse(next func(processor.Record[KR, VR]) error) func(processor.Record[K, V]) error {
	return func(rec processor.Record[K, V]) error { return p.each(rec, next) }
}

func (p *flatMapProc[K, V, KR, VR]) each(rec processor.Record[K, V], next func(processor.Record[KR, VR]) error) error {
	if p.dropNullValue(rec.NullValue) {
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

func (p *selectKeyProc[K, V, KR]) mapped(rec processor.Record[K, V]) processor.Record[KR, V] {
	return processor.Record[KR, V]{Key: p.f(rec.Key, rec.Value), Value: rec.Value, Timestamp: rec.Timestamp, Headers: rec.Headers}
}

func (p *selectKeyProc[K, V, KR]) Process(rec processor.Record[K, V]) error {
	if p.dropNullValue(rec.NullValue) {
		return nil
	}
	return p.fwd.Forward(p.mapped(rec))
}

func (p *selectKeyProc[K, V, KR]) Fuse(next func(processor.Record[KR, V]) error) func(processor.Record[K, V]) error {
	return func(rec processor.Record[K, V]) error {
		if p.dropNullValue(rec.NullValue) {
			return nil
		}
		return next(p.mapped(rec))
	}
}

type peekProc[K, V any] struct {
	base[K, V]
	f        func(K, V)
	terminal bool
}

// peek calls the action and reports whether the record goes on.
func (p *peekProc[K, V]) peek(rec processor.Record[K, V]) bool {
	if !rec.NullValue {
		p.f(rec.Key, rec.Value)
	}
	return !p.terminal
}

func (p *peekProc[K, V]) Process(rec processor.Record[K, V]) error {
	if p.peek(rec) {
		return p.fwd.Forward(rec)
	}
	return nil
}

func (p *peekProc[K, V]) Fuse(next func(processor.Record[K, V]) error) func(processor.Record[K, V]) error {
	return func(rec processor.Record[K, V]) error {
		if p.peek(rec) {
			return next(rec)
		}
		return nil
	}
}

// nullKeyFilter drops records with a null key before a repartition topic,
// where they could not be partitioned, as Kafka Streams does.
type nullKeyFilter[K, V any] struct{ keyed[K, V] }

func (p *nullKeyFilter[K, V]) dropNullKey(null bool) bool {
	if null {
		p.drops.DropRecord(engine.DropNullKey)
	}
	return null
}

func (p *nullKeyFilter[K, V]) Process(rec processor.Record[K, V]) error {
	if p.dropNullKey(rec.NullKey) {
		return nil
	}
	return p.fwd.Forward(rec)
}

func (p *nullKeyFilter[K, V]) Fuse(next func(processor.Record[K, V]) error) func(processor.Record[K, V]) error {
	return func(rec processor.Record[K, V]) error {
		if p.dropNullKey(rec.NullKey) {
			return nil
		}
		return next(rec)
	}
}
