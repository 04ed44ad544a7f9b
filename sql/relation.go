package sql

import "github.com/samsa-go/samsa/dsl"

// relation is what a query reads: a source, or the join of several. Its
// rows travel as the stream (or table) here, keyed by its key columns, in
// the layout sc describes.
type relation struct {
	sc     *scope
	table  bool
	stream dsl.KStream[Row, Row] // set for streams
	ktable dsl.KTable[Row, Row]  // set for tables
	// keys are the expressions that stand for the key in a projection:
	// a source's key columns, or the join expressions of a join.
	keys           []Expr
	keyIsRecordKey bool
	synthKey       bool // keyed by a full outer join's ROWKEY
	nkey, nval     int
	first          *Source    // the FROM source: formats default to its
	sources        []joinSide // in FROM, JOIN order
	single         *Source    // set when the relation is one source
	// fkKeys marks the result of a foreign-key join: its key is the left
	// table's, every column of it, which the projection must select.
	fkKeys bool
}

func (p *Program) sourceRelation(src *Source, alias string) (*relation, error) {
	r := &relation{sc: p.inputScope(src, alias), table: src.Table, nkey: len(src.Schema.Key), nval: len(src.Schema.Value),
		first: src, single: src, sources: []joinSide{{src, alias}}}
	for _, k := range src.Schema.Key {
		r.keys = append(r.keys, &ColumnRef{Name: k.Name})
	}
	var err error
	if src.Table {
		r.ktable, err = p.table(src)
	} else {
		r.stream, err = p.stream(src)
	}
	return r, err
}

// asStream is the relation's rows as a stream: a table's changes.
func (r *relation) asStream() dsl.KStream[Row, Row] {
	if r.table {
		return r.ktable.ToStream()
	}
	return r.stream
}
