package sql

import (
	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// legacyJoin is ksqlDB's stream-stream LEFT, RIGHT or FULL join without a
// GRACE PERIOD: the semantics of Kafka Streams before KIP-633, which the
// DSL's joins no longer have. A record that finds no partner in the other
// side's window is emitted at once, joined with NULLs, and again, joined,
// when a partner arrives later. Each side is a processor that keeps its
// records in its own window store and looks the other's up; records are
// kept for the window plus ksqlDB's default grace of a day.
func (p *Program) legacyJoin(l, r dsl.KStream[Row, Row], lk, rk *joinKeyPlan, before, after int64, kind string, joiner func(Row, bool, Row, bool) Row) dsl.KStream[Row, Row] {
	if lk.rekey {
		l = l.Repartition(dsl.RepartitionedWith[Row, Row](internal, internal))
	}
	if rk.rekey {
		r = r.Repartition(dsl.RepartitionedWith[Row, Row](internal, internal))
	}
	p.legacyJoins++
	base := "KSTREAM-LEGACYJOIN-" + itoa(p.legacyJoins)
	ls, rs := base+"-this-store", base+"-other-store"
	retention := msDuration(before + after + defaultGrace)
	size := msDuration(before + after)
	p.b.AddStateStore(state.WindowStoreBuilder[Row, Row](ls, retention, size, internal, internal).WithRetainDuplicates())
	p.b.AddStateStore(state.WindowStoreBuilder[Row, Row](rs, retention, size, internal, internal).WithRetainDuplicates())
	left := &legacySide{this: ls, other: rs, before: before, after: after, unmatched: kind != "RIGHT",
		join: func(this, other Row, found bool) Row { return joiner(this, true, other, found) }}
	right := &legacySide{this: rs, other: ls, before: after, after: before, unmatched: kind != "LEFT",
		join: func(this, other Row, found bool) Row { return joiner(other, found, this, true) }}
	stores := dsl.WithStores(ls, rs)
	lo := l.ProcessValues(legacySupplier(left), stores)
	ro := r.ProcessValues(legacySupplier(right), stores)
	return lo.Merge(ro)
}

type legacySide struct {
	this, other   string
	before, after int64 // the other side's records join from ts-before to ts+after
	unmatched     bool  // emit this side's records that find no partner
	join          func(this, other Row, found bool) Row
}

func legacySupplier(s *legacySide) processor.Supplier[Row, Row, Row, Row] {
	return processor.SupplierFunc[Row, Row, Row, Row](func() processor.Processor[Row, Row, Row, Row] {
		return &legacyJoinProc{side: s}
	})
}

type legacyJoinProc struct {
	side        *legacySide
	ctx         processor.Context[Row, Row]
	this, other *state.WindowStore[Row, Row]
}

func (p *legacyJoinProc) Init(ctx processor.Context[Row, Row]) error {
	p.ctx = ctx
	var err error
	if p.this, err = state.GetWindowStore[Row, Row](ctx, p.side.this); err != nil {
		return err
	}
	p.other, err = state.GetWindowStore[Row, Row](ctx, p.side.other)
	return err
}

func (p *legacyJoinProc) Close() error { return nil }

func (p *legacyJoinProc) Process(rec processor.Record[Row, Row]) error {
	if rec.NullValue || rec.NullKey {
		p.ctx.DropRecord(processor.DropNullValue)
		return nil
	}
	ts := rec.Timestamp
	if err := p.this.Put(rec.Key, rec.Value, ts); err != nil {
		return err
	}
	it, err := p.other.Fetch(rec.Key, max(0, ts-p.side.before), max(0, ts+p.side.after))
	if err != nil {
		return err
	}
	matched := false
	out := processor.Record[Row, Row]{Key: rec.Key, Headers: rec.Headers}
	for it.Next() {
		matched = true
		out.Value, out.Timestamp = p.side.join(rec.Value, it.Value(), true), max(ts, it.Start())
		if err := p.ctx.Forward(out); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Err(); err != nil {
		it.Close()
		return err
	}
	if err := it.Close(); err != nil {
		return err
	}
	if matched || !p.side.unmatched {
		return nil
	}
	out.Value, out.Timestamp = p.side.join(rec.Value, nil, false), ts
	return p.ctx.Forward(out)
}
