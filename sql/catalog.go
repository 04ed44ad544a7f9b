package sql

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

// Source is a stream or table the statements declared or created: its
// topic, formats and columns.
type Source struct {
	Name        string
	Table       bool
	Topic       string
	KeyFormat   Format
	ValueFormat Format
	Schema      Schema
	Partitions  int
	// Window is the window kind of a windowed aggregation's output
	// ("TUMBLING", "HOPPING", "SESSION"), WindowSize its size in ms.
	Window     string
	WindowSize int64

	// ReadOnly marks a CREATE SOURCE stream or table: no query writes it.
	ReadOnly bool
	// used says a query of these statements, or of the programs before
	// (Catalog), reads or writes the source: it cannot be dropped.
	used bool

	keySerde, valueSerde *rowSerde
	tsCol                int    // value column giving the timestamp, or -1
	tsLayout             string // Go layout of a STRING timestamp column (TIMESTAMP_FORMAT)
	tsKey                bool   // the timestamp column is a key column
	pull                 *pullSpec
	pos                  Pos
}

// KeySerde reads and writes the source's keys (unwindowed).
func (s *Source) KeySerde() serde.Serde[Row] { return s.keySerde }

// ValueSerde reads and writes the source's values.
func (s *Source) ValueSerde() serde.Serde[Row] { return s.valueSerde }

func (s *Source) kind() string {
	if s.Table {
		return "table"
	}
	return "stream"
}

// Program is a set of statements compiled into one topology: every
// persistent query is a connected part of it, reading its sources' topics
// and writing its sink's.
type Program struct {
	b         *dsl.Builder
	sources   map[string]*Source
	order     []*Source
	streams   map[string]dsl.KStream[Row, Row]
	tables    map[string]dsl.KTable[Row, Row]
	queries   int
	push      []*Source
	pushBase  int // push queries of the programs before (Catalog)
	explained bool
	// legacyJoins numbers the legacy stream-stream joins' stores.
	legacyJoins int
	topo        *topology.Topology
	props       map[string]string
}

// Option configures Compile.
type Option func(*Program)

// WithProperty sets a ksqlDB property; the ones honoured are
// ksql.persistence.default.format.key and .value,
// ksql.new.query.planner.enabled (a stream projection may drop its key),
// ksql.functions.collect_list.limit and collect_set.limit (the most
// elements those aggregates keep, 1000 by default) and
// ksql.timestamp.throw.on.invalid (a TIMESTAMP column that does not parse
// fails the task instead of dropping the record).
// SET and UNSET statements change them for the statements after, and
// Catalog passes them on.
func WithProperty(name, value string) Option {
	return func(p *Program) { p.props[strings.ToLower(name)] = value }
}

// Catalog makes the statements see the streams and tables prev declared
// and created as declared sources over their topics: Compile plans only
// the new statements' queries, and a table prev computes keeps what pull
// queries need to read it from prev's running application. A client that
// runs each persistent query as an application of its own (as samsa sql
// -i does, and ksqlDB) compiles each statement with the program before.
func Catalog(prev *Program) Option {
	return func(p *Program) {
		for k, v := range prev.props {
			p.props[k] = v
		}
		for _, s := range prev.order {
			c := *s
			// Planning marks the columns a query reads in the source's
			// serdes; prev's run in prev's topology and stay as they are.
			c.keySerde, c.valueSerde = s.keySerde.clone(), s.valueSerde.clone()
			p.sources[c.Name] = &c
			p.order = append(p.order, &c)
		}
		p.pushBase = prev.pushBase + len(prev.push)
	}
}

// Compile parses and plans statements into one topology.
func Compile(src string, opts ...Option) (*Program, error) {
	stmts, err := Parse(src)
	if err != nil {
		return nil, err
	}
	p := &Program{
		b:       dsl.NewBuilder(),
		sources: map[string]*Source{},
		streams: map[string]dsl.KStream[Row, Row]{},
		tables:  map[string]dsl.KTable[Row, Row]{},
		props:   map[string]string{},
	}
	for _, o := range opts {
		o(p)
	}
	if err := p.checkProps(); err != nil {
		return nil, err
	}
	for _, s := range stmts {
		if err := p.plan(s); err != nil {
			return nil, err
		}
	}
	if p.queries == 0 {
		// Declarations alone: a catalog for the statements to come.
		return p, nil
	}
	if p.topo, err = p.b.Build(); err != nil {
		return nil, err
	}
	return p, nil
}

// Topology is the compiled topology, to run with runtime.New or the test
// driver; nil when the statements only declare sources.
func (p *Program) Topology() *topology.Topology { return p.topo }

// Explain is the topology's description in Kafka Streams' text form; ""
// when the statements only declare sources.
func (p *Program) Explain() string {
	if p.topo == nil {
		return ""
	}
	return p.topo.Describe().String()
}

// Explained says the statements held an EXPLAIN, whose output a client
// prints.
func (p *Program) Explained() bool { return p.explained }

// Source returns the named source.
func (p *Program) Source(name string) (*Source, bool) {
	s, ok := p.sources[name]
	return s, ok
}

// Sources are the declared and created sources in statement order.
func (p *Program) Sources() []*Source { return p.order }

// SourceForTopic returns the first source over a topic.
func (p *Program) SourceForTopic(topic string) (*Source, bool) {
	for _, s := range p.order {
		if s.Topic == topic {
			return s, true
		}
	}
	return nil, false
}

func (p *Program) plan(s Statement) error {
	switch x := s.(type) {
	case *CreateSource:
		if x.Query == nil {
			return p.declare(x)
		}
		return p.createAs(x)
	case *InsertInto:
		return p.insertInto(x)
	case *DropSource:
		return p.drop(x)
	case *SetProperty:
		return p.set(x)
	case *AlterSource:
		return p.alter(x)
	case *InsertValues:
		// Checked as ksqlDB checks it, but a program runs queries and
		// writes no records of its own.
		t, ok := p.sources[x.Name]
		switch {
		case !ok:
			return errAt(x.Pos, "cannot insert values into an unknown stream/table: %s", x.Name)
		case t.ReadOnly:
			return errAt(x.Pos, "cannot insert values into read-only %s: %s", t.kind(), x.Name)
		}
		return unsupported(x.Pos, "INSERT INTO ... VALUES")
	case *Explain:
		p.explained = true
		return p.plan(x.Stmt)
	case *PushQuery:
		return p.pushQuery(x)
	case *PullQuery:
		// A pull query reads the tables of a program that runs.
		return unsupported(x.Pos, "a pull query among a program's statements (run it with Program.Pull)")
	}
	return errAt(s.stmtPos(), "unknown statement")
}

// drop removes a source no query uses from the catalog, as ksqlDB's DROP
// STREAM and DROP TABLE do; its topic stays. A source a query reads or
// writes cannot be dropped: that would need the query terminated, and
// TERMINATE is not supported.
func (p *Program) drop(x *DropSource) error {
	s, ok := p.sources[x.Name]
	kind := map[bool]string{true: "Table", false: "Stream"}[x.Table]
	switch {
	case !ok && x.IfExists:
		return nil
	case !ok:
		return errAt(x.Pos, "%s %s does not exist", kind, x.Name)
	case s.Table != x.Table:
		return errAt(x.Pos, "incompatible data source type is %s, but statement was DROP %s", strings.ToUpper(s.kind()), strings.ToUpper(kind))
	case x.DeleteTopic && s.ReadOnly:
		return errAt(x.Pos, "cannot delete topic for read-only source: %s", x.Name)
	case x.DeleteTopic:
		return unsupported(x.Pos, "DROP ... DELETE TOPIC")
	case s.used:
		return errAt(x.Pos, "cannot drop %s %s: a persistent query reads or writes it, and TERMINATE is not supported", s.kind(), x.Name)
	}
	delete(p.sources, x.Name)
	p.order = slices.DeleteFunc(p.order, func(o *Source) bool { return o == s })
	return nil
}

// alter adds value columns to a declared source no query reads yet, as
// ksqlDB's ALTER ... ADD COLUMN does.
func (p *Program) alter(x *AlterSource) error {
	s, ok := p.sources[x.Name]
	kind := map[bool]string{true: "table", false: "stream"}[x.Table]
	switch {
	case !ok:
		return errAt(x.Pos, "%s %s does not exist", kind, x.Name)
	case s.Table != x.Table:
		return errAt(x.Pos, "incompatible data source type is %s, but statement was ALTER %s", strings.ToUpper(s.kind()), strings.ToUpper(kind))
	case s.ReadOnly:
		return errAt(x.Pos, "cannot alter %s '%s': ALTER operations are not supported on source %ss", kind, x.Name, kind)
	case s.used:
		return unsupported(x.Pos, "ALTER of a source a query reads or writes")
	}
	cols := append([]Column(nil), s.Schema.Value...)
	for _, c := range x.Columns {
		if _, _, dup := s.Schema.find(c.Name); dup || slices.ContainsFunc(cols[len(s.Schema.Value):], func(o Column) bool { return o.Name == c.Name }) {
			return errAt(c.Pos, "cannot add column '%s' to %s '%s': it already exists", c.Name, kind, x.Name)
		}
		cols = append(cols, Column{Name: c.Name, Type: c.Type})
	}
	old := s.valueSerde
	if old.unwrap && old.format != FormatKafka && len(old.cols) == 1 {
		return errAt(x.Pos, "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas")
	}
	vs := newRowSerdeDelim(cols, old.format, false, true, old.delim)
	if err := vs.check(x.Pos, "value"); err != nil {
		return err
	}
	vs.prune()
	if s.tsCol >= 0 && !s.tsKey {
		vs.use(s.tsCol)
	}
	s.Schema.Value, s.valueSerde = cols, vs
	return nil
}

func (p *Program) register(s *Source, orReplace, ifNotExists bool) (bool, error) {
	if old, ok := p.sources[s.Name]; ok {
		if ifNotExists {
			return false, nil
		}
		if orReplace {
			return false, unsupported(s.pos, "CREATE OR REPLACE of an existing source")
		}
		return false, errAt(s.pos, "cannot add %s '%s': a %s with the same name already exists", s.kind(), s.Name, old.kind())
	}
	p.sources[s.Name] = s
	p.order = append(p.order, s)
	return true, nil
}

type withProps struct {
	topic                    string
	keyFormat, valFormat     Format
	partitions               int
	timestamp                string
	tsPos                    Pos
	tsFormat                 string
	tsFormatPos              Pos
	wrap                     bool
	hasTopic                 bool
	keyDelim, valDelim       byte
	hasKeyDelim, hasValDelim bool
	// window is the WINDOW_TYPE of a windowed source's keys, windowSize
	// its WINDOW_SIZE in ms.
	window     string
	windowPos  Pos
	windowSize int64
	sizePos    Pos
}

func (p *Program) props2(pos Pos, props map[string]Literal, ppos map[string]Pos, sink bool) (withProps, error) {
	w := withProps{wrap: true, keyDelim: ',', valDelim: ','}
	str := func(k string) (string, Pos, error) {
		l := props[k]
		if l.Type != String {
			return "", l.Pos, errAt(l.Pos, "property %s needs a string value", k)
		}
		return l.S, l.Pos, nil
	}
	// In the order written, so that the first bad property is the one
	// named.
	keys := slices.SortedFunc(maps.Keys(props), func(a, b string) int {
		pa, pb := ppos[a], ppos[b]
		return cmp.Or(cmp.Compare(pa.Line, pb.Line), cmp.Compare(pa.Col, pb.Col))
	})
	for _, k := range keys {
		l := props[k]
		switch k {
		case "KAFKA_TOPIC":
			s, _, err := str(k)
			if err != nil {
				return w, err
			}
			w.topic, w.hasTopic = s, true
		case "KEY_FORMAT", "VALUE_FORMAT", "FORMAT":
			s, lp, err := str(k)
			if err != nil {
				return w, err
			}
			f, err := parseFormat(lp, s)
			if err != nil {
				return w, err
			}
			if k != "VALUE_FORMAT" {
				if _, both := props["KEY_FORMAT"]; both && k == "FORMAT" {
					return w, errAt(ppos[k], "cannot supply both FORMAT and KEY_FORMAT")
				}
				w.keyFormat = f
			}
			if k != "KEY_FORMAT" {
				if _, both := props["VALUE_FORMAT"]; both && k == "FORMAT" {
					return w, errAt(ppos[k], "cannot supply both FORMAT and VALUE_FORMAT")
				}
				w.valFormat = f
			}
		case "PARTITIONS":
			if l.Type != BigInt || l.I < 1 {
				return w, errAt(l.Pos, "PARTITIONS needs a positive number")
			}
			w.partitions = int(l.I)
		case "VALUE_DELIMITER", "KEY_DELIMITER":
			s, lp, err := str(k)
			if err != nil {
				return w, err
			}
			d, err := parseDelimiter(lp, s)
			if err != nil {
				return w, err
			}
			if k == "KEY_DELIMITER" {
				w.keyDelim, w.hasKeyDelim = d, true
			} else {
				w.valDelim, w.hasValDelim = d, true
			}
		case "REPLICAS":
		case "TIMESTAMP":
			s, lp, err := str(k)
			if err != nil {
				return w, err
			}
			w.timestamp, w.tsPos = strings.ToUpper(s), lp
		case "TIMESTAMP_FORMAT":
			s, lp, err := str(k)
			if err != nil {
				return w, err
			}
			w.tsFormat, w.tsFormatPos = s, lp
		case "WINDOW_TYPE":
			s, lp, err := str(k)
			if err != nil {
				return w, err
			}
			switch w.window = strings.ToUpper(s); w.window {
			case "TUMBLING", "HOPPING", "SESSION":
			default:
				return w, errAt(lp, "WINDOW_TYPE must be SESSION, HOPPING or TUMBLING, not '%s'", s)
			}
			w.windowPos = ppos[k]
		case "WINDOW_SIZE":
			s, lp, err := str(k)
			if err != nil {
				return w, err
			}
			if w.windowSize, err = parseWindowSize(lp, s); err != nil {
				return w, err
			}
			w.sizePos = ppos[k]
		case "WRAP_SINGLE_VALUE":
			if l.Type != Boolean {
				return w, errAt(l.Pos, "WRAP_SINGLE_VALUE needs TRUE or FALSE")
			}
			w.wrap = l.I != 0
		default:
			return w, unsupported(ppos[k], "property "+k)
		}
	}
	switch {
	case w.window == "" && w.windowSize != 0:
		return w, errAt(w.sizePos, "WINDOW_SIZE needs WINDOW_TYPE")
	case w.window == "SESSION" && w.windowSize != 0:
		return w, errAt(w.sizePos, "WINDOW_SIZE should not be set for SESSION windows")
	case w.window != "" && w.window != "SESSION" && w.windowSize == 0:
		return w, errAt(w.windowPos, "WINDOW_SIZE is required for %s windows", w.window)
	case sink && w.window != "":
		return w, errAt(w.windowPos, "WINDOW_TYPE applies to declared sources only")
	}
	return w, nil
}

// parseWindowSize reads a WINDOW_SIZE such as '30 SECONDS'.
func parseWindowSize(pos Pos, s string) (int64, error) {
	f := strings.Fields(strings.ToUpper(s))
	if len(f) == 2 {
		n, err := strconv.ParseInt(f[0], 10, 64)
		ms, ok := unitMillis(f[1])
		if err == nil && ok && n > 0 {
			return n * ms, nil
		}
	}
	return 0, errAt(pos, "invalid WINDOW_SIZE '%s': expected a positive number and a time unit, as '30 SECONDS'", s)
}

// honoured are the properties Compile takes (see WithProperty).
var honoured = map[string]bool{
	"ksql.persistence.default.format.key": true, "ksql.persistence.default.format.value": true,
	"ksql.new.query.planner.enabled": true, "ksql.timestamp.throw.on.invalid": true,
	"ksql.functions.collect_list.limit": true, "ksql.functions.collect_set.limit": true,
}

// set applies SET or UNSET to the statements after it, and, through
// Catalog, to the programs after.
func (p *Program) set(x *SetProperty) error {
	k := strings.ToLower(x.Name)
	if !honoured[k] {
		return unsupported(x.Pos, "property "+x.Name)
	}
	if x.Unset {
		delete(p.props, k)
		return nil
	}
	old, had := p.props[k]
	p.props[k] = x.Value
	if err := p.checkProps(); err != nil {
		if had {
			p.props[k] = old
		} else {
			delete(p.props, k)
		}
		return errAt(x.Pos, "%v", strings.TrimPrefix(err.Error(), "sql: "))
	}
	return nil
}

// checkProps rejects values of the honoured properties that mean nothing.
func (p *Program) checkProps() error {
	for _, k := range []string{"ksql.functions.collect_list.limit", "ksql.functions.collect_set.limit"} {
		if v, ok := p.props[k]; ok {
			if n, err := strconv.Atoi(v); err != nil || n < 0 {
				return fmt.Errorf("sql: property %s: %q is not a count", k, v)
			}
		}
	}
	for _, k := range []string{"ksql.timestamp.throw.on.invalid"} {
		if v, ok := p.props[k]; ok && v != "true" && v != "false" {
			return fmt.Errorf("sql: property %s: %q is neither true nor false", k, v)
		}
	}
	return nil
}

// collectLimit is the most elements aggregate fn keeps, if it collects.
func (p *Program) collectLimit(fn string) int {
	if v, ok := p.props["ksql.functions."+strings.ToLower(fn)+".limit"]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return 1000
}

func (p *Program) defaultFormat(which string) (Format, error) {
	v, ok := p.props["ksql.persistence.default.format."+which]
	if !ok {
		if which == "key" {
			return FormatKafka, nil
		}
		return 0, nil
	}
	return parseFormat(Pos{}, v)
}

func (p *Program) declare(x *CreateSource) error {
	if x.OrReplace {
		if old, ok := p.sources[x.Name]; x.ReadOnly || ok && old.ReadOnly {
			return errAt(x.Pos, "cannot add %s '%s': CREATE OR REPLACE is not supported on source %ss", map[bool]string{true: "table", false: "stream"}[x.Table], x.Name, map[bool]string{true: "table", false: "stream"}[x.Table])
		}
	}
	w, err := p.props2(x.Pos, x.Props, x.PropPos, false)
	if err != nil {
		return err
	}
	if !w.hasTopic {
		return errAt(x.Pos, "missing required property KAFKA_TOPIC")
	}
	if x.Columns == nil {
		return unsupported(x.Pos, "a source without columns (schema inference)")
	}
	s := &Source{Name: x.Name, Table: x.Table, Topic: w.topic, Partitions: w.partitions, tsCol: -1, pos: x.Pos, ReadOnly: x.ReadOnly, Window: w.window, WindowSize: w.windowSize}
	seen := map[string]bool{}
	for _, c := range x.Columns {
		if seen[c.Name] {
			return errAt(c.Pos, "duplicate column name '%s'", c.Name)
		}
		seen[c.Name] = true
		switch c.Name {
		case "ROWTIME", "ROWPARTITION", "ROWOFFSET", "WINDOWSTART", "WINDOWEND":
			return errAt(c.Pos, "'%s' is a reserved column name", c.Name)
		}
		col := Column{Name: c.Name, Type: c.Type, Key: c.Key}
		if c.Key {
			s.Schema.Key = append(s.Schema.Key, col)
		} else {
			s.Schema.Value = append(s.Schema.Value, col)
		}
	}
	if x.Table && len(s.Schema.Key) == 0 {
		return errAt(x.Pos, "tables require a PRIMARY KEY; please add the key column(s)")
	}
	if err := p.formats(s, w, x.Pos); err != nil {
		return err
	}
	// Queries mark the value columns they read; the rest are not decoded.
	s.valueSerde.prune()
	if w.timestamp != "" {
		key, idx, ok := s.Schema.find(w.timestamp)
		if !ok {
			return errAt(w.tsPos, "the TIMESTAMP column set in the WITH clause does not exist in the schema: '%s'", w.timestamp)
		}
		col := s.Schema.Value
		if key {
			col = s.Schema.Key
			s.tsKey = true
		}
		switch t := col[idx].Type.Kind; {
		case t == String && w.tsFormat != "":
			if s.tsLayout, err = javaLayout(w.tsFormatPos, w.tsFormat); err != nil {
				return err
			}
		case t == String:
			return errAt(w.tsPos, "a STRING TIMESTAMP column needs TIMESTAMP_FORMAT")
		case t != BigInt && t != Timestamp:
			return errAt(w.tsPos, "the TIMESTAMP column must be BIGINT, TIMESTAMP or STRING, not %s", t)
		case w.tsFormat != "":
			return errAt(w.tsFormatPos, "TIMESTAMP_FORMAT applies to a STRING TIMESTAMP column only")
		}
		s.tsCol = idx
		if !key {
			s.valueSerde.use(idx)
		}
	}
	_, err = p.register(s, x.OrReplace, x.IfNotExists)
	return err
}

func (p *Program) formats(s *Source, w withProps, pos Pos) error {
	var err error
	s.KeyFormat, s.ValueFormat = w.keyFormat, w.valFormat
	if s.KeyFormat == 0 {
		if s.KeyFormat, err = p.defaultFormat("key"); err != nil {
			return err
		}
	}
	if s.ValueFormat == 0 {
		if s.ValueFormat, err = p.defaultFormat("value"); err != nil {
			return err
		}
		if s.ValueFormat == 0 {
			return errAt(pos, "missing required property VALUE_FORMAT")
		}
	}
	if len(s.Schema.Key) == 0 && s.KeyFormat != FormatNone && w.keyFormat == 0 {
		s.KeyFormat = FormatKafka
	}
	s.keySerde = newRowSerdeDelim(s.Schema.Key, s.KeyFormat, true, true, w.keyDelim)
	s.valueSerde = newRowSerdeDelim(s.Schema.Value, s.ValueFormat, false, w.wrap, w.valDelim)
	if (w.keyDelim != ',' && s.KeyFormat != FormatDelimited) || (w.valDelim != ',' && s.ValueFormat != FormatDelimited) {
		return errAt(pos, "a delimiter is only valid with the DELIMITED format")
	}
	if !w.wrap && len(s.Schema.Value) != 1 {
		return errAt(pos, "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas")
	}
	if err := s.keySerde.check(pos, "key"); err != nil {
		return err
	}
	return s.valueSerde.check(pos, "value")
}

// stream returns the DSL stream over a source's topic, built once.
func (p *Program) stream(s *Source) (dsl.KStream[Row, Row], error) {
	if st, ok := p.streams[s.Topic]; ok {
		return st, nil
	}
	if _, ok := p.tables[s.Topic]; ok {
		return dsl.KStream[Row, Row]{}, unsupported(s.pos, "reading topic '"+s.Topic+"' as both a stream and a table")
	}
	var opts []dsl.Consumed[Row, Row]
	if s.tsCol >= 0 {
		col, layout, fromKey := s.tsCol, s.tsLayout, s.tsKey
		name, colName := s.Name, s.Schema.Value
		if fromKey {
			colName = s.Schema.Key
		}
		// A timestamp that does not parse, or is negative, drops the
		// record (counted as an invalid timestamp), as ksqlDB's default
		// extractor logs and skips it; under
		// ksql.timestamp.throw.on.invalid it fails the task.
		throw := p.props["ksql.timestamp.throw.on.invalid"] == "true"
		invalid := func(why string) (int64, error) {
			if throw {
				return 0, fmt.Errorf("sql: source %s: TIMESTAMP column %s %s", name, colName[col].Name, why)
			}
			return -1, nil
		}
		opts = append(opts, dsl.Consumed[Row, Row]{}.WithTimestampExtractor(func(rec processor.Record[Row, Row], _ int64) (int64, error) {
			row := rec.Value
			if fromKey {
				if rec.NullKey {
					return invalid("is NULL: the key is")
				}
				row = rec.Key
			} else if rec.NullValue {
				return rec.Timestamp, nil
			}
			v := row[col]
			if !v.Valid {
				return invalid("is NULL")
			}
			if layout != "" {
				t, err := time.Parse(layout, v.S)
				if err != nil {
					return invalid(fmt.Sprintf("does not parse: %v", err))
				}
				return t.UnixMilli(), nil
			}
			return v.I, nil
		}))
	}
	ks := serde.Serde[Row](s.keySerde)
	if s.Window != "" {
		ks = s.windowedKeys()
	}
	st := dsl.Stream(p.b, s.Topic, ks, serde.Serde[Row](s.valueSerde), opts...)
	p.streams[s.Topic] = st
	return st, nil
}

func (p *Program) table(s *Source) (dsl.KTable[Row, Row], error) {
	if t, ok := p.tables[s.Topic]; ok {
		return t, nil
	}
	if _, ok := p.streams[s.Topic]; ok {
		return dsl.KTable[Row, Row]{}, unsupported(s.pos, "reading topic '"+s.Topic+"' as both a stream and a table")
	}
	if s.tsCol >= 0 {
		return dsl.KTable[Row, Row]{}, unsupported(s.pos, "a TIMESTAMP column on a table")
	}
	t := dsl.Table(p.b, s.Topic, serde.Serde[Row](s.keySerde), serde.Serde[Row](s.valueSerde))
	p.tables[s.Topic] = t
	return t, nil
}
