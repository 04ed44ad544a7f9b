package sql

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// pushQuery plans SELECT ... EMIT CHANGES as a query into a topic of its
// own, in JSON, named after the query's number; PushQueries lists them for
// a client to read and print.
func (p *Program) pushQuery(x *PushQuery) error {
	n := p.pushBase + len(p.push) + 1
	name := fmt.Sprintf("TRANSIENT_%d", n)
	out, err := p.query(x.Query, name)
	if err != nil {
		return err
	}
	if len(out.schema.Value) == 0 {
		return errAt(x.Pos, "the projection contains no value columns")
	}
	s := &Source{Name: name, Table: out.table, Topic: fmt.Sprintf("samsa-transient-%d", n), tsCol: -1, pos: x.Pos,
		Schema: out.schema, Window: out.window, WindowSize: out.wsize}
	w := withProps{wrap: true, keyDelim: ',', valDelim: ',', keyFormat: FormatJSON, valFormat: FormatJSON}
	if len(out.schema.Key) == 0 {
		w.keyFormat = FormatKafka
	}
	if err := p.sinkFormats(s, w); err != nil {
		return err
	}
	p.push = append(p.push, s)
	p.write(s, out)
	return nil
}

// PushQueries are the sources of the program's SELECT ... EMIT CHANGES
// statements, in order: a client reads their topics and prints each record
// with Render.
func (p *Program) PushQueries() []*Source { return p.push }

// Render formats a record of the source as a row: its key and value
// columns as JSON values, and the window of a windowed key.
func (s *Source) Render(key, value []byte) (string, error) {
	var b strings.Builder
	b.WriteString("{")
	n := 0
	field := func(name string, t *Type, v Value) {
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		b.WriteString(name + ": ")
		b.Write(appendJSON(nil, t, v))
	}
	if s.Window != "" && key != nil {
		k := len(key) - 8
		if s.Window == "SESSION" {
			k = len(key) - 16
		}
		if k < 0 {
			return "", fmt.Errorf("sql: windowed key of %d bytes", len(key))
		}
		start := int64(binary.BigEndian.Uint64(key[len(key)-8:]))
		field("WINDOWSTART", typeBigInt, intValue(start))
		key = key[:k]
	}
	if key != nil {
		r, err := s.keySerde.Deserialize(s.Topic, key)
		if err != nil {
			return "", err
		}
		for i, c := range s.Schema.Key {
			field(c.Name, c.Type, r[i])
		}
	}
	if value == nil {
		b.WriteString("} (deleted)")
		return b.String(), nil
	}
	r, err := newRowSerde(s.Schema.Value, s.ValueFormat, false, true).Deserialize(s.Topic, value)
	if err != nil {
		return "", err
	}
	for i, c := range s.Schema.Value {
		field(c.Name, c.Type, r[i])
	}
	b.WriteString("}")
	return b.String(), nil
}
