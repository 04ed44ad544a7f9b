package sql

import (
	"strconv"
	"strings"
)

// Parse splits src into statements and parses each. The first error stops
// it; errors carry the line and column and say what was expected.
func Parse(src string) ([]Statement, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	var out []Statement
	for {
		for p.op(";") {
		}
		if p.peek().kind == tEOF {
			return out, nil
		}
		s, err := p.statement()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		if p.peek().kind != tEOF && !p.isOp(";") {
			return nil, p.expected("';' or end of input")
		}
	}
}

// ParseExpr parses one expression.
func ParseExpr(src string) (Expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, p.expected("end of expression")
	}
	return e, nil
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekN(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isKw(kw string) bool { t := p.peek(); return t.kind == tIdent && t.text == kw }
func (p *parser) isOp(op string) bool { t := p.peek(); return t.kind == tOp && t.text == op }

func (p *parser) kw(kw string) bool {
	if p.isKw(kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) op(op string) bool {
	if p.isOp(op) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expected(what string) error {
	t := p.peek()
	return errAt(t.pos, "expected %s, found %s", what, t)
}

func (p *parser) wantKw(kw string) error {
	if !p.kw(kw) {
		return p.expected(kw)
	}
	return nil
}

func (p *parser) wantOp(op string) error {
	if !p.op(op) {
		return p.expected("'" + op + "'")
	}
	return nil
}

// reserved words cannot be unquoted identifiers where an alias may follow.
var reserved = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "GROUP": true, "BY": true, "HAVING": true, "WINDOW": true,
	"PARTITION": true, "EMIT": true, "LIMIT": true, "JOIN": true, "INNER": true, "LEFT": true, "RIGHT": true,
	"FULL": true, "OUTER": true, "ON": true, "WITHIN": true, "AND": true, "OR": true, "NOT": true, "AS": true,
	"CASE": true, "WHEN": true, "THEN": true, "ELSE": true, "END": true, "IS": true, "NULL": true, "IN": true,
	"LIKE": true, "BETWEEN": true, "TRUE": true, "FALSE": true, "CAST": true, "WITH": true, "INTO": true,
	"CREATE": true, "INSERT": true,
}

func (p *parser) ident(what string) (string, Pos, error) {
	t := p.peek()
	if t.kind == tQuoted || t.kind == tIdent && !reserved[t.text] {
		p.i++
		return t.text, t.pos, nil
	}
	return "", t.pos, p.expected(what)
}

// fieldName reads a STRUCT field name, where keywords are names too.
func (p *parser) fieldName() (string, Pos, error) {
	t := p.peek()
	if t.kind == tQuoted || t.kind == tIdent {
		p.i++
		return t.text, t.pos, nil
	}
	return "", t.pos, p.expected("a field name")
}

func (p *parser) statement() (Statement, error) {
	t := p.peek()
	switch {
	case p.kw("CREATE"):
		return p.create(t.pos)
	case p.kw("INSERT"):
		if err := p.wantKw("INTO"); err != nil {
			return nil, err
		}
		name, _, err := p.ident("a stream name")
		if err != nil {
			return nil, err
		}
		if p.isOp("(") || p.isKw("VALUES") {
			return p.insertValues(t.pos, name)
		}
		if p.kw("WITH") {
			if _, _, err := p.props(); err != nil {
				return nil, err
			}
		}
		if !p.isKw("SELECT") {
			return nil, p.expected("SELECT")
		}
		q, err := p.selectStmt()
		if err != nil {
			return nil, err
		}
		return &InsertInto{Pos: t.pos, Name: name, Query: q}, nil
	case p.kw("EXPLAIN"):
		s, err := p.statement()
		if err != nil {
			return nil, err
		}
		return &Explain{Pos: t.pos, Stmt: s}, nil
	case t.kind == tIdent:
		switch t.text {
		case "SELECT":
			q, err := p.selectStmt()
			if err != nil {
				return nil, err
			}
			switch q.Emit {
			case "":
				return &PullQuery{Pos: t.pos, Query: q}, nil
			case "FINAL":
				return nil, unsupported(q.EmitPos, "EMIT FINAL in a push query")
			}
			return &PushQuery{Pos: t.pos, Query: q}, nil
		case "DROP":
			return p.drop()
		case "SET", "UNSET":
			return p.set()
		case "ALTER":
			return p.alter()
		case "TERMINATE", "DEFINE", "UNDEFINE", "DESCRIBE", "SHOW", "LIST", "PRINT", "ASSERT", "PAUSE", "RESUME", "RUN":
			return nil, unsupported(t.pos, t.text+" statements")
		}
	}
	return nil, p.expected("CREATE, INSERT or EXPLAIN")
}

// insertValues reads the rest of INSERT INTO name [(columns)] VALUES (...).
func (p *parser) insertValues(pos Pos, name string) (Statement, error) {
	s := &InsertValues{Pos: pos, Name: name}
	if p.op("(") {
		for {
			c, _, err := p.ident("a column name")
			if err != nil {
				return nil, err
			}
			s.Columns = append(s.Columns, c)
			if p.op(",") {
				continue
			}
			if err := p.wantOp(")"); err != nil {
				return nil, p.expected("',' or ')'")
			}
			break
		}
	}
	if err := p.wantKw("VALUES"); err != nil {
		return nil, err
	}
	if err := p.wantOp("("); err != nil {
		return nil, err
	}
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		s.Values = append(s.Values, e)
		if p.op(",") {
			continue
		}
		if err := p.wantOp(")"); err != nil {
			return nil, p.expected("',' or ')'")
		}
		return s, nil
	}
}

// alter reads ALTER STREAM|TABLE name ADD [COLUMN] name type, ...
func (p *parser) alter() (Statement, error) {
	s := &AlterSource{Pos: p.next().pos}
	switch {
	case p.kw("STREAM"):
	case p.kw("TABLE"):
		s.Table = true
	default:
		return nil, p.expected("STREAM or TABLE")
	}
	name, _, err := p.ident("a stream or table name")
	if err != nil {
		return nil, err
	}
	s.Name = name
	for {
		if err := p.wantKw("ADD"); err != nil {
			return nil, err
		}
		p.kw("COLUMN")
		c, err := p.columnDef()
		if err != nil {
			return nil, err
		}
		if c.Key {
			return nil, errAt(c.Pos, "ALTER cannot add a key column")
		}
		s.Columns = append(s.Columns, c)
		if !p.op(",") {
			return s, nil
		}
	}
}

// set reads SET 'name' = 'value' or UNSET 'name'.
func (p *parser) set() (Statement, error) {
	t := p.next()
	s := &SetProperty{Pos: t.pos, Unset: t.text == "UNSET"}
	n := p.peek()
	if n.kind != tString {
		return nil, p.expected("a property name in quotes")
	}
	p.i++
	s.Name = n.text
	if s.Unset {
		return s, nil
	}
	if err := p.wantOp("="); err != nil {
		return nil, err
	}
	v := p.peek()
	if v.kind != tString {
		return nil, p.expected("a property value in quotes")
	}
	p.i++
	s.Value = v.text
	return s, nil
}

func (p *parser) drop() (Statement, error) {
	pos := p.peek().pos
	p.i++
	s := &DropSource{Pos: pos}
	switch {
	case p.kw("STREAM"):
	case p.kw("TABLE"):
		s.Table = true
	case p.isKw("TYPE"), p.isKw("CONNECTOR"):
		return nil, unsupported(p.peek().pos, "DROP "+p.peek().text)
	default:
		return nil, p.expected("STREAM or TABLE")
	}
	if p.kw("IF") {
		if err := p.wantKw("EXISTS"); err != nil {
			return nil, err
		}
		s.IfExists = true
	}
	name, _, err := p.ident("a stream or table name")
	if err != nil {
		return nil, err
	}
	s.Name = name
	if p.kw("DELETE") {
		if err := p.wantKw("TOPIC"); err != nil {
			return nil, err
		}
		s.DeleteTopic = true
	}
	return s, nil
}

func (p *parser) create(pos Pos) (Statement, error) {
	s := &CreateSource{Pos: pos}
	if p.kw("OR") {
		if err := p.wantKw("REPLACE"); err != nil {
			return nil, err
		}
		s.OrReplace = true
	}
	switch {
	case p.kw("STREAM"):
	case p.kw("TABLE"):
		s.Table = true
	case p.kw("SOURCE"):
		s.ReadOnly = true
		switch {
		case p.kw("STREAM"):
		case p.kw("TABLE"):
			s.Table = true
		default:
			return nil, p.expected("STREAM or TABLE")
		}
	case p.isKw("TYPE"), p.isKw("CONNECTOR"), p.isKw("FUNCTION"):
		return nil, unsupported(p.peek().pos, "CREATE "+p.peek().text)
	default:
		return nil, p.expected("STREAM or TABLE")
	}
	if p.kw("IF") {
		if err := p.wantKw("NOT"); err != nil {
			return nil, err
		}
		if err := p.wantKw("EXISTS"); err != nil {
			return nil, err
		}
		s.IfNotExists = true
	}
	name, _, err := p.ident("a stream or table name")
	if err != nil {
		return nil, err
	}
	s.Name = name
	if p.op("(") {
		for {
			c, err := p.columnDef()
			if err != nil {
				return nil, err
			}
			s.Columns = append(s.Columns, c)
			if p.op(",") {
				continue
			}
			if err := p.wantOp(")"); err != nil {
				return nil, p.expected("',' or ')'")
			}
			break
		}
	}
	if p.kw("WITH") {
		if s.Props, s.PropPos, err = p.props(); err != nil {
			return nil, err
		}
	}
	if p.kw("AS") {
		if s.Columns != nil {
			return nil, errAt(pos, "CREATE ... AS SELECT takes no column list")
		}
		if !p.isKw("SELECT") {
			return nil, p.expected("SELECT")
		}
		if s.Query, err = p.selectStmt(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (p *parser) columnDef() (ColumnDef, error) {
	name, pos, err := p.ident("a column name")
	if err != nil {
		return ColumnDef{}, err
	}
	typ, err := p.typ()
	if err != nil {
		return ColumnDef{}, err
	}
	c := ColumnDef{Pos: pos, Name: name, Type: typ}
	switch {
	case p.kw("KEY"):
		c.Key = true
	case p.kw("PRIMARY"):
		if err := p.wantKw("KEY"); err != nil {
			return c, err
		}
		c.Key = true
	case p.isKw("HEADERS"), p.isKw("HEADER"):
		return c, unsupported(p.peek().pos, "header columns")
	}
	return c, nil
}

func (p *parser) typ() (*Type, error) {
	t := p.peek()
	if t.kind != tIdent {
		return nil, p.expected("a type")
	}
	p.i++
	switch t.text {
	case "BOOLEAN":
		return typeBool, nil
	case "INT", "INTEGER":
		return typeInt, nil
	case "BIGINT":
		return typeBigInt, nil
	case "DOUBLE":
		return typeDouble, nil
	case "VARCHAR", "STRING":
		return typeString, nil
	case "TIMESTAMP":
		return typeTS, nil
	case "DATE":
		return &Type{Kind: Date}, nil
	case "TIME":
		return &Type{Kind: Time}, nil
	case "ARRAY":
		if err := p.wantOp("<"); err != nil {
			return nil, err
		}
		e, err := p.typ()
		if err != nil {
			return nil, err
		}
		if err := p.wantOp(">"); err != nil {
			return nil, err
		}
		return arrayOf(e), nil
	case "MAP":
		if err := p.wantOp("<"); err != nil {
			return nil, err
		}
		k, err := p.typ()
		if err != nil {
			return nil, err
		}
		if err := p.wantOp(","); err != nil {
			return nil, err
		}
		v, err := p.typ()
		if err != nil {
			return nil, err
		}
		if err := p.wantOp(">"); err != nil {
			return nil, err
		}
		return &Type{Kind: Map, Key: k, Elem: v}, nil
	case "STRUCT":
		if err := p.wantOp("<"); err != nil {
			return nil, err
		}
		st := &Type{Kind: Struct}
		if p.op(">") {
			return st, nil
		}
		for {
			name, _, err := p.fieldName()
			if err != nil {
				return nil, err
			}
			ft, err := p.typ()
			if err != nil {
				return nil, err
			}
			st.Fields = append(st.Fields, Field{Name: name, Type: ft})
			if p.op(",") {
				continue
			}
			if err := p.wantOp(">"); err != nil {
				return nil, p.expected("',' or '>'")
			}
			return st, nil
		}
	case "DECIMAL":
		if err := p.wantOp("("); err != nil {
			return nil, err
		}
		var ns [2]int
		for i := range ns {
			n := p.peek()
			if n.kind != tInt {
				return nil, p.expected("a number")
			}
			p.i++
			ns[i], _ = strconv.Atoi(n.text)
			if i == 0 {
				if err := p.wantOp(","); err != nil {
					return nil, err
				}
			}
		}
		if err := p.wantOp(")"); err != nil {
			return nil, err
		}
		if ns[0] < 1 || ns[1] > ns[0] {
			return nil, errAt(t.pos, "DECIMAL(%d, %d): the precision must be at least 1 and the scale at most the precision", ns[0], ns[1])
		}
		return decimalType(ns[0], ns[1]), nil
	case "BYTES":
		return &Type{Kind: Bytes}, nil
	}
	return nil, errAt(t.pos, "expected a type, found %s", t)
}

func (p *parser) props() (map[string]Literal, map[string]Pos, error) {
	if err := p.wantOp("("); err != nil {
		return nil, nil, err
	}
	m := map[string]Literal{}
	pm := map[string]Pos{}
	for {
		t := p.peek()
		var name string
		switch t.kind {
		case tIdent, tQuoted, tString:
			name = strings.ToUpper(t.text)
			p.i++
		default:
			return nil, nil, p.expected("a property name")
		}
		if err := p.wantOp("="); err != nil {
			return nil, nil, err
		}
		v := p.peek()
		var lit Literal
		switch v.kind {
		case tString:
			lit = Literal{Pos: v.pos, Type: String, S: v.text}
		case tInt:
			n, err := strconv.ParseInt(v.text, 10, 64)
			if err != nil {
				return nil, nil, errAt(v.pos, "integer %s out of range", v.text)
			}
			lit = Literal{Pos: v.pos, Type: BigInt, I: n}
		case tIdent:
			if v.text == "TRUE" || v.text == "FALSE" {
				lit = Literal{Pos: v.pos, Type: Boolean, I: map[bool]int64{true: 1}[v.text == "TRUE"]}
				break
			}
			fallthrough
		default:
			return nil, nil, p.expected("a property value")
		}
		p.i++
		m[name] = lit
		pm[name] = t.pos
		if p.op(",") {
			continue
		}
		if err := p.wantOp(")"); err != nil {
			return nil, nil, p.expected("',' or ')'")
		}
		return m, pm, nil
	}
}

func (p *parser) selectStmt() (*Select, error) {
	s := &Select{Pos: p.peek().pos}
	if err := p.wantKw("SELECT"); err != nil {
		return nil, err
	}
	p.kw("ALL")
	if p.isKw("DISTINCT") {
		return nil, unsupported(p.peek().pos, "SELECT DISTINCT")
	}
	for {
		it, err := p.selectItem()
		if err != nil {
			return nil, err
		}
		s.Items = append(s.Items, it)
		if !p.op(",") {
			break
		}
	}
	if err := p.wantKw("FROM"); err != nil {
		return nil, p.expected("',' or FROM")
	}
	from, err := p.fromSource()
	if err != nil {
		return nil, err
	}
	s.From = from
	for {
		jpos := p.peek().pos
		kind := ""
		bare := false
		switch {
		case p.kw("JOIN"):
			kind, bare = "INNER", true
		case p.kw("INNER"):
			kind = "INNER"
		case p.kw("LEFT"):
			kind = "LEFT"
			p.kw("OUTER")
		case p.kw("RIGHT"):
			kind = "RIGHT"
			p.kw("OUTER")
		case p.kw("FULL"):
			kind = "FULL"
			p.kw("OUTER")
		case p.kw("OUTER"):
			kind = "FULL"
		}
		if kind == "" {
			break
		}
		if !bare {
			if err := p.wantKw("JOIN"); err != nil {
				return nil, err
			}
		}
		src, err := p.fromSource()
		if err != nil {
			return nil, err
		}
		j := Join{Pos: jpos, Kind: kind, Source: src}
		if p.kw("WITHIN") {
			w, err := p.within()
			if err != nil {
				return nil, err
			}
			j.Within = w
		}
		if err := p.wantKw("ON"); err != nil {
			return nil, err
		}
		if j.On, err = p.expr(); err != nil {
			return nil, err
		}
		s.Joins = append(s.Joins, j)
	}
	if p.isKw("WINDOW") {
		if s.Window, err = p.window(); err != nil {
			return nil, err
		}
	}
	if p.kw("WHERE") {
		if s.Where, err = p.expr(); err != nil {
			return nil, err
		}
	}
	if p.kw("GROUP") {
		if err := p.wantKw("BY"); err != nil {
			return nil, err
		}
		if s.GroupBy, err = p.exprList(); err != nil {
			return nil, err
		}
	}
	if p.kw("PARTITION") {
		if err := p.wantKw("BY"); err != nil {
			return nil, err
		}
		if s.PartBy, err = p.exprList(); err != nil {
			return nil, err
		}
	}
	if p.kw("HAVING") {
		if s.Having, err = p.expr(); err != nil {
			return nil, err
		}
	}
	if p.isKw("EMIT") {
		s.EmitPos = p.next().pos
		switch {
		case p.kw("CHANGES"):
			s.Emit = "CHANGES"
		case p.kw("FINAL"):
			s.Emit = "FINAL"
		default:
			return nil, p.expected("CHANGES or FINAL")
		}
	}
	if p.isKw("LIMIT") {
		s.LimitPos = p.next().pos
		s.HasLimit = true
		if p.peek().kind != tInt {
			return nil, p.expected("a number")
		}
		p.i++
	}
	return s, nil
}

func (p *parser) exprList() ([]Expr, error) {
	if p.isOp("(") {
		// GROUP BY (a, b) and GROUP BY (a + 1) * 2 both start with '(': try
		// the list form, and fall back to one expression.
		save := p.i
		p.i++
		var list []Expr
		ok := true
		for {
			e, err := p.expr()
			if err != nil {
				ok = false
				break
			}
			list = append(list, e)
			if p.op(",") {
				continue
			}
			if !p.op(")") {
				ok = false
			}
			break
		}
		if ok && len(list) > 1 && !p.isOp(",") {
			return list, nil
		}
		p.i = save
	}
	var out []Expr
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if !p.op(",") {
			return out, nil
		}
	}
}

func (p *parser) selectItem() (SelectItem, error) {
	t := p.peek()
	if p.op("*") {
		return SelectItem{Pos: t.pos, Star: true}, nil
	}
	if (t.kind == tIdent || t.kind == tQuoted) && p.peekN(1).kind == tOp && p.peekN(1).text == "." && p.peekN(2).kind == tOp && p.peekN(2).text == "*" {
		p.i += 3
		return SelectItem{Pos: t.pos, Star: true, Of: t.text}, nil
	}
	e, err := p.expr()
	if err != nil {
		return SelectItem{}, err
	}
	it := SelectItem{Pos: t.pos, Expr: e}
	if p.kw("AS") {
		if it.Alias, _, err = p.ident("an alias"); err != nil {
			return it, err
		}
	} else if n := p.peek(); n.kind == tQuoted || n.kind == tIdent && !reserved[n.text] {
		p.i++
		it.Alias = n.text
	}
	return it, nil
}

func (p *parser) fromSource() (*FromSource, error) {
	name, pos, err := p.ident("a stream or table name")
	if err != nil {
		return nil, err
	}
	f := &FromSource{Pos: pos, Name: name}
	if p.kw("AS") {
		if f.Alias, _, err = p.ident("an alias"); err != nil {
			return nil, err
		}
	} else if n := p.peek(); n.kind == tQuoted || n.kind == tIdent && !reserved[n.text] {
		p.i++
		f.Alias = n.text
	}
	return f, nil
}

// duration parses "n UNIT".
func (p *parser) duration() (int64, error) {
	t := p.peek()
	if t.kind != tInt {
		return 0, p.expected("a duration")
	}
	p.i++
	n, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		return 0, errAt(t.pos, "duration %s out of range", t.text)
	}
	u := p.peek()
	if u.kind != tIdent {
		return 0, p.expected("a time unit")
	}
	ms, ok := unitMillis(u.text)
	if !ok {
		return 0, errAt(u.pos, "expected a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS), found %s", u)
	}
	p.i++
	return n * ms, nil
}

// unitMillis is the length of a time unit, singular or plural, upper case.
func unitMillis(unit string) (int64, bool) {
	switch strings.TrimSuffix(unit, "S") {
	case "MILLISECOND":
		return 1, true
	case "SECOND":
		return 1000, true
	case "MINUTE":
		return 60_000, true
	case "HOUR":
		return 3_600_000, true
	case "DAY":
		return 86_400_000, true
	}
	return 0, false
}

func (p *parser) within() (*Within, error) {
	w := &Within{}
	if p.op("(") {
		b, err := p.duration()
		if err != nil {
			return nil, err
		}
		if err := p.wantOp(","); err != nil {
			return nil, err
		}
		a, err := p.duration()
		if err != nil {
			return nil, err
		}
		if err := p.wantOp(")"); err != nil {
			return nil, err
		}
		w.Before, w.After = b, a
	} else {
		d, err := p.duration()
		if err != nil {
			return nil, err
		}
		w.Before, w.After = d, d
	}
	if p.kw("GRACE") {
		if err := p.wantKw("PERIOD"); err != nil {
			return nil, err
		}
		g, err := p.duration()
		if err != nil {
			return nil, err
		}
		w.Grace, w.HasGrace = g, true
	}
	return w, nil
}

func (p *parser) window() (*WindowSpec, error) {
	w := &WindowSpec{Pos: p.next().pos}
	// ksqlDB takes a name before the window's kind, and ignores it.
	if t, n := p.peek(), p.peekN(1); (t.kind == tIdent || t.kind == tQuoted) && n.kind == tIdent && (n.text == "TUMBLING" || n.text == "HOPPING" || n.text == "SESSION") {
		p.i++
	}
	t := p.peek()
	switch {
	case p.kw("TUMBLING"), p.kw("HOPPING"), p.kw("SESSION"):
		w.Kind = t.text
	default:
		return nil, p.expected("TUMBLING, HOPPING or SESSION")
	}
	if err := p.wantOp("("); err != nil {
		return nil, err
	}
	if w.Kind == "SESSION" {
		d, err := p.duration()
		if err != nil {
			return nil, err
		}
		w.Size = d
	}
	for first := w.Kind != "SESSION"; ; first = false {
		if !first {
			if !p.op(",") {
				break
			}
		}
		switch {
		case p.kw("SIZE"):
			d, err := p.duration()
			if err != nil {
				return nil, err
			}
			w.Size = d
		case p.kw("ADVANCE"):
			if err := p.wantKw("BY"); err != nil {
				return nil, err
			}
			d, err := p.duration()
			if err != nil {
				return nil, err
			}
			w.Advance = d
		case p.kw("RETENTION"):
			d, err := p.duration()
			if err != nil {
				return nil, err
			}
			w.Retention = d
		case p.kw("GRACE"):
			if err := p.wantKw("PERIOD"); err != nil {
				return nil, err
			}
			d, err := p.duration()
			if err != nil {
				return nil, err
			}
			w.Grace, w.HasGrace = d, true
		default:
			return nil, p.expected("SIZE, ADVANCE BY, RETENTION or GRACE PERIOD")
		}
	}
	if err := p.wantOp(")"); err != nil {
		return nil, p.expected("',' or ')'")
	}
	if w.Kind != "SESSION" && w.Size == 0 {
		return nil, errAt(w.Pos, "%s window needs a SIZE", w.Kind)
	}
	if w.Kind == "HOPPING" && w.Advance == 0 {
		return nil, errAt(w.Pos, "HOPPING window needs ADVANCE BY")
	}
	return w, nil
}

// Expressions, loosest first: OR, AND, NOT, comparison/predicates, || and
// + -, * / %, unary, postfix ([ ] and ->), primary.

func (p *parser) expr() (Expr, error) { return p.or() }

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	for err == nil && p.isKw("OR") {
		pos := p.next().pos
		var r Expr
		if r, err = p.and(); err == nil {
			l = &Binary{Pos: pos, Op: "OR", L: l, R: r}
		}
	}
	return l, err
}

func (p *parser) and() (Expr, error) {
	l, err := p.not()
	for err == nil && p.isKw("AND") {
		pos := p.next().pos
		var r Expr
		if r, err = p.not(); err == nil {
			l = &Binary{Pos: pos, Op: "AND", L: l, R: r}
		}
	}
	return l, err
}

func (p *parser) not() (Expr, error) {
	if p.isKw("NOT") {
		pos := p.next().pos
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return &Unary{Pos: pos, Op: "NOT", X: x}, nil
	}
	return p.predicate()
}

func (p *parser) predicate() (Expr, error) {
	l, err := p.additive()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind == tOp {
			switch t.text {
			case "=", "<>", "!=", "<", "<=", ">", ">=":
				p.i++
				r, err := p.additive()
				if err != nil {
					return nil, err
				}
				op := t.text
				if op == "!=" {
					op = "<>"
				}
				l = &Binary{Pos: t.pos, Op: op, L: l, R: r}
				continue
			}
			return l, nil
		}
		if t.kind != tIdent {
			return l, nil
		}
		switch t.text {
		case "IS":
			p.i++
			not := p.kw("NOT")
			if p.kw("DISTINCT") {
				if err := p.wantKw("FROM"); err != nil {
					return nil, err
				}
				r, err := p.additive()
				if err != nil {
					return nil, err
				}
				op := "IS DISTINCT FROM"
				if not {
					op = "IS NOT DISTINCT FROM"
				}
				l = &Binary{Pos: t.pos, Op: op, L: l, R: r}
				continue
			}
			if err := p.wantKw("NULL"); err != nil {
				return nil, p.expected("NULL or DISTINCT FROM")
			}
			l = &IsNull{Pos: t.pos, X: l, Not: not}
		case "NOT", "LIKE", "BETWEEN", "IN":
			not := false
			if t.text == "NOT" {
				n := p.peekN(1)
				if n.kind != tIdent || n.text != "LIKE" && n.text != "BETWEEN" && n.text != "IN" {
					return l, nil
				}
				p.i++
				not = true
			}
			kw := p.next()
			switch kw.text {
			case "LIKE":
				pat, err := p.additive()
				if err != nil {
					return nil, err
				}
				lk := &Like{Pos: t.pos, X: l, Pat: pat, Not: not}
				if p.kw("ESCAPE") {
					e := p.peek()
					if e.kind != tString {
						return nil, p.expected("an escape character string")
					}
					p.i++
					lk.Escape, lk.HasEsc = e.text, true
				}
				l = lk
			case "BETWEEN":
				lo, err := p.additive()
				if err != nil {
					return nil, err
				}
				if err := p.wantKw("AND"); err != nil {
					return nil, err
				}
				hi, err := p.additive()
				if err != nil {
					return nil, err
				}
				l = &Between{Pos: t.pos, X: l, Lo: lo, Hi: hi, Not: not}
			case "IN":
				if err := p.wantOp("("); err != nil {
					return nil, err
				}
				list, err := p.args()
				if err != nil {
					return nil, err
				}
				if err := p.wantOp(")"); err != nil {
					return nil, p.expected("',' or ')'")
				}
				l = &In{Pos: t.pos, X: l, List: list, Not: not}
			}
		default:
			return l, nil
		}
	}
}

func (p *parser) args() ([]Expr, error) {
	var out []Expr
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if !p.op(",") {
			return out, nil
		}
	}
}

func (p *parser) additive() (Expr, error) {
	l, err := p.multiplicative()
	for err == nil {
		t := p.peek()
		if t.kind != tOp || t.text != "+" && t.text != "-" && t.text != "||" {
			break
		}
		p.i++
		var r Expr
		if r, err = p.multiplicative(); err == nil {
			l = &Binary{Pos: t.pos, Op: t.text, L: l, R: r}
		}
	}
	return l, err
}

func (p *parser) multiplicative() (Expr, error) {
	l, err := p.unary()
	for err == nil {
		t := p.peek()
		if t.kind != tOp || t.text != "*" && t.text != "/" && t.text != "%" {
			break
		}
		p.i++
		var r Expr
		if r, err = p.unary(); err == nil {
			l = &Binary{Pos: t.pos, Op: t.text, L: l, R: r}
		}
	}
	return l, err
}

func (p *parser) unary() (Expr, error) {
	t := p.peek()
	if t.kind == tOp && (t.text == "-" || t.text == "+") {
		p.i++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		if lit, ok := x.(*Literal); ok && t.text == "-" && !lit.Null {
			switch lit.Type {
			case Integer, BigInt:
				lit.I = -lit.I
				lit.Pos = t.pos
				return lit, nil
			case Double:
				lit.F = -lit.F
				lit.Pos = t.pos
				return lit, nil
			}
		}
		return &Unary{Pos: t.pos, Op: t.text, X: x}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (Expr, error) {
	x, err := p.primary()
	for err == nil {
		t := p.peek()
		switch {
		case p.op("["):
			var idx Expr
			if idx, err = p.expr(); err != nil {
				return nil, err
			}
			if err = p.wantOp("]"); err != nil {
				return nil, err
			}
			x = &Subscript{Pos: t.pos, X: x, Index: idx}
		case p.op("->"):
			var f string
			if f, _, err = p.fieldName(); err != nil {
				return nil, err
			}
			x = &Deref{Pos: t.pos, X: x, Field: f}
		default:
			return x, nil
		}
	}
	return x, err
}

func (p *parser) primary() (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tInt:
		p.i++
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, errAt(t.pos, "integer %s out of range", t.text)
		}
		k := Integer
		if n > 1<<31-1 {
			k = BigInt
		}
		return &Literal{Pos: t.pos, Type: k, I: n}, nil
	case tNumber:
		p.i++
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, errAt(t.pos, "bad number %s", t.text)
		}
		return &Literal{Pos: t.pos, Type: Double, F: f, S: t.text}, nil
	case tString:
		p.i++
		return &Literal{Pos: t.pos, Type: String, S: t.text}, nil
	case tQuoted:
		p.i++
		return p.columnRest(t)
	case tOp:
		if p.op("(") {
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.wantOp(")"); err != nil {
				return nil, err
			}
			return e, nil
		}
		return nil, p.expected("an expression")
	case tEOF:
		return nil, p.expected("an expression")
	}
	// An identifier: keyword-led forms first.
	switch t.text {
	case "NULL":
		p.i++
		return &Literal{Pos: t.pos, Type: KindNull, Null: true}, nil
	case "TRUE", "FALSE":
		p.i++
		return &Literal{Pos: t.pos, Type: Boolean, I: map[bool]int64{true: 1}[t.text == "TRUE"]}, nil
	case "CASE":
		return p.caseExpr()
	case "CAST":
		p.i++
		if err := p.wantOp("("); err != nil {
			return nil, err
		}
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.wantKw("AS"); err != nil {
			return nil, err
		}
		typ, err := p.typ()
		if err != nil {
			return nil, err
		}
		if err := p.wantOp(")"); err != nil {
			return nil, err
		}
		return &Cast{Pos: t.pos, X: x, Type: typ}, nil
	case "ARRAY":
		if n := p.peekN(1); n.kind == tOp && n.text == "[" {
			p.i += 2
			var elems []Expr
			var err error
			if !p.isOp("]") {
				if elems, err = p.args(); err != nil {
					return nil, err
				}
			}
			if err := p.wantOp("]"); err != nil {
				return nil, p.expected("',' or ']'")
			}
			return &ArrayCtor{Pos: t.pos, Elems: elems}, nil
		}
	case "MAP", "STRUCT":
		if n := p.peekN(1); n.kind == tOp && n.text == "(" {
			p.i += 2
			c := &Ctor{Pos: t.pos, Map: t.text == "MAP"}
			if p.op(")") {
				return c, nil
			}
			for {
				var k Expr
				if c.Map {
					var err error
					if k, err = p.expr(); err != nil {
						return nil, err
					}
				} else {
					name, pos, err := p.fieldName()
					if err != nil {
						return nil, err
					}
					k = &Literal{Pos: pos, Type: String, S: name}
				}
				if err := p.wantOp(":="); err != nil {
					return nil, err
				}
				v, err := p.expr()
				if err != nil {
					return nil, err
				}
				c.Keys, c.Vals = append(c.Keys, k), append(c.Vals, v)
				if p.op(",") {
					continue
				}
				if err := p.wantOp(")"); err != nil {
					return nil, p.expected("',' or ')'")
				}
				return c, nil
			}
		}
	case "INTERVAL":
		return nil, unsupported(t.pos, "INTERVAL expressions")
	}
	if reserved[t.text] {
		return nil, p.expected("an expression")
	}
	p.i++
	if p.isOp("(") {
		return p.call(t)
	}
	return p.columnRest(t)
}

func (p *parser) columnRest(t token) (Expr, error) {
	if p.isOp(".") {
		if n := p.peekN(1); n.kind == tIdent || n.kind == tQuoted {
			p.i += 2
			return &ColumnRef{Pos: t.pos, Source: t.text, Name: n.text}, nil
		}
		p.i++
		return nil, p.expected("a column name")
	}
	return &ColumnRef{Pos: t.pos, Name: t.text}, nil
}

func (p *parser) call(name token) (Expr, error) {
	p.i++ // (
	c := &Call{Pos: name.pos, Name: name.text}
	if p.op("*") {
		c.Star = true
		if err := p.wantOp(")"); err != nil {
			return nil, err
		}
		return c, nil
	}
	if p.kw("DISTINCT") {
		c.Distinct = true
	}
	if p.op(")") {
		return c, nil
	}
	for {
		// A lambda: x => ..., or (x, y) => ...
		var e Expr
		var err error
		if t := p.peek(); (t.kind == tIdent || t.kind == tQuoted) && p.peekN(1).kind == tOp && p.peekN(1).text == "=>" ||
			t.kind == tOp && t.text == "(" && p.lambdaAhead() {
			e, err = p.lambda()
		} else {
			e, err = p.expr()
		}
		if err != nil {
			return nil, err
		}
		c.Args = append(c.Args, e)
		if p.op(",") {
			continue
		}
		if err := p.wantOp(")"); err != nil {
			return nil, p.expected("',' or ')'")
		}
		return c, nil
	}
}

// lambda reads x => e or (x, ...) => e; the caller saw the arrow ahead.
func (p *parser) lambda() (Expr, error) {
	l := &Lambda{Pos: p.peek().pos}
	paren := p.op("(")
	for {
		t := p.next()
		for _, q := range l.Params {
			if q == t.text {
				return nil, errAt(t.pos, "duplicate lambda parameter '%s'", t.text)
			}
		}
		l.Params = append(l.Params, t.text)
		if !paren || p.op(")") {
			break
		}
		if err := p.wantOp(","); err != nil {
			return nil, err
		}
	}
	if err := p.wantOp("=>"); err != nil {
		return nil, err
	}
	body, err := p.expr()
	if err != nil {
		return nil, err
	}
	l.Body = body
	return l, nil
}

func (p *parser) lambdaAhead() bool {
	for k := 1; ; k++ {
		t := p.peekN(k)
		if t.kind == tOp && t.text == ")" {
			n := p.peekN(k + 1)
			return n.kind == tOp && n.text == "=>"
		}
		if t.kind != tIdent && t.kind != tQuoted && !(t.kind == tOp && t.text == ",") {
			return false
		}
	}
}

func (p *parser) caseExpr() (Expr, error) {
	c := &Case{Pos: p.next().pos}
	var err error
	if !p.isKw("WHEN") {
		if c.Operand, err = p.expr(); err != nil {
			return nil, err
		}
	}
	for p.kw("WHEN") {
		var w When
		if w.Cond, err = p.expr(); err != nil {
			return nil, err
		}
		if err := p.wantKw("THEN"); err != nil {
			return nil, err
		}
		if w.Then, err = p.expr(); err != nil {
			return nil, err
		}
		c.Whens = append(c.Whens, w)
	}
	if len(c.Whens) == 0 {
		return nil, p.expected("WHEN")
	}
	if p.kw("ELSE") {
		if c.Else, err = p.expr(); err != nil {
			return nil, err
		}
	}
	if err := p.wantKw("END"); err != nil {
		return nil, p.expected("WHEN, ELSE or END")
	}
	return c, nil
}
