package sql

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	"github.com/samsa-go/samsa/runtime"
)

// pullSpec is how a pull query reads an aggregation's output: the store
// holds the group key and the accumulator row, from which post computes
// the output values, as the query's last step does for each update.
type pullSpec struct {
	store string
	// routed says the store's tasks are partitioned by the murmur2 hash of
	// its own key bytes (a repartition feeds the aggregation), so a key's
	// task can be found; otherwise every local task is searched.
	routed bool
	post   *postAgg
}

// Pull is a pull query, a SELECT without EMIT CHANGES, planned against a program's
// table: it reads the table's current rows from the store of the
// aggregation that computes it, in a running application, through the
// runtime's interactive queries. Make it with Program.Pull; run it with
// Execute as often as needed, from any goroutine.
//
// It answers from this instance's active tasks only: with several
// instances, a key held by another one is not found here (the error wraps
// runtime.ErrStoreMoved where the runtime knows so).
type Pull struct {
	src  *Source
	spec *pullSpec
	// all are the table's columns: key, WINDOWSTART and WINDOWEND when
	// windowed, value; cols the selected ones, at pick in all.
	all, cols []Column
	pick      []int
	key       Row // nil: every row
	// Bounds on WINDOWSTART and WINDOWEND, both included.
	startLo, startHi, endLo, endHi int64
}

// Pull plans one pull query, "SELECT cols FROM table [WHERE ...];", over a
// table the program's statements create by aggregation. WHERE may set
// every key column equal to a constant and bound WINDOWSTART and
// WINDOWEND (=, <, <=, >, >=, BETWEEN) on a windowed table, joined by AND;
// without a key the query scans the table. The select list is * or
// column names, with aliases.
func (p *Program) Pull(stmt string) (*Pull, error) {
	stmts, err := Parse(stmt)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("sql: want one pull query, got %d statements", len(stmts))
	}
	x, ok := stmts[0].(*PullQuery)
	if !ok {
		return nil, errAt(stmts[0].stmtPos(), "not a pull query (SELECT ... FROM table WHERE ...)")
	}
	return p.planPull(x)
}

func (p *Program) planPull(x *PullQuery) (*Pull, error) {
	q := x.Query
	switch {
	case len(q.Joins) > 0:
		return nil, unsupported(q.Joins[0].Pos, "a join in a pull query")
	case q.Window != nil:
		return nil, unsupported(q.Window.Pos, "a WINDOW clause in a pull query")
	case len(q.GroupBy) > 0 || q.Having != nil:
		return nil, unsupported(q.Pos, "GROUP BY or HAVING in a pull query")
	case len(q.PartBy) > 0:
		return nil, unsupported(q.Pos, "PARTITION BY in a pull query")
	case q.HasLimit:
		return nil, unsupported(q.LimitPos, "LIMIT")
	case q.Emit == "FINAL":
		return nil, unsupported(q.EmitPos, "EMIT FINAL in a pull query")
	}
	src, ok := p.sources[q.From.Name]
	if !ok {
		return nil, errAt(q.From.Pos, "%s does not exist", q.From.Name)
	}
	if !src.Table {
		return nil, errAt(q.From.Pos, "pull queries read tables; %s is a stream (use SELECT ... EMIT CHANGES)", src.Name)
	}
	if src.pull == nil {
		return nil, unsupported(q.From.Pos, "a pull query on table "+src.Name+", which no aggregation materializes")
	}
	pq := &Pull{src: src, spec: src.pull, startLo: math.MinInt64, startHi: math.MaxInt64, endLo: math.MinInt64, endHi: math.MaxInt64}
	pq.all = append(pq.all, src.Schema.Key...)
	if src.Window != "" {
		pq.all = append(pq.all, Column{Name: "WINDOWSTART", Type: typeBigInt, Key: true}, Column{Name: "WINDOWEND", Type: typeBigInt, Key: true})
	}
	pq.all = append(pq.all, src.Schema.Value...)
	find := func(r *ColumnRef) (int, error) {
		if r.Source != "" && r.Source != q.From.Name && r.Source != q.From.Alias {
			return 0, errAt(r.Pos, "unknown source '%s'", r.Source)
		}
		for i, c := range pq.all {
			if c.Name == r.Name {
				return i, nil
			}
		}
		return 0, errAt(r.Pos, "column '%s' cannot be resolved", r.Name)
	}
	for _, it := range q.Items {
		if it.Star {
			for i, c := range pq.all {
				pq.pick = append(pq.pick, i)
				pq.cols = append(pq.cols, c)
			}
			continue
		}
		r, ok := it.Expr.(*ColumnRef)
		if !ok {
			return nil, unsupported(it.Pos, "an expression in a pull query's select list (name columns)")
		}
		i, err := find(r)
		if err != nil {
			return nil, err
		}
		c := pq.all[i]
		if it.Alias != "" {
			c.Name = it.Alias
		}
		pq.pick = append(pq.pick, i)
		pq.cols = append(pq.cols, c)
	}
	key := make(Row, len(src.Schema.Key))
	set := make([]bool, len(key))
	var where func(e Expr) error
	where = func(e Expr) error {
		if e == nil {
			return nil
		}
		bound := func(r *ColumnRef, op string, lit Expr) error {
			i, err := find(r)
			if err != nil {
				return err
			}
			c := pq.all[i]
			v, err := constant(lit, c.Type)
			if err != nil {
				return err
			}
			if !v.Valid {
				return errAt(lit.exprPos(), "a pull query cannot compare %s with NULL", c.Name)
			}
			if i < len(key) {
				if op != "=" {
					return unsupported(r.Pos, "a key bound other than = in a pull query")
				}
				if set[i] {
					return errAt(r.Pos, "the key column %s is set twice", c.Name)
				}
				key[i], set[i] = v, true
				return nil
			}
			lo, hi := &pq.startLo, &pq.startHi
			switch c.Name {
			case "WINDOWSTART":
			case "WINDOWEND":
				lo, hi = &pq.endLo, &pq.endHi
			default:
				return unsupported(r.Pos, "a condition on the value column "+c.Name+" in a pull query")
			}
			switch op {
			case "=":
				*lo, *hi = max(*lo, v.I), min(*hi, v.I)
			case ">=":
				*lo = max(*lo, v.I)
			case ">":
				*lo = max(*lo, v.I+1)
			case "<=":
				*hi = min(*hi, v.I)
			case "<":
				*hi = min(*hi, v.I-1)
			default:
				return unsupported(r.Pos, "the operator "+op+" on "+c.Name+" in a pull query")
			}
			return nil
		}
		switch x := e.(type) {
		case *Binary:
			if x.Op == "AND" {
				if err := where(x.L); err != nil {
					return err
				}
				return where(x.R)
			}
			if r, ok := x.L.(*ColumnRef); ok {
				return bound(r, x.Op, x.R)
			}
			if r, ok := x.R.(*ColumnRef); ok {
				flip := map[string]string{"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}[x.Op]
				if flip != "" {
					return bound(r, flip, x.L)
				}
			}
		case *Between:
			if r, ok := x.X.(*ColumnRef); ok && !x.Not {
				if err := bound(r, ">=", x.Lo); err != nil {
					return err
				}
				return bound(r, "<=", x.Hi)
			}
		}
		return unsupported(e.exprPos(), "this condition in a pull query (key column = constant, bounds on WINDOWSTART and WINDOWEND, joined by AND)")
	}
	if err := where(q.Where); err != nil {
		return nil, err
	}
	n := 0
	for _, s := range set {
		if s {
			n++
		}
	}
	switch {
	case n == len(key):
		pq.key = key
	case n > 0:
		for i, s := range set {
			if !s {
				return nil, unsupported(q.Pos, "a pull query that sets some key columns but not "+src.Schema.Key[i].Name)
			}
		}
	}
	return pq, nil
}

// constant evaluates a constant expression as a value of type t.
func constant(e Expr, t *Type) (Value, error) {
	c, err := (&compiler{sc: &scope{}}).compile(e)
	if err != nil {
		return Value{}, err
	}
	if c.typ.Kind != KindNull {
		if c, err = castTo(e.exprPos(), c, t); err != nil {
			return Value{}, err
		}
	}
	return c.fn(&env{}), nil
}

// Columns are the columns of the rows Execute returns.
func (q *Pull) Columns() []Column { return q.cols }

// Table is the table the query reads.
func (q *Pull) Table() *Source { return q.src }

// Execute answers the query from app, which runs the program's topology:
// the rows of the table that match, ordered by task, then key and window.
func (q *Pull) Execute(app *runtime.App) ([]Row, error) {
	var out []Row
	emit := func(k, acc Row, start, end int64) {
		if start < q.startLo || start > q.startHi || end < q.endLo || end > q.endHi {
			return
		}
		e := env{key: k, val: acc, wstart: start, wend: end}
		_, val, ok := q.spec.post.eval(&e)
		if !ok {
			return
		}
		full := make(Row, 0, len(q.all))
		full = append(full, k...)
		if q.src.Window != "" {
			full = append(full, intValue(start), intValue(end))
		}
		full = append(full, val...)
		row := make(Row, len(q.pick))
		for i, j := range q.pick {
			row[i] = full[j]
		}
		out = append(out, row)
	}
	var err error
	switch q.src.Window {
	case "":
		err = q.keyValue(app, emit)
	case "SESSION":
		err = q.sessions(app, emit)
	default:
		err = q.windows(app, emit)
	}
	if err != nil {
		return nil, fmt.Errorf("sql: pull query on %s: %w", q.src.Name, err)
	}
	return out, nil
}

type emitFn func(k, acc Row, start, end int64)

// sameKey says k is the query's key; rows compare by their internal
// encoding, as the store orders them.
func (q *Pull) sameKey(k Row) bool {
	a, _ := internal.Serialize(nil, "", k)
	b, _ := internal.Serialize(nil, "", q.key)
	return bytes.Equal(a, b)
}

func (q *Pull) keyValue(app *runtime.App, emit emitFn) error {
	st, err := runtime.QueryKeyValue[Row, Row](app, q.spec.store)
	if err != nil {
		return err
	}
	if q.key != nil && q.spec.routed {
		v, found, err := st.Get(q.key)
		if found && err == nil {
			emit(q.key, v, 0, 0)
		}
		return err
	}
	var it *runtime.QueryIterator[Row, Row]
	if q.key != nil {
		it, err = st.Range(q.key, q.key)
	} else {
		it, err = st.All()
	}
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		emit(it.Key(), it.Value(), 0, 0)
	}
	return it.Err()
}

func (q *Pull) windows(app *runtime.App, emit emitFn) error {
	st, err := runtime.QueryWindow[Row, Row](app, q.spec.store)
	if err != nil {
		return err
	}
	size := q.src.WindowSize
	// The store is searched by start; an end bound narrows the starts.
	lo, hi := q.startLo, q.startHi
	if q.endLo != math.MinInt64 {
		lo = max(lo, q.endLo-size)
	}
	if q.endHi != math.MaxInt64 {
		hi = min(hi, q.endHi-size)
	}
	if lo > hi {
		return nil
	}
	if q.key != nil && q.spec.routed {
		it, err := st.Fetch(q.key, lo, hi)
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Next() {
			emit(q.key, it.Value(), it.Start(), it.Start()+size)
		}
		return it.Err()
	}
	it, err := st.FetchAll(lo, hi)
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		if k := it.Key(); q.key == nil || q.sameKey(k.Key) {
			emit(k.Key, it.Value(), k.Start, k.Start+size)
		}
	}
	return it.Err()
}

func (q *Pull) sessions(app *runtime.App, emit emitFn) error {
	st, err := runtime.QuerySession[Row, Row](app, q.spec.store)
	if err != nil {
		return err
	}
	if q.key != nil && q.spec.routed {
		it, err := st.Fetch(q.key)
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Next() {
			k := it.Key()
			emit(k.Key, it.Value(), k.Start, k.End)
		}
		return it.Err()
	}
	it, err := st.All()
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		if k := it.Key(); q.key == nil || q.sameKey(k.Key) {
			emit(k.Key, it.Value(), k.Start, k.End)
		}
	}
	return it.Err()
}

// Render formats a row of the query as Source.Render does a record's:
// {COLUMN: value, ...} with the values in JSON.
func (q *Pull) Render(r Row) string {
	var b strings.Builder
	b.WriteString("{")
	for i, c := range q.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Name + ": ")
		b.Write(appendJSON(nil, c.Type, r[i]))
	}
	b.WriteString("}")
	return b.String()
}
