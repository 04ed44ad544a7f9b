package sql

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// DECIMAL(p, s) values are held unscaled in Value.I: 1.20 in a
// DECIMAL(4, 2) column is 120. Precision is at most 18 digits, so every
// value fits an int64.

const maxDecimalPrecision = 18

func decimalType(p, s int) *Type { return &Type{Kind: Decimal, Prec: p, Scale: s} }

var pow10 = func() [19]int64 {
	var t [19]int64
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// parseDecimal reads decimal text exactly and rounds it half up to the
// type's scale; a value with more integer digits than the type allows is
// an error.
func parseDecimal(t *Type, s string) (Value, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		return null, fmt.Errorf("not a DECIMAL: %q", s)
	}
	return ratDecimal(t, r)
}

func ratDecimal(t *Type, r *big.Rat) (Value, error) {
	r.Mul(r, new(big.Rat).SetInt64(pow10[t.Scale]))
	// Round half away from zero, as Java's RoundingMode.HALF_UP.
	num, den := r.Num(), r.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2)).Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() || abs64(q.Int64()) >= pow10[t.Prec] {
		return null, fmt.Errorf("value %s exceeds %s", r.FloatString(t.Scale), t)
	}
	return intValue(q.Int64()), nil
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func appendDecimal(dst []byte, t *Type, v Value) []byte {
	u := v.I
	if u < 0 {
		dst = append(dst, '-')
		u = -u
	}
	if t.Scale == 0 {
		return strconv.AppendInt(dst, u, 10)
	}
	dst = strconv.AppendInt(dst, u/pow10[t.Scale], 10)
	dst = append(dst, '.')
	frac := strconv.FormatInt(u%pow10[t.Scale], 10)
	for i := len(frac); i < t.Scale; i++ {
		dst = append(dst, '0')
	}
	return append(dst, frac...)
}

func decimalFloat(t *Type, v Value) float64 { return float64(v.I) / math.Pow10(t.Scale) }

// decimalOf is the DECIMAL type an integer type converts to exactly.
func decimalOf(t *Type) *Type {
	switch t.Kind {
	case Integer:
		return decimalType(10, 0)
	case BigInt:
		return decimalType(18, 0)
	}
	return t
}

// rescale moves an unscaled value from scale from to scale to (to >= from).
func rescale(v int64, from, to int) int64 { return v * pow10[to-from] }

// decimalArith compiles + - * over DECIMAL (and integer) operands with
// ksqlDB's result types; / and % are not supported.
func decimalArith(p Pos, op string, l, r compiled) (compiled, error) {
	a, b := decimalOf(l.typ), decimalOf(r.typ)
	var t *Type
	switch op {
	case "+", "-":
		s := max(a.Scale, b.Scale)
		t = decimalType(s+max(a.Prec-a.Scale, b.Prec-b.Scale)+1, s)
	case "*":
		t = decimalType(a.Prec+b.Prec+1, a.Scale+b.Scale)
	default:
		return compiled{}, unsupported(p, "DECIMAL "+op)
	}
	if t.Prec > maxDecimalPrecision {
		return compiled{}, unsupported(p, "DECIMAL results above precision 18 ("+t.String()+")")
	}
	lf, rf := l.fn, r.fn
	return compiled{typ: t, fn: func(e *env) Value {
		x, y := lf(e), rf(e)
		if !x.Valid || !y.Valid {
			return null
		}
		switch op {
		case "+":
			return intValue(rescale(x.I, a.Scale, t.Scale) + rescale(y.I, b.Scale, t.Scale))
		case "-":
			return intValue(rescale(x.I, a.Scale, t.Scale) - rescale(y.I, b.Scale, t.Scale))
		}
		return intValue(x.I * y.I)
	}}, nil
}

// castDecimal converts to and from DECIMAL.
func castDecimal(p Pos, f evalFn, from, to *Type) (evalFn, error) {
	switch {
	case to.Kind == Decimal && from.Kind == Decimal:
		return func(e *env) Value {
			v := f(e)
			if !v.Valid {
				return null
			}
			r := new(big.Rat).SetFrac(big.NewInt(v.I), big.NewInt(pow10[from.Scale]))
			out, err := ratDecimal(to, r)
			if err != nil {
				return null
			}
			return out
		}, nil
	case to.Kind == Decimal && (from.integral() || from.Kind == Double || from.Kind == String):
		return func(e *env) Value {
			v := f(e)
			if !v.Valid {
				return null
			}
			var r *big.Rat
			switch from.Kind {
			case Double:
				if math.IsNaN(v.F) || math.IsInf(v.F, 0) {
					return null
				}
				r, _ = new(big.Rat).SetString(strconv.FormatFloat(v.F, 'g', -1, 64))
			case String:
				var ok bool
				if r, ok = new(big.Rat).SetString(strings.TrimSpace(v.S)); !ok {
					return null
				}
			default:
				r = new(big.Rat).SetInt64(v.I)
			}
			out, err := ratDecimal(to, r)
			if err != nil {
				return null
			}
			return out
		}, nil
	case from.Kind == Decimal && to.Kind == Double:
		return func(e *env) Value {
			v := f(e)
			if !v.Valid {
				return null
			}
			return floatValue(decimalFloat(from, v))
		}, nil
	case from.Kind == Decimal && to.integral():
		return func(e *env) Value {
			v := f(e)
			if !v.Valid {
				return null
			}
			n := v.I / pow10[from.Scale]
			if to.Kind == Integer {
				n = int64(int32(n))
			}
			return intValue(n)
		}, nil
	}
	return nil, errAt(p, "cannot cast %s to %s", from, to)
}
