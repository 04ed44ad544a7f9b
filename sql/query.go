package sql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// output is a planned query's result before it is written: a stream of
// rows in the layout of schema, keyed by schema.Key (windowed when
// window is set).
type output struct {
	table   bool
	schema  Schema
	stream  dsl.KStream[Row, Row]
	wstream dsl.KStream[dsl.Windowed[Row], Row]
	window  string
	wsize   int64
	// from is the windowed source a stateless query read, whose windows
	// its key rows carry after the key columns (see windowed.go).
	from *Source
	// pull is how pull queries read the output from its aggregation's
	// store; nil where the output has no store of its own.
	pull *pullSpec
}

// item is a select-list entry resolved to a name and an expression.
type item struct {
	pos  Pos
	name string
	expr Expr
	star bool // expanded from a *
}

func (p *Program) inputScope(src *Source, alias string) *scope {
	name := src.Name
	if alias != "" {
		name = alias
	}
	sc := &scope{sources: map[string]bool{name: true, src.Name: true}}
	for i, c := range src.Schema.Key {
		sc.cols = append(sc.cols, scopeCol{src: name, name: c.Name, typ: c.Type, key: true, idx: i})
	}
	for i, c := range src.Schema.Value {
		sc.cols = append(sc.cols, scopeCol{src: name, name: c.Name, typ: c.Type, idx: i, serde: src.valueSerde, scol: i})
	}
	if src.Window != "" {
		// A windowed source's key row ends with its window (windowed.go).
		n := len(src.Schema.Key)
		sc.cols = append(sc.cols, scopeCol{src: name, name: "WINDOWSTART", typ: typeBigInt, key: true, idx: n},
			scopeCol{src: name, name: "WINDOWEND", typ: typeBigInt, key: true, idx: n + 1})
		sc.winKey = n + 1
	}
	return sc
}

// items expands * and names every select item as ksqlDB does: the alias,
// else the column's name, else KSQL_COL_<n>.
func (p *Program) items(q *Select, src *Source, alias string) ([]item, error) {
	var out []item
	n := 0
	taken := map[string]bool{}
	for _, it := range q.Items {
		if it.Alias != "" {
			taken[it.Alias] = true
		}
	}
	for _, it := range q.Items {
		if it.Star {
			if it.Of != "" && it.Of != src.Name && it.Of != alias {
				return nil, errAt(it.Pos, "unknown source '%s'", it.Of)
			}
			cols := append(append([]Column(nil), src.Schema.Key...), src.Schema.Value...)
			if len(q.PartBy) > 0 {
				// Under PARTITION BY, * lists the value columns, then the
				// old key columns, which move into the value.
				cols = append(append([]Column(nil), src.Schema.Value...), src.Schema.Key...)
			}
			for _, c := range cols {
				out = append(out, item{pos: it.Pos, name: c.Name, expr: &ColumnRef{Pos: it.Pos, Name: c.Name}})
			}
			continue
		}
		name := it.Alias
		if name == "" {
			switch x := it.Expr.(type) {
			case *ColumnRef:
				name = x.Name
			case *Deref:
				name = x.Field
			default:
				for {
					name = "KSQL_COL_" + strconv.Itoa(n)
					n++
					if !taken[name] {
						break
					}
				}
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

func hasAggregate(e Expr) bool {
	found := false
	walk(e, func(x Expr) bool {
		if c, ok := x.(*Call); ok && aggregateNames[c.Name] {
			found = true
		}
		return !found
	})
	return found
}

func (p *Program) query(q *Select, sinkName string) (*output, error) {
	if q.HasLimit {
		return nil, unsupported(q.LimitPos, "LIMIT")
	}
	src, ok := p.sources[q.From.Name]
	if !ok {
		return nil, errAt(q.From.Pos, "%s does not exist", q.From.Name)
	}
	src.used = true
	if src.Window != "" && src.Table && !strings.HasPrefix(sinkName, "TRANSIENT_") {
		return nil, errAt(q.From.Pos, "a persistent query cannot read windowed table %s (ksqlDB refuses it too)", src.Name)
	}
	if err := p.checkWindowedJoins(q, src); err != nil {
		return nil, err
	}
	if src.Window != "" {
		switch {
		case src.Table:
			return nil, unsupported(q.From.Pos, "reading a windowed table")
		case len(q.Joins) > 0:
			return nil, unsupported(q.Joins[0].Pos, "joins of windowed sources")
		case len(q.GroupBy) > 0 || len(q.PartBy) > 0 || q.Window != nil:
			return nil, unsupported(q.From.Pos, "GROUP BY, PARTITION BY or WINDOW over a windowed source")
		case strings.HasPrefix(sinkName, "TRANSIENT_"):
			return nil, unsupported(q.From.Pos, "a push query of a windowed source")
		}
	}
	rel, err := p.sourceRelation(src, q.From.Alias)
	if err != nil {
		return nil, err
	}
	for i := range q.Joins {
		if rel, err = p.join(q, rel, &q.Joins[i]); err != nil {
			return nil, err
		}
	}
	var items []item
	if len(q.Joins) > 0 {
		items, err = p.joinItems(q, rel.sources)
	} else {
		items, err = p.items(q, src, q.From.Alias)
	}
	if err != nil {
		return nil, err
	}
	agg := len(q.GroupBy) > 0
	if !agg {
		for _, it := range items {
			if hasAggregate(it.expr) {
				agg = true
			}
		}
	}
	if agg {
		if src.Window != "" {
			return nil, unsupported(q.From.Pos, "aggregating a windowed source")
		}
		return p.aggregate(q, rel, items, sinkName)
	}
	if q.Window != nil {
		return nil, errAt(q.Window.Pos, "WINDOW clause requires a GROUP BY clause")
	}
	if q.Having != nil {
		return nil, errAt(q.Having.exprPos(), "HAVING requires a GROUP BY clause")
	}
	if q.Emit == "FINAL" {
		return nil, errAt(q.EmitPos, "EMIT FINAL is only supported for windowed aggregations")
	}
	keys := rel.keys
	if len(q.Joins) > 0 && !rel.fkKeys {
		keys = []Expr{pickJoinKey(items, rel.keys)}
	}
	if rel.synthKey && !selectsKey(items, keys[0]) {
		star := false
		for _, it := range q.Items {
			star = star || it.Star && it.Of == ""
		}
		if !star {
			return nil, errAt(q.Pos, "the query used to build `%s` must include the join expression ROWKEY in its projection (eg, SELECT ROWKEY...): ROWKEY is the synthetic key of a FULL OUTER join", sinkName)
		}
		items = append([]item{{pos: q.Pos, name: "ROWKEY", expr: keys[0]}}, items...)
	}
	out, err := p.projectFrom(q, rel.sc, rel.asStream(), rel.table, keys, rel.keyIsRecordKey, rel.nkey, rel.nval, items, sinkName)
	if err == nil && src.Window != "" {
		out.from = src
	}
	return out, err
}

// keyItems splits items into the ones that become the key, in the order
// of keys, and the rest; every key must be selected.
func splitKey(items []item, keys []Expr, keyNames []string, sinkName string) (keyIdx []int, valIdx []int, err error) {
	keyIdx = make([]int, len(keys))
	for i := range keyIdx {
		keyIdx[i] = -1
	}
	for i, it := range items {
		isKey := false
		for j := range keys {
			if !sameKeyExpr(keys[j], it.expr) {
				continue
			}
			if keyIdx[j] >= 0 {
				return nil, nil, errAt(it.pos, "the projection contains a key column (`%s`) more than once, aliased as: %s and %s", keyNames[j], items[keyIdx[j]].name, it.name)
			}
			keyIdx[j] = i
			isKey = true
			break
		}
		if !isKey {
			valIdx = append(valIdx, i)
		}
	}
	for j, k := range keyIdx {
		if k < 0 {
			return nil, nil, errAt(keys[j].exprPos(), "the query used to build `%s` must include the key column %s in its projection (eg, SELECT %s...)", sinkName, keyNames[j], keyNames[j])
		}
	}
	return keyIdx, valIdx, nil
}

func selectsKey(items []item, k Expr) bool {
	for _, it := range items {
		if sameKeyExpr(k, it.expr) {
			return true
		}
	}
	return false
}

// sameKeyExpr matches a select item with a key expression: columns by
// name, and by source where both are qualified; other expressions by
// their canonical text.
func sameKeyExpr(k, e Expr) bool {
	a, ok1 := k.(*ColumnRef)
	b, ok2 := e.(*ColumnRef)
	if ok1 && ok2 {
		return a.Name == b.Name && (a.Source == "" || b.Source == "" || a.Source == b.Source)
	}
	return exprString(k) == exprString(e)
}

func nameOf(e Expr) string {
	if c, ok := e.(*ColumnRef); ok {
		return c.Name
	}
	return exprString(e)
}

// projectFrom plans the stateless part of a query over in, whose rows sc
// describes; keys are the key expressions unless PARTITION BY sets them.
//
// keyIsRecordKey says the key items read the record's key as it is, as a
// join's do: either side's join expression stands for the key, and in an
// outer join the side that is missing reads NULL, but the key does not.
func (p *Program) projectFrom(q *Select, sc *scope, in dsl.KStream[Row, Row], table bool, srcKeys []Expr, keyIsRecordKey bool, nkey, nval int, items []item, sinkName string) (*output, error) {
	sc.noAgg = "a query without GROUP BY"
	c := &compiler{sc: sc}
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
	var keys []Expr
	var keyNames []string
	if len(q.PartBy) > 0 {
		if table {
			return nil, errAt(q.PartBy[0].exprPos(), "PARTITION BY is not supported on tables")
		}
		for _, e := range q.PartBy {
			if l, ok := e.(*Literal); ok && l.Null {
				if len(q.PartBy) > 1 {
					return nil, errAt(e.exprPos(), "PARTITION BY NULL cannot be combined with other expressions")
				}
				break
			}
			keys = append(keys, e)
			keyNames = append(keyNames, nameOf(e))
		}
	} else {
		for _, k := range srcKeys {
			keys = append(keys, k)
			keyNames = append(keyNames, nameOf(k))
		}
	}
	star := false
	for _, it := range q.Items {
		star = star || it.Star
	}
	if len(q.PartBy) > 0 && star {
		// Under SELECT *, a PARTITION BY expression the projection leaves
		// out still becomes the key, named as an unaliased item would be.
		n := 0
		for _, it := range items {
			if len(it.name) > 9 && it.name[:9] == "KSQL_COL_" {
				n++
			}
		}
		var extra []item
		for _, k := range keys {
			ks := exprString(k)
			found := false
			for _, it := range items {
				if exprString(it.expr) == ks {
					found = true
				}
			}
			if !found {
				name := "KSQL_COL_" + strconv.Itoa(n)
				if cr, ok := k.(*ColumnRef); ok && !pseudoColumns[cr.Name] {
					name = cr.Name
				} else {
					n++
				}
				extra = append(extra, item{pos: k.exprPos(), name: name, expr: k})
			}
		}
		items = append(extra, items...)
	}
	if p.props["ksql.new.query.planner.enabled"] == "true" && len(q.PartBy) == 0 && !table {
		// ksqlDB's new planner lets a stream projection leave the key
		// out: the result has no key columns.
		var kept []Expr
		var names []string
		for i, k := range keys {
			if selectsKey(items, k) {
				kept, names = append(kept, k), append(names, keyNames[i])
			}
		}
		keys, keyNames = kept, names
	}
	keyIdx, valIdx, err := splitKey(items, keys, keyNames, sinkName)
	if err != nil {
		return nil, err
	}
	out := &output{table: table}
	var keyFns, valFns []evalFn
	var keyVal []bool
	var tfs []tableFn
	for _, i := range keyIdx {
		ce, err := c.compile(items[i].expr)
		if err != nil {
			return nil, err
		}
		if hasTableFn(items[i].expr) {
			return nil, unsupported(items[i].pos, "a table function in a key column")
		}
		if keyIsRecordKey && len(q.PartBy) == 0 {
			k := len(keyFns)
			ce.fn = func(e *env) Value { return e.key[k] }
		}
		keyFns = append(keyFns, ce.fn)
		keyVal = append(keyVal, len(q.PartBy) > 0 && readsValue(sc, items[i].expr))
		out.schema.Key = append(out.schema.Key, Column{Name: items[i].name, Type: ce.typ, Key: true})
	}
	if w := sc.winKey - 1; w >= 0 {
		// The window rides after the key columns to the sink.
		keyFns = append(keyFns, func(e *env) Value { return e.key[w] }, func(e *env) Value { return e.key[w+1] })
		keyVal = append(keyVal, false, false)
	}
	for _, i := range valIdx {
		if call, ok := items[i].expr.(*Call); ok && tableFunctions[call.Name] {
			tf, err := c.tableFunction(call)
			if err != nil {
				return nil, err
			}
			tf.slot = len(valFns)
			tfs = append(tfs, tf)
			valFns = append(valFns, nil)
			out.schema.Value = append(out.schema.Value, Column{Name: items[i].name, Type: tf.typ})
			continue
		}
		if hasTableFn(items[i].expr) {
			return nil, unsupported(items[i].pos, "a table function inside an expression")
		}
		ce, err := c.compile(items[i].expr)
		if err != nil {
			return nil, err
		}
		if ce.typ.Kind == KindNull {
			return nil, errAt(items[i].pos, "cannot infer the type of column %s: its expression is NULL", items[i].name)
		}
		valFns = append(valFns, ce.fn)
		out.schema.Value = append(out.schema.Value, Column{Name: items[i].name, Type: ce.typ})
	}
	if len(tfs) > 0 && table {
		return nil, unsupported(q.Pos, "table functions on tables")
	}
	sel := &selectSpec{where: where, keys: keyFns, keyReadsValue: keyVal, vals: valFns, tfs: tfs, table: table, needMeta: usesMeta(q), nkey: nkey, nval: nval, rekeys: len(q.PartBy) > 0}
	if len(q.PartBy) > 0 {
		out.stream = in.Process(processor.SupplierFunc[Row, Row, Row, Row](func() processor.Processor[Row, Row, Row, Row] {
			return &selectProc{spec: sel}
		}))
	} else {
		out.stream = in.ProcessValues(processor.SupplierFunc[Row, Row, Row, Row](func() processor.Processor[Row, Row, Row, Row] {
			return &selectProc{spec: sel}
		}))
	}
	return out, nil
}

func hasTableFn(e Expr) bool {
	found := false
	walk(e, func(x Expr) bool {
		if c, ok := x.(*Call); ok && tableFunctions[c.Name] {
			found = true
		}
		return !found
	})
	return found
}

func usesMeta(q *Select) bool { return usesColumns(q, "ROWPARTITION", "ROWOFFSET") }

// usesColumns says the query's expressions name one of the columns.
func usesColumns(q *Select, names ...string) bool {
	found := false
	check := func(e Expr) {
		walk(e, func(x Expr) bool {
			if c, ok := x.(*ColumnRef); ok {
				for _, n := range names {
					found = found || c.Name == n
				}
			}
			return !found
		})
	}
	for _, it := range q.Items {
		check(it.Expr)
	}
	check(q.Where)
	for _, e := range q.PartBy {
		check(e)
	}
	for _, e := range q.GroupBy {
		check(e)
	}
	return found
}

// tableFn is a compiled table function in a select list: its array
// argument, and the value slot its elements go to.
type tableFn struct {
	arg  evalFn
	typ  *Type
	slot int
}

func (c *compiler) tableFunction(x *Call) (tableFn, error) {
	if x.Name != "EXPLODE" {
		return tableFn{}, unsupported(x.Pos, "table function "+x.Name)
	}
	if len(x.Args) != 1 {
		return tableFn{}, errAt(x.Pos, "EXPLODE takes one argument, got %d", len(x.Args))
	}
	a, err := c.compile(x.Args[0])
	if err != nil {
		return tableFn{}, err
	}
	if a.typ.Kind != Array {
		return tableFn{}, errAt(x.Pos, "EXPLODE needs an ARRAY, got %s", a.typ)
	}
	return tableFn{arg: a.fn, typ: a.typ.Elem}, nil
}

type selectSpec struct {
	where      evalFn
	keys, vals []evalFn
	tfs        []tableFn
	table      bool
	needMeta   bool
	nkey, nval int  // columns of the input
	rekeys     bool // PARTITION BY computes a new key
	// keyReadsValue says a PARTITION BY key reads a value column: it is
	// NULL for a null value, as in ksqlDB, whose evaluation fails there.
	keyReadsValue []bool
}

// readsValue says e reads a value column of sc.
func readsValue(sc *scope, e Expr) bool {
	found := false
	walk(e, func(x Expr) bool {
		if r, ok := x.(*ColumnRef); ok {
			for _, c := range sc.cols {
				if c.name == r.Name && (r.Source == "" || c.src == r.Source) && !c.key {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

// selectProc evaluates a stateless query per record: the filter, then the
// key and value columns, straight from the input row into new rows.
type selectProc struct {
	e    env // reused: a local would escape into the compiled closures
	spec *selectSpec
	ctx  processor.Context[Row, Row]
	nkey Row
	nval Row
}

func (s *selectProc) Init(ctx processor.Context[Row, Row]) error {
	s.ctx = ctx
	return nil
}

func (s *selectProc) Close() error { return nil }

func (s *selectProc) Process(rec processor.Record[Row, Row]) error {
	sp := s.spec
	if rec.NullValue && sp.table {
		return s.ctx.Forward(processor.WithNullValue[Row](rec))
	}
	s.e = env{key: rec.Key, val: rec.Value, ts: rec.Timestamp, vars: s.e.vars}
	if len(s.e.key) < sp.nkey {
		// A null key reads as all-NULL key columns.
		if s.nkey == nil {
			s.nkey = make(Row, sp.nkey)
		}
		s.e.key = s.nkey
	}
	if rec.NullValue {
		// ksqlDB passes a stream's null values through a projection as
		// null values, and a filter drops them.
		if sp.where != nil {
			return nil
		}
		if len(s.nval) < sp.nval {
			s.nval = make(Row, sp.nval)
		}
		s.e.val = s.nval
		key := make(Row, len(sp.keys))
		for i, f := range sp.keys {
			if !sp.keyReadsValue[i] {
				key[i] = f(&s.e)
			}
		}
		return s.ctx.Forward(processor.Record[Row, Row]{Key: key, Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: nullKey(key), NullValue: true})
	}
	if sp.needMeta {
		if md, ok := s.ctx.RecordMetadata(); ok {
			s.e.part, s.e.off = md.Partition, md.Offset
		}
	}
	if sp.where != nil {
		if v := sp.where(&s.e); !v.Valid || v.I == 0 {
			if sp.table {
				return s.ctx.Forward(processor.WithNullValue[Row](rec))
			}
			return nil
		}
	}
	key := make(Row, len(sp.keys))
	for i, f := range sp.keys {
		key[i] = f(&s.e)
	}
	out := processor.Record[Row, Row]{Key: key, Timestamp: rec.Timestamp, Headers: rec.Headers, NullKey: nullKey(key) || rec.NullKey && !sp.rekeys}
	if len(sp.tfs) == 0 {
		val := make(Row, len(sp.vals))
		for i, f := range sp.vals {
			val[i] = f(&s.e)
		}
		out.Value = val
		return s.ctx.Forward(out)
	}
	arrays := make([][]Value, len(sp.tfs))
	n := 0
	for i, tf := range sp.tfs {
		arrays[i] = tf.arg(&s.e).A
		n = max(n, len(arrays[i]))
	}
	base := make(Row, len(sp.vals))
	for i, f := range sp.vals {
		if f != nil {
			base[i] = f(&s.e)
		}
	}
	for k := 0; k < n; k++ {
		val := append(Row(nil), base...)
		for i, tf := range sp.tfs {
			if k < len(arrays[i]) {
				val[tf.slot] = arrays[i][k]
			}
		}
		out.Value = val
		if err := s.ctx.Forward(out); err != nil {
			return err
		}
	}
	return nil
}

// nullKey says a computed key is written as a null key: no key columns,
// or a single one that is NULL. (A null input key passing through stays
// null, whatever its columns; see selectProc.)
func nullKey(k Row) bool {
	if len(k) == 0 {
		return true
	}
	return len(k) == 1 && !k[0].Valid
}

// checkOutput applies ksqlDB's rules to a query's result schema.
func checkOutput(p Pos, s Schema) error {
	if len(s.Value) == 0 {
		return errAt(p, "the projection contains no value columns")
	}
	for _, c := range append(append([]Column(nil), s.Key...), s.Value...) {
		switch c.Name {
		case "ROWTIME", "ROWPARTITION", "ROWOFFSET", "WINDOWSTART", "WINDOWEND":
			if c.Name != "ROWTIME" || c.Key {
				return errAt(p, "`%s` is a reserved column name; alias the column", c.Name)
			}
		}
	}
	for _, c := range s.Key {
		if hasMap(c.Type) {
			return errAt(p, "map keys, including types that contain maps, are not supported: key column %s is %s", c.Name, c.Type)
		}
	}
	return nil
}

var pseudoColumns = map[string]bool{"ROWTIME": true, "ROWPARTITION": true, "ROWOFFSET": true, "WINDOWSTART": true, "WINDOWEND": true}

func hasMap(t *Type) bool {
	switch t.Kind {
	case Map:
		return true
	case Array:
		return hasMap(t.Elem)
	case Struct:
		for _, f := range t.Fields {
			if hasMap(f.Type) {
				return true
			}
		}
	}
	return false
}

func (p *Program) sinkFormats(s *Source, w withProps) error {
	s.KeyFormat, s.ValueFormat = w.keyFormat, w.valFormat
	if len(s.Schema.Key) == 0 && s.KeyFormat != FormatNone {
		s.KeyFormat = FormatKafka
	}
	if len(s.Schema.Key) > 0 && s.KeyFormat == FormatNone {
		s.KeyFormat = FormatKafka
	}
	s.keySerde = newRowSerdeDelim(s.Schema.Key, s.KeyFormat, true, true, w.keyDelim)
	s.valueSerde = newRowSerdeDelim(s.Schema.Value, s.ValueFormat, false, w.wrap, w.valDelim)
	if err := s.keySerde.check(s.pos, "key"); err != nil {
		return err
	}
	return s.valueSerde.check(s.pos, "value")
}

func (p *Program) createAs(x *CreateSource) error {
	if _, exists := p.sources[x.Name]; exists && x.IfNotExists {
		return nil
	}
	if _, exists := p.sources[x.Name]; exists && !x.OrReplace {
		return errAt(x.Pos, "cannot add %s '%s': a source with the same name already exists", map[bool]string{true: "table", false: "stream"}[x.Table], x.Name)
	}
	from, ok := p.sources[x.Query.From.Name]
	if !ok {
		return errAt(x.Query.From.Pos, "%s does not exist", x.Query.From.Name)
	}
	out, err := p.query(x.Query, x.Name)
	if err != nil {
		return err
	}
	if err := checkOutput(x.Query.Pos, out.schema); err != nil {
		return err
	}
	if _, ok := x.Props["KEY_FORMAT"]; ok && len(out.schema.Key) == 0 {
		return errAt(x.PropPos["KEY_FORMAT"], "key format specified for a stream without key columns")
	}
	if out.table != x.Table {
		if out.table {
			return errAt(x.Pos, "invalid result type: your SELECT query produces a TABLE; please use CREATE TABLE AS SELECT statement instead")
		}
		return errAt(x.Pos, "invalid result type: your SELECT query produces a STREAM; please use CREATE STREAM AS SELECT statement instead")
	}
	// The sink's formats are needed before the schema is final only for
	// defaults; compute them with the schema in place.
	s, err := p.sinkSource(x, from, out)
	if err != nil {
		return err
	}
	s.used = true
	if _, err := p.register(s, x.OrReplace, x.IfNotExists); err != nil {
		return err
	}
	p.write(s, out)
	return nil
}

func (p *Program) sinkSource(x *CreateSource, from *Source, out *output) (*Source, error) {
	w, err := p.props2(x.Pos, x.Props, x.PropPos, true)
	if err != nil {
		return nil, err
	}
	s := &Source{Name: x.Name, Table: x.Table, Topic: x.Name, Partitions: w.partitions, tsCol: -1, pos: x.Pos, Schema: out.schema, Window: out.window, WindowSize: out.wsize, pull: out.pull}
	if out.from != nil {
		s.Window, s.WindowSize = out.from.Window, out.from.WindowSize
	}
	if w.hasTopic {
		s.Topic = w.topic
	}
	if w.timestamp != "" {
		key, idx, ok := out.schema.find(w.timestamp)
		cols := out.schema.Value
		if key {
			cols = out.schema.Key
		}
		if !ok || idx >= len(cols) || cols[idx].Name != w.timestamp {
			return nil, errAt(w.tsPos, "the TIMESTAMP column set in the WITH clause does not exist in the schema: '%s'", w.timestamp)
		}
		if t := cols[idx].Type.Kind; t != BigInt && t != Timestamp {
			return nil, unsupported(w.tsPos, "a sink TIMESTAMP column of type "+t.String())
		}
		if out.window != "" {
			return nil, unsupported(w.tsPos, "TIMESTAMP on a windowed sink")
		}
		s.tsCol, s.tsKey = idx, key
		// The sink's records take their time from the column, as do the
		// readers of the sink.
		out.stream = out.stream.ProcessValues(processor.SupplierFunc[Row, Row, Row, Row](func() processor.Processor[Row, Row, Row, Row] {
			return &timestampProc{col: idx, key: key}
		}))
	}
	if w.keyFormat == 0 {
		w.keyFormat = from.KeyFormat
		if from.KeyFormat == FormatNone {
			w.keyFormat = 0
			if w.keyFormat, err = p.defaultFormat("key"); err != nil {
				return nil, err
			}
		}
	}
	if w.valFormat == 0 {
		w.valFormat = from.ValueFormat
	}
	// A sink in its source's format keeps its source's delimiters.
	if !w.hasValDelim && w.valFormat == from.ValueFormat {
		w.valDelim = from.valueSerde.delim
	}
	if !w.hasKeyDelim && w.keyFormat == from.KeyFormat {
		w.keyDelim = from.keySerde.delim
	}
	if !w.wrap && len(out.schema.Value) != 1 {
		return nil, errAt(x.Pos, "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas")
	}
	if err := p.sinkFormats(s, w); err != nil {
		return nil, err
	}
	s.valueSerde.prune()
	return s, nil
}

func (p *Program) write(s *Source, out *output) {
	p.queries++
	ks := serde.Serde[Row](s.keySerde)
	vs := serde.Serde[Row](s.valueSerde)
	if out.from != nil {
		out.stream.To(s.Topic, dsl.ProducedWith(serde.Serde[Row](s.windowedKeys()), vs))
		return
	}
	if out.window != "" {
		var wks serde.Serde[dsl.Windowed[Row]]
		if out.window == "SESSION" {
			wks = serde.SessionWindowed(ks)
		} else {
			wks = serde.TimeWindowed(ks, msDuration(out.wsize))
		}
		out.wstream.To(s.Topic, dsl.ProducedWith(wks, vs))
		return
	}
	out.stream.To(s.Topic, dsl.ProducedWith(ks, vs))
}

func (p *Program) insertInto(x *InsertInto) error {
	s, ok := p.sources[x.Name]
	if !ok {
		return errAt(x.Pos, "%s does not exist", x.Name)
	}
	if s.Table {
		return errAt(x.Pos, "INSERT INTO can only be used to insert into a stream; %s is a table", x.Name)
	}
	if s.ReadOnly {
		return errAt(x.Pos, "cannot insert into read-only stream: %s", x.Name)
	}
	out, err := p.query(x.Query, x.Name)
	if err != nil {
		return err
	}
	if out.table {
		return errAt(x.Pos, "INSERT INTO can only insert the results of a stream query; this query produces a table")
	}
	if out.window != "" || out.from != nil || s.Window != "" {
		return unsupported(x.Pos, "INSERT INTO with windowed keys")
	}
	if err := sameSchema(out.schema, s.Schema); err != nil {
		return errAt(x.Pos, "incompatible schema between results and sink: %v", err)
	}
	s.used = true
	p.write(s, out)
	return nil
}

func sameSchema(a, b Schema) error {
	if len(a.Key) != len(b.Key) || len(a.Value) != len(b.Value) {
		return fmt.Errorf("result schema is %s; sink schema is %s", a.String(), b.String())
	}
	for i := range a.Key {
		if a.Key[i].Name != b.Key[i].Name || !a.Key[i].Type.equal(b.Key[i].Type) {
			return fmt.Errorf("result schema is %s; sink schema is %s", a.String(), b.String())
		}
	}
	for i := range a.Value {
		if a.Value[i].Name != b.Value[i].Name || !a.Value[i].Type.equal(b.Value[i].Type) {
			return fmt.Errorf("result schema is %s; sink schema is %s", a.String(), b.String())
		}
	}
	return nil
}

// timestampProc sets a record's timestamp from a value column, or a key
// column.
type timestampProc struct {
	col int
	key bool
	ctx processor.Context[Row, Row]
}

func (t *timestampProc) Init(ctx processor.Context[Row, Row]) error {
	t.ctx = ctx
	return nil
}

func (t *timestampProc) Close() error { return nil }

func (t *timestampProc) Process(rec processor.Record[Row, Row]) error {
	row, null := rec.Value, rec.NullValue
	if t.key {
		row, null = rec.Key, rec.NullKey || len(rec.Key) <= t.col
	}
	if !null && row[t.col].Valid {
		if row[t.col].I < 0 {
			t.ctx.DropRecord("invalid timestamp")
			return nil
		}
		rec.Timestamp = row[t.col].I
	}
	return t.ctx.Forward(rec)
}
