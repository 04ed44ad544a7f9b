package sql

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

func decodeRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }

// scalarFn compiles a call of a scalar function over compiled arguments.
type scalarFn func(p Pos, args []compiled) (compiled, error)

var scalars map[string]scalarFn

func init() {
	scalars = map[string]scalarFn{
		"UCASE":            str1(strings.ToUpper),
		"LCASE":            str1(strings.ToLower),
		"TRIM":             str1(strings.TrimSpace),
		"LTRIM":            str1(func(s string) string { return strings.TrimLeft(s, " \t\n\r") }),
		"RTRIM":            str1(func(s string) string { return strings.TrimRight(s, " \t\n\r") }),
		"INITCAP":          str1(initcap),
		"REVERSE":          str1(reverse),
		"LEN":              fnLen,
		"LENGTH":           fnLen,
		"CONCAT":           func(p Pos, a []compiled) (compiled, error) { return concatOf(p, a) },
		"CONCAT_WS":        fnConcatWS,
		"SUBSTRING":        fnSubstring,
		"REPLACE":          fnReplace,
		"INSTR":            fnInstr,
		"LPAD":             fnPad(true),
		"RPAD":             fnPad(false),
		"SPLIT":            fnSplit,
		"ABS":              fnAbs,
		"ROUND":            fnRound,
		"TRUNC":            fnTrunc,
		"FORMAT_TIMESTAMP": fnFormatTimestamp,
		"PARSE_TIMESTAMP":  fnParseTimestamp,
		"LOG":              fnLog,
		"NULLIF":           fnNullIf,
		"FLOOR":            dbl1(math.Floor, true),
		"CEIL":             dbl1(math.Ceil, true),
		"SQRT":             dbl1(math.Sqrt, false),
		"EXP":              dbl1(math.Exp, false),
		"LN":               dbl1(math.Log, false),
		"SIGN":             fnSign,
		"ACOS":             dbl1(math.Acos, false),
		"ASIN":             dbl1(math.Asin, false),
		"ATAN":             dbl1(math.Atan, false),
		"COS":              dbl1(math.Cos, false),
		"COSH":             dbl1(math.Cosh, false),
		"COT":              dbl1(func(x float64) float64 { return 1 / math.Tan(x) }, false),
		"SIN":              dbl1(math.Sin, false),
		"SINH":             dbl1(math.Sinh, false),
		"TAN":              dbl1(math.Tan, false),
		"TANH":             dbl1(math.Tanh, false),
		"DEGREES":          dbl1(func(x float64) float64 { return x * 180 / math.Pi }, false),
		"RADIANS":          dbl1(func(x float64) float64 { return x * math.Pi / 180 }, false),
		"CBRT":             dbl1(math.Cbrt, false),
		"ATAN2":            dbl2(math.Atan2),
		"POWER":            dbl2(math.Pow),
		"PI": func(p Pos, a []compiled) (compiled, error) {
			if len(a) != 0 {
				return compiled{}, argErr(p, "PI", a, "no arguments")
			}
			return compiled{typ: typeDouble, fn: func(*env) Value { return floatValue(math.Pi) }}, nil
		},
		"COALESCE":          fnCoalesce,
		"IFNULL":            fnCoalesce,
		"GREATEST":          fnExtreme(1),
		"LEAST":             fnExtreme(-1),
		"TIMESTAMPTOSTRING": fnTimestampToString,
		"STRINGTOTIMESTAMP": fnStringToTimestamp,
		"ARRAY_LENGTH":      fnArrayLength,
		"AS_VALUE":          fnAsValue,
		"TO_BYTES":          fnToBytes,
		"FROM_BYTES":        fnFromBytes,
	}
}

func argErr(p Pos, name string, args []compiled, want string) error {
	for _, a := range args {
		if a.typ.Kind == Decimal {
			return unsupported(p, "DECIMAL arguments to "+name)
		}
	}
	var ts []string
	for _, a := range args {
		ts = append(ts, a.typ.String())
	}
	return errAt(p, "function %s does not accept parameters (%s): expected %s", name, strings.Join(ts, ", "), want)
}

func isStr(c compiled) bool { return c.typ.Kind == String || c.typ.Kind == KindNull }
func isNum(c compiled) bool { return c.typ.numeric() || c.typ.Kind == KindNull }

func (c *compiler) call(x *Call) (compiled, error) {
	if aggregateNames[x.Name] {
		where := c.sc.noAgg
		if where == "" {
			where = "this clause"
		}
		return compiled{}, errAt(x.Pos, "aggregate function %s is not allowed in %s", x.Name, where)
	}
	if tableFunctions[x.Name] {
		return compiled{}, errAt(x.Pos, "table function %s is only allowed in the SELECT list", x.Name)
	}
	if lambdaFunctions[x.Name] {
		return c.lambdaCall(x)
	}
	f, ok := scalars[x.Name]
	if !ok {
		// ksqlDB has some 200 functions and user-defined ones; those not
		// here are reported as not supported rather than as wrong.
		return compiled{}, unsupported(x.Pos, "function "+x.Name)
	}
	args := make([]compiled, len(x.Args))
	for i, a := range x.Args {
		ca, err := c.compile(a)
		if err != nil {
			return compiled{}, err
		}
		args[i] = ca
	}
	r, err := f(x.Pos, args)
	if err != nil {
		return compiled{}, err
	}
	r.name = ""
	return r, nil
}

func str1(f func(string) string) scalarFn {
	return func(p Pos, a []compiled) (compiled, error) {
		if len(a) != 1 || !isStr(a[0]) {
			return compiled{}, argErr(p, "this function", a, "(STRING)")
		}
		g := a[0].fn
		return compiled{typ: typeString, fn: func(e *env) Value {
			v := g(e)
			if !v.Valid {
				return null
			}
			return stringValue(f(v.S))
		}}, nil
	}
}

func initcap(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if unicode.IsSpace(r) {
			up = true
			b.WriteRune(r)
			continue
		}
		if up {
			b.WriteRune(unicode.ToUpper(r))
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
		up = false
	}
	return b.String()
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

func fnLen(p Pos, a []compiled) (compiled, error) {
	if len(a) != 1 || !isStr(a[0]) && a[0].typ.Kind != Bytes {
		return compiled{}, argErr(p, "LEN", a, "(STRING) or (BYTES)")
	}
	g, bytes := a[0].fn, a[0].typ.Kind == Bytes
	return compiled{typ: typeInt, fn: func(e *env) Value {
		v := g(e)
		if !v.Valid {
			return null
		}
		if bytes {
			return intValue(int64(len(v.S)))
		}
		return intValue(int64(utf8.RuneCountInString(v.S)))
	}}, nil
}

func concatOf(p Pos, a []compiled) (compiled, error) {
	t := typeString
	if len(a) > 0 && a[0].typ.Kind == Bytes {
		t = a[0].typ
	}
	for _, x := range a {
		if t.Kind == Bytes && x.typ.Kind != Bytes && x.typ.Kind != KindNull || t.Kind == String && !isStr(x) {
			return compiled{}, argErr(p, "CONCAT", a, "STRING arguments, or BYTES arguments")
		}
	}
	return compiled{typ: t, fn: func(e *env) Value {
		var b strings.Builder
		for _, x := range a {
			if v := x.fn(e); v.Valid {
				b.WriteString(v.S)
			}
		}
		return stringValue(b.String())
	}}, nil
}

func fnConcatWS(p Pos, a []compiled) (compiled, error) {
	if len(a) < 2 {
		return compiled{}, argErr(p, "CONCAT_WS", a, "(separator, STRING...)")
	}
	t := typeString
	if a[0].typ.Kind == Bytes {
		t = a[0].typ
	}
	for _, x := range a {
		if t.Kind == Bytes && x.typ.Kind != Bytes && x.typ.Kind != KindNull || t.Kind == String && !isStr(x) {
			return compiled{}, argErr(p, "CONCAT_WS", a, "STRING arguments, or BYTES arguments")
		}
	}
	return compiled{typ: t, fn: func(e *env) Value {
		sep := a[0].fn(e)
		if !sep.Valid {
			return null
		}
		var b strings.Builder
		n := 0
		for _, x := range a[1:] {
			if v := x.fn(e); v.Valid {
				if n > 0 {
					b.WriteString(sep.S)
				}
				b.WriteString(v.S)
				n++
			}
		}
		return stringValue(b.String())
	}}, nil
}

func fnSubstring(p Pos, a []compiled) (compiled, error) {
	if len(a) < 2 || len(a) > 3 || !isStr(a[0]) || !a[1].typ.integral() || len(a) == 3 && !a[2].typ.integral() {
		return compiled{}, argErr(p, "SUBSTRING", a, "(STRING, INT[, INT])")
	}
	return compiled{typ: typeString, fn: func(e *env) Value {
		s, pos := a[0].fn(e), a[1].fn(e)
		if !s.Valid || !pos.Valid {
			return null
		}
		r := []rune(s.S)
		n := int64(len(r))
		start := pos.I
		if start < 0 {
			start = n + start + 1
		}
		if start < 1 {
			start = 1
		}
		end := n + 1
		if len(a) == 3 {
			l := a[2].fn(e)
			if !l.Valid {
				return null
			}
			if pos.I < 0 || true {
				end = start + l.I
			}
		}
		if start > n {
			return stringValue("")
		}
		if end > n+1 {
			end = n + 1
		}
		if end < start {
			return stringValue("")
		}
		return stringValue(string(r[start-1 : end-1]))
	}}, nil
}

func fnReplace(p Pos, a []compiled) (compiled, error) {
	if len(a) != 3 || !isStr(a[0]) || !isStr(a[1]) || !isStr(a[2]) {
		return compiled{}, argErr(p, "REPLACE", a, "(STRING, STRING, STRING)")
	}
	return compiled{typ: typeString, fn: func(e *env) Value {
		s, o, n := a[0].fn(e), a[1].fn(e), a[2].fn(e)
		if !s.Valid || !o.Valid || !n.Valid {
			return null
		}
		return stringValue(strings.ReplaceAll(s.S, o.S, n.S))
	}}, nil
}

func fnInstr(p Pos, a []compiled) (compiled, error) {
	if len(a) != 2 || !isStr(a[0]) || !isStr(a[1]) {
		return compiled{}, argErr(p, "INSTR", a, "(STRING, STRING)")
	}
	return compiled{typ: typeInt, fn: func(e *env) Value {
		s, sub := a[0].fn(e), a[1].fn(e)
		if !s.Valid || !sub.Valid {
			return null
		}
		i := strings.Index(s.S, sub.S)
		if i < 0 {
			return intValue(0)
		}
		return intValue(int64(utf8.RuneCountInString(s.S[:i]) + 1))
	}}, nil
}

func fnPad(left bool) scalarFn {
	return func(p Pos, a []compiled) (compiled, error) {
		if len(a) != 3 || !isStr(a[0]) || !a[1].typ.integral() || !isStr(a[2]) {
			return compiled{}, argErr(p, "LPAD/RPAD", a, "(STRING, INT, STRING)")
		}
		return compiled{typ: typeString, fn: func(e *env) Value {
			s, n, pad := a[0].fn(e), a[1].fn(e), a[2].fn(e)
			if !s.Valid || !n.Valid || !pad.Valid || n.I < 0 {
				return null
			}
			r, pr := []rune(s.S), []rune(pad.S)
			want := int(n.I)
			if len(r) >= want {
				return stringValue(string(r[:want]))
			}
			if len(pr) == 0 {
				return null
			}
			fill := make([]rune, 0, want-len(r))
			for len(fill) < want-len(r) {
				fill = append(fill, pr[len(fill)%len(pr)])
			}
			if left {
				return stringValue(string(fill) + string(r))
			}
			return stringValue(string(r) + string(fill))
		}}, nil
	}
}

func fnSplit(p Pos, a []compiled) (compiled, error) {
	bytes := len(a) == 2 && a[0].typ.Kind == Bytes && a[1].typ.Kind == Bytes
	if len(a) != 2 || !bytes && (!isStr(a[0]) || !isStr(a[1])) {
		return compiled{}, argErr(p, "SPLIT", a, "(STRING, STRING) or (BYTES, BYTES)")
	}
	et := typeString
	if bytes {
		// Bytes split by bytes, not runes: each byte on its own for an
		// empty delimiter.
		return compiled{typ: arrayOf(&Type{Kind: Bytes}), fn: func(e *env) Value {
			s, d := a[0].fn(e), a[1].fn(e)
			if !s.Valid || !d.Valid {
				return null
			}
			var parts []string
			if s.S == "" {
				parts = []string{""}
			} else if d.S == "" {
				for i := 0; i < len(s.S); i++ {
					parts = append(parts, s.S[i:i+1])
				}
			} else {
				parts = strings.Split(s.S, d.S)
			}
			out := make([]Value, len(parts))
			for i, x := range parts {
				out[i] = stringValue(x)
			}
			return arrayValue(out)
		}}, nil
	}
	return compiled{typ: arrayOf(et), fn: func(e *env) Value {
		s, d := a[0].fn(e), a[1].fn(e)
		if !s.Valid || !d.Valid {
			return null
		}
		var parts []string
		if s.S == "" {
			parts = []string{""}
		} else if d.S == "" {
			for _, r := range s.S {
				parts = append(parts, string(r))
			}
		} else {
			parts = strings.Split(s.S, d.S)
		}
		out := make([]Value, len(parts))
		for i, x := range parts {
			out[i] = stringValue(x)
		}
		return arrayValue(out)
	}}, nil
}

func fnAbs(p Pos, a []compiled) (compiled, error) {
	if len(a) != 1 || !isNum(a[0]) {
		return compiled{}, argErr(p, "ABS", a, "(a number)")
	}
	g, t := a[0].fn, a[0].typ
	return compiled{typ: t, fn: func(e *env) Value {
		v := g(e)
		if t.Kind == Double {
			v.F = math.Abs(v.F)
		} else if v.I < 0 {
			v.I = -v.I
		}
		return v
	}}, nil
}

func fnSign(p Pos, a []compiled) (compiled, error) {
	if len(a) != 1 || !isNum(a[0]) {
		return compiled{}, argErr(p, "SIGN", a, "(a number)")
	}
	g, t := a[0].fn, a[0].typ
	return compiled{typ: typeInt, fn: func(e *env) Value {
		v := g(e)
		if !v.Valid {
			return null
		}
		return intValue(int64(cmpFloat(asFloat(t, v), 0)))
	}}, nil
}

// dbl1 is a DOUBLE function of one number; keep says integer arguments
// come back unchanged in their own type (FLOOR and CEIL of an integer).
func dbl1(f func(float64) float64, keep bool) scalarFn {
	return func(p Pos, a []compiled) (compiled, error) {
		if len(a) != 1 || !isNum(a[0]) {
			return compiled{}, argErr(p, "this function", a, "(a number)")
		}
		g, t := a[0].fn, a[0].typ
		if keep && t.integral() {
			return compiled{typ: t, fn: g}, nil
		}
		return compiled{typ: typeDouble, fn: func(e *env) Value {
			v := g(e)
			if !v.Valid {
				return null
			}
			return floatValue(f(asFloat(t, v)))
		}}, nil
	}
}

func dbl2(f func(a, b float64) float64) scalarFn {
	return func(p Pos, a []compiled) (compiled, error) {
		if len(a) != 2 || !isNum(a[0]) || !isNum(a[1]) {
			return compiled{}, argErr(p, "this function", a, "(a number, a number)")
		}
		x, y, tx, ty := a[0].fn, a[1].fn, a[0].typ, a[1].typ
		return compiled{typ: typeDouble, fn: func(e *env) Value {
			u, v := x(e), y(e)
			if !u.Valid || !v.Valid {
				return null
			}
			return floatValue(f(asFloat(tx, u), asFloat(ty, v)))
		}}, nil
	}
}

func fnRound(p Pos, a []compiled) (compiled, error) {
	if len(a) < 1 || len(a) > 2 || !isNum(a[0]) || len(a) == 2 && !a[1].typ.integral() {
		return compiled{}, argErr(p, "ROUND", a, "(a number[, INT])")
	}
	g, t := a[0].fn, a[0].typ
	if t.integral() && len(a) == 1 {
		return compiled{typ: t, fn: g}, nil
	}
	halfUp := func(f float64) float64 { return math.Floor(f + 0.5) }
	if len(a) == 1 {
		return compiled{typ: typeBigInt, fn: func(e *env) Value {
			v := g(e)
			if !v.Valid {
				return null
			}
			return intValue(int64(halfUp(v.F)))
		}}, nil
	}
	d := a[1].fn
	return compiled{typ: t, fn: func(e *env) Value {
		v, n := g(e), d(e)
		if !v.Valid || !n.Valid {
			return null
		}
		scale := math.Pow(10, float64(n.I))
		if t.integral() {
			return intValue(int64(halfUp(float64(v.I)*scale) / scale))
		}
		return floatValue(halfUp(v.F*scale) / scale)
	}}, nil
}

// fnFormatTimestamp is TIMESTAMPTOSTRING of a TIMESTAMP.
func fnFormatTimestamp(p Pos, a []compiled) (compiled, error) {
	if len(a) < 2 || a[0].typ.Kind != Timestamp && a[0].typ.Kind != KindNull {
		return compiled{}, argErr(p, "FORMAT_TIMESTAMP", a, "(TIMESTAMP, STRING[, STRING])")
	}
	b := append([]compiled(nil), a...)
	b[0].typ = typeBigInt
	return fnTimestampToString(p, b)
}

// fnParseTimestamp is STRINGTOTIMESTAMP, typed TIMESTAMP.
func fnParseTimestamp(p Pos, a []compiled) (compiled, error) {
	r, err := fnStringToTimestamp(p, a)
	r.typ = &Type{Kind: Timestamp}
	return r, err
}

// fnTrunc truncates toward zero: an integer stays, a DOUBLE becomes a
// BIGINT, or, given a number of decimal places (negative: tens,
// hundreds...), a DOUBLE cut there, as ksqlDB cuts the double's shortest
// decimal form (0.29 at two places is 0.29).
func fnTrunc(p Pos, a []compiled) (compiled, error) {
	if len(a) < 1 || len(a) > 2 || !isNum(a[0]) || len(a) == 2 && !a[1].typ.integral() {
		return compiled{}, argErr(p, "TRUNC", a, "(a number[, INT])")
	}
	g, t := a[0].fn, a[0].typ
	if t.Kind == Decimal {
		return compiled{}, unsupported(p, "TRUNC of a DECIMAL")
	}
	if t.integral() {
		if len(a) == 2 {
			return compiled{}, argErr(p, "TRUNC", a, "(an integer) or (a DOUBLE, INT)")
		}
		return compiled{typ: t, fn: g}, nil
	}
	if len(a) == 1 {
		return compiled{typ: typeBigInt, fn: func(e *env) Value {
			v := g(e)
			if !v.Valid {
				return null
			}
			return intValue(int64(math.Trunc(v.F)))
		}}, nil
	}
	d := a[1].fn
	return compiled{typ: typeDouble, fn: func(e *env) Value {
		v, n := g(e), d(e)
		if !v.Valid || !n.Valid {
			return null
		}
		return floatValue(truncPlaces(v.F, n.I))
	}}, nil
}

// truncPlaces cuts f's shortest decimal form n places after the point.
func truncPlaces(f float64, n int64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, fp, _ := strings.Cut(s, ".")
	switch {
	case n >= 0:
		if int64(len(fp)) > n {
			fp = fp[:n]
		}
	case -n >= int64(len(ip)):
		ip, fp = "0", ""
	default:
		ip, fp = ip[:int64(len(ip))+n]+strings.Repeat("0", int(-n)), ""
	}
	r, _ := strconv.ParseFloat(ip+"."+fp+"0", 64)
	if neg {
		r = -r
	}
	return r
}

// fnLog is the natural logarithm, or with two arguments the logarithm of
// the second in the base of the first: NaN for a base that is not
// positive or is 1, as ksqlDB's LOG.
func fnLog(p Pos, a []compiled) (compiled, error) {
	if len(a) < 1 || len(a) > 2 || !isNum(a[0]) || len(a) == 2 && !isNum(a[1]) {
		return compiled{}, argErr(p, "LOG", a, "(a number) or (base, number)")
	}
	g, t := a[0].fn, a[0].typ
	if len(a) == 1 {
		return compiled{typ: typeDouble, fn: func(e *env) Value {
			v := g(e)
			if !v.Valid {
				return null
			}
			return floatValue(math.Log(asFloat(t, v)))
		}}, nil
	}
	h, u := a[1].fn, a[1].typ
	return compiled{typ: typeDouble, fn: func(e *env) Value {
		b, v := g(e), h(e)
		if !b.Valid || !v.Valid {
			return null
		}
		base := asFloat(t, b)
		if base <= 0 || base == 1 {
			return floatValue(math.NaN())
		}
		return floatValue(math.Log(asFloat(u, v)) / math.Log(base))
	}}, nil
}

// fnNullIf is NULL when its arguments are equal, else the first.
func fnNullIf(p Pos, a []compiled) (compiled, error) {
	if len(a) != 2 {
		return compiled{}, argErr(p, "NULLIF", a, "two arguments")
	}
	eq, err := equaler(p, a[0].typ, a[1].typ)
	if err != nil {
		return compiled{}, err
	}
	f, g := a[0].fn, a[1].fn
	return compiled{typ: a[0].typ, fn: func(e *env) Value {
		v := f(e)
		if w := g(e); v.Valid && w.Valid && eq(v, w) {
			return null
		}
		return v
	}}, nil
}

func fnCoalesce(p Pos, a []compiled) (compiled, error) {
	if len(a) == 0 {
		return compiled{}, argErr(p, "COALESCE", a, "at least one argument")
	}
	t := typeNull
	for _, x := range a {
		if x.typ.Kind == KindNull {
			continue
		}
		if t.Kind == KindNull {
			t = x.typ
		} else if !x.typ.equal(t) {
			return compiled{}, argErr(p, "COALESCE", a, "arguments of one type")
		}
	}
	return compiled{typ: t, fn: func(e *env) Value {
		for _, x := range a {
			if v := x.fn(e); v.Valid {
				return v
			}
		}
		return null
	}}, nil
}

func fnExtreme(sign int) scalarFn {
	return func(p Pos, a []compiled) (compiled, error) {
		if len(a) == 0 {
			return compiled{}, argErr(p, "GREATEST/LEAST", a, "at least one argument")
		}
		t := a[0].typ
		for _, x := range a[1:] {
			if x.typ.numeric() && t.numeric() {
				t = widest(t, x.typ)
			} else if x.typ.Kind != KindNull && !x.typ.equal(t) {
				return compiled{}, argErr(p, "GREATEST/LEAST", a, "arguments of one type")
			}
		}
		cs := make([]compiled, len(a))
		for i, x := range a {
			c, err := castTo(p, x, t)
			if err != nil {
				return compiled{}, err
			}
			cs[i] = c
		}
		cmp, err := comparator(p, "<", t, t)
		if err != nil {
			return compiled{}, err
		}
		return compiled{typ: t, fn: func(e *env) Value {
			var best Value
			for _, x := range cs {
				v := x.fn(e)
				if !v.Valid {
					continue
				}
				if !best.Valid || cmp(v, best) == sign {
					best = v
				}
			}
			return best
		}}, nil
	}
}

// fnAsValue is the identity: AS_VALUE(k) copies a key column into the
// value, because the item no longer matches the key expression.
func fnAsValue(p Pos, a []compiled) (compiled, error) {
	if len(a) != 1 {
		return compiled{}, argErr(p, "AS_VALUE", a, "one argument")
	}
	return compiled{typ: a[0].typ, fn: a[0].fn}, nil
}

func fnArrayLength(p Pos, a []compiled) (compiled, error) {
	if len(a) != 1 || a[0].typ.Kind != Array {
		return compiled{}, argErr(p, "ARRAY_LENGTH", a, "(ARRAY)")
	}
	g := a[0].fn
	return compiled{typ: typeInt, fn: func(e *env) Value {
		v := g(e)
		if !v.Valid {
			return null
		}
		return intValue(int64(len(v.A)))
	}}, nil
}

func zoneArg(p Pos, a []compiled, i int) (*time.Location, error) {
	if len(a) <= i {
		return time.UTC, nil
	}
	if !a[i].lit || a[i].typ.Kind != String {
		return nil, unsupported(p, "a time zone that is not a string literal")
	}
	loc, err := time.LoadLocation(a[i].fn(nil).S)
	if err != nil {
		return nil, errAt(p, "unknown time zone %q", a[i].fn(nil).S)
	}
	return loc, nil
}

func fnTimestampToString(p Pos, a []compiled) (compiled, error) {
	if len(a) < 2 || len(a) > 3 || !(a[0].typ.integral() || a[0].typ.Kind == KindNull) || !isStr(a[1]) {
		return compiled{}, argErr(p, "TIMESTAMPTOSTRING", a, "(BIGINT, STRING[, STRING])")
	}
	loc, err := zoneArg(p, a, 2)
	if err != nil {
		return compiled{}, err
	}
	if !a[1].lit {
		return compiled{}, unsupported(p, "a TIMESTAMPTOSTRING pattern that is not a string literal")
	}
	layout, err := javaLayout(p, a[1].fn(nil).S)
	if err != nil {
		return compiled{}, err
	}
	g := a[0].fn
	return compiled{typ: typeString, fn: func(e *env) Value {
		v := g(e)
		if !v.Valid {
			return null
		}
		return stringValue(time.UnixMilli(v.I).In(loc).Format(layout))
	}}, nil
}

func fnStringToTimestamp(p Pos, a []compiled) (compiled, error) {
	if len(a) < 2 || len(a) > 3 || !isStr(a[0]) || !isStr(a[1]) {
		return compiled{}, argErr(p, "STRINGTOTIMESTAMP", a, "(STRING, STRING[, STRING])")
	}
	loc, err := zoneArg(p, a, 2)
	if err != nil {
		return compiled{}, err
	}
	if !a[1].lit {
		return compiled{}, unsupported(p, "a STRINGTOTIMESTAMP pattern that is not a string literal")
	}
	layout, err := javaLayout(p, a[1].fn(nil).S)
	if err != nil {
		return compiled{}, err
	}
	if strings.Contains(layout, "MST") {
		// Go reads a zone name it does not know as UTC; Java maps PST
		// and the like to regions, with their summer time.
		return compiled{}, unsupported(p, "a zone name (z) in a pattern that parses timestamps")
	}
	g := a[0].fn
	return compiled{typ: typeBigInt, fn: func(e *env) Value {
		v := g(e)
		if !v.Valid {
			return null
		}
		t, err := time.ParseInLocation(layout, v.S, loc)
		if err != nil {
			// ksqlDB parses case-insensitively: a zone "z" is "Z". Go
			// matches month and day names in any case already.
			if t, err = time.ParseInLocation(layout, strings.ToUpper(v.S), loc); err != nil {
				return null
			}
		}
		return intValue(t.UnixMilli())
	}}, nil
}

// javaLayout turns a java.time DateTimeFormatter pattern into a Go layout,
// for the letters that have a Go equivalent; others are "not supported".
func javaLayout(p Pos, pat string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(pat); {
		c := pat[i]
		if c == '\'' {
			j := strings.IndexByte(pat[i+1:], '\'')
			if j < 0 {
				return "", errAt(p, "unterminated quote in pattern %q", pat)
			}
			if j == 0 {
				b.WriteByte('\'')
			} else {
				b.WriteString(pat[i+1 : i+1+j])
			}
			i += j + 2
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b.WriteByte(c)
			i++
			continue
		}
		n := 1
		for i+n < len(pat) && pat[i+n] == c {
			n++
		}
		i += n
		var s string
		switch c {
		case 'y', 'u':
			s = map[bool]string{true: "06", false: "2006"}[n == 2]
		case 'M':
			s = [...]string{"1", "01", "Jan", "January"}[min(n, 4)-1]
		case 'd':
			s = map[bool]string{true: "2", false: "02"}[n == 1]
		case 'H':
			s = map[bool]string{true: "15", false: "15"}[n == 1]
		case 'h':
			s = map[bool]string{true: "3", false: "03"}[n == 1]
		case 'm':
			s = map[bool]string{true: "4", false: "04"}[n == 1]
		case 's':
			s = map[bool]string{true: "5", false: "05"}[n == 1]
		case 'S':
			s = strings.Repeat("0", n)
			if b.Len() == 0 || !strings.HasSuffix(b.String(), ".") && !strings.HasSuffix(b.String(), ",") {
				return "", unsupported(p, "fraction-of-second pattern letters not after '.' or ','")
			}
		case 'a':
			s = "PM"
		case 'E':
			s = map[bool]string{true: "Monday", false: "Mon"}[n >= 4]
		case 'X':
			s = [...]string{"Z07", "Z0700", "Z07:00"}[min(n, 3)-1]
		case 'x':
			s = [...]string{"-07", "-0700", "-07:00"}[min(n, 3)-1]
		case 'Z':
			s = "-0700"
		case 'z':
			s = "MST"
		default:
			return "", unsupported(p, "pattern letter '"+string(c)+"' in "+pat)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// formatTimestamp formats ms since the epoch, UTC, with a Java pattern
// known to be valid.
func formatTimestamp(ms int64, pat string) string {
	layout, _ := javaLayout(Pos{}, pat)
	return time.UnixMilli(ms).UTC().Format(layout)
}

// parseTimestampLiteral reads the ISO-8601 forms ksqlDB accepts where a
// TIMESTAMP is compared with a string: a date, optionally a time with
// fractions, optionally a zone.
func parseTimestampLiteral(s string) (int64, bool) {
	for _, l := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02T15", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}

// byteEncodings are TO_BYTES' and FROM_BYTES' encodings.
var byteEncodings = map[string]struct {
	enc func(string) string
	dec func(string) (string, bool)
}{
	"UTF8":  {func(s string) string { return s }, func(s string) (string, bool) { return s, utf8.ValidString(s) }},
	"ASCII": {func(s string) string { return s }, func(s string) (string, bool) { return s, true }},
	"HEX": {func(s string) string { return hex.EncodeToString([]byte(s)) }, func(s string) (string, bool) {
		b, err := hex.DecodeString(s)
		return string(b), err == nil
	}},
	"BASE64": {func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }, func(s string) (string, bool) {
		b, err := base64.StdEncoding.DecodeString(s)
		return string(b), err == nil
	}},
}

func encodingArg(p Pos, name string, a []compiled) (string, error) {
	if len(a) != 2 || !a[1].lit || a[1].typ.Kind != String {
		return "", unsupported(p, name+" without a string literal encoding")
	}
	enc := strings.ToUpper(strings.ReplaceAll(a[1].fn(nil).S, "-", ""))
	if _, ok := byteEncodings[enc]; !ok {
		return "", errAt(p, "unknown encoding %q: expected utf8, ascii, hex or base64", a[1].fn(nil).S)
	}
	return enc, nil
}

// fnToBytes is TO_BYTES(string, encoding): the bytes the string encodes.
func fnToBytes(p Pos, a []compiled) (compiled, error) {
	if len(a) != 2 || !isStr(a[0]) {
		return compiled{}, argErr(p, "TO_BYTES", a, "(STRING, encoding)")
	}
	enc, err := encodingArg(p, "TO_BYTES", a)
	if err != nil {
		return compiled{}, err
	}
	dec, g := byteEncodings[enc].dec, a[0].fn
	return compiled{typ: &Type{Kind: Bytes}, fn: func(e *env) Value {
		v := g(e)
		if !v.Valid {
			return null
		}
		b, ok := dec(v.S)
		if !ok {
			return null
		}
		return stringValue(b)
	}}, nil
}

// fnFromBytes is FROM_BYTES(bytes, encoding): the bytes as a string.
func fnFromBytes(p Pos, a []compiled) (compiled, error) {
	if len(a) != 2 || a[0].typ.Kind != Bytes {
		return compiled{}, argErr(p, "FROM_BYTES", a, "(BYTES, encoding)")
	}
	enc, err := encodingArg(p, "FROM_BYTES", a)
	if err != nil {
		return compiled{}, err
	}
	en, g := byteEncodings[enc].enc, a[0].fn
	return compiled{typ: typeString, fn: func(e *env) Value {
		v := g(e)
		if !v.Valid {
			return null
		}
		return stringValue(en(v.S))
	}}, nil
}
