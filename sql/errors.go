package sql

import (
	"errors"
	"fmt"
)

// ErrNotSupported is wrapped by every error about a construct this package
// knows of but does not implement, so callers can tell "not yet" from
// "wrong": errors.Is(err, sql.ErrNotSupported).
var ErrNotSupported = errors.New("not supported")

// Pos is a place in the statement text: 1-based line and column.
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Error is a parse or plan error at a place in the text.
type Error struct {
	Pos Pos
	Msg string
	Err error // ErrNotSupported, or nil
}

func (e *Error) Error() string {
	if e.Pos.Line == 0 {
		return "sql: " + e.Msg
	}
	return fmt.Sprintf("sql: %s: %s", e.Pos, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

func errAt(p Pos, format string, args ...any) error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

func unsupported(p Pos, what string) error {
	return &Error{Pos: p, Msg: what + " is not supported", Err: ErrNotSupported}
}
