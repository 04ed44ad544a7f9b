package sql

import (
	"fmt"
	"strings"
)

// Kind is a SQL type's kind.
type Kind uint8

const (
	KindNull Kind = iota // the type of a bare NULL literal
	Boolean
	Integer
	BigInt
	Double
	String
	Timestamp // ms since the epoch, in Value.I
	Date      // days since the epoch, in Value.I
	Time      // ms since midnight, in Value.I
	Array
	Decimal
	Bytes
	Map
	Struct
)

var kindNames = [...]string{"NULL", "BOOLEAN", "INTEGER", "BIGINT", "DOUBLE", "STRING", "TIMESTAMP", "DATE", "TIME", "ARRAY", "DECIMAL", "BYTES", "MAP", "STRUCT"}

func (k Kind) String() string { return kindNames[k] }

// Type is a column or expression type.
type Type struct {
	Kind   Kind
	Elem   *Type   // ARRAY's element, MAP's value
	Key    *Type   // MAP's key
	Fields []Field // STRUCT's fields
	Prec   int     // DECIMAL's precision
	Scale  int     // DECIMAL's scale
}

// Field is a STRUCT field. A STRUCT value holds its fields' values in A,
// in this order; a MAP value holds key, value, key, value... in A.
type Field struct {
	Name string
	Type *Type
}

func (t *Type) field(name string) (int, bool) {
	for i, f := range t.Fields {
		if f.Name == name {
			return i, true
		}
	}
	for i, f := range t.Fields {
		if strings.EqualFold(f.Name, name) {
			return i, true
		}
	}
	return 0, false
}

var (
	typeNull   = &Type{Kind: KindNull}
	typeBool   = &Type{Kind: Boolean}
	typeInt    = &Type{Kind: Integer}
	typeBigInt = &Type{Kind: BigInt}
	typeDouble = &Type{Kind: Double}
	typeString = &Type{Kind: String}
	typeTS     = &Type{Kind: Timestamp}
)

func arrayOf(t *Type) *Type { return &Type{Kind: Array, Elem: t} }

func (t *Type) String() string {
	switch t.Kind {
	case Array:
		return "ARRAY<" + t.Elem.String() + ">"
	case Map:
		return "MAP<" + t.Key.String() + ", " + t.Elem.String() + ">"
	case Decimal:
		return fmt.Sprintf("DECIMAL(%d, %d)", t.Prec, t.Scale)
	case Struct:
		var b strings.Builder
		b.WriteString("STRUCT<")
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("`" + f.Name + "` " + f.Type.String())
		}
		b.WriteString(">")
		return b.String()
	}
	return t.Kind.String()
}

func (t *Type) equal(o *Type) bool {
	if t.Kind != o.Kind {
		return false
	}
	switch t.Kind {
	case Decimal:
		return t.Prec == o.Prec && t.Scale == o.Scale
	case Array:
		return t.Elem.equal(o.Elem)
	case Map:
		return t.Key.equal(o.Key) && t.Elem.equal(o.Elem)
	case Struct:
		if len(t.Fields) != len(o.Fields) {
			return false
		}
		for i := range t.Fields {
			if t.Fields[i].Name != o.Fields[i].Name || !t.Fields[i].Type.equal(o.Fields[i].Type) {
				return false
			}
		}
	}
	return true
}

func (t *Type) numeric() bool {
	return t.Kind == Integer || t.Kind == BigInt || t.Kind == Double
}

func (t *Type) integral() bool { return t.Kind == Integer || t.Kind == BigInt }

// Value is one cell, typed by its column: integers, booleans (0/1) and
// times in I, doubles in F, strings in S, arrays in A. The zero Value is
// NULL, so a fresh row is all NULLs. Values are never boxed into
// interfaces: the column's Type says which field holds the datum.
type Value struct {
	I     int64
	F     float64
	S     string
	A     []Value
	Valid bool
}

var null = Value{}

func intValue(i int64) Value     { return Value{I: i, Valid: true} }
func floatValue(f float64) Value { return Value{F: f, Valid: true} }
func stringValue(s string) Value { return Value{S: s, Valid: true} }
func arrayValue(a []Value) Value { return Value{A: a, Valid: true} }
func boolValue(b bool) Value {
	if b {
		return Value{I: 1, Valid: true}
	}
	return Value{Valid: true}
}

// Row is a record's key or value: one Value per column of the layout the
// planner fixed for the edge the row travels on.
type Row []Value

// Column is a named, typed column of a schema.
type Column struct {
	Name string
	Type *Type
	Key  bool
}

// Schema is a source's columns: key columns first, as ksqlDB lists them.
type Schema struct {
	Key   []Column
	Value []Column
}

func (s *Schema) find(name string) (key bool, idx int, ok bool) {
	for i, c := range s.Key {
		if c.Name == name {
			return true, i, true
		}
	}
	for i, c := range s.Value {
		if c.Name == name {
			return false, i, true
		}
	}
	return false, 0, false
}

func (s *Schema) String() string {
	var b strings.Builder
	for i, c := range append(append([]Column(nil), s.Key...), s.Value...) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("`" + c.Name + "` " + c.Type.String())
		if c.Key {
			b.WriteString(" KEY")
		}
	}
	return b.String()
}
