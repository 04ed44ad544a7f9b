package sql

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// env is what a compiled expression reads: the record's key and value rows
// in the layout of the edge being evaluated, and its metadata.
type env struct {
	key, val     Row
	ts           int64
	part         int32
	off          int64
	wstart, wend int64
	// vars holds the parameters of the lambdas being evaluated, each at a
	// slot fixed at plan time (see lambda.go); fail is set when a lambda
	// body applied arithmetic to a NULL, which makes the outermost lambda
	// call NULL, as it does in ksqlDB.
	vars []Value
	fail bool
}

type evalFn func(e *env) Value

// compiled is an expression compiled once, at plan time, into a closure
// over the row layout; it is called per record and never walks the AST.
type compiled struct {
	fn   evalFn
	typ  *Type
	lit  bool // a constant
	name string
}

// scopeCol is a column a query can refer to, and where it lives in env.
type scopeCol struct {
	src  string // the source's alias or name
	name string
	typ  *Type
	key  bool
	idx  int
	// flag, when positive, is 1 + the index of a value cell saying the
	// column's join side was found; a key column of a missing side reads
	// NULL (its value columns are NULL cells already).
	flag int
	// serde is the source serde whose column src decodes this column, to
	// mark it needed when a query reads it (see rowSerde.need).
	serde *rowSerde
	scol  int
}

// scope resolves names for one edge of the plan.
type scope struct {
	cols     []scopeCol
	sources  map[string]bool
	windowed bool
	// agg, when set, is consulted first for every sub-expression of a
	// select after GROUP BY: group-by expressions and aggregate calls.
	agg func(e Expr) (compiled, bool, error)
	// noAgg names the clause where aggregate calls are rejected.
	noAgg string
	// winKey, when positive, is 1 + the index in the key row of a
	// windowed source's window start (its end follows).
	winKey int
}

type compiler struct {
	sc *scope
	// lambdas are the parameters of the lambdas around the expression
	// being compiled, innermost last; a parameter's index is its slot.
	lambdas []lambdaVar
}

func (c *compiler) compile(e Expr) (compiled, error) {
	if c.sc.agg != nil {
		if r, ok, err := c.sc.agg(e); ok || err != nil {
			return r, err
		}
	}
	switch x := e.(type) {
	case *Literal:
		v := literalValue(x)
		t := &Type{Kind: x.Type}
		if x.Null {
			t = typeNull
		}
		return compiled{fn: func(*env) Value { return v }, typ: t, lit: true}, nil
	case *ColumnRef:
		return c.column(x)
	case *Unary:
		return c.unary(x)
	case *Binary:
		return c.binary(x)
	case *IsNull:
		a, err := c.compile(x.X)
		if err != nil {
			return compiled{}, err
		}
		f, not := a.fn, x.Not
		return compiled{fn: func(e *env) Value { return boolValue(f(e).Valid == not) }, typ: typeBool}, nil
	case *Between:
		lo := &Binary{Pos: x.Pos, Op: ">=", L: x.X, R: x.Lo}
		hi := &Binary{Pos: x.Pos, Op: "<=", L: x.X, R: x.Hi}
		var b Expr = &Binary{Pos: x.Pos, Op: "AND", L: lo, R: hi}
		if x.Not {
			b = &Unary{Pos: x.Pos, Op: "NOT", X: b}
		}
		return c.compile(b)
	case *In:
		return c.in(x)
	case *Like:
		return c.like(x)
	case *Case:
		return c.caseExpr(x)
	case *Cast:
		a, err := c.compile(x.X)
		if err != nil {
			return compiled{}, err
		}
		return castTo(x.Pos, a, x.Type)
	case *Call:
		return c.call(x)
	case *Lambda:
		return compiled{}, errAt(x.Pos, "a lambda is only allowed as an argument of TRANSFORM, FILTER or REDUCE")
	case *Subscript:
		a, err := c.compile(x.X)
		if err != nil {
			return compiled{}, err
		}
		if a.typ.Kind != Array && a.typ.Kind != Map {
			return compiled{}, errAt(x.Pos, "cannot subscript a %s", a.typ)
		}
		i, err := c.compile(x.Index)
		if err != nil {
			return compiled{}, err
		}
		if a.typ.Kind == Map {
			if i.typ.Kind != String && i.typ.Kind != KindNull {
				return compiled{}, errAt(x.Pos, "a MAP<STRING, ...> key must be a STRING, got %s", i.typ)
			}
			mf, kf := a.fn, i.fn
			return compiled{typ: a.typ.Elem, fn: func(e *env) Value {
				m, k := mf(e), kf(e)
				if !m.Valid || !k.Valid {
					return null
				}
				for j := 0; j+1 < len(m.A); j += 2 {
					if m.A[j].S == k.S {
						return m.A[j+1]
					}
				}
				return null
			}}, nil
		}
		if !i.typ.integral() {
			return compiled{}, errAt(x.Pos, "an array index must be an integer, got %s", i.typ)
		}
		af, inf := a.fn, i.fn
		return compiled{typ: a.typ.Elem, fn: func(e *env) Value {
			arr, idx := af(e), inf(e)
			if !arr.Valid || !idx.Valid {
				return null
			}
			n := int64(len(arr.A))
			k := idx.I
			if k < 0 {
				k += n + 1
			}
			if k < 1 || k > n {
				return null
			}
			return arr.A[k-1]
		}}, nil
	case *Deref:
		a, err := c.compile(x.X)
		if err != nil {
			return compiled{}, err
		}
		if a.typ.Kind != Struct {
			return compiled{}, errAt(x.Pos, "the '->' operator needs a STRUCT, got %s", a.typ)
		}
		i, ok := a.typ.field(x.Field)
		if !ok {
			return compiled{}, errAt(x.Pos, "the STRUCT has no field '%s'", x.Field)
		}
		sf := a.fn
		return compiled{typ: a.typ.Fields[i].Type, name: a.typ.Fields[i].Name, fn: func(e *env) Value {
			s := sf(e)
			if !s.Valid || i >= len(s.A) {
				return null
			}
			return s.A[i]
		}}, nil
	case *Ctor:
		return c.ctor(x)
	case *ArrayCtor:
		var elems []compiled
		var et *Type = typeNull
		for _, el := range x.Elems {
			ce, err := c.compile(el)
			if err != nil {
				return compiled{}, err
			}
			elems = append(elems, ce)
			if et.Kind == KindNull {
				et = ce.typ
			} else if ce.typ.Kind != KindNull && !ce.typ.equal(et) {
				if et.numeric() && ce.typ.numeric() {
					et = widest(et, ce.typ)
				} else {
					return compiled{}, errAt(el.exprPos(), "array elements must share a type: %s and %s", et, ce.typ)
				}
			}
		}
		for i := range elems {
			if elems[i].typ.Kind != KindNull && !elems[i].typ.equal(et) {
				elems[i], _ = castTo(x.Pos, elems[i], et)
			}
		}
		return compiled{typ: arrayOf(et), fn: func(e *env) Value {
			out := make([]Value, len(elems))
			for i, el := range elems {
				out[i] = el.fn(e)
			}
			return arrayValue(out)
		}}, nil
	case *Unsupported:
		return compiled{}, unsupported(x.Pos, x.What)
	}
	return compiled{}, errAt(e.exprPos(), "unknown expression")
}

func (c *compiler) ctor(x *Ctor) (compiled, error) {
	var keys, vals []compiled
	t := &Type{Kind: Struct}
	if x.Map {
		t = &Type{Kind: Map, Key: typeString, Elem: typeNull}
	}
	for i := range x.Keys {
		k, err := c.compile(x.Keys[i])
		if err != nil {
			return compiled{}, err
		}
		v, err := c.compile(x.Vals[i])
		if err != nil {
			return compiled{}, err
		}
		if x.Map {
			if k.typ.Kind != String {
				return compiled{}, unsupported(x.Keys[i].exprPos(), "MAP keys of type "+k.typ.String())
			}
			switch {
			case t.Elem.Kind == KindNull:
				t.Elem = v.typ
			case v.typ.Kind != KindNull && !v.typ.equal(t.Elem):
				if !t.Elem.numeric() || !v.typ.numeric() {
					return compiled{}, errAt(x.Vals[i].exprPos(), "MAP values must share a type: %s and %s", t.Elem, v.typ)
				}
				t.Elem = widest(t.Elem, v.typ)
			}
		} else {
			ft := v.typ
			if ft.Kind == KindNull {
				ft = typeString
			}
			t.Fields = append(t.Fields, Field{Name: x.Keys[i].(*Literal).S, Type: ft})
		}
		keys, vals = append(keys, k), append(vals, v)
	}
	if x.Map {
		for i := range vals {
			if vals[i].typ.Kind != KindNull && !vals[i].typ.equal(t.Elem) {
				vals[i], _ = castTo(x.Pos, vals[i], t.Elem)
			}
		}
		return compiled{typ: t, fn: func(e *env) Value {
			out := make([]Value, 0, 2*len(keys))
			for i := range keys {
				k := keys[i].fn(e)
				if !k.Valid {
					continue
				}
				out = append(out, k, vals[i].fn(e))
			}
			return arrayValue(out)
		}}, nil
	}
	return compiled{typ: t, fn: func(e *env) Value {
		out := make([]Value, len(vals))
		for i, v := range vals {
			out[i] = v.fn(e)
		}
		return arrayValue(out)
	}}, nil
}

func literalValue(x *Literal) Value {
	if x.Null {
		return null
	}
	switch x.Type {
	case Double:
		return floatValue(x.F)
	case String:
		return stringValue(x.S)
	}
	return intValue(x.I)
}

func (c *compiler) column(x *ColumnRef) (compiled, error) {
	if x.Source == "" {
		for i := len(c.lambdas) - 1; i >= 0; i-- {
			if c.lambdas[i].name == x.Name {
				slot := i
				return compiled{typ: c.lambdas[i].typ, name: x.Name, fn: func(e *env) Value { return e.vars[slot] }}, nil
			}
		}
	}
	var found *scopeCol
	for i := range c.sc.cols {
		col := &c.sc.cols[i]
		if col.name != x.Name || x.Source != "" && col.src != x.Source {
			continue
		}
		if found != nil {
			return compiled{}, errAt(x.Pos, "column '%s' is ambiguous: qualify it with its source", x.Name)
		}
		found = col
	}
	if found == nil {
		if x.Source != "" && !c.sc.sources[x.Source] {
			return compiled{}, errAt(x.Pos, "unknown source '%s'", x.Source)
		}
		switch x.Name {
		case "ROWTIME":
			return compiled{typ: typeBigInt, name: x.Name, fn: func(e *env) Value { return intValue(e.ts) }}, nil
		case "ROWPARTITION":
			return compiled{typ: typeInt, name: x.Name, fn: func(e *env) Value { return intValue(int64(e.part)) }}, nil
		case "ROWOFFSET":
			return compiled{typ: typeBigInt, name: x.Name, fn: func(e *env) Value { return intValue(e.off) }}, nil
		case "WINDOWSTART", "WINDOWEND":
			if !c.sc.windowed {
				return compiled{}, errAt(x.Pos, "%s is only available in windowed queries", x.Name)
			}
			if x.Name == "WINDOWSTART" {
				return compiled{typ: typeBigInt, name: x.Name, fn: func(e *env) Value { return intValue(e.wstart) }}, nil
			}
			return compiled{typ: typeBigInt, name: x.Name, fn: func(e *env) Value { return intValue(e.wend) }}, nil
		}
		n := x.Name
		if x.Source != "" {
			n = x.Source + "." + x.Name
		}
		return compiled{}, errAt(x.Pos, "column '%s' cannot be resolved", n)
	}
	if found.serde != nil {
		found.serde.use(found.scol)
	}
	idx := found.idx
	out := compiled{typ: found.typ, name: found.name}
	switch flag := found.flag - 1; {
	case found.key && flag >= 0:
		out.fn = func(e *env) Value {
			if e.val[flag].I == 0 {
				return null
			}
			return e.key[idx]
		}
	case found.key:
		out.fn = func(e *env) Value { return e.key[idx] }
	default:
		out.fn = func(e *env) Value { return e.val[idx] }
	}
	return out, nil
}

func (c *compiler) unary(x *Unary) (compiled, error) {
	a, err := c.compile(x.X)
	if err != nil {
		return compiled{}, err
	}
	f := a.fn
	switch x.Op {
	case "NOT":
		if a.typ.Kind != Boolean && a.typ.Kind != KindNull {
			return compiled{}, errAt(x.Pos, "NOT needs a BOOLEAN, got %s", a.typ)
		}
		return compiled{typ: typeBool, fn: func(e *env) Value {
			v := f(e)
			if !v.Valid {
				return null
			}
			return boolValue(v.I == 0)
		}}, nil
	case "+":
		if !a.typ.numeric() {
			return compiled{}, errAt(x.Pos, "unary + needs a number, got %s", a.typ)
		}
		return a, nil
	}
	switch a.typ.Kind {
	case Integer, BigInt:
		return compiled{typ: a.typ, fn: func(e *env) Value {
			v := f(e)
			v.I = -v.I
			return v
		}}, nil
	case Double:
		return compiled{typ: a.typ, fn: func(e *env) Value {
			v := f(e)
			v.F = -v.F
			return v
		}}, nil
	}
	return compiled{}, errAt(x.Pos, "unary - needs a number, got %s", a.typ)
}

func widest(a, b *Type) *Type {
	if a.Kind == Double || b.Kind == Double {
		return typeDouble
	}
	if a.Kind == BigInt || b.Kind == BigInt {
		return typeBigInt
	}
	return typeInt
}

func asFloat(t *Type, v Value) float64 {
	switch t.Kind {
	case Double:
		return v.F
	case Decimal:
		return decimalFloat(t, v)
	}
	return float64(v.I)
}

func (c *compiler) binary(x *Binary) (compiled, error) {
	l, err := c.compile(x.L)
	if err != nil {
		return compiled{}, err
	}
	r, err := c.compile(x.R)
	if err != nil {
		return compiled{}, err
	}
	lf, rf := l.fn, r.fn
	switch x.Op {
	case "AND", "OR":
		for _, s := range []compiled{l, r} {
			if s.typ.Kind != Boolean && s.typ.Kind != KindNull {
				return compiled{}, errAt(x.Pos, "%s needs BOOLEAN operands, got %s", x.Op, s.typ)
			}
		}
		if x.Op == "AND" {
			return compiled{typ: typeBool, fn: func(e *env) Value {
				a := lf(e)
				if a.Valid && a.I == 0 {
					return a
				}
				b := rf(e)
				if b.Valid && b.I == 0 {
					return b
				}
				if !a.Valid || !b.Valid {
					return null
				}
				return b
			}}, nil
		}
		return compiled{typ: typeBool, fn: func(e *env) Value {
			a := lf(e)
			if a.Valid && a.I != 0 {
				return a
			}
			b := rf(e)
			if b.Valid && b.I != 0 {
				return b
			}
			if !a.Valid || !b.Valid {
				return null
			}
			return b
		}}, nil
	case "||":
		return concatOf(x.Pos, []compiled{l, r})
	case "+", "-", "*", "/", "%":
		if x.Op == "+" && (l.typ.Kind == String || r.typ.Kind == String) {
			if l.typ.Kind == String && r.typ.Kind == String || l.typ.Kind == KindNull || r.typ.Kind == KindNull {
				return concatOf(x.Pos, []compiled{l, r})
			}
		}
		if l.typ.Kind == KindNull {
			l.typ = r.typ
		}
		if r.typ.Kind == KindNull {
			r.typ = l.typ
		}
		if l.typ.Kind == Decimal || r.typ.Kind == Decimal {
			switch {
			case l.typ.Kind == Double || r.typ.Kind == Double:
				return arith(x.Op, typeDouble, l, r), nil
			case (l.typ.Kind == Decimal || l.typ.integral()) && (r.typ.Kind == Decimal || r.typ.integral()):
				return decimalArith(x.Pos, x.Op, l, r)
			}
		}
		if !l.typ.numeric() || !r.typ.numeric() {
			return compiled{}, errAt(x.Pos, "cannot apply '%s' to %s and %s", x.Op, l.typ, r.typ)
		}
		if len(c.lambdas) > 0 {
			l, r = failOnNull(l), failOnNull(r)
		}
		t := widest(l.typ, r.typ)
		return arith(x.Op, t, l, r), nil
	}
	return compare(x.Pos, x.Op, l, r)
}

func arith(op string, t *Type, l, r compiled) compiled {
	lf, rf, lt, rt := l.fn, r.fn, l.typ, r.typ
	if t.Kind == Double {
		var f func(a, b float64) float64
		switch op {
		case "+":
			f = func(a, b float64) float64 { return a + b }
		case "-":
			f = func(a, b float64) float64 { return a - b }
		case "*":
			f = func(a, b float64) float64 { return a * b }
		case "/":
			f = func(a, b float64) float64 { return a / b }
		default:
			f = math.Mod
		}
		return compiled{typ: t, fn: func(e *env) Value {
			a, b := lf(e), rf(e)
			if !a.Valid || !b.Valid {
				return null
			}
			return floatValue(f(asFloat(lt, a), asFloat(rt, b)))
		}}
	}
	int32s := t.Kind == Integer
	return compiled{typ: t, fn: func(e *env) Value {
		a, b := lf(e), rf(e)
		if !a.Valid || !b.Valid {
			return null
		}
		var n int64
		switch op {
		case "+":
			n = a.I + b.I
		case "-":
			n = a.I - b.I
		case "*":
			n = a.I * b.I
		case "/":
			if b.I == 0 {
				return null
			}
			n = a.I / b.I
		default:
			if b.I == 0 {
				return null
			}
			n = a.I % b.I
		}
		if int32s {
			n = int64(int32(n))
		}
		return intValue(n)
	}}
}

// cmp returns -1, 0, 1 for two non-null values of comparable types.
type cmpFn func(a, b Value) int

func comparator(p Pos, op string, l, r *Type) (cmpFn, error) {
	lk, rk := l.Kind, r.Kind
	if lk == KindNull {
		lk = rk
	}
	if rk == KindNull {
		rk = lk
	}
	decOrNum := func(k Kind) bool { return k == Decimal || k == Integer || k == BigInt || k == Double }
	switch {
	case (lk == Decimal || rk == Decimal) && decOrNum(lk) && decOrNum(rk):
		lt, rt := l, r
		if l.Kind == KindNull {
			lt = r
		}
		if r.Kind == KindNull {
			rt = l
		}
		if lt.Kind == Decimal && rt.Kind == Decimal && lt.Scale == rt.Scale {
			return func(a, b Value) int { return cmpInt(a.I, b.I) }, nil
		}
		return func(a, b Value) int { return cmpFloat(asFloat(lt, a), asFloat(rt, b)) }, nil
	case (lk == Integer || lk == BigInt || lk == Timestamp) && (rk == Integer || rk == BigInt || rk == Timestamp):
		return func(a, b Value) int { return cmpInt(a.I, b.I) }, nil
	case l.numeric() && r.numeric() || lk == Double && rk == Double:
		return func(a, b Value) int { return cmpFloat(asFloat(l, a), asFloat(r, b)) }, nil
	case lk == String && rk == String, lk == Bytes && rk == Bytes:
		return func(a, b Value) int { return strings.Compare(a.S, b.S) }, nil
	case lk == Boolean && rk == Boolean:
		if op != "=" && op != "<>" && !strings.Contains(op, "DISTINCT") {
			return nil, errAt(p, "cannot compare BOOLEAN values with '%s'", op)
		}
		return func(a, b Value) int { return cmpInt(a.I, b.I) }, nil
	case lk == Timestamp && rk == String, lk == String && rk == Timestamp:
		strLeft := lk == String
		return func(a, b Value) int {
			if strLeft {
				t, ok := parseTimestampLiteral(a.S)
				if !ok {
					return -2
				}
				return cmpInt(t, b.I)
			}
			t, ok := parseTimestampLiteral(b.S)
			if !ok {
				return -2
			}
			return cmpInt(a.I, t)
		}, nil
	case (lk == Date || lk == Time) && lk == rk:
		return func(a, b Value) int { return cmpInt(a.I, b.I) }, nil
	case (lk == Array || lk == Map || lk == Struct) && lk == rk:
		if op != "=" && op != "<>" && !strings.Contains(op, "DISTINCT") {
			return nil, errAt(p, "cannot compare %s values with '%s'", l, op)
		}
		eq, err := equaler(p, l, r)
		if err != nil {
			return nil, err
		}
		return func(a, b Value) int {
			if eq(a, b) {
				return 0
			}
			return 1
		}, nil
	}
	return nil, errAt(p, "cannot compare %s to %s with '%s'", l, r, op)
}

// equaler compares two non-null values of compatible types for equality,
// element by element for arrays, maps and structs.
func equaler(p Pos, l, r *Type) (func(a, b Value) bool, error) {
	switch {
	case l.Kind == Array && r.Kind == Array:
		el, err := equaler(p, l.Elem, r.Elem)
		if err != nil {
			return nil, err
		}
		return func(a, b Value) bool {
			if len(a.A) != len(b.A) {
				return false
			}
			for i := range a.A {
				if a.A[i].Valid != b.A[i].Valid || a.A[i].Valid && !el(a.A[i], b.A[i]) {
					return false
				}
			}
			return true
		}, nil
	case l.Kind == Map && r.Kind == Map:
		el, err := equaler(p, l.Elem, r.Elem)
		if err != nil {
			return nil, err
		}
		return func(a, b Value) bool {
			if len(a.A) != len(b.A) {
				return false
			}
		next:
			for i := 0; i+1 < len(a.A); i += 2 {
				for j := 0; j+1 < len(b.A); j += 2 {
					if a.A[i].S == b.A[j].S {
						x, y := a.A[i+1], b.A[j+1]
						if x.Valid != y.Valid || x.Valid && !el(x, y) {
							return false
						}
						continue next
					}
				}
				return false
			}
			return true
		}, nil
	case l.Kind == Struct && r.Kind == Struct:
		if len(l.Fields) != len(r.Fields) {
			return nil, errAt(p, "cannot compare %s to %s", l, r)
		}
		els := make([]func(a, b Value) bool, len(l.Fields))
		for i := range l.Fields {
			if l.Fields[i].Name != r.Fields[i].Name {
				return nil, errAt(p, "cannot compare %s to %s", l, r)
			}
			el, err := equaler(p, l.Fields[i].Type, r.Fields[i].Type)
			if err != nil {
				return nil, err
			}
			els[i] = el
		}
		return func(a, b Value) bool {
			for i, el := range els {
				x, y := a.A[i], b.A[i]
				if x.Valid != y.Valid || x.Valid && !el(x, y) {
					return false
				}
			}
			return true
		}, nil
	}
	cmp, err := comparator(p, "=", l, r)
	if err != nil {
		return nil, err
	}
	return func(a, b Value) bool { return cmp(a, b) == 0 }, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compare(p Pos, op string, l, r compiled) (compiled, error) {
	cmp, err := comparator(p, op, l.typ, r.typ)
	if err != nil {
		return compiled{}, err
	}
	lf, rf := l.fn, r.fn
	if strings.Contains(op, "DISTINCT") {
		distinct := op == "IS DISTINCT FROM"
		return compiled{typ: typeBool, fn: func(e *env) Value {
			a, b := lf(e), rf(e)
			same := !a.Valid && !b.Valid || a.Valid && b.Valid && cmp(a, b) == 0
			return boolValue(same != distinct)
		}}, nil
	}
	var test func(int) bool
	switch op {
	case "=":
		test = func(c int) bool { return c == 0 }
	case "<>":
		test = func(c int) bool { return c != 0 }
	case "<":
		test = func(c int) bool { return c == -1 }
	case "<=":
		test = func(c int) bool { return c == -1 || c == 0 }
	case ">":
		test = func(c int) bool { return c == 1 }
	case ">=":
		test = func(c int) bool { return c >= 0 }
	default:
		return compiled{}, errAt(p, "unknown operator '%s'", op)
	}
	// A comparison with NULL is FALSE in ksqlDB, not NULL.
	return compiled{typ: typeBool, fn: func(e *env) Value {
		a, b := lf(e), rf(e)
		if !a.Valid || !b.Valid {
			return boolValue(false)
		}
		c := cmp(a, b)
		if c == -2 {
			return boolValue(false)
		}
		return boolValue(test(c))
	}}, nil
}

func (c *compiler) in(x *In) (compiled, error) {
	a, err := c.compile(x.X)
	if err != nil {
		return compiled{}, err
	}
	var items []compiled
	var cmps []cmpFn
	for _, it := range x.List {
		ci, never, err := c.inItem(it, a.typ)
		if err != nil {
			return compiled{}, err
		}
		if never {
			// A STRUCT with a field the value's type lacks equals none.
			continue
		}
		cmp, err := comparator(it.exprPos(), "=", a.typ, ci.typ)
		if err != nil {
			return compiled{}, err
		}
		items = append(items, ci)
		cmps = append(cmps, cmp)
	}
	af, not := a.fn, x.Not
	return compiled{typ: typeBool, fn: func(e *env) Value {
		v := af(e)
		if !v.Valid {
			return null
		}
		sawNull := false
		for i, it := range items {
			w := it.fn(e)
			if !w.Valid {
				sawNull = true
				continue
			}
			if cmps[i](v, w) == 0 {
				return boolValue(!not)
			}
		}
		if sawNull {
			return null
		}
		return boolValue(not)
	}}, nil
}

// inItem compiles an item of an IN list testing values of type t:
// literals are coerced to t (see inLiteral), and so are the literals in
// ARRAY[...] and STRUCT(...) constructors; a STRUCT reads its fields by
// name, missing ones NULL, and never is set when it has a field t lacks.
func (c *compiler) inItem(it Expr, t *Type) (ci compiled, never bool, err error) {
	switch x := it.(type) {
	case *Literal:
		if ci, err = c.compile(x); err != nil || x.Null {
			return ci, false, err
		}
		ci, err = inLiteral(x, t, ci)
		return ci, false, err
	case *ArrayCtor:
		if t.Kind != Array {
			break
		}
		elems := make([]compiled, len(x.Elems))
		for i, e := range x.Elems {
			el, nev, err := c.inItem(e, t.Elem)
			if err != nil || nev {
				return compiled{}, nev, err
			}
			if el.typ.Kind != KindNull && !el.typ.equal(t.Elem) {
				if el, err = castTo(e.exprPos(), el, t.Elem); err != nil {
					return compiled{}, false, err
				}
			}
			elems[i] = el
		}
		return compiled{typ: t, fn: func(e *env) Value {
			out := make([]Value, len(elems))
			for i, el := range elems {
				out[i] = el.fn(e)
			}
			return arrayValue(out)
		}}, false, nil
	case *Ctor:
		if x.Map || t.Kind != Struct {
			break
		}
		fields := make([]compiled, len(t.Fields))
		for i := range x.Keys {
			name := x.Keys[i].(*Literal).S
			j := slices.IndexFunc(t.Fields, func(f Field) bool { return f.Name == name })
			if j < 0 {
				return compiled{}, true, nil
			}
			el, nev, err := c.inItem(x.Vals[i], t.Fields[j].Type)
			if err != nil || nev {
				return compiled{}, nev, err
			}
			if el.typ.Kind != KindNull && !el.typ.equal(t.Fields[j].Type) {
				if el, err = castTo(x.Vals[i].exprPos(), el, t.Fields[j].Type); err != nil {
					return compiled{}, false, err
				}
			}
			fields[j] = el
		}
		return compiled{typ: t, fn: func(e *env) Value {
			out := make([]Value, len(fields))
			for i, f := range fields {
				if f.fn != nil {
					out[i] = f.fn(e)
				}
			}
			return arrayValue(out)
		}}, false, nil
	}
	ci, err = c.compile(it)
	return ci, false, err
}

// inLiteral coerces a literal of an IN list to the type t of the value
// tested, as ksqlDB does: a string to a number (a number of another type
// is compared as numbers are) or to a BOOLEAN, a number or BOOLEAN to its
// text for a STRING.
func inLiteral(lit *Literal, t *Type, ci compiled) (compiled, error) {
	var v Value
	switch {
	case t.Kind == String && lit.Type != String:
		s := lit.S
		switch lit.Type {
		case Boolean:
			s = strconv.FormatBool(lit.I != 0)
		case Integer, BigInt:
			s = strconv.FormatInt(lit.I, 10)
		}
		v = stringValue(s)
		return compiled{typ: typeString, lit: true, fn: func(*env) Value { return v }}, nil
	case t.Kind == Boolean && lit.Type == String:
		b, ok := parseBoolText(lit.S)
		if !ok {
			return compiled{}, errAt(lit.Pos, "invalid BOOLEAN literal in IN list: '%s'", lit.S)
		}
		v = boolValue(b)
		return compiled{typ: typeBool, lit: true, fn: func(*env) Value { return v }}, nil
	case (t.numeric() || t.Kind == Decimal) && lit.Type == String:
		if v, err := parseText(t, lit.S); err == nil {
			return compiled{typ: t, lit: true, fn: func(*env) Value { return v }}, nil
		}
		s := strings.TrimSpace(lit.S)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			v = intValue(n)
			return compiled{typ: typeBigInt, lit: true, fn: func(*env) Value { return v }}, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			v = floatValue(f)
			return compiled{typ: typeDouble, lit: true, fn: func(*env) Value { return v }}, nil
		}
		return compiled{}, errAt(lit.Pos, "invalid %s literal in IN list: '%s'", t, lit.S)
	}
	return ci, nil
}

// parseBoolText reads a BOOLEAN as ksqlDB's literals do: true, yes and
// their prefixes, false, no and theirs, in any case.
func parseBoolText(s string) (bool, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return false, false
	}
	for _, w := range []string{"true", "yes"} {
		if strings.HasPrefix(w, s) {
			return true, true
		}
	}
	for _, w := range []string{"false", "no"} {
		if strings.HasPrefix(w, s) {
			return false, true
		}
	}
	return false, false
}

func (c *compiler) like(x *Like) (compiled, error) {
	a, err := c.compile(x.X)
	if err != nil {
		return compiled{}, err
	}
	p, err := c.compile(x.Pat)
	if err != nil {
		return compiled{}, err
	}
	if a.typ.Kind != String && a.typ.Kind != KindNull || p.typ.Kind != String {
		return compiled{}, errAt(x.Pos, "LIKE needs STRING operands, got %s and %s", a.typ, p.typ)
	}
	esc := byte(0)
	if x.HasEsc {
		if len(x.Escape) != 1 {
			return compiled{}, errAt(x.Pos, "the LIKE escape must be one character, got '%s'", x.Escape)
		}
		esc = x.Escape[0]
	}
	af, pf, not := a.fn, p.fn, x.Not
	if p.lit {
		pat := pf(nil)
		if !pat.Valid {
			return compiled{typ: typeBool, fn: func(*env) Value { return null }}, nil
		}
		m := compileLike(pat.S, esc)
		return compiled{typ: typeBool, fn: func(e *env) Value {
			v := af(e)
			if !v.Valid {
				return null
			}
			return boolValue(m(v.S) != not)
		}}, nil
	}
	return compiled{typ: typeBool, fn: func(e *env) Value {
		v, pat := af(e), pf(e)
		if !v.Valid || !pat.Valid {
			return null
		}
		return boolValue(compileLike(pat.S, esc)(v.S) != not)
	}}, nil
}

// compileLike turns a LIKE pattern (% any run, _ one character) into a
// matcher, by backtracking over the pattern's segments.
func compileLike(pat string, esc byte) func(string) bool {
	type piece struct {
		any  bool // %
		one  bool // _
		text string
	}
	var ps []piece
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			ps = append(ps, piece{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pat); i++ {
		ch := pat[i]
		switch {
		case esc != 0 && ch == esc && i+1 < len(pat):
			i++
			lit.WriteByte(pat[i])
		case ch == '%':
			flush()
			ps = append(ps, piece{any: true})
		case ch == '_':
			flush()
			ps = append(ps, piece{one: true})
		default:
			lit.WriteByte(ch)
		}
	}
	flush()
	var match func(s string, i int) bool
	match = func(s string, i int) bool {
		for ; i < len(ps); i++ {
			p := ps[i]
			switch {
			case p.any:
				for k := 0; k <= len(s); k++ {
					if match(s[k:], i+1) {
						return true
					}
				}
				return false
			case p.one:
				if s == "" {
					return false
				}
				_, n := decodeRune(s)
				s = s[n:]
			default:
				if !strings.HasPrefix(s, p.text) {
					return false
				}
				s = s[len(p.text):]
			}
		}
		return s == ""
	}
	return func(s string) bool { return match(s, 0) }
}

func (c *compiler) caseExpr(x *Case) (compiled, error) {
	var conds, thens []compiled
	var t *Type = typeNull
	for _, w := range x.Whens {
		cond := w.Cond
		if x.Operand != nil {
			cond = &Binary{Pos: x.Pos, Op: "=", L: x.Operand, R: w.Cond}
		}
		cc, err := c.compile(cond)
		if err != nil {
			return compiled{}, err
		}
		if cc.typ.Kind != Boolean {
			return compiled{}, errAt(w.Cond.exprPos(), "WHEN needs a BOOLEAN condition, got %s", cc.typ)
		}
		th, err := c.compile(w.Then)
		if err != nil {
			return compiled{}, err
		}
		conds, thens = append(conds, cc), append(thens, th)
	}
	var els compiled
	hasElse := x.Else != nil
	if hasElse {
		var err error
		if els, err = c.compile(x.Else); err != nil {
			return compiled{}, err
		}
	}
	all := append(append([]compiled(nil), thens...), els)
	if !hasElse {
		all = all[:len(all)-1]
	}
	for _, r := range all {
		if r.typ.Kind == KindNull {
			continue
		}
		if t.Kind == KindNull {
			t = r.typ
			continue
		}
		if !r.typ.equal(t) {
			return compiled{}, errAt(x.Pos, "invalid Case expression: all THEN and ELSE results must have the same type, got %s and %s", t, r.typ)
		}
	}
	return compiled{typ: t, fn: func(e *env) Value {
		for i, cnd := range conds {
			if v := cnd.fn(e); v.Valid && v.I != 0 {
				return thens[i].fn(e)
			}
		}
		if hasElse {
			return els.fn(e)
		}
		return null
	}}, nil
}

func castTo(p Pos, a compiled, t *Type) (compiled, error) {
	f, from := a.fn, a.typ
	if from.equal(t) {
		return compiled{fn: f, typ: t}, nil
	}
	switch t.Kind {
	case Bytes, Map, Struct:
		return compiled{}, unsupported(p, "CAST to "+t.Kind.String())
	}
	out := compiled{typ: t}
	if t.Kind == Decimal || from.Kind == Decimal {
		if t.Kind == String {
			out.fn = func(e *env) Value {
				v := f(e)
				if !v.Valid {
					return null
				}
				return stringValue(string(appendDecimal(nil, from, v)))
			}
			return out, nil
		}
		if from.Kind == KindNull {
			out.fn = func(*env) Value { return null }
			return out, nil
		}
		fn, err := castDecimal(p, f, from, t)
		if err != nil {
			return compiled{}, err
		}
		out.fn = fn
		return out, nil
	}
	switch {
	case from.Kind == KindNull:
		out.fn = func(*env) Value { return null }
	case t.Kind == String:
		out.fn = func(e *env) Value {
			v := f(e)
			if !v.Valid {
				return null
			}
			return stringValue(string(appendText(nil, from, v)))
		}
	case from.Kind == String && (t.Kind == Array || t.Kind == Map || t.Kind == Struct):
		return compiled{}, errAt(p, "cast of STRING to %s is not supported", t)
	case from.Kind == String:
		out.fn = func(e *env) Value {
			v := f(e)
			if !v.Valid {
				return null
			}
			s := strings.TrimSpace(v.S)
			switch t.Kind {
			case Integer, BigInt:
				if n, err := strconv.ParseInt(s, 10, 64); err == nil {
					if t.Kind == Integer {
						n = int64(int32(n))
					}
					return intValue(n)
				}
				return null
			case Timestamp:
				if ts, ok := parseTimestampLiteral(s); ok {
					return intValue(ts)
				}
				return null
			}
			r, err := parseText(t, s)
			if err != nil {
				return null
			}
			return r
		}
	case t.numeric() && (from.numeric() || from.Kind == Boolean && false):
		switch {
		case t.Kind == Double:
			out.fn = func(e *env) Value {
				v := f(e)
				if !v.Valid {
					return null
				}
				return floatValue(asFloat(from, v))
			}
		case from.Kind == Double:
			int32s := t.Kind == Integer
			out.fn = func(e *env) Value {
				v := f(e)
				if !v.Valid {
					return null
				}
				n := int64(v.F)
				if int32s {
					n = int64(int32(n))
				}
				return intValue(n)
			}
		case t.Kind == Integer:
			out.fn = func(e *env) Value {
				v := f(e)
				v.I = int64(int32(v.I))
				return v
			}
		default:
			out.fn = f
		}
	case t.Kind == Timestamp && from.Kind == Date:
		out.fn = func(e *env) Value {
			v := f(e)
			v.I *= 86_400_000
			return v
		}
	case t.Kind == Date && from.Kind == Timestamp:
		out.fn = func(e *env) Value {
			v := f(e)
			v.I = floorDiv(v.I, 86_400_000)
			return v
		}
	case t.Kind == Time && from.Kind == Timestamp:
		out.fn = func(e *env) Value {
			v := f(e)
			v.I = v.I - floorDiv(v.I, 86_400_000)*86_400_000
			return v
		}
	case t.Kind == Array && from.Kind == Array:
		el, err := castTo(p, compiled{fn: func(e *env) Value { return e.val[0] }, typ: from.Elem}, t.Elem)
		if err != nil {
			return compiled{}, err
		}
		out.fn = func(e *env) Value {
			v := f(e)
			if !v.Valid {
				return null
			}
			res := make([]Value, len(v.A))
			var one env
			one.val = Row{Value{}}
			for i, x := range v.A {
				one.val[0] = x
				res[i] = el.fn(&one)
			}
			return arrayValue(res)
		}
	default:
		return compiled{}, errAt(p, "cannot cast %s to %s", from, t)
	}
	return out, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
