package sql

import (
	"fmt"
	"strconv"
	"strings"
)

// jsonReader decodes JSON straight into Values of the types the schema
// asks for, coercing as ksqlDB's JSON format does (a number into a STRING
// column becomes its text, a numeric string into a BIGINT its number), with
// no intermediate map or interface values.
type jsonReader struct {
	b []byte
	i int
}

func (d *jsonReader) ws() {
	for d.i < len(d.b) && (d.b[d.i] == ' ' || d.b[d.i] == '\n' || d.b[d.i] == '\t' || d.b[d.i] == '\r') {
		d.i++
	}
}

func (d *jsonReader) errf(format string, args ...any) error {
	return fmt.Errorf("sql: JSON at offset %d: %s", d.i, fmt.Sprintf(format, args...))
}

func (d *jsonReader) end() error {
	d.ws()
	if d.i != len(d.b) {
		return d.errf("unexpected data after the value")
	}
	return nil
}

// object calls field for each member; field reads the value when it wants
// it (returning true), else the member is skipped.
func (d *jsonReader) object(field func(name string) (bool, error)) error {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == 'n' {
		return d.literal("null")
	}
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return d.errf("expected an object")
	}
	d.i++
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		d.ws()
		name, err := d.str()
		if err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return d.errf("expected ':'")
		}
		d.i++
		used, err := field(name)
		if err != nil {
			return err
		}
		if !used {
			if err := d.skip(); err != nil {
				return err
			}
		}
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == ',' {
			d.i++
			continue
		}
		if d.i < len(d.b) && d.b[d.i] == '}' {
			d.i++
			return nil
		}
		return d.errf("expected ',' or '}'")
	}
}

func (d *jsonReader) literal(s string) error {
	if !strings.HasPrefix(string(d.b[d.i:]), s) {
		return d.errf("bad literal")
	}
	d.i += len(s)
	return nil
}

func (d *jsonReader) skip() error {
	d.ws()
	if d.i >= len(d.b) {
		return d.errf("unexpected end")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, err := d.str()
		return err
	case c == '{':
		return d.object(func(string) (bool, error) { return false, nil })
	case c == '[':
		d.i++
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == ']' {
			d.i++
			return nil
		}
		for {
			if err := d.skip(); err != nil {
				return err
			}
			d.ws()
			if d.i < len(d.b) && d.b[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.b) && d.b[d.i] == ']' {
				d.i++
				return nil
			}
			return d.errf("expected ',' or ']'")
		}
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	default:
		_, err := d.num()
		return err
	}
}

func (d *jsonReader) num() (string, error) {
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			d.i++
			continue
		}
		break
	}
	if start == d.i {
		return "", d.errf("expected a value")
	}
	return string(d.b[start:d.i]), nil
}

func (d *jsonReader) str() (string, error) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", d.errf("expected a string")
	}
	d.i++
	start := d.i
	for d.i < len(d.b) && d.b[d.i] != '"' && d.b[d.i] != '\\' {
		d.i++
	}
	if d.i < len(d.b) && d.b[d.i] == '"' {
		s := string(d.b[start:d.i])
		d.i++
		return s, nil
	}
	var sb strings.Builder
	sb.Write(d.b[start:d.i])
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch c {
		case '"':
			d.i++
			return sb.String(), nil
		case '\\':
			d.i++
			if d.i >= len(d.b) {
				return "", d.errf("bad escape")
			}
			e := d.b[d.i]
			d.i++
			switch e {
			case 'n':
				sb.WriteByte('\n')
			case 't':
				sb.WriteByte('\t')
			case 'r':
				sb.WriteByte('\r')
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'u':
				if d.i+4 > len(d.b) {
					return "", d.errf("bad \\u escape")
				}
				n, err := strconv.ParseUint(string(d.b[d.i:d.i+4]), 16, 32)
				if err != nil {
					return "", d.errf("bad \\u escape")
				}
				d.i += 4
				r := rune(n)
				if r >= 0xD800 && r < 0xDC00 && d.i+6 <= len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
					if lo, err := strconv.ParseUint(string(d.b[d.i+2:d.i+6]), 16, 32); err == nil {
						r = (r-0xD800)<<10 + (rune(lo) - 0xDC00) + 0x10000
						d.i += 6
					}
				}
				sb.WriteRune(r)
			default:
				sb.WriteByte(e)
			}
		default:
			sb.WriteByte(c)
			d.i++
		}
	}
	return "", d.errf("unterminated string")
}

func (d *jsonReader) value(t *Type) (Value, error) {
	d.ws()
	if d.i >= len(d.b) {
		return null, d.errf("unexpected end")
	}
	c := d.b[d.i]
	if c == 'n' {
		return null, d.literal("null")
	}
	switch t.Kind {
	case String:
		switch c {
		case '"':
			s, err := d.str()
			return stringValue(s), err
		case '{', '[':
			start := d.i
			if err := d.skip(); err != nil {
				return null, err
			}
			return stringValue(string(d.b[start:d.i])), nil
		case 't', 'f':
			b := c == 't'
			if err := d.skip(); err != nil {
				return null, err
			}
			return stringValue(strconv.FormatBool(b)), nil
		}
		s, err := d.num()
		return stringValue(s), err
	case Bytes:
		s, err := d.str()
		if err != nil {
			return null, err
		}
		v, err := parseText(t, s)
		if err != nil {
			return null, d.errf("%v", err)
		}
		return v, nil
	case Boolean:
		switch c {
		case 't':
			return boolValue(true), d.literal("true")
		case 'f':
			return boolValue(false), d.literal("false")
		case '"':
			s, err := d.str()
			if err != nil {
				return null, err
			}
			return parseText(t, s)
		}
		return null, d.errf("expected a BOOLEAN")
	case Decimal:
		var s string
		var err error
		if c == '"' {
			s, err = d.str()
		} else {
			s, err = d.num()
		}
		if err != nil {
			return null, err
		}
		v, err := parseDecimal(t, s)
		if err != nil {
			return null, d.errf("%v", err)
		}
		return v, nil
	case Integer, BigInt, Double, Timestamp, Date, Time:
		var s string
		var err error
		if c == '"' {
			s, err = d.str()
		} else {
			s, err = d.num()
		}
		if err != nil {
			return null, err
		}
		if t.Kind != Double && strings.ContainsAny(s, ".eE") {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return null, d.errf("not a number: %q", s)
			}
			return intValue(int64(f)), nil
		}
		v, err := parseText(t, s)
		if err != nil {
			return null, d.errf("%v", err)
		}
		return v, nil
	case Struct:
		if c != '{' {
			return null, d.errf("expected an object for %s", t)
		}
		out := make([]Value, len(t.Fields))
		err := d.object(func(name string) (bool, error) {
			i, ok := t.field(name)
			if !ok {
				return false, nil
			}
			v, err := d.value(t.Fields[i].Type)
			out[i] = v
			return true, err
		})
		return arrayValue(out), err
	case Map:
		if c != '{' {
			return null, d.errf("expected an object for %s", t)
		}
		out := []Value{}
		err := d.object(func(name string) (bool, error) {
			v, err := d.value(t.Elem)
			out = append(out, stringValue(name), v)
			return true, err
		})
		return arrayValue(out), err
	case Array:
		if c != '[' {
			return null, d.errf("expected an array")
		}
		d.i++
		var out []Value
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == ']' {
			d.i++
			return arrayValue([]Value{}), nil
		}
		for {
			v, err := d.value(t.Elem)
			if err != nil {
				return null, err
			}
			out = append(out, v)
			d.ws()
			if d.i < len(d.b) && d.b[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.b) && d.b[d.i] == ']' {
				d.i++
				return arrayValue(out), nil
			}
			return null, d.errf("expected ',' or ']'")
		}
	}
	return null, d.errf("cannot read type %s", t)
}
