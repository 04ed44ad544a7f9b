package sql

// Statement is one parsed statement.
type Statement interface{ stmtPos() Pos }

// CreateSource is CREATE STREAM|TABLE name (columns) WITH (...), or, when
// Query is set, CREATE STREAM|TABLE name WITH (...) AS SELECT.
type CreateSource struct {
	Pos         Pos
	Table       bool
	Name        string
	OrReplace   bool
	IfNotExists bool
	ReadOnly    bool // CREATE SOURCE STREAM/TABLE
	Columns     []ColumnDef
	Props       map[string]Literal
	PropPos     map[string]Pos
	Query       *Select
}

// InsertInto is INSERT INTO name SELECT ...
type InsertInto struct {
	Pos   Pos
	Name  string
	Query *Select
}

// PushQuery is a transient SELECT ... EMIT CHANGES: it runs like a
// persistent query into a topic of its own, whose rows a client prints.
type PushQuery struct {
	Pos   Pos
	Query *Select
}

func (s *PushQuery) stmtPos() Pos { return s.Pos }

// PullQuery is SELECT without EMIT: a lookup in a running program's table
// (Program.Pull).
type PullQuery struct {
	Pos   Pos
	Query *Select
}

func (s *PullQuery) stmtPos() Pos { return s.Pos }

// Explain is EXPLAIN <statement>.
type Explain struct {
	Pos  Pos
	Stmt Statement
}

// DropSource is DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC].
type DropSource struct {
	Pos         Pos
	Table       bool
	Name        string
	IfExists    bool
	DeleteTopic bool
}

// AlterSource is ALTER STREAM|TABLE name ADD [COLUMN] name type, ...
type AlterSource struct {
	Pos     Pos
	Table   bool
	Name    string
	Columns []ColumnDef
}

func (s *AlterSource) stmtPos() Pos { return s.Pos }

// InsertValues is INSERT INTO name [(columns)] VALUES (expressions).
type InsertValues struct {
	Pos     Pos
	Name    string
	Columns []string
	Values  []Expr
}

func (s *InsertValues) stmtPos() Pos { return s.Pos }

// SetProperty is SET 'name' = 'value', or UNSET 'name' (Unset set): a
// property for the statements after it.
type SetProperty struct {
	Pos         Pos
	Name, Value string
	Unset       bool
}

func (s *SetProperty) stmtPos() Pos  { return s.Pos }
func (s *DropSource) stmtPos() Pos   { return s.Pos }
func (s *CreateSource) stmtPos() Pos { return s.Pos }
func (s *InsertInto) stmtPos() Pos   { return s.Pos }
func (s *Explain) stmtPos() Pos      { return s.Pos }

// ColumnDef is a column of CREATE STREAM/TABLE.
type ColumnDef struct {
	Pos  Pos
	Name string
	Type *Type
	Key  bool // KEY or PRIMARY KEY
}

// Select is a query.
type Select struct {
	Pos      Pos
	Items    []SelectItem
	From     *FromSource
	Joins    []Join
	Window   *WindowSpec
	Where    Expr
	GroupBy  []Expr
	PartBy   []Expr
	Having   Expr
	Emit     string // "", "CHANGES", "FINAL"
	EmitPos  Pos
	LimitPos Pos
	HasLimit bool
}

// SelectItem is an expression with an optional alias, or * / source.*.
type SelectItem struct {
	Pos   Pos
	Expr  Expr
	Alias string
	Star  bool
	Of    string // source of source.*
}

// FromSource is a source with an optional alias.
type FromSource struct {
	Pos   Pos
	Name  string
	Alias string
}

// Join is [INNER|LEFT|RIGHT|FULL OUTER] JOIN src [WITHIN ...] ON expr.
type Join struct {
	Pos    Pos
	Kind   string // INNER, LEFT, RIGHT, FULL
	Source *FromSource
	Within *Within
	On     Expr
}

// Within is a join window: WITHIN n unit, or WITHIN (before, after), with an
// optional GRACE PERIOD.
type Within struct {
	Before, After int64 // milliseconds
	Grace         int64
	HasGrace      bool
}

// WindowSpec is WINDOW TUMBLING|HOPPING|SESSION (...).
type WindowSpec struct {
	Pos       Pos
	Kind      string // TUMBLING, HOPPING, SESSION
	Size      int64  // ms; the inactivity gap for SESSION
	Advance   int64
	Grace     int64
	HasGrace  bool
	Retention int64
}

// Expr is an expression.
type Expr interface{ exprPos() Pos }

type (
	// Literal is a constant: Kind is one of the literal kinds; Null marks NULL.
	Literal struct {
		Pos  Pos
		Type Kind
		I    int64
		F    float64
		S    string
		Null bool
	}
	// ColumnRef is [source.]column.
	ColumnRef struct {
		Pos    Pos
		Source string
		Name   string
	}
	// Unary is - e, + e, NOT e.
	Unary struct {
		Pos Pos
		Op  string
		X   Expr
	}
	// Binary is an arithmetic, comparison, AND/OR or || operation.
	Binary struct {
		Pos  Pos
		Op   string
		L, R Expr
	}
	// IsNull is e IS [NOT] NULL.
	IsNull struct {
		Pos Pos
		X   Expr
		Not bool
	}
	// Like is e [NOT] LIKE pattern [ESCAPE c].
	Like struct {
		Pos    Pos
		X, Pat Expr
		Not    bool
		Escape string
		HasEsc bool
	}
	// Between is e [NOT] BETWEEN lo AND hi.
	Between struct {
		Pos       Pos
		X, Lo, Hi Expr
		Not       bool
	}
	// In is e [NOT] IN (list).
	In struct {
		Pos  Pos
		X    Expr
		List []Expr
		Not  bool
	}
	// Case is CASE [operand] WHEN ... THEN ... [ELSE ...] END.
	Case struct {
		Pos     Pos
		Operand Expr
		Whens   []When
		Else    Expr
	}
	// Cast is CAST(e AS type).
	Cast struct {
		Pos  Pos
		X    Expr
		Type *Type
	}
	// Call is a function call; Star marks COUNT(*).
	Call struct {
		Pos      Pos
		Name     string
		Args     []Expr
		Star     bool
		Distinct bool
	}
	// Subscript is e[index].
	Subscript struct {
		Pos      Pos
		X, Index Expr
	}
	// Deref is e->field.
	Deref struct {
		Pos   Pos
		X     Expr
		Field string
	}
	// ArrayCtor is ARRAY[e, ...].
	ArrayCtor struct {
		Pos   Pos
		Elems []Expr
	}
	// Ctor is STRUCT(name := e, ...) (Keys are string literals of the
	// names) or MAP(k := v, ...).
	Ctor struct {
		Pos        Pos
		Map        bool
		Keys, Vals []Expr
	}
	// Lambda is x => e or (x, y, ...) => e, an argument of TRANSFORM,
	// FILTER or REDUCE; its parameters are upper case unless quoted.
	Lambda struct {
		Pos    Pos
		Params []string
		Body   Expr
	}
	// Unsupported stands for a parsed construct the planner rejects, such
	// as a lambda or a MAP or STRUCT constructor.
	Unsupported struct {
		Pos  Pos
		What string
	}
)

// When is one WHEN cond THEN result.
type When struct {
	Cond, Then Expr
}

func (e *Literal) exprPos() Pos     { return e.Pos }
func (e *ColumnRef) exprPos() Pos   { return e.Pos }
func (e *Unary) exprPos() Pos       { return e.Pos }
func (e *Binary) exprPos() Pos      { return e.Pos }
func (e *IsNull) exprPos() Pos      { return e.Pos }
func (e *Like) exprPos() Pos        { return e.Pos }
func (e *Between) exprPos() Pos     { return e.Pos }
func (e *In) exprPos() Pos          { return e.Pos }
func (e *Case) exprPos() Pos        { return e.Pos }
func (e *Cast) exprPos() Pos        { return e.Pos }
func (e *Call) exprPos() Pos        { return e.Pos }
func (e *Subscript) exprPos() Pos   { return e.Pos }
func (e *Deref) exprPos() Pos       { return e.Pos }
func (e *ArrayCtor) exprPos() Pos   { return e.Pos }
func (e *Lambda) exprPos() Pos      { return e.Pos }
func (e *Unsupported) exprPos() Pos { return e.Pos }
func (e *Ctor) exprPos() Pos        { return e.Pos }
