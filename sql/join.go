package sql

import "github.com/samsa-go/samsa/dsl"

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
	if j.Kind == "RIGHT" {
		return nil, unsupported(j.Pos, "RIGHT JOIN")
	}
	ls, rs := joinSide{left, q.From.Alias}, joinSide{right, j.Source.Alias}
	if ls.name() == rs.name() {
		return nil, errAt(j.Source.Pos, "each side of a join needs its own alias")
	}
	// ON must equate the two sides' single key columns.
	eq, ok := j.On.(*Binary)
	if !ok || eq.Op != "=" {
		return nil, unsupported(j.On.exprPos(), "a join condition other than an equality")
	}
	lref, ok1 := eq.L.(*ColumnRef)
	rref, ok2 := eq.R.(*ColumnRef)
	if !ok1 || !ok2 {
		return nil, unsupported(j.On.exprPos(), "a join on expressions")
	}
	if side(lref, ls, rs) == 2 {
		lref, rref = rref, lref
	}
	if side(lref, ls, rs) != 1 || side(rref, ls, rs) != 2 {
		return nil, errAt(j.On.exprPos(), "a join condition must compare a column of each side")
	}
	if len(left.Schema.Key) != 1 || len(right.Schema.Key) != 1 || left.Schema.Key[0].Name != lref.Name || right.Schema.Key[0].Name != rref.Name {
		return nil, unsupported(j.On.exprPos(), "a join on a non-key column (repartitioning or foreign-key join)")
	}
	if !left.Schema.Key[0].Type.equal(right.Schema.Key[0].Type) {
		return nil, errAt(j.On.exprPos(), "invalid join: the key types differ: %s and %s", left.Schema.Key[0].Type, right.Schema.Key[0].Type)
	}
	nl, nr := len(left.Schema.Value), len(right.Schema.Value)
	width := nl + nr + 2
	sc := &scope{sources: map[string]bool{ls.name(): true, rs.name(): true, left.Name: true, right.Name: true}}
	addSide := func(s joinSide, off int, flag int) {
		for i, c := range s.src.Schema.Key {
			idx := i
			sc.cols = append(sc.cols, scopeCol{src: s.name(), name: c.Name, typ: c.Type, fn: func(e *env) Value {
				if e.val[flag].I == 0 {
					return null
				}
				return e.key[idx]
			}})
		}
		for i, c := range s.src.Schema.Value {
			sc.cols = append(sc.cols, scopeCol{src: s.name(), name: c.Name, typ: c.Type, idx: off + i})
		}
	}
	addSide(ls, 0, nl+nr)
	addSide(rs, nl, nl+nr+1)
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
	keys := []Expr{&ColumnRef{Pos: j.Pos, Source: ls.name(), Name: lref.Name}}
	var in dsl.KStream[Row, Row]
	table := false
	switch {
	case !left.Table && !right.Table:
		if j.Within == nil {
			return nil, errAt(j.Pos, "stream-stream joins must have a WITHIN clause specified")
		}
		grace := int64(defaultGrace)
		if j.Within.HasGrace {
			grace = j.Within.Grace
		}
		w := dsl.JoinWindowsOfTimeDifferenceAndGrace(msDuration(j.Within.Before), msDuration(grace)).After(msDuration(j.Within.After))
		l, err := p.stream(left)
		if err != nil {
			return nil, err
		}
		r, err := p.stream(right)
		if err != nil {
			return nil, err
		}
		sj := dsl.StreamJoinedWith[Row, Row, Row](internal, internal, internal)
		switch j.Kind {
		case "INNER":
			in = dsl.KStream[Row, Row].Join[Row, Row](l, r, func(a, b Row) Row { return joiner(a, true, b, true) }, w, sj)
		case "LEFT":
			in = dsl.KStream[Row, Row].LeftJoin[Row, Row](l, r, func(a, b Row, found bool) Row { return joiner(a, true, b, found) }, w, sj)
		default:
			in = dsl.KStream[Row, Row].OuterJoin[Row, Row](l, r, joiner, w, sj)
		}
	case !left.Table && right.Table:
		if j.Within != nil {
			return nil, errAt(j.Pos, "WITHIN is only allowed in stream-stream joins")
		}
		l, err := p.stream(left)
		if err != nil {
			return nil, err
		}
		r, err := p.table(right)
		if err != nil {
			return nil, err
		}
		jd := dsl.JoinedWith[Row, Row, Row](internal, internal, internal)
		switch j.Kind {
		case "INNER":
			in = dsl.KStream[Row, Row].JoinTable[Row, Row](l, r, func(a, b Row) Row { return joiner(a, true, b, true) }, jd)
		case "LEFT":
			in = dsl.KStream[Row, Row].LeftJoinTable[Row, Row](l, r, func(a, b Row, found bool) Row { return joiner(a, true, b, found) }, jd)
		default:
			return nil, errAt(j.Pos, "invalid join type: full-outer join not supported for stream-table join")
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
		switch j.Kind {
		case "INNER":
			t = dsl.KTable[Row, Row].Join[Row, Row](l, r, func(a, b Row) Row { return joiner(a, true, b, true) }, mat)
		case "LEFT":
			t = dsl.KTable[Row, Row].LeftJoin[Row, Row](l, r, func(a, b Row, found bool) Row { return joiner(a, true, b, found) }, mat)
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
	// Either side's key column may stand for the join key in the
	// projection; the first one selected is the key.
	for _, it := range items {
		if cr, ok := it.expr.(*ColumnRef); ok && cr.Name == rref.Name && side(cr, ls, rs) == 2 && !selected(items, lref, ls, rs) {
			keys = []Expr{cr}
		}
	}
	return p.projectFrom(q, sc, in, table, keys, 1, width, items, sinkName)
}

func selected(items []item, ref *ColumnRef, ls, rs joinSide) bool {
	for _, it := range items {
		if cr, ok := it.expr.(*ColumnRef); ok && cr.Name == ref.Name && (cr.Source == "" || side(cr, ls, rs) == 1) {
			return true
		}
	}
	return false
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
