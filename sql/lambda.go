package sql

// Lambdas: TRANSFORM, FILTER and REDUCE over arrays and maps take lambda
// arguments, x => e or (x, y) => e. A lambda's parameters live in the
// env's vars, each at a slot the compiler fixes (the parameters of the
// lambdas around it come first), so a body is compiled once like any
// expression and reads its parameters as it reads columns.

type lambdaVar struct {
	name string
	typ  *Type
}

var lambdaFunctions = map[string]bool{"TRANSFORM": true, "FILTER": true, "REDUCE": true}

// failOnNull marks, for arithmetic in a lambda body, a NULL operand as a
// failure of the whole lambda call: ksqlDB's lambda bodies unbox their
// operands and throw, and the call's column is NULL.
func failOnNull(a compiled) compiled {
	f := a.fn
	a.fn = func(e *env) Value {
		v := f(e)
		if !v.Valid {
			e.fail = true
		}
		return v
	}
	return a
}

// lambdaBody compiles l with its parameters of types ts; it returns the
// body and the slot of the first parameter.
func (c *compiler) lambdaBody(fn string, l Expr, ts ...*Type) (compiled, int, error) {
	lam, ok := l.(*Lambda)
	if !ok {
		return compiled{}, 0, errAt(l.exprPos(), "%s needs a lambda here", fn)
	}
	if len(lam.Params) != len(ts) {
		return compiled{}, 0, errAt(lam.Pos, "the lambda of %s here takes %d parameters, not %d", fn, len(ts), len(lam.Params))
	}
	base := len(c.lambdas)
	for i, n := range lam.Params {
		c.lambdas = append(c.lambdas, lambdaVar{n, ts[i]})
	}
	body, err := c.compile(lam.Body)
	c.lambdas = c.lambdas[:base]
	return body, base, err
}

// slots makes room in e.vars for n parameters. An env a processor keeps
// keeps its vars, so this allocates once per processor.
func (e *env) slots(n int) {
	if len(e.vars) < n {
		e.vars = append(e.vars, make([]Value, n-len(e.vars))...)
	}
}

// lambdaCall compiles TRANSFORM, FILTER and REDUCE.
func (c *compiler) lambdaCall(x *Call) (compiled, error) {
	outer := len(c.lambdas) == 0
	want := map[string]int{"TRANSFORM": 2, "FILTER": 2, "REDUCE": 3}[x.Name]
	if len(x.Args) < 2 {
		return compiled{}, errAt(x.Pos, "%s takes a collection and a lambda", x.Name)
	}
	coll, err := c.compile(x.Args[0])
	if err != nil {
		return compiled{}, err
	}
	isMap := coll.typ.Kind == Map
	if coll.typ.Kind != Array && !isMap {
		return compiled{}, errAt(x.Args[0].exprPos(), "%s needs an ARRAY or a MAP, got %s", x.Name, coll.typ)
	}
	if isMap && x.Name == "TRANSFORM" {
		want = 3
	}
	if len(x.Args) != want {
		return compiled{}, errAt(x.Pos, "%s of %s takes %d arguments, not %d", x.Name, coll.typ, want, len(x.Args))
	}
	var r compiled
	switch {
	case x.Name == "REDUCE":
		r, err = c.reduce(x, coll)
	case x.Name == "FILTER":
		r, err = c.filter(x, coll)
	case isMap:
		r, err = c.transformMap(x, coll)
	default:
		r, err = c.transformArray(x, coll)
	}
	if err != nil || !outer {
		return r, err
	}
	// The outermost call turns a failure anywhere inside into NULL.
	f := r.fn
	r.fn = func(e *env) Value {
		e.fail = false
		v := f(e)
		if e.fail {
			e.fail = false
			return null
		}
		return v
	}
	return r, nil
}

func (c *compiler) transformArray(x *Call, coll compiled) (compiled, error) {
	body, slot, err := c.lambdaBody(x.Name, x.Args[1], coll.typ.Elem)
	if err != nil {
		return compiled{}, err
	}
	et := body.typ
	if et.Kind == KindNull {
		et = typeString
	}
	cf, bf := coll.fn, body.fn
	return compiled{typ: &Type{Kind: Array, Elem: et}, fn: func(e *env) Value {
		a := cf(e)
		if !a.Valid {
			return null
		}
		e.slots(slot + 1)
		out := make([]Value, len(a.A))
		for i, v := range a.A {
			e.vars[slot] = v
			out[i] = bf(e)
		}
		return arrayValue(out)
	}}, nil
}

func (c *compiler) transformMap(x *Call, coll compiled) (compiled, error) {
	kt, vt := coll.typ.Key, coll.typ.Elem
	kb, ks, err := c.lambdaBody(x.Name, x.Args[1], kt, vt)
	if err != nil {
		return compiled{}, err
	}
	vb, vs, err := c.lambdaBody(x.Name, x.Args[2], kt, vt)
	if err != nil {
		return compiled{}, err
	}
	if kb.typ.Kind != String && kb.typ.Kind != KindNull {
		return compiled{}, unsupported(x.Args[1].exprPos(), "MAP keys of type "+kb.typ.String())
	}
	et := vb.typ
	if et.Kind == KindNull {
		et = typeString
	}
	cf, kf, vf := coll.fn, kb.fn, vb.fn
	return compiled{typ: &Type{Kind: Map, Key: typeString, Elem: et}, fn: func(e *env) Value {
		m := cf(e)
		if !m.Valid {
			return null
		}
		e.slots(max(ks, vs) + 2)
		out := make([]Value, 0, len(m.A))
		for i := 0; i+1 < len(m.A); i += 2 {
			e.vars[ks], e.vars[ks+1] = m.A[i], m.A[i+1]
			k := kf(e)
			e.vars[vs], e.vars[vs+1] = m.A[i], m.A[i+1]
			v := vf(e)
			if !k.Valid {
				continue
			}
			out = putEntry(out, k, v)
		}
		return arrayValue(out)
	}}, nil
}

// putEntry sets key k of the map entries m to v: a key two entries
// transform to keeps the later value, as a Java map's put does.
func putEntry(m []Value, k, v Value) []Value {
	for i := 0; i+1 < len(m); i += 2 {
		if m[i].S == k.S {
			m[i+1] = v
			return m
		}
	}
	return append(m, k, v)
}

func (c *compiler) filter(x *Call, coll compiled) (compiled, error) {
	isMap := coll.typ.Kind == Map
	ts := []*Type{coll.typ.Elem}
	if isMap {
		ts = []*Type{coll.typ.Key, coll.typ.Elem}
	}
	body, slot, err := c.lambdaBody(x.Name, x.Args[1], ts...)
	if err != nil {
		return compiled{}, err
	}
	if body.typ.Kind != Boolean && body.typ.Kind != KindNull {
		return compiled{}, errAt(x.Args[1].exprPos(), "the lambda of FILTER must return a BOOLEAN, not %s", body.typ)
	}
	cf, bf := coll.fn, body.fn
	return compiled{typ: coll.typ, fn: func(e *env) Value {
		a := cf(e)
		if !a.Valid {
			return null
		}
		out := make([]Value, 0, len(a.A))
		if isMap {
			e.slots(slot + 2)
			for i := 0; i+1 < len(a.A); i += 2 {
				e.vars[slot], e.vars[slot+1] = a.A[i], a.A[i+1]
				if b := bf(e); b.Valid && b.I != 0 {
					out = append(out, a.A[i], a.A[i+1])
				}
			}
			return arrayValue(out)
		}
		e.slots(slot + 1)
		for _, v := range a.A {
			e.vars[slot] = v
			if b := bf(e); b.Valid && b.I != 0 {
				out = append(out, v)
			}
		}
		return arrayValue(out)
	}}, nil
}

// reduce folds a collection into a state that starts at the second
// argument: NULL when the state starts NULL, the start itself for a NULL
// collection, as ksqlDB's REDUCE.
func (c *compiler) reduce(x *Call, coll compiled) (compiled, error) {
	init, err := c.compile(x.Args[1])
	if err != nil {
		return compiled{}, err
	}
	st := init.typ
	if st.Kind == KindNull {
		return compiled{}, errAt(x.Args[1].exprPos(), "the initial state of REDUCE needs a type: CAST the NULL")
	}
	isMap := coll.typ.Kind == Map
	ts := []*Type{st, coll.typ.Elem}
	if isMap {
		ts = []*Type{st, coll.typ.Key, coll.typ.Elem}
	}
	body, slot, err := c.lambdaBody(x.Name, x.Args[2], ts...)
	if err != nil {
		return compiled{}, err
	}
	if !body.typ.equal(st) && body.typ.Kind != KindNull {
		if !body.typ.numeric() || !st.numeric() {
			return compiled{}, errAt(x.Args[2].exprPos(), "the lambda of REDUCE returns %s, but its state is %s", body.typ, st)
		}
		if body, err = castTo(x.Args[2].exprPos(), body, st); err != nil {
			return compiled{}, err
		}
	}
	cf, sf, bf, n := coll.fn, init.fn, body.fn, len(ts)
	return compiled{typ: st, fn: func(e *env) Value {
		s := sf(e)
		if !s.Valid {
			return null
		}
		a := cf(e)
		if !a.Valid {
			return s
		}
		e.slots(slot + n)
		step := n - 1
		for i := 0; i+step <= len(a.A); i += step {
			e.vars[slot] = s
			copy(e.vars[slot+1:slot+n], a.A[i:i+step])
			s = bf(e)
		}
		return s
	}}, nil
}
