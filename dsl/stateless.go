package dsl

import (
	"fmt"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
)

// The processors behind the stateless operations. Each holds its node's
// context and calls Forward directly: one interface call per hop, no
// allocation.

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

type filterProc[K, V any] struct {
	base[K, V]
	pred func(K, V) bool
	not  bool
}

func (p *filterProc[K, V]) Process(rec processor.Record[K, V]) error {
	if rec.NullValue || p.pred(rec.Key, rec.Value) != p.not {
		return p.fwd.Forward(rec)
	}
	return nil
}

type mapValuesProc[K, V, VR any] struct {
	base[K, VR]
	f func(V) VR
}

func (p *mapValuesProc[K, V, VR]) Process(rec processor.Record[K, V]) error {
	if rec.NullValue {
		return p.fwd.Forward(processor.WithNullValue[VR](rec))
	}
	return p.fwd.Forward(processor.Record[K, VR]{Key: rec.Key, Value: p.f(rec.Value), Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: rec.NullKey})
}

type flatMapValuesProc[K, V, VR any] struct {
	base[K, VR]
	f func(V) []VR
}

func (p *flatMapValuesProc[K, V, VR]) Process(rec processor.Record[K, V]) error {
	if rec.NullValue {
		return p.fwd.Forward(processor.WithNullValue[VR](rec))
	}
	out := processor.Record[K, VR]{Key: rec.Key, Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: rec.NullKey}
	for _, v := range p.f(rec.Value) {
		out.Value = v
		if err := p.fwd.Forward(out); err != nil {
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

type mapProc[K, V, KR, VR any] struct {
	keyed[KR, VR]
	f func(K, V) (KR, VR)
}

func (p *mapProc[K, V, KR, VR]) Process(rec processor.Record[K, V]) error {
	if rec.NullValue {
		p.drops.DropRecord(engine.DropNullValue)
		return nil
	}
	k, v := p.f(rec.Key, rec.Value)
	return p.fwd.Forward(processor.Record[KR, VR]{Key: k, Value: v, Timestamp: rec.Timestamp, Headers: rec.Headers})
}

type flatMapProc[K, V, KR, VR any] struct {
	keyed[KR, VR]
	f func(K, V) []KeyValue[KR, VR]
}

func (p *flatMapProc[K, V, KR, VR]) Process(rec processor.Record[K, V]) error {
	if rec.NullValue {
		p.drops.DropRecord(engine.DropNullValue)
		return nil
	}
	for _, kv := range p.f(rec.Key, rec.Value) {
		if err := p.fwd.Forward(processor.Record[KR, VR]{Key: kv.Key, Value: kv.Value, Timestamp: rec.Timestamp, Headers: rec.Headers}); err != nil {
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
		p.drops.DropRecord(engine.DropNullValue)
		return nil
	}
	return p.fwd.Forward(processor.Record[KR, V]{Key: p.f(rec.Key, rec.Value), Value: rec.Value, Timestamp: rec.Timestamp, Headers: rec.Headers})
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
	return p.fwd.Forward(rec)
}

// nullKeyFilter drops records with a null key before a repartition topic,
// where they could not be partitioned, as Kafka Streams does.
type nullKeyFilter[K, V any] struct{ keyed[K, V] }

func (p *nullKeyFilter[K, V]) Process(rec processor.Record[K, V]) error {
	if rec.NullKey {
		p.drops.DropRecord(engine.DropNullKey)
		return nil
	}
	return p.fwd.Forward(rec)
}
