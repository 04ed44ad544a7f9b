package sql

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"
)

// Format is a key or value serialization format.
type Format uint8

const (
	FormatKafka Format = iota + 1
	FormatJSON
	FormatDelimited
	FormatNone
)

func (f Format) String() string {
	switch f {
	case FormatKafka:
		return "KAFKA"
	case FormatJSON:
		return "JSON"
	case FormatDelimited:
		return "DELIMITED"
	case FormatNone:
		return "NONE"
	}
	return "?"
}

// parseDelimiter reads VALUE_DELIMITER and KEY_DELIMITER: one character,
// or the names TAB and SPACE.
func parseDelimiter(p Pos, s string) (byte, error) {
	switch strings.ToUpper(s) {
	case "TAB":
		return '\t', nil
	case "SPACE":
		return ' ', nil
	}
	if len(s) != 1 {
		return 0, errAt(p, "invalid delimiter %q: a delimiter is one character, or TAB or SPACE", s)
	}
	return s[0], nil
}

func parseFormat(p Pos, s string) (Format, error) {
	switch strings.ToUpper(s) {
	case "KAFKA":
		return FormatKafka, nil
	case "JSON":
		return FormatJSON, nil
	case "DELIMITED":
		return FormatDelimited, nil
	case "NONE":
		return FormatNone, nil
	case "AVRO", "PROTOBUF", "PROTOBUF_NOSR", "JSON_SR":
		return 0, unsupported(p, "format "+strings.ToUpper(s))
	}
	return 0, errAt(p, "unknown format %q: expected KAFKA, JSON, DELIMITED or NONE", s)
}

// rowSerde reads and writes a Row of the given columns in one format.
// Single-column layouts are unwrapped (the bare value, not an object or a
// one-field line) where ksqlDB unwraps them: always for KAFKA, for keys in
// JSON, and for values when WRAP_SINGLE_VALUE=false.
type rowSerde struct {
	cols   []Column
	format Format
	unwrap bool
	delim  byte
	// need, when set, lists the columns some query reads: the others are
	// not decoded (they read NULL), which spares parsing and allocating
	// what no query uses. The planner fills it in as it compiles.
	need []bool
	// nulls, while no column is needed, is the row every record reads as:
	// shared, since rows are never written after they are made.
	nulls Row
}

func (s *rowSerde) prune() {
	s.need = make([]bool, len(s.cols))
	s.nulls = make(Row, len(s.cols))
}

// clone returns a copy with none of s's columns marked as read.
func (s *rowSerde) clone() *rowSerde {
	c := *s
	c.need, c.nulls = nil, nil
	if s.need != nil {
		c.prune()
	}
	return &c
}

func (s *rowSerde) use(i int) {
	if s.need != nil {
		s.need[i] = true
		s.nulls = nil
	}
}

func (s *rowSerde) skip(i int) bool { return s.need != nil && !s.need[i] }

func newRowSerde(cols []Column, f Format, key bool, wrap bool) *rowSerde {
	return newRowSerdeDelim(cols, f, key, wrap, ',')
}

func newRowSerdeDelim(cols []Column, f Format, key bool, wrap bool, delim byte) *rowSerde {
	s := &rowSerde{cols: cols, format: f, delim: delim}
	if f == FormatKafka || len(cols) == 1 && (key || !wrap) {
		s.unwrap = true
	}
	return s
}

func (s *rowSerde) check(p Pos, what string) error {
	switch s.format {
	case FormatKafka:
		if len(s.cols) > 1 {
			return errAt(p, "the KAFKA format supports a single %s column, got %d", what, len(s.cols))
		}
		for _, c := range s.cols {
			switch c.Type.Kind {
			case Integer, BigInt, Double, String, Bytes:
			default:
				return errAt(p, "the KAFKA format does not support type %s (column %s)", c.Type, c.Name)
			}
		}
	case FormatNone:
		if len(s.cols) > 0 {
			return errAt(p, "the NONE format needs no %s columns", what)
		}
	case FormatDelimited:
		for _, c := range s.cols {
			if c.Type.Kind == Array || c.Type.Kind == Map || c.Type.Kind == Struct {
				return errAt(p, "the DELIMITED format does not support type %s (column %s)", c.Type, c.Name)
			}
		}
	}
	for _, c := range s.cols {
		if err := supportedType(p, c.Type); err != nil {
			return err
		}
	}
	return nil
}

// supportedType rejects the types rows cannot hold yet, anywhere inside t.
func supportedType(p Pos, t *Type) error {
	switch t.Kind {
	case Decimal:
		if t.Prec > maxDecimalPrecision {
			return unsupported(p, "DECIMAL precision above 18")
		}
	case Bytes:
	case Array:
		return supportedType(p, t.Elem)
	case Map:
		if t.Key.Kind != String {
			return unsupported(p, "MAP keys of type "+t.Key.String())
		}
		return supportedType(p, t.Elem)
	case Struct:
		for _, f := range t.Fields {
			if err := supportedType(p, f.Type); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *rowSerde) Serialize(dst []byte, _ string, r Row) ([]byte, error) {
	switch s.format {
	case FormatNone:
		return dst, nil
	case FormatKafka:
		if len(s.cols) == 0 || !r[0].Valid {
			return dst, nil
		}
		v := r[0]
		switch s.cols[0].Type.Kind {
		case Integer:
			return binary.BigEndian.AppendUint32(dst, uint32(int32(v.I))), nil
		case BigInt:
			return binary.BigEndian.AppendUint64(dst, uint64(v.I)), nil
		case Double:
			return binary.BigEndian.AppendUint64(dst, math.Float64bits(v.F)), nil
		default:
			return append(dst, v.S...), nil
		}
	case FormatDelimited:
		for i, c := range s.cols {
			if i > 0 {
				dst = append(dst, s.delim)
			}
			if !r[i].Valid {
				continue
			}
			start := len(dst)
			switch c.Type.Kind {
			case Timestamp, Time, Date:
				// As DELIMITED reads them: milliseconds, or days.
				dst = strconv.AppendInt(dst, r[i].I, 10)
			default:
				dst = appendText(dst, c.Type, r[i])
			}
			if c.Type.Kind == String && needsQuote(dst[start:]) {
				q := strings.ReplaceAll(string(dst[start:]), `"`, `""`)
				dst = append(append(append(dst[:start], '"'), q...), '"')
			} else if c.Type.Kind == String && s.delim != ',' && strings.IndexByte(string(dst[start:]), s.delim) >= 0 {
				q := strings.ReplaceAll(string(dst[start:]), `"`, `""`)
				dst = append(append(append(dst[:start], '"'), q...), '"')
			}
		}
		return dst, nil
	}
	if s.unwrap {
		return appendJSON(dst, s.cols[0].Type, r[0]), nil
	}
	dst = append(dst, '{')
	for i, c := range s.cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendQuote(dst, c.Name)
		dst = append(dst, ':')
		dst = appendJSON(dst, c.Type, r[i])
	}
	return append(dst, '}'), nil
}

func (s *rowSerde) Deserialize(topic string, data []byte) (Row, error) {
	if s.nulls != nil {
		// No query reads a column: check the record is well formed, and
		// share the NULL row.
		switch s.format {
		case FormatDelimited:
			if bytes.IndexByte(data, '"') < 0 {
				if n := bytes.Count(data, []byte{s.delim}) + 1; n != len(s.cols) {
					return nil, fmt.Errorf("sql: DELIMITED record has %d fields, the schema %d", n, len(s.cols))
				}
				return s.nulls, nil
			}
		case FormatJSON:
			d := jsonReader{b: data}
			if err := d.skip(); err != nil {
				return nil, err
			}
			if err := d.end(); err != nil {
				return nil, err
			}
			return s.nulls, nil
		}
	}
	r := make(Row, len(s.cols))
	switch s.format {
	case FormatNone:
		return r, nil
	case FormatKafka:
		if len(s.cols) == 0 {
			return r, nil
		}
		switch s.cols[0].Type.Kind {
		case Integer:
			if len(data) != 4 {
				return nil, fmt.Errorf("sql: KAFKA INT needs 4 bytes, got %d", len(data))
			}
			r[0] = intValue(int64(int32(binary.BigEndian.Uint32(data))))
		case BigInt:
			if len(data) != 8 {
				return nil, fmt.Errorf("sql: KAFKA BIGINT needs 8 bytes, got %d", len(data))
			}
			r[0] = intValue(int64(binary.BigEndian.Uint64(data)))
		case Double:
			if len(data) != 8 {
				return nil, fmt.Errorf("sql: KAFKA DOUBLE needs 8 bytes, got %d", len(data))
			}
			r[0] = floatValue(math.Float64frombits(binary.BigEndian.Uint64(data)))
		default:
			r[0] = stringValue(string(data))
		}
		return r, nil
	case FormatDelimited:
		if bytes.IndexByte(data, '"') >= 0 {
			line := string(data)
			fields, err := splitDelimited(line, s.delim)
			if err != nil {
				return nil, err
			}
			if len(fields) != len(s.cols) {
				return nil, fmt.Errorf("sql: DELIMITED record has %d fields, the schema %d", len(fields), len(s.cols))
			}
			for i, c := range s.cols {
				if err := s.field(r, i, c, fields[i]); err != nil {
					return nil, err
				}
			}
			return r, nil
		}
		line := unsafeString(data)
		// Unquoted: the fields are substrings of the one line.
		for i, c := range s.cols {
			if s.skip(i) {
				j := strings.IndexByte(line, s.delim)
				if j < 0 {
					if i != len(s.cols)-1 {
						return nil, fmt.Errorf("sql: DELIMITED record has %d fields, the schema %d", i+1, len(s.cols))
					}
					line = ""
				} else {
					line = line[j+1:]
				}
				continue
			}
			j := strings.IndexByte(line, s.delim)
			if j < 0 {
				if i != len(s.cols)-1 {
					return nil, fmt.Errorf("sql: DELIMITED record has %d fields, the schema %d", i+1, len(s.cols))
				}
				j = len(line)
			} else if i == len(s.cols)-1 {
				return nil, fmt.Errorf("sql: DELIMITED record has more fields than the schema's %d", len(s.cols))
			}
			if err := s.field(r, i, c, line[:j]); err != nil {
				return nil, err
			}
			if j < len(line) {
				line = line[j+1:]
			} else {
				line = ""
			}
		}
		return r, nil
	}
	d := jsonReader{b: data}
	if s.unwrap {
		v, err := d.value(s.cols[0].Type)
		if err != nil {
			return nil, err
		}
		r[0] = v
		return r, d.end()
	}
	if err := d.object(func(name string) (bool, error) {
		for i, c := range s.cols {
			if strings.EqualFold(c.Name, name) {
				if s.skip(i) {
					return false, nil
				}
				v, err := d.value(c.Type)
				r[i] = v
				return true, err
			}
		}
		return false, nil
	}); err != nil {
		return nil, err
	}
	return r, d.end()
}

// field reads one DELIMITED field; an empty one is NULL.
func (s *rowSerde) field(r Row, i int, c Column, text string) error {
	if text == "" {
		return nil
	}
	if c.Type.Kind == String {
		// text may alias the record's bytes: the row keeps a copy.
		r[i] = stringValue(strings.Clone(text))
		return nil
	}
	v, err := parseText(c.Type, text)
	if err != nil {
		return fmt.Errorf("sql: DELIMITED column %s: %w", c.Name, err)
	}
	r[i] = v
	return nil
}

// needsQuote says a DELIMITED string field is quoted, as Commons CSV's
// minimal quoting does: it holds a quote, comma or line break, or starts
// or ends with whitespace.
func needsQuote(b []byte) bool {
	if len(b) > 0 && (b[0] <= ' ' || b[len(b)-1] <= ' ') {
		return true
	}
	return bytes.ContainsAny(b, ",\"\n\r")
}

func splitDelimited(s string, delim byte) ([]string, error) {
	var out []string
	for {
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("sql: DELIMITED: unterminated quote")
				}
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			out = append(out, b.String())
			if i >= len(s) {
				return out, nil
			}
			if s[i] != delim {
				return nil, fmt.Errorf("sql: DELIMITED: expected a delimiter after a quoted field")
			}
			s = s[i+1:]
			continue
		}
		j := strings.IndexByte(s, delim)
		if j < 0 {
			return append(out, s), nil
		}
		out = append(out, s[:j])
		s = s[j+1:]
	}
}

// appendText writes v as DELIMITED and string casts write it.
func appendText(dst []byte, t *Type, v Value) []byte {
	switch t.Kind {
	case Boolean:
		return strconv.AppendBool(dst, v.I != 0)
	case Integer, BigInt:
		return strconv.AppendInt(dst, v.I, 10)
	case Double:
		return appendDouble(dst, v.F)
	case Decimal:
		return appendDecimal(dst, t, v)
	case Bytes:
		return base64.StdEncoding.AppendEncode(dst, []byte(v.S))
	case Timestamp:
		return append(dst, formatTimestamp(v.I, "yyyy-MM-dd'T'HH:mm:ss.SSS")...)
	case Date:
		return append(dst, formatTimestamp(v.I*86_400_000, "yyyy-MM-dd")...)
	case Time:
		return append(dst, formatTimestamp(v.I, "HH:mm:ss")...)
	case Array:
		dst = append(dst, '[')
		for i, e := range v.A {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			if !e.Valid {
				dst = append(dst, "null"...)
				continue
			}
			dst = appendText(dst, t.Elem, e)
		}
		return append(dst, ']')
	case Struct:
		// As Java's Struct.toString, which ksqlDB's CAST to STRING uses.
		dst = append(dst, "Struct{"...)
		n := 0
		for i, fl := range t.Fields {
			if i >= len(v.A) || !v.A[i].Valid {
				continue
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = append(dst, fl.Name...)
			dst = append(dst, '=')
			dst = appendText(dst, fl.Type, v.A[i])
		}
		return append(dst, '}')
	case Map:
		dst = append(dst, '{')
		for i := 0; i+1 < len(v.A); i += 2 {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = append(dst, v.A[i].S...)
			dst = append(dst, '=')
			if !v.A[i+1].Valid {
				dst = append(dst, "null"...)
				continue
			}
			dst = appendText(dst, t.Elem, v.A[i+1])
		}
		return append(dst, '}')
	}
	return append(dst, v.S...)
}

// appendDouble writes a double as Java's Double.toString does for the
// common range: always with a fraction ("1.0"), exponent form outside
// [1e-3, 1e7).
func appendDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	a := math.Abs(f)
	if a != 0 && (a < 1e-3 || a >= 1e7) {
		s := strconv.FormatFloat(f, 'E', -1, 64)
		if m, _, _ := strings.Cut(s, "E"); !strings.Contains(m, ".") {
			// Java prints at least two digits, the two closest to the
			// value: Double.MIN_VALUE is 4.9E-324, not 5.0E-324.
			s = strconv.FormatFloat(f, 'E', 1, 64)
		}
		mant, exp, _ := strings.Cut(s, "E")
		// Go pads the exponent to two digits; Java does not.
		e, _ := strconv.Atoi(exp)
		dst = append(append(dst, mant...), 'E')
		return strconv.AppendInt(dst, int64(e), 10)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	if !strings.Contains(string(dst[start:]), ".") {
		dst = append(dst, ".0"...)
	}
	return dst
}

func parseText(t *Type, s string) (Value, error) {
	switch t.Kind {
	case Boolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return boolValue(true), nil
		case "false":
			return boolValue(false), nil
		}
		return null, fmt.Errorf("not a BOOLEAN: %q", s)
	case Integer:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return null, fmt.Errorf("not an INTEGER: %q", s)
		}
		return intValue(n), nil
	case BigInt:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return null, fmt.Errorf("not a BIGINT: %q", s)
		}
		return intValue(n), nil
	case Double:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return null, fmt.Errorf("not a DOUBLE: %q", s)
		}
		return floatValue(f), nil
	case Decimal:
		return parseDecimal(t, s)
	case Bytes:
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		if err != nil {
			return null, fmt.Errorf("not base64 BYTES: %q", s)
		}
		return stringValue(string(b)), nil
	case Timestamp, Time, Date:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return null, fmt.Errorf("not a %s: %q", t, s)
		}
		return intValue(n), nil
	case String:
		return stringValue(s), nil
	}
	return null, fmt.Errorf("cannot read %s from text", t)
}

func appendJSON(dst []byte, t *Type, v Value) []byte {
	if !v.Valid {
		return append(dst, "null"...)
	}
	switch t.Kind {
	case Boolean:
		return strconv.AppendBool(dst, v.I != 0)
	case Integer, BigInt, Timestamp, Date, Time:
		return strconv.AppendInt(dst, v.I, 10)
	case Decimal:
		return appendDecimal(dst, t, v)
	case Bytes:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, []byte(v.S))
		return append(dst, '"')
	case Double:
		if math.IsNaN(v.F) || math.IsInf(v.F, 0) {
			return strconv.AppendQuote(dst, string(appendDouble(nil, v.F)))
		}
		return appendDouble(dst, v.F)
	case Array:
		dst = append(dst, '[')
		for i, e := range v.A {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, t.Elem, e)
		}
		return append(dst, ']')
	case Struct:
		dst = append(dst, '{')
		for i, fl := range t.Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, fl.Name)
			dst = append(dst, ':')
			var fv Value
			if i < len(v.A) {
				fv = v.A[i]
			}
			dst = appendJSON(dst, fl.Type, fv)
		}
		return append(dst, '}')
	case Map:
		dst = append(dst, '{')
		for i := 0; i+1 < len(v.A); i += 2 {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, v.A[i].S)
			dst = append(dst, ':')
			dst = appendJSON(dst, t.Elem, v.A[i+1])
		}
		return append(dst, '}')
	}
	return appendJSONString(dst, v.S)
}

func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, fmt.Sprintf("\\u%04x", c)...)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// unsafeString views b as a string without copying, for scanning a record
// whose fields are copied out (strings.Clone) before it is released.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
