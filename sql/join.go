package sql

import (
	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
)

// joinSide is one source of a join.
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

// join joins the relation left with the source of j, on an equality of an
// expression of each. A side joined on anything but its key is rekeyed by
// that expression (a repartition follows) and carries its old key columns
// in its value. The joined row is the left row, the right row, then two
// cells saying which sides were found, so that the key columns of a side
// an outer join is missing read NULL.
func (p *Program) join(q *Select, left *relation, j *Join) (*relation, error) {
	right, ok := p.sources[j.Source.Name]
	if !ok {
		return nil, errAt(j.Source.Pos, "%s does not exist", j.Source.Name)
	}
	right.used = true
	if right.Window != "" {
		return nil, unsupported(j.Pos, "joins of windowed sources")
	}
	rs := joinSide{right, j.Source.Alias}
	for _, s := range left.sources {
		if s.src == right {
			return nil, errAt(j.Source.Pos, "can not join '%s' to '%s': self joins are not supported", s.src.Name, right.Name)
		}
		if s.name() == rs.name() {
			return nil, errAt(j.Source.Pos, "each side of a join needs its own alias")
		}
	}
	rrel, err := p.sourceRelation(right, j.Source.Alias)
	if err != nil {
		return nil, err
	}
	for _, s := range append(append([]joinSide(nil), left.sources...), rs) {
		if s.src.ValueFormat == FormatKafka {
			return nil, errAt(j.Pos, "source %s uses the KAFKA value format, which does not support JOIN", s.src.Name)
		}
	}
	eq, ok := j.On.(*Binary)
	if !ok || eq.Op != "=" {
		return nil, unsupported(j.On.exprPos(), "a join condition other than an equality")
	}
	all := append(append([]joinSide(nil), left.sources...), rs)
	lexpr, rexpr := eq.L, eq.R
	if exprSide(lexpr, all) == len(all)-1 {
		lexpr, rexpr = rexpr, lexpr
	}
	if ls := exprSide(lexpr, all); ls < 0 || ls == len(all)-1 || exprSide(rexpr, all) != len(all)-1 {
		return nil, errAt(j.On.exprPos(), "invalid join criteria %s: each side of the '=' must reference exactly one source, a different one", exprString(j.On))
	}
	lk, err := joinKey(left, lexpr)
	if err != nil {
		return nil, err
	}
	rk, err := joinKey(rrel, rexpr)
	if err != nil {
		return nil, err
	}
	if !lk.typ.equal(rk.typ) {
		return nil, errAt(j.On.exprPos(), "invalid join: the join expressions' types differ: %s and %s", lk.typ, rk.typ)
	}
	if left.table && right.Table && lk.rekey && !rk.rekey {
		return p.foreignKeyJoin(j, left, rrel, lexpr, lk, all)
	}
	if right.Table && rk.rekey {
		if left.table {
			return nil, unsupported(j.On.exprPos(), "a table-table join on a non-key column (foreign-key join)")
		}
		return nil, errAt(j.On.exprPos(), "invalid join: a stream-table join must use the table's primary key, %s", right.Schema.Key[0].Name)
	}
	if left.table && lk.rekey {
		return nil, unsupported(j.On.exprPos(), "a table-table join on a non-key column (foreign-key join)")
	}
	lsc, nl := left.sc, left.nval
	if lk.rekey {
		lsc, nl = rekeyedScope(left.sc, left.nval), left.nval+left.nkey
	}
	rsc, nr := rrel.sc, rrel.nval
	if rk.rekey {
		rsc, nr = rekeyedScope(rrel.sc, rrel.nval), rrel.nval+rrel.nkey
	}
	width := nl + nr + 2
	sc := &scope{sources: map[string]bool{}}
	for k := range lsc.sources {
		sc.sources[k] = true
	}
	for k := range rsc.sources {
		sc.sources[k] = true
	}
	for _, c := range lsc.cols {
		if c.key && c.flag == 0 {
			c.flag = nl + nr + 1
		}
		sc.cols = append(sc.cols, c)
	}
	for _, c := range rsc.cols {
		if c.key {
			if c.flag == 0 {
				c.flag = nl + nr + 2
			}
		} else {
			c.idx += nl
			if c.flag > 0 {
				c.flag += nl
			}
		}
		sc.cols = append(sc.cols, c)
	}
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
	out := &relation{sc: sc, keyIsRecordKey: true, nkey: 1, nval: width, first: left.first, sources: all,
		keys: []Expr{lexpr, rexpr}}
	// Earlier join expressions still name the key when this join did not
	// rekey the left side.
	if !lk.rekey && left.keyIsRecordKey {
		out.keys = append(out.keys, left.keys...)
	}
	kind := j.Kind
	_, lcol := lexpr.(*ColumnRef)
	_, rcol := rexpr.(*ColumnRef)
	if kind == "FULL" || !lcol && !rcol && lk.rekey {
		// Neither side's key survives a full outer join whole, nor names
		// a join on expressions: ksqlDB keys the result by a synthetic
		// ROWKEY, the join value.
		out.sc.cols = append(out.sc.cols, scopeCol{name: "ROWKEY", typ: lk.typ, key: true})
		out.keys = []Expr{&ColumnRef{Pos: j.Pos, Name: "ROWKEY"}}
		out.synthKey = true
	}
	switch {
	case !left.table && !right.Table:
		if j.Within == nil {
			return nil, errAt(j.Pos, "stream-stream joins must have a WITHIN clause specified")
		}
		grace := int64(defaultGrace)
		if j.Within.HasGrace {
			grace = j.Within.Grace
		} else if kind != "INNER" {
			// Without GRACE PERIOD ksqlDB keeps the legacy semantics: an
			// unmatched record is emitted at once with NULLs, then again
			// when a partner arrives, which the DSL's joins do not do.
			out.stream = p.legacyJoin(rekeyStream(left.stream, lk), rekeyStream(rrel.stream, rk), lk, rk, j.Within.Before, j.Within.After, kind, joiner)
			if kind == "RIGHT" {
				out.keys = []Expr{rexpr, lexpr}
			}
			return out, nil
		}
		w := dsl.JoinWindowsOfTimeDifferenceAndGrace(msDuration(j.Within.Before), msDuration(grace)).After(msDuration(j.Within.After))
		l := rekeyStream(left.stream, lk)
		r := rekeyStream(rrel.stream, rk)
		sj := dsl.StreamJoinedWith[Row, Row, Row](internal, internal, internal)
		switch kind {
		case "INNER":
			out.stream = dsl.KStream[Row, Row].Join[Row, Row](l, r, func(a, b Row) Row { return joiner(a, true, b, true) }, w, sj)
		case "LEFT":
			out.stream = dsl.KStream[Row, Row].LeftJoin[Row, Row](l, r, func(a, b Row, found bool) Row { return joiner(a, true, b, found) }, w, sj)
		case "RIGHT":
			rw := dsl.JoinWindowsOfTimeDifferenceAndGrace(msDuration(j.Within.After), msDuration(grace)).After(msDuration(j.Within.Before))
			out.stream = dsl.KStream[Row, Row].LeftJoin[Row, Row](r, l, func(b, a Row, found bool) Row { return joiner(a, found, b, true) }, rw, sj)
			out.keys = []Expr{rexpr, lexpr}
		default:
			out.stream = dsl.KStream[Row, Row].OuterJoin[Row, Row](l, r, joiner, w, sj)
		}
	case !left.table && right.Table:
		if j.Within != nil {
			return nil, errAt(j.Pos, "WITHIN is only allowed in stream-stream joins")
		}
		l := rekeyStream(left.stream, lk)
		jd := dsl.JoinedWith[Row, Row, Row](internal, internal, internal)
		switch kind {
		case "INNER":
			out.stream = dsl.KStream[Row, Row].JoinTable[Row, Row](l, rrel.ktable, func(a, b Row) Row { return joiner(a, true, b, true) }, jd)
		case "LEFT":
			out.stream = dsl.KStream[Row, Row].LeftJoinTable[Row, Row](l, rrel.ktable, func(a, b Row, found bool) Row { return joiner(a, true, b, found) }, jd)
		default:
			return nil, errAt(j.Pos, "invalid join type: %s join is not supported for stream-table joins", map[string]string{"FULL": "full-outer", "RIGHT": "right"}[kind])
		}
	case left.table && right.Table:
		if j.Within != nil {
			return nil, errAt(j.Pos, "WITHIN is only allowed in stream-stream joins")
		}
		out.table = true
		mat := dsl.MaterializedWith[Row, Row](internal, internal)
		l, r := left.ktable, rrel.ktable
		switch kind {
		case "INNER":
			out.ktable = dsl.KTable[Row, Row].Join[Row, Row](l, r, func(a, b Row) Row { return joiner(a, true, b, true) }, mat)
		case "LEFT":
			out.ktable = dsl.KTable[Row, Row].LeftJoin[Row, Row](l, r, func(a, b Row, found bool) Row { return joiner(a, true, b, found) }, mat)
		case "RIGHT":
			out.ktable = dsl.KTable[Row, Row].LeftJoin[Row, Row](r, l, func(b, a Row, found bool) Row { return joiner(a, found, b, true) }, mat)
			out.keys = []Expr{rexpr, lexpr}
		default:
			out.ktable = dsl.KTable[Row, Row].OuterJoin[Row, Row](l, r, joiner, mat)
		}
	default:
		return nil, errAt(j.Pos, "invalid join: a table cannot be joined with a stream on its right; put the stream first")
	}
	return out, nil
}

// rekeyedScope is a scope whose key columns moved into the value, after
// the value's nval columns.
func rekeyedScope(sc *scope, nval int) *scope {
	out := &scope{sources: sc.sources}
	for _, c := range sc.cols {
		if c.key {
			c.key = false
			c.idx += nval
		}
		out.cols = append(out.cols, c)
	}
	return out
}

// pickJoinKey returns the first select item that is one of the join
// expressions standing for the key, items listed explicitly before those
// a * expanded to, else the first join expression.
func pickJoinKey(items []item, keys []Expr) Expr {
	for _, starred := range []bool{false, true} {
		for _, it := range items {
			if it.star != starred {
				continue
			}
			for _, k := range keys {
				if sameKeyExpr(k, it.expr) && sameQualifier(k, it.expr) {
					return it.expr
				}
			}
		}
	}
	return keys[0]
}

func sameQualifier(a, b Expr) bool {
	x, ok1 := a.(*ColumnRef)
	y, ok2 := b.(*ColumnRef)
	if ok1 && ok2 && x.Source != "" && y.Source != "" {
		return x.Source == y.Source
	}
	return true
}

// side says which of the sources a column names, or -1.
func side(c *ColumnRef, srcs []joinSide) int {
	if c.Source != "" {
		for i, s := range srcs {
			if c.Source == s.name() || c.Source == s.src.Name {
				return i
			}
		}
		return -1
	}
	found := -1
	for i, s := range srcs {
		if _, _, ok := s.src.Schema.find(c.Name); ok {
			if found >= 0 {
				return -1
			}
			found = i
		}
	}
	return found
}

// exprSide says which source an expression's columns all belong to, or -1
// for none or several.
func exprSide(e Expr, srcs []joinSide) int {
	found := -2
	walk(e, func(x Expr) bool {
		if c, ok := x.(*ColumnRef); ok {
			s := side(c, srcs)
			if s < 0 || found != -2 && found != s {
				found = -1
				return false
			}
			found = s
		}
		return true
	})
	if found == -2 {
		return -1
	}
	return found
}

// joinKeyPlan is how one side reaches the join: by its key as it is, or
// rekeyed by an expression.
type joinKeyPlan struct {
	rekey bool
	expr  compiled
	typ   *Type
	nkey  int
}

func joinKey(r *relation, e Expr) (*joinKeyPlan, error) {
	sc := *r.sc
	sc.noAgg = "a join condition"
	c, err := (&compiler{sc: &sc}).compile(e)
	if err != nil {
		return nil, err
	}
	k := &joinKeyPlan{expr: c, typ: c.typ, nkey: r.nkey, rekey: true}
	for _, key := range r.keys {
		if r.nkey == 1 && sameKeyExpr(key, e) && sameQualifier(key, e) {
			k.rekey = false
		}
	}
	return k, nil
}

// rekeyStream keys a side's stream by its join expression when the plan
// says so.
func rekeyStream(st dsl.KStream[Row, Row], k *joinKeyPlan) dsl.KStream[Row, Row] {
	if !k.rekey {
		return st
	}
	f, nk := k.expr.fn, k.nkey
	return dsl.KStream[Row, Row].Process[Row, Row](st, processor.SupplierFunc[Row, Row, Row, Row](func() processor.Processor[Row, Row, Row, Row] {
		return &rekeyProc{key: f, nkey: nk}
	}))
}

// rekeyProc keys a join side by its join expression; records whose
// expression is NULL cannot join and go, as in ksqlDB.
type rekeyProc struct {
	e    env // reused: a local would escape into the compiled closures
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
	r.e = env{key: key, val: rec.Value, ts: rec.Timestamp, vars: r.e.vars}
	if md, ok := r.ctx.RecordMetadata(); ok {
		r.e.part, r.e.off = md.Partition, md.Offset
	}
	k := r.key(&r.e)
	if !k.Valid {
		r.ctx.DropRecord("null join key")
		return nil
	}
	val := make(Row, 0, len(rec.Value)+len(key))
	val = append(append(val, rec.Value...), key...)
	return r.ctx.Forward(processor.Record[Row, Row]{Key: Row{k}, Value: val, Timestamp: rec.Timestamp, Headers: rec.Headers})
}

// joinItems expands * over a join as ksqlDB does, every column of each
// source named <alias>_<column>, and names a column several sources have
// the same way.
func (p *Program) joinItems(q *Select, srcs []joinSide) ([]item, error) {
	var out []item
	n := 0
	for _, it := range q.Items {
		if it.Star {
			for _, s := range srcs {
				if it.Of != "" && it.Of != s.name() && it.Of != s.src.Name {
					continue
				}
				for _, c := range append(append([]Column(nil), s.src.Schema.Key...), s.src.Schema.Value...) {
					out = append(out, item{pos: it.Pos, name: s.name() + "_" + c.Name, expr: &ColumnRef{Pos: it.Pos, Source: s.name(), Name: c.Name}, star: true})
				}
			}
			continue
		}
		name := it.Alias
		if name == "" {
			if cr, ok := it.Expr.(*ColumnRef); ok {
				name = cr.Name
				have := 0
				for _, s := range srcs {
					if _, _, ok := s.src.Schema.find(cr.Name); ok {
						have++
					}
				}
				if i := side(cr, srcs); have > 1 && i >= 0 {
					name = srcs[i].name() + "_" + cr.Name
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

// foreignKeyJoin joins a table to another on an expression of its value
// equal to the other's primary key. The result keeps the left table's key;
// the joined row is the left row, the right row, the found cells and the
// right key (the foreign key when it found a row).
func (p *Program) foreignKeyJoin(j *Join, left, right *relation, lexpr Expr, lk *joinKeyPlan, all []joinSide) (*relation, error) {
	if j.Kind != "INNER" && j.Kind != "LEFT" {
		return nil, errAt(j.Pos, "invalid join type: foreign-key table-table joins support only INNER and LEFT, not %s", j.Kind)
	}
	usesKey := false
	walk(lexpr, func(x Expr) bool {
		if c, ok := x.(*ColumnRef); ok {
			for _, col := range left.sc.cols {
				if col.key && col.name == c.Name && (c.Source == "" || c.Source == col.src) {
					usesKey = true
				}
			}
		}
		return true
	})
	if usesKey {
		return nil, unsupported(lexpr.exprPos(), "a foreign-key expression reading the left table's key")
	}
	pseudo := false
	walk(lexpr, func(x Expr) bool {
		if c, ok := x.(*ColumnRef); ok && pseudoColumns[c.Name] {
			pseudo = true
		}
		return true
	})
	if pseudo {
		return nil, unsupported(lexpr.exprPos(), "a foreign-key expression reading ROWTIME, ROWPARTITION or ROWOFFSET")
	}
	nl, nr := left.nval, right.nval
	width := nl + nr + 3
	sc := &scope{sources: map[string]bool{}}
	for k := range left.sc.sources {
		sc.sources[k] = true
	}
	for k := range right.sc.sources {
		sc.sources[k] = true
	}
	sc.cols = append(sc.cols, left.sc.cols...)
	for _, c := range right.sc.cols {
		if c.key {
			c.key, c.idx = false, nl+nr+2
		} else {
			c.idx += nl
		}
		sc.cols = append(sc.cols, c)
	}
	fk := lk.expr.fn
	foreign := func(v Row) (Row, bool) {
		e := env{val: v}
		k := fk(&e)
		return Row{k}, k.Valid
	}
	joiner := func(lv, rv Row, rok bool) Row {
		out := make(Row, width)
		copy(out, lv)
		out[nl+nr] = boolValue(true)
		if rok {
			copy(out[nl:], rv)
			out[nl+nr+1] = boolValue(true)
			e := env{val: lv}
			out[nl+nr+2] = fk(&e)
		}
		return out
	}
	// Unmaterialized, the join forwards a delete each time a row stops or
	// fails to join, as ksqlDB's output shows.
	out := &relation{sc: sc, table: true, keys: left.keys, keyIsRecordKey: left.keyIsRecordKey, nkey: left.nkey, nval: width, first: left.first, sources: all, fkKeys: len(left.keys) > 1}
	if j.Kind == "INNER" {
		out.ktable = dsl.KTable[Row, Row].JoinForeignKey[Row, Row, Row](left.ktable, right.ktable, foreign, func(a, b Row) Row { return joiner(a, b, true) })
	} else {
		out.ktable = dsl.KTable[Row, Row].LeftJoinForeignKey[Row, Row, Row](left.ktable, right.ktable, foreign, joiner)
	}
	return out, nil
}

// checkWindowedJoins rejects what ksqlDB rejects in a join of windowed
// sources: a windowed side joined to one that is not, session windows
// joined to time windows, and a join that would repartition a windowed
// source (on anything but both keys, or between time windows of
// different kinds or sizes, whose keys differ).
func (p *Program) checkWindowedJoins(q *Select, from *Source) error {
	for _, j := range q.Joins {
		r, ok := p.sources[j.Source.Name]
		if !ok || from.Window == "" && r.Window == "" {
			continue
		}
		l := from
		switch {
		case l.Window == "" || r.Window == "":
			w, n := l, r
			if l.Window == "" {
				w, n = r, l
			}
			return errAt(j.Pos, "can not join windowed source to non-windowed source: %s is %s windowed, %s is not windowed", w.Name, w.Window, n.Name)
		case (l.Window == "SESSION") != (r.Window == "SESSION"):
			return errAt(j.Pos, "incompatible windowed sources: %s is %s windowed, %s is %s windowed; session windowed sources join only session windowed sources, hopping and tumbling ones only hopping and tumbling ones", l.Name, l.Window, r.Name, r.Window)
		case l.Window != r.Window || l.WindowSize != r.WindowSize || !joinsKeys(j.On, q.From, l, j.Source, r):
			return errAt(j.Pos, "implicit repartitioning of windowed sources is not supported")
		}
	}
	return nil
}

// joinsKeys says on is an equality of a key column of each side.
func joinsKeys(on Expr, lf *FromSource, l *Source, rf *FromSource, r *Source) bool {
	eq, ok := on.(*Binary)
	if !ok || eq.Op != "=" {
		return false
	}
	a, ok1 := eq.L.(*ColumnRef)
	b, ok2 := eq.R.(*ColumnRef)
	if !ok1 || !ok2 {
		return false
	}
	isKey := func(c *ColumnRef, f *FromSource, s *Source) bool {
		if c.Source != "" && c.Source != f.Name && c.Source != f.Alias {
			return false
		}
		key, _, found := s.Schema.find(c.Name)
		return found && key
	}
	return isKey(a, lf, l) && isKey(b, rf, r) || isKey(b, lf, l) && isKey(a, rf, r)
}
