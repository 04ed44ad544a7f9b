package sql

import (
	"strconv"
	"strings"
)

// exprString prints an expression canonically, to match a select item
// against a GROUP BY or PARTITION BY expression; column qualifiers go,
// since a single-source query has one namespace.
func exprString(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

func writeExpr(b *strings.Builder, e Expr) {
	switch x := e.(type) {
	case *Literal:
		switch {
		case x.Null:
			b.WriteString("NULL")
		case x.Type == String:
			b.WriteString(strconv.Quote(x.S))
		case x.Type == Double:
			b.WriteString(strconv.FormatFloat(x.F, 'g', -1, 64))
		case x.Type == Boolean:
			b.WriteString(strconv.FormatBool(x.I != 0))
		default:
			b.WriteString(strconv.FormatInt(x.I, 10))
		}
	case *ColumnRef:
		b.WriteString(x.Name)
	case *Unary:
		b.WriteString("(" + x.Op + " ")
		writeExpr(b, x.X)
		b.WriteString(")")
	case *Binary:
		b.WriteString("(")
		writeExpr(b, x.L)
		b.WriteString(" " + x.Op + " ")
		writeExpr(b, x.R)
		b.WriteString(")")
	case *IsNull:
		writeExpr(b, x.X)
		b.WriteString(map[bool]string{true: " IS NOT NULL", false: " IS NULL"}[x.Not])
	case *Like:
		writeExpr(b, x.X)
		b.WriteString(" LIKE ")
		writeExpr(b, x.Pat)
	case *Between:
		writeExpr(b, x.X)
		b.WriteString(" BETWEEN ")
		writeExpr(b, x.Lo)
		b.WriteString(" AND ")
		writeExpr(b, x.Hi)
	case *In:
		writeExpr(b, x.X)
		b.WriteString(" IN (")
		for i, a := range x.List {
			if i > 0 {
				b.WriteString(", ")
			}
			writeExpr(b, a)
		}
		b.WriteString(")")
	case *Case:
		b.WriteString("CASE")
		if x.Operand != nil {
			b.WriteString(" ")
			writeExpr(b, x.Operand)
		}
		for _, w := range x.Whens {
			b.WriteString(" WHEN ")
			writeExpr(b, w.Cond)
			b.WriteString(" THEN ")
			writeExpr(b, w.Then)
		}
		if x.Else != nil {
			b.WriteString(" ELSE ")
			writeExpr(b, x.Else)
		}
		b.WriteString(" END")
	case *Cast:
		b.WriteString("CAST(")
		writeExpr(b, x.X)
		b.WriteString(" AS " + x.Type.String() + ")")
	case *Call:
		b.WriteString(x.Name + "(")
		if x.Star {
			b.WriteString("*")
		}
		for i, a := range x.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			writeExpr(b, a)
		}
		b.WriteString(")")
	case *Subscript:
		writeExpr(b, x.X)
		b.WriteString("[")
		writeExpr(b, x.Index)
		b.WriteString("]")
	case *Deref:
		writeExpr(b, x.X)
		b.WriteString("->" + x.Field)
	case *ArrayCtor:
		b.WriteString("ARRAY[")
		for i, a := range x.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			writeExpr(b, a)
		}
		b.WriteString("]")
	case *Ctor:
		b.WriteString(map[bool]string{true: "MAP(", false: "STRUCT("}[x.Map])
		for i := range x.Keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeExpr(b, x.Keys[i])
			b.WriteString(" := ")
			writeExpr(b, x.Vals[i])
		}
		b.WriteString(")")
	case *Lambda:
		b.WriteString("(" + strings.Join(x.Params, ", ") + ") => ")
		writeExpr(b, x.Body)
	case *Unsupported:
		b.WriteString(x.What)
	}
}

// walk calls f on e and its sub-expressions until f returns false.
func walk(e Expr, f func(Expr) bool) {
	if e == nil || !f(e) {
		return
	}
	switch x := e.(type) {
	case *Unary:
		walk(x.X, f)
	case *Binary:
		walk(x.L, f)
		walk(x.R, f)
	case *IsNull:
		walk(x.X, f)
	case *Like:
		walk(x.X, f)
		walk(x.Pat, f)
	case *Between:
		walk(x.X, f)
		walk(x.Lo, f)
		walk(x.Hi, f)
	case *In:
		walk(x.X, f)
		for _, a := range x.List {
			walk(a, f)
		}
	case *Case:
		walk(x.Operand, f)
		for _, w := range x.Whens {
			walk(w.Cond, f)
			walk(w.Then, f)
		}
		walk(x.Else, f)
	case *Cast:
		walk(x.X, f)
	case *Call:
		for _, a := range x.Args {
			walk(a, f)
		}
	case *Subscript:
		walk(x.X, f)
		walk(x.Index, f)
	case *Deref:
		walk(x.X, f)
	case *ArrayCtor:
		for _, a := range x.Elems {
			walk(a, f)
		}
	case *Ctor:
		for i := range x.Keys {
			walk(x.Keys[i], f)
			walk(x.Vals[i], f)
		}
	case *Lambda:
		walk(x.Body, f)
	}
}
