package sql

import (
	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
)

// joinSide is one source of a two-way join.
type joinSide struct {
	src   *Source
	alias string
}

func (s joinSide) name() string {
	if s.alias != "" {
		return s.alias
	}
	return s.src.Name
}

// join plans a two-way join on the sources' key columns. The joined row is
// the left value columns, the right value columns, then two flags saying
// which sides were found; key columns of a side read the record's key when
// that side was found, so the missing side of an outer join reads NULL.
func (p *Program) join(q *Select, sinkName string) (*output, error) {
	if len(q.Joins) > 1 {
		return nil, unsupported(q.Joins[1].Pos, "joins of more than two sources")
	}
	j := q.Joins[0]
	left, ok := p.sources[q.From.Name]
	if !ok {
		return nil, errAt(q.From.Pos, "%s does not exist", q.From.Name)
	}
	right, ok := p.sources[j.Source.Name]
	if !ok {
		return nil, errAt(j.Source.Pos, "%s does not exist", j.Source.Name)
	}
	if left.Window != "" || right.Window != "" {
		return nil, unsupported(j.Pos, "joins of windowed sources")
	}
	if len(q.GroupBy) > 0 || q.Window != nil {
		return nil, unsupported(j.Pos, "aggregation over a join")
	}
	if len(q.PartBy) > 0 {
		return nil, unsupported(j.Pos, "PARTITION BY over a join")
	}
	if left == right {
		return nil, errAt(j.Source.Pos, "can not join '%s' to '%s': self joins are not supported", left.Name, right.Name)
	}
	ls, rs := joinSide{left, q.From.Alias}, joinSide{right, j.Source.Alias}
	if ls.name() == rs.name() {
		return nil, errAt(j.Source.Pos, "each side of a join needs its own alias")
	}
	// ON must equate an expression of each side. A side joined on
	// anything but its single key column is rekeyed by that expression
	// (a repartition follows) and carries its old key columns in its value.
	eq, ok := j.On.(*Binary)
	if !ok || eq.Op != "=" {
		return nil, unsupported(j.On.exprPos(), "a join condition other than an equality")
	}
	lexpr, rexpr := eq.L, eq.R
	if exprSide(lexpr, ls, rs) == 2 {
		lexpr, rexpr = rexpr, lexpr
	}
	if exprSide(lexpr, ls, rs) != 1 || exprSide(rexpr, ls, rs) != 2 {
		return nil, errAt(j.On.exprPos(), "invalid join criteria %s: each side of the '=' must reference exactly one source, a different one", exprString(j.On))
	}
	lk, err := p.joinKey(ls, lexpr)
	if err != nil {
		return nil, err
	}
	rk, err := p.joinKey(rs, rexpr)
	if err != nil {
		return nil, err
	}
	if !lk.typ.equal(rk.typ) {
		return nil, errAt(j.On.exprPos(), "invalid join: the join expressions' types differ: %s and %s", lk.typ, rk.typ)
	}
	if right.Table && rk.rekey {
		if left.Table {
			return nil, unsupported(j.On.exprPos(), "a table-table join on a non-key column (foreign-key join)")
		}
		return nil, errAt(j.On.exprPos(), "invalid join: a stream-table join must use the table's primary key, %s", right.Schema.Key[0].Name)
	}
	if left.Table && lk.rekey {
		return nil, unsupported(j.On.exprPos(), "a table-table join on a non-key column (foreign-key join)")
	}
	nl, nr := lk.width, rk.width
	width := nl + nr + 2
	sc := &scope{sources: map[string]bool{ls.name(): true, rs.name(): true, left.Name: true, right.Name: true}}
	addSide := func(s joinSide, k *joinKeyPlan, off int, flag int) {
		nv := len(s.src.Schema.Value)
		for i, c := range s.src.Schema.Key {
			idx, rekeyed := i, k.rekey
			sc.cols = append(sc.cols, scopeCol{src: s.name(), name: c.Name, typ: c.Type, fn: func(e *env) Value {
				if e.val[flag].I == 0 {
					return null
				}
				if rekeyed {
					return e.val[off+nv+idx]
				}
				return e.key[idx]
			}})
		}
		for i, c := range s.src.Schema.Value {
			sc.cols = append(sc.cols, scopeCol{src: s.name(), name: c.Name, typ: c.Type, idx: off + i})
		}
	}
	addSide(ls, lk, 0, nl+nr)
	addSide(rs, rk, nl, nl+nr+1)
	joiner := func(lv Row, lok bool, rv Row, rok bool) Row {
		out := make(Row, width)
		if lok {
			copy(out, lv)
			out[nl+nr] = boolValue(true)
		}
		if rok {
			copy(out[nl:], rv)
			out[nl+nr+1] = boolValue(true)
		}
		return out
	}
	keys := []Expr{lexpr}
	var in dsl.KStream[Row, Row]
	table := false
	kind := j.Kind
	switch {
	case !left.Table && !right.Table:
		if j.Within == nil {
			return nil, errAt(j.Pos, "stream-stream joins must have a WITHIN clause specified")
		}
		grace := int64(defaultGrace)
		if j.Within.HasGrace {
			grace = j.Within.Grace
		} else if kind != "INNER" {
			// Without GRACE PERIOD ksqlDB keeps the legacy semantics: an
			// unmatched record is emitted at once with NULLs, then again
			// when a partner arrives. The DSL emits it only once its
			// window closed, so the results would differ.
			return nil, unsupported(j.Pos, "stream-stream "+kind+" joins without GRACE PERIOD (eager legacy emission)")
		}
		w := dsl.JoinWindowsOfTimeDifferenceAndGrace(msDuration(j.Within.Before), msDuration(grace)).After(msDuration(j.Within.After))
		l, err := p.joinStream(left, lk)
		if err != nil {
			return nil, err
		}
		r, err := p.joinStream(right, rk)
		if err != nil {
			return nil, err
		}
		sj := dsl.StreamJoinedWith[Row, Row, Row](internal, internal, internal)
		switch kind {
		case "INNER":
			in = dsl.KStream[Row, Row].Join[Row, Row](l, r, func(a, b Row) Row { return joiner(a, true, b, true) }, w, sj)
		case "LEFT":
			in = dsl.KStream[Row, Row].LeftJoin[Row, Row](l, r, func(a, b Row, found bool) Row { return joiner(a, true, b, found) }, w, sj)
		case "RIGHT":
			rw := dsl.JoinWindowsOfTimeDifferenceAndGrace(msDuration(j.Within.After), msDuration(grace)).After(msDuration(j.Within.Before))
			in = dsl.KStream[Row, Row].LeftJoin[Row, Row](r, l, func(b, a Row, found bool) Row { return joiner(a, found, b, true) }, rw, sj)
			keys = []Expr{rexpr}
		default:
			in = dsl.KStream[Row, Row].OuterJoin[Row, Row](l, r, joiner, w, sj)
		}
	case !left.Table && right.Table:
		if j.Within != nil {
			return nil, errAt(j.Pos, "WITHIN is only allowed in stream-stream joins")
		}
		l, err := p.joinStream(left, lk)
		if err != nil {
			return nil, err
		}
		r, err := p.table(right)
		if err != nil {
			return nil, err
		}
		jd := dsl.JoinedWith[Row, Row, Row](internal, internal, internal)
		switch kind {
		case "INNER":
			in = dsl.KStream[Row, Row].JoinTable[Row, Row](l, r, func(a, b Row) Row { return joiner(a, true, b, true) }, jd)
		case "LEFT":
			in = dsl.KStream[Row, Row].LeftJoinTable[Row, Row](l, r, func(a, b Row, found bool) Row { return joiner(a, true, b, found) }, jd)
		default:
			return nil, errAt(j.Pos, "invalid join type: %s join is not supported for stream-table joins", map[string]string{"FULL": "full-outer", "RIGHT": "right"}[kind])
		}
	case left.Table && right.Table:
		if j.Within != nil {
			return nil, errAt(j.Pos, "WITHIN is only allowed in stream-stream joins")
		}
		table = true
		l, err := p.table(left)
		if err != nil {
			return nil, err
		}
		r, err := p.table(right)
		if err != nil {
			return nil, err
		}
		mat := dsl.MaterializedWith[Row, Row](internal, internal)
		var t dsl.KTable[Row, Row]
		switch kind {
		case "INNER":
			t = dsl.KTable[Row, Row].Join[Row, Row](l, r, func(a, b Row) Row { return joiner(a, true, b, true) }, mat)
		case "LEFT":
			t = dsl.KTable[Row, Row].LeftJoin[Row, Row](l, r, func(a, b Row, found bool) Row { return joiner(a, true, b, found) }, mat)
		case "RIGHT":
			t = dsl.KTable[Row, Row].LeftJoin[Row, Row](r, l, func(b, a Row, found bool) Row { return joiner(a, found, b, true) }, mat)
			keys = []Expr{rexpr}
		default:
			t = dsl.KTable[Row, Row].OuterJoin[Row, Row](l, r, joiner, mat)
		}
		in = t.ToStream()
	default:
		return nil, errAt(j.Pos, "invalid join: a table cannot be joined with a stream on its right; put the stream first")
	}
	items, err := p.joinItems(q, ls, rs)
	if err != nil {
		return nil, err
	}
	// Either side's join expression may stand for the key in the
	// projection; the first one selected is the key.
	keys = []Expr{pickJoinKey(items, keys[0], lexpr, rexpr, ls, rs)}
	return p.projectFrom(q, sc, in, table, keys, true, 1, width, items, sinkName)
}

func pickJoinKey(items []item, def, l, r Expr, ls, rs joinSide) Expr {
	for _, it := range items {
		for _, k := range []Expr{l, r} {
			if sameSideExpr(it.expr, k, ls, rs) {
				return it.expr
			}
		}
	}
	return def
}

// sameSideExpr says a select item is the join expression k of the same
// side (exprString drops qualifiers, so the sides are compared apart).
func sameSideExpr(e, k Expr, ls, rs joinSide) bool {
	return exprString(e) == exprString(k) && exprSide(e, ls, rs) == exprSide(k, ls, rs)
}

// exprSide says which side an expression's columns all belong to: 1, 2,
// or 0 for none or both.
func exprSide(e Expr, ls, rs joinSide) int {
	found := 0
	mixed := false
	walk(e, func(x Expr) bool {
		if c, ok := x.(*ColumnRef); ok {
			s := side(c, ls, rs)
			if s == 0 || found != 0 && found != s {
				mixed = true
			}
			found = s
		}
		return true
	})
	if mixed {
		return 0
	}
	return found
}

// joinKeyPlan is how one side reaches the join: by its key as it is, or
// rekeyed by an expression, with its old key appended to its value.
type joinKeyPlan struct {
	rekey bool
	expr  compiled
	typ   *Type
	width int // of the side's part of the joined row
	nkey  int
}

func (p *Program) joinKey(s joinSide, e Expr) (*joinKeyPlan, error) {
	sc := p.inputScope(s.src, s.alias)
	sc.noAgg = "a join condition"
	c, err := (&compiler{sc: sc}).compile(e)
	if err != nil {
		return nil, err
	}
	k := &joinKeyPlan{expr: c, typ: c.typ, width: len(s.src.Schema.Value), nkey: len(s.src.Schema.Key)}
	cr, ok := e.(*ColumnRef)
	if !ok || len(s.src.Schema.Key) != 1 || cr.Name != s.src.Schema.Key[0].Name {
		k.rekey = true
		k.width += len(s.src.Schema.Key)
	}
	return k, nil
}

// joinStream is a side's stream, rekeyed by its join expression when
// the plan says so.
func (p *Program) joinStream(src *Source, k *joinKeyPlan) (dsl.KStream[Row, Row], error) {
	st, err := p.stream(src)
	if err != nil || !k.rekey {
		return st, err
	}
	f, nk := k.expr.fn, k.nkey
	return dsl.KStream[Row, Row].Process[Row, Row](st, processor.SupplierFunc[Row, Row, Row, Row](func() processor.Processor[Row, Row, Row, Row] {
		return &rekeyProc{key: f, nkey: nk}
	})), nil
}

// rekeyProc keys a join side by its join expression; records whose
// expression is NULL cannot join and go, as in ksqlDB.
type rekeyProc struct {
	key  evalFn
	nkey int
	ctx  processor.Context[Row, Row]
}

func (r *rekeyProc) Init(ctx processor.Context[Row, Row]) error {
	r.ctx = ctx
	return nil
}

func (r *rekeyProc) Close() error { return nil }

func (r *rekeyProc) Process(rec processor.Record[Row, Row]) error {
	if rec.NullValue {
		r.ctx.DropRecord("null value")
		return nil
	}
	key := rec.Key
	if len(key) < r.nkey {
		key = make(Row, r.nkey)
	}
	e := env{key: key, val: rec.Value, ts: rec.Timestamp}
	k := r.key(&e)
	if !k.Valid {
		r.ctx.DropRecord("null join key")
		return nil
	}
	val := make(Row, 0, len(rec.Value)+len(key))
	val = append(append(val, rec.Value...), key...)
	return r.ctx.Forward(processor.Record[Row, Row]{Key: Row{k}, Value: val, Timestamp: rec.Timestamp, Headers: rec.Headers})
}

// side says which join side a qualified column names: 1 left, 2 right, 0
// neither or unqualified-and-ambiguous.
func side(c *ColumnRef, ls, rs joinSide) int {
	switch c.Source {
	case ls.name(), ls.src.Name:
		return 1
	case rs.name(), rs.src.Name:
		return 2
	case "":
		_, _, inL := ls.src.Schema.find(c.Name)
		_, _, inR := rs.src.Schema.find(c.Name)
		switch {
		case inL && !inR:
			return 1
		case inR && !inL:
			return 2
		}
	}
	return 0
}

// joinItems expands * over a join as ksqlDB does: every column of each
// side, named <alias>_<column>.
func (p *Program) joinItems(q *Select, ls, rs joinSide) ([]item, error) {
	var out []item
	n := 0
	for _, it := range q.Items {
		if it.Star {
			for _, s := range []joinSide{ls, rs} {
				if it.Of != "" && it.Of != s.name() && it.Of != s.src.Name {
					continue
				}
				for _, c := range append(append([]Column(nil), s.src.Schema.Key...), s.src.Schema.Value...) {
					out = append(out, item{pos: it.Pos, name: s.name() + "_" + c.Name, expr: &ColumnRef{Pos: it.Pos, Source: s.name(), Name: c.Name}})
				}
			}
			continue
		}
		name := it.Alias
		if name == "" {
			if cr, ok := it.Expr.(*ColumnRef); ok {
				name = cr.Name
				// A column both sides have is named <alias>_<column>.
				_, _, inL := ls.src.Schema.find(cr.Name)
				_, _, inR := rs.src.Schema.find(cr.Name)
				if inL && inR {
					switch side(cr, ls, rs) {
					case 1:
						name = ls.name() + "_" + cr.Name
					case 2:
						name = rs.name() + "_" + cr.Name
					}
				}
			} else {
				name = "KSQL_COL_" + itoa(n)
				n++
			}
		}
		out = append(out, item{pos: it.Pos, name: name, expr: it.Expr})
	}
	seen := map[string]bool{}
	for _, it := range out {
		if seen[it.name] {
			return nil, errAt(it.pos, "duplicate column name '%s' in the projection", it.name)
		}
		seen[it.name] = true
	}
	return out, nil
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
