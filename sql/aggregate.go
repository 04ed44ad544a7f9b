package sql

import (
	"sort"
)

var aggregateNames = map[string]bool{
	"COUNT": true, "SUM": true, "MIN": true, "MAX": true, "AVG": true, "COUNT_DISTINCT": true,
	"LATEST_BY_OFFSET": true, "EARLIEST_BY_OFFSET": true, "COLLECT_LIST": true, "COLLECT_SET": true, "TOPK": true,
	"TOPKDISTINCT": true, "HISTOGRAM": true, "STDDEV_SAMPLE": true, "STDDEV_SAMP": true, "CORRELATION": true,
}

var tableFunctions = map[string]bool{"EXPLODE": true, "CUBE_EXPLODE": true}

// aggSpec is one aggregate call of a query, compiled: the arguments it
// reads (evaluated before grouping, into the value row the aggregator
// sees), its accumulator's steps, and how the accumulator becomes the
// column's value. An accumulator is one Value: a count or sum in I or F,
// AVG's sum in F and count in I, a list in A.
type aggSpec struct {
	name   string
	args   []compiled
	first  int // index of the first argument in the pre-aggregation row
	typ    *Type
	init   func() Value
	add    func(acc Value, in []Value) Value
	sub    func(acc Value, in []Value) Value // nil: the aggregate cannot undo
	result func(acc Value) Value
	plain  bool // the accumulator is the result (result is identity)
}

func identity(v Value) Value { return v }

// limit is the most elements COLLECT_LIST and COLLECT_SET keep.
func newAggregate(x *Call, args []compiled, consts []Value, limit int) (*aggSpec, error) {
	s := &aggSpec{name: x.Name, args: args, result: identity, plain: true, init: func() Value { return null }}
	argType := typeNull
	if len(args) > 0 {
		argType = args[0].typ
	}
	want := func(n int) error {
		if len(args) != n {
			return errAt(x.Pos, "function %s takes %d argument(s), got %d", x.Name, n, len(args))
		}
		return nil
	}
	switch x.Name {
	case "COUNT":
		s.typ = typeBigInt
		s.init = func() Value { return intValue(0) }
		star := x.Star || len(args) == 0
		s.add = func(acc Value, in []Value) Value {
			if star || in[0].Valid {
				acc.I++
			}
			return acc
		}
		s.sub = func(acc Value, in []Value) Value {
			if star || in[0].Valid {
				acc.I--
			}
			return acc
		}
		if star {
			s.args = nil
		}
	case "SUM":
		if err := want(1); err != nil {
			return nil, err
		}
		if argType.Kind == Decimal {
			return nil, unsupported(x.Pos, "SUM of DECIMAL")
		}
		if !argType.numeric() {
			return nil, errAt(x.Pos, "function SUM does not accept parameters (%s)", argType)
		}
		s.typ = argType
		dbl := argType.Kind == Double
		i32 := argType.Kind == Integer
		s.init = func() Value {
			if dbl {
				return floatValue(0)
			}
			return intValue(0)
		}
		step := func(sign int64) func(Value, []Value) Value {
			return func(acc Value, in []Value) Value {
				if !in[0].Valid {
					return acc
				}
				if dbl {
					acc.F += float64(sign) * in[0].F
				} else {
					acc.I += sign * in[0].I
					if i32 {
						acc.I = int64(int32(acc.I))
					}
				}
				return acc
			}
		}
		s.add, s.sub = step(1), step(-1)
	case "MIN", "MAX":
		if err := want(1); err != nil {
			return nil, err
		}
		cmp, err := comparator(x.Pos, "<", argType, argType)
		if err != nil || argType.Kind == Boolean || argType.Kind == Array {
			return nil, errAt(x.Pos, "function %s does not accept parameters (%s)", x.Name, argType)
		}
		s.typ = argType
		sign := -1
		if x.Name == "MAX" {
			sign = 1
		}
		s.add = func(acc Value, in []Value) Value {
			if !in[0].Valid {
				return acc
			}
			if !acc.Valid || cmp(in[0], acc) == sign {
				return in[0]
			}
			return acc
		}
	case "AVG":
		if err := want(1); err != nil {
			return nil, err
		}
		if argType.Kind == Decimal {
			return nil, unsupported(x.Pos, "AVG of DECIMAL")
		}
		if !argType.numeric() {
			return nil, errAt(x.Pos, "function AVG does not accept parameters (%s)", argType)
		}
		s.typ = typeDouble
		at := argType
		s.init = func() Value { return Value{Valid: true} }
		step := func(sign int64) func(Value, []Value) Value {
			return func(acc Value, in []Value) Value {
				if !in[0].Valid {
					return acc
				}
				acc.F += float64(sign) * asFloat(at, in[0])
				acc.I += sign
				return acc
			}
		}
		s.add, s.sub = step(1), step(-1)
		s.plain = false
		s.result = func(acc Value) Value {
			if acc.I == 0 {
				return floatValue(0)
			}
			return floatValue(acc.F / float64(acc.I))
		}
	case "COUNT_DISTINCT":
		if err := want(1); err != nil {
			return nil, err
		}
		cmp, err := comparator(x.Pos, "=", argType, argType)
		if err != nil {
			return nil, errAt(x.Pos, "function COUNT_DISTINCT does not accept parameters (%s)", argType)
		}
		s.typ = typeBigInt
		s.init = func() Value { return arrayValue(nil) }
		s.add = func(acc Value, in []Value) Value {
			if !in[0].Valid || contains(acc.A, in[0], cmp) {
				return acc
			}
			return arrayValue(append(acc.A[:len(acc.A):len(acc.A)], in[0]))
		}
		s.plain = false
		s.result = func(acc Value) Value { return intValue(int64(len(acc.A))) }
	case "LATEST_BY_OFFSET", "EARLIEST_BY_OFFSET":
		// (col), (col, ignoreNulls), (col, n) or (col, n, ignoreNulls); with
		// n the result is an array of the last (first) n values.
		if len(args) < 1 || len(args) > 3 {
			return nil, errAt(x.Pos, "function %s takes 1 to 3 arguments, got %d", x.Name, len(args))
		}
		ignoreNulls, n, many := true, 1, false
		for i, a := range args[1:] {
			switch {
			case a.lit && a.typ.Kind == Boolean && i == len(args)-2:
				ignoreNulls = consts[i+1].I != 0
			case a.lit && a.typ.integral() && i == 0:
				n, many = int(consts[1].I), true
				if n < 1 {
					return nil, errAt(x.Pos, "%s needs a positive number of values, got %d", x.Name, n)
				}
			default:
				return nil, errAt(x.Pos, "function %s does not accept parameters (%s, %s)", x.Name, argType, a.typ)
			}
		}
		s.args = args[:1]
		s.typ = argType
		if many {
			s.typ = arrayOf(argType)
		}
		latest := x.Name == "LATEST_BY_OFFSET"
		// The accumulator is the list of values kept, so "nothing seen" and
		// "saw a NULL" stay apart.
		s.init = func() Value { return arrayValue([]Value{}) }
		s.add = func(acc Value, in []Value) Value {
			if ignoreNulls && !in[0].Valid {
				return acc
			}
			if !latest && len(acc.A) >= n {
				return acc
			}
			out := append(append(make([]Value, 0, len(acc.A)+1), acc.A...), in[0])
			if len(out) > n {
				out = out[len(out)-n:]
			}
			return arrayValue(out)
		}
		s.plain = false
		s.result = func(acc Value) Value {
			if many {
				return arrayValue(acc.A)
			}
			if len(acc.A) == 0 {
				return null
			}
			return acc.A[0]
		}
	case "COLLECT_LIST", "COLLECT_SET":
		if err := want(1); err != nil {
			return nil, err
		}
		s.typ = arrayOf(argType)
		set := x.Name == "COLLECT_SET"
		eq, err := equaler(x.Pos, argType, argType)
		if err != nil {
			return nil, unsupported(x.Pos, x.Name+" of "+argType.String())
		}
		cmp := func(a, b Value) int {
			if eq(a, b) {
				return 0
			}
			return 1
		}
		s.init = func() Value { return arrayValue([]Value{}) }
		s.add = func(acc Value, in []Value) Value {
			if set && (!in[0].Valid || contains(acc.A, in[0], cmp)) {
				return acc
			}
			if len(acc.A) >= limit {
				return acc
			}
			return arrayValue(append(acc.A[:len(acc.A):len(acc.A)], in[0]))
		}
		if !set {
			s.sub = func(acc Value, in []Value) Value {
				for i, v := range acc.A {
					if in[0].Valid && cmp(v, in[0]) == 0 {
						out := append(append([]Value{}, acc.A[:i]...), acc.A[i+1:]...)
						return arrayValue(out)
					}
				}
				return acc
			}
		}
	case "TOPK", "TOPKDISTINCT":
		if len(args) != 2 || !args[1].lit || !args[1].typ.integral() {
			return nil, errAt(x.Pos, "function %s takes (column, k) with k an integer literal", x.Name)
		}
		k := int(consts[1].I)
		cmp, err := comparator(x.Pos, "<", argType, argType)
		if err != nil {
			return nil, errAt(x.Pos, "function %s does not accept parameters (%s)", x.Name, argType)
		}
		distinct := x.Name == "TOPKDISTINCT"
		s.args = args[:1]
		s.typ = arrayOf(argType)
		s.init = func() Value { return arrayValue([]Value{}) }
		s.add = func(acc Value, in []Value) Value {
			if !in[0].Valid || distinct && contains(acc.A, in[0], cmp) {
				return acc
			}
			out := append(append(make([]Value, 0, len(acc.A)+1), acc.A...), in[0])
			sort.SliceStable(out, func(i, j int) bool { return cmp(out[i], out[j]) == 1 })
			if len(out) > k {
				out = out[:k]
			}
			return arrayValue(out)
		}
	default:
		return nil, unsupported(x.Pos, "aggregate function "+x.Name)
	}
	return s, nil
}

func contains(list []Value, v Value, cmp cmpFn) bool {
	for _, x := range list {
		if x.Valid && cmp(x, v) == 0 {
			return true
		}
	}
	return false
}
