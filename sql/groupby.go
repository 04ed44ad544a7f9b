package sql

import (
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
)

func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// ksqlDB keeps windows open for a day past their end unless GRACE PERIOD
// says otherwise, where Kafka Streams' default is no grace.
const defaultGrace = 24 * 3_600_000

var internal = internalSerde{}

// aggregate plans GROUP BY: a processor evaluates WHERE, the group-by key
// and each aggregate's arguments into a pre-aggregation row; the DSL groups
// (repartitioning when the key changed) and aggregates it into a row of
// accumulators; a last processor applies HAVING and the projection.
func (p *Program) aggregate(q *Select, rel *relation, items []item, sinkName string) (*output, error) {
	inCopy := *rel.sc
	in := &inCopy
	in.noAgg = "WHERE or GROUP BY"
	c := &compiler{sc: in}
	var where evalFn
	if q.Where != nil {
		w, err := c.compile(q.Where)
		if err != nil {
			return nil, err
		}
		if w.typ.Kind != Boolean {
			return nil, errAt(q.Where.exprPos(), "WHERE needs a BOOLEAN expression, got %s", w.typ)
		}
		where = w.fn
	}
	if len(q.PartBy) > 0 {
		return nil, errAt(q.PartBy[0].exprPos(), "PARTITION BY cannot be combined with GROUP BY")
	}
	if len(q.GroupBy) == 0 {
		return nil, errAt(q.Pos, "use of aggregate functions requires a GROUP BY clause")
	}
	if src := rel.first; src.ValueFormat == FormatKafka && rel.single != nil {
		return nil, errAt(q.From.Pos, "source %s uses the KAFKA value format, which does not support GROUP BY", src.Name)
	}
	var groups []compiled
	var groupStr []string
	var keyNames []string
	for _, g := range q.GroupBy {
		cg, err := c.compile(g)
		if err != nil {
			return nil, err
		}
		if cg.typ.Kind == KindNull {
			return nil, errAt(g.exprPos(), "GROUP BY NULL is not allowed")
		}
		groups = append(groups, cg)
		groupStr = append(groupStr, exprString(g))
		keyNames = append(keyNames, nameOf(g))
	}
	// Aggregate calls of the projection and HAVING, once each.
	var specs []*aggSpec
	specIdx := map[string]int{}
	nargs := 0
	var aggErr error
	collect := func(e Expr) {
		walk(e, func(x Expr) bool {
			call, ok := x.(*Call)
			if !ok || !aggregateNames[call.Name] || aggErr != nil {
				return aggErr == nil
			}
			s := exprString(call)
			if _, ok := specIdx[s]; ok {
				return false
			}
			var args []compiled
			var consts []Value
			for _, a := range call.Args {
				if hasAggregate(a) {
					aggErr = errAt(a.exprPos(), "aggregate functions cannot be nested")
					return false
				}
				ca, err := c.compile(a)
				if err != nil {
					aggErr = err
					return false
				}
				args = append(args, ca)
				var cv Value
				if ca.lit {
					cv = ca.fn(nil)
				}
				consts = append(consts, cv)
			}
			spec, err := newAggregate(call, args, consts, p.collectLimit(call.Name))
			if err != nil {
				aggErr = err
				return false
			}
			spec.first = nargs
			nargs += len(spec.args)
			specIdx[s] = len(specs)
			specs = append(specs, spec)
			return false
		})
	}
	for _, it := range items {
		collect(it.expr)
	}
	collect(q.Having)
	if aggErr != nil {
		return nil, aggErr
	}
	// The post-aggregation scope: group-by expressions read the key, the
	// aggregate calls their accumulator, anything else is an error.
	post := &scope{sources: in.sources, windowed: q.Window != nil}
	post.agg = func(e Expr) (compiled, bool, error) {
		s := exprString(e)
		for i, g := range groupStr {
			if g == s {
				idx := i
				return compiled{typ: groups[i].typ, fn: func(e *env) Value { return e.key[idx] }}, true, nil
			}
		}
		if call, ok := e.(*Call); ok && aggregateNames[call.Name] {
			i := specIdx[s]
			spec := specs[i]
			res := spec.result
			return compiled{typ: spec.typ, fn: func(e *env) Value { return res(e.val[i]) }}, true, nil
		}
		if cr, ok := e.(*ColumnRef); ok {
			switch cr.Name {
			case "WINDOWSTART", "WINDOWEND":
				return compiled{}, false, nil
			}
			return compiled{}, true, errAt(cr.Pos, "non-aggregate SELECT expression(s) not part of GROUP BY: %s", cr.Name)
		}
		return compiled{}, false, nil
	}
	pc := &compiler{sc: post}
	var having evalFn
	if q.Having != nil {
		h, err := pc.compile(q.Having)
		if err != nil {
			return nil, err
		}
		if h.typ.Kind != Boolean {
			return nil, errAt(q.Having.exprPos(), "HAVING needs a BOOLEAN expression, got %s", h.typ)
		}
		having = h.fn
	}
	keyIdx, valIdx, err := splitKey(items, q.GroupBy, keyNames, sinkName)
	if err != nil {
		return nil, err
	}
	out := &output{table: true}
	var keyFns []evalFn
	for j, i := range keyIdx {
		keyFns = append(keyFns, func(e *env) Value { return e.key[j] })
		out.schema.Key = append(out.schema.Key, Column{Name: items[i].name, Type: groups[j].typ, Key: true})
	}
	// When the value columns are the aggregates themselves, in order, the
	// accumulator row is the output row and no projection step is needed.
	direct := len(valIdx) == len(specs)
	for j, i := range valIdx {
		call, ok := items[i].expr.(*Call)
		direct = direct && ok && aggregateNames[call.Name] && specIdx[exprString(call)] == j && specs[j].plain
	}
	var valFns []evalFn
	for _, i := range valIdx {
		if hasTableFn(items[i].expr) {
			return nil, unsupported(items[i].pos, "table functions in aggregations")
		}
		ce, err := pc.compile(items[i].expr)
		if err != nil {
			return nil, err
		}
		valFns = append(valFns, ce.fn)
		out.schema.Value = append(out.schema.Value, Column{Name: items[i].name, Type: ce.typ})
	}
	pre := &preAgg{where: where, groups: groups, specs: specs, nargs: nargs, needMeta: usesMeta(q), nkey: rel.nkey, nullKey: make(Row, rel.nkey)}
	init := func() Row {
		r := make(Row, len(specs))
		for i, s := range specs {
			r[i] = s.init()
		}
		return r
	}
	// The accumulator row comes fresh from the store's bytes (or init),
	// so it is updated in place.
	add := func(_ Row, v Row, acc Row) Row {
		for i, s := range specs {
			acc[i] = s.add(acc[i], v[s.first:s.first+len(s.args)])
		}
		return acc
	}
	// HAVING filters the aggregate table, materialized, so a row that
	// fails it is retracted only if it passed before, as in ksqlDB.
	postSpec := &postAgg{keys: keyFns, vals: valFns}
	withHaving := func(t dsl.KTable[Row, Row]) dsl.KTable[Row, Row] {
		if having == nil {
			return t
		}
		return t.Filter(func(k, v Row) bool {
			e := env{key: k, val: v}
			h := having(&e)
			return h.Valid && h.I != 0
		}, dsl.MaterializedWith[Row, Row](internal, internal))
	}
	mat := dsl.MaterializedWith[Row, Row](internal, internal)
	if rel.table {
		if q.Window != nil {
			return nil, errAt(q.Window.Pos, "windowed aggregation on a table is not allowed")
		}
		sub := func(_ Row, v Row, acc Row) Row {
			next := make(Row, len(acc))
			for i, s := range specs {
				next[i] = s.sub(acc[i], v[s.first:s.first+len(s.args)])
			}
			return next
		}
		for _, s := range specs {
			if s.sub == nil {
				return nil, unsupported(q.Pos, "aggregate "+s.name+" over a table (it cannot undo)")
			}
		}
		t := rel.ktable
		// The table's group-by selector sees no record metadata.
		if usesColumns(q, "ROWTIME", "ROWPARTITION", "ROWOFFSET") {
			return nil, unsupported(q.Pos, "ROWTIME, ROWPARTITION or ROWOFFSET in a table aggregation")
		}
		// Rows that fail WHERE, or group by a NULL, leave their group:
		// the filter turns them into deletes the aggregation subtracts.
		t = t.Filter(func(k, v Row) bool {
			e := env{key: k, val: v}
			if len(k) < pre.nkey {
				e.key = pre.nullKey
			}
			if where != nil {
				if w := where(&e); !w.Valid || w.I == 0 {
					return false
				}
			}
			for _, g := range pre.groups {
				if !g.fn(&e).Valid {
					return false
				}
			}
			return true
		})
		grouped := dsl.KTable[Row, Row].GroupBy[Row, Row](t, func(k, v Row) (Row, Row) {
			e := env{key: k, val: v}
			if len(k) < pre.nkey {
				e.key = pre.nullKey
			}
			return pre.eval(&e)
		}, dsl.GroupedWith[Row, Row](internal, internal))
		agg := withHaving(grouped.Aggregate(init, add, sub, mat))
		out.stream = agg.ToStream().ProcessValues(postSupplier(postSpec))
		// The table's GroupBy repartitions by the internal key bytes.
		out.pull = &pullSpec{store: agg.StoreName(), routed: true, post: postSpec}
		return out, nil
	}
	st := rel.stream
	// Grouping by the key as it is needs no repartition.
	sameKey := len(groups) == rel.nkey
	for i, g := range q.GroupBy {
		if !sameKey {
			break
		}
		if rel.keyIsRecordKey {
			match := false
			for _, k := range rel.keys {
				match = match || sameKeyExpr(k, g) && sameQualifier(k, g)
			}
			sameKey = match
		} else {
			sameKey = sameKeyExpr(rel.keys[i], g)
		}
	}
	var prepared dsl.KStream[Row, Row]
	// Only a repartition keys the aggregation's tasks by the store's own
	// key bytes; otherwise they are the source's partitions.
	routed := false
	sup := processor.SupplierFunc[Row, Row, Row, Row](func() processor.Processor[Row, Row, Row, Row] { return &preAggProc{spec: pre} })
	switch {
	case sameKey && where == nil && nargs == 0 && !pre.needMeta && rel.single != nil && rel.nkey == 1 && rel.first.KeyFormat == FormatKafka:
		// Nothing to evaluate before grouping: the aggregation drops null
		// keys and values itself (a KAFKA key is null exactly when its one
		// column is), so the source feeds it directly.
		prepared = st
	case sameKey:
		pre.keyAsIs = !rel.keyIsRecordKey
		prepared = st.ProcessValues(sup)
	default:
		prepared = st.Process(sup)
		routed = true
	}
	grouped := prepared.GroupByKey(dsl.GroupedWith[Row, Row](internal, internal))
	if q.Window == nil {
		if q.Emit == "FINAL" {
			return nil, errAt(q.EmitPos, "EMIT FINAL is only supported for windowed aggregations")
		}
		agg := withHaving(dsl.KGroupedStream[Row, Row].Aggregate[Row](grouped, init, add, mat))
		if direct {
			out.stream = agg.ToStream()
		} else {
			out.stream = agg.ToStream().ProcessValues(postSupplier(postSpec))
		}
		out.pull = &pullSpec{store: agg.StoreName(), routed: routed, post: postSpec}
		return out, nil
	}
	w := q.Window
	grace := int64(defaultGrace)
	switch {
	case w.HasGrace:
		grace = w.Grace
	case q.Emit == "FINAL":
		// EMIT FINAL without GRACE PERIOD emits at the window's end, as
		// ksqlDB's does.
		grace = 0
	}
	out.window, out.wsize = w.Kind, w.Size
	var wt dsl.KTable[dsl.Windowed[Row], Row]
	switch w.Kind {
	case "TUMBLING", "HOPPING":
		tw := dsl.TimeWindowsOfSizeAndGrace(msDuration(w.Size), msDuration(grace))
		if w.Kind == "HOPPING" {
			if w.Advance > w.Size {
				return nil, errAt(w.Pos, "the window's advance (%d ms) must not exceed its size (%d ms)", w.Advance, w.Size)
			}
			tw = tw.AdvanceBy(msDuration(w.Advance))
		}
		ws := dsl.WindowedBy(grouped, tw)
		if q.Emit == "FINAL" {
			ws = ws.EmitStrategy(dsl.EmitStrategyOnWindowClose())
		}
		if w.Retention > 0 {
			mat = mat.WithRetention(msDuration(w.Retention))
		}
		wt = dsl.TimeWindowedKStream[Row, Row].Aggregate[Row](ws, init, add, mat)
	case "SESSION":
		merge, err := sessionMerger(q.Pos, specs)
		if err != nil {
			return nil, err
		}
		ws := dsl.WindowedBySession(grouped, dsl.SessionWindowsOfInactivityGapAndGrace(msDuration(w.Size), msDuration(grace)))
		if q.Emit == "FINAL" {
			ws = ws.EmitStrategy(dsl.EmitStrategyOnWindowClose())
		}
		if w.Retention > 0 {
			mat = mat.WithRetention(msDuration(w.Retention))
		}
		wt = dsl.SessionWindowedKStream[Row, Row].Aggregate[Row](ws, init, add, merge, mat)
	}
	// Windows HAVING rejects are dropped, not retracted.
	windowSpec := &postAgg{having: having, keys: keyFns, vals: valFns}
	out.pull = &pullSpec{store: wt.StoreName(), routed: routed, post: windowSpec}
	out.wstream = wt.ToStream().ProcessValues(processor.SupplierFunc[dsl.Windowed[Row], Row, dsl.Windowed[Row], Row](func() processor.Processor[dsl.Windowed[Row], Row, dsl.Windowed[Row], Row] {
		return &postWindowProc{spec: windowSpec}
	}))
	return out, nil
}

func sessionMerger(p Pos, specs []*aggSpec) (func(Row, Row, Row) Row, error) {
	merges := make([]func(a, b Value) Value, len(specs))
	for i, s := range specs {
		switch s.name {
		case "COUNT", "SUM", "AVG":
			dbl := s.typ.Kind == Double && s.name == "SUM"
			avg := s.name == "AVG"
			merges[i] = func(a, b Value) Value {
				if dbl || avg {
					a.F += b.F
				}
				if !dbl {
					a.I += b.I
				}
				return a
			}
		case "MIN", "MAX":
			add := s.add
			merges[i] = func(a, b Value) Value { return add(a, []Value{b}) }
		case "LATEST_BY_OFFSET", "EARLIEST_BY_OFFSET":
			// The sessions merge in time order: the older one's values first.
			add := s.add
			merges[i] = func(a, b Value) Value {
				for _, v := range b.A {
					a = add(a, []Value{v})
				}
				return a
			}
		case "COLLECT_LIST":
			merges[i] = func(a, b Value) Value { return arrayValue(append(append([]Value{}, a.A...), b.A...)) }
		default:
			return nil, unsupported(p, "aggregate "+s.name+" in a session window")
		}
	}
	return func(_ Row, a, b Row) Row {
		out := make(Row, len(a))
		for i, m := range merges {
			out[i] = m(a[i], b[i])
		}
		return out
	}, nil
}

type preAgg struct {
	where    evalFn
	groups   []compiled
	specs    []*aggSpec
	nargs    int
	needMeta bool
	nkey     int
	nullKey  Row
	keyAsIs  bool // the groups are the input key's columns, in order
}

func (p *preAgg) eval(e *env) (Row, Row) {
	key := make(Row, len(p.groups))
	for i, g := range p.groups {
		key[i] = g.fn(e)
	}
	return key, p.args(e)
}

func (p *preAgg) args(e *env) Row {
	if p.nargs == 0 {
		return Row{}
	}
	args := make(Row, p.nargs)
	for _, s := range p.specs {
		for j, a := range s.args {
			args[s.first+j] = a.fn(e)
		}
	}
	return args
}

type preAggProc struct {
	e    env // reused: a local would escape into the compiled closures
	spec *preAgg
	ctx  processor.Context[Row, Row]
}

func (p *preAggProc) Init(ctx processor.Context[Row, Row]) error {
	p.ctx = ctx
	return nil
}

func (p *preAggProc) Close() error { return nil }

func (p *preAggProc) Process(rec processor.Record[Row, Row]) error {
	sp := p.spec
	if rec.NullValue {
		p.ctx.DropRecord("null value")
		return nil
	}
	p.e = env{key: rec.Key, val: rec.Value, ts: rec.Timestamp, vars: p.e.vars}
	if len(p.e.key) < sp.nkey {
		p.e.key = sp.nullKey
	}
	if sp.needMeta {
		if md, ok := p.ctx.RecordMetadata(); ok {
			p.e.part, p.e.off = md.Partition, md.Offset
		}
	}
	if sp.where != nil {
		if v := sp.where(&p.e); !v.Valid || v.I == 0 {
			return nil
		}
	}
	var key, args Row
	if sp.keyAsIs {
		key, args = p.e.key, sp.args(&p.e)
	} else {
		key, args = sp.eval(&p.e)
	}
	for _, k := range key {
		if !k.Valid {
			p.ctx.DropRecord("null group-by key")
			return nil
		}
	}
	return p.ctx.Forward(processor.Record[Row, Row]{Key: key, Value: args, Timestamp: rec.Timestamp, Headers: rec.Headers})
}

type postAgg struct {
	having evalFn
	keys   []evalFn
	vals   []evalFn
}

// eval computes the output value; the key passes through, since the
// output key is the group-by key.
func (p *postAgg) eval(e *env) (Row, Row, bool) {
	if p.having != nil {
		if h := p.having(e); !h.Valid || h.I == 0 {
			return nil, nil, false
		}
	}
	val := make(Row, len(p.vals))
	for i, f := range p.vals {
		val[i] = f(e)
	}
	return nil, val, true
}

func postSupplier(spec *postAgg) processor.Supplier[Row, Row, Row, Row] {
	return processor.SupplierFunc[Row, Row, Row, Row](func() processor.Processor[Row, Row, Row, Row] { return &postAggProc{spec: spec} })
}

type postAggProc struct {
	e    env // reused: a local would escape into the compiled closures
	spec *postAgg
	ctx  processor.Context[Row, Row]
}

func (p *postAggProc) Init(ctx processor.Context[Row, Row]) error {
	p.ctx = ctx
	return nil
}

func (p *postAggProc) Close() error { return nil }

func (p *postAggProc) Process(rec processor.Record[Row, Row]) error {
	if rec.NullValue {
		return p.ctx.Forward(rec)
	}
	p.e = env{key: rec.Key, val: rec.Value, ts: rec.Timestamp, vars: p.e.vars}
	_, val, ok := p.spec.eval(&p.e)
	if !ok {
		return p.ctx.Forward(processor.WithNullValue[Row](rec))
	}
	rec.Value = val
	return p.ctx.Forward(rec)
}

type postWindowProc struct {
	e    env // reused: a local would escape into the compiled closures
	spec *postAgg
	ctx  processor.Context[dsl.Windowed[Row], Row]
}

func (p *postWindowProc) Init(ctx processor.Context[dsl.Windowed[Row], Row]) error {
	p.ctx = ctx
	return nil
}

func (p *postWindowProc) Close() error { return nil }

func (p *postWindowProc) Process(rec processor.Record[dsl.Windowed[Row], Row]) error {
	if rec.NullValue {
		return p.ctx.Forward(rec)
	}
	p.e = env{key: rec.Key.Key, val: rec.Value, ts: rec.Timestamp, wstart: rec.Key.Start, wend: rec.Key.End, vars: p.e.vars}
	_, val, ok := p.spec.eval(&p.e)
	if !ok {
		// A window HAVING rejects is not retracted, as in ksqlDB.
		return nil
	}
	rec.Value = val
	return p.ctx.Forward(rec)
}
