package sql

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tQuoted // a "quoted" or `backticked` identifier: case kept, never a keyword
	tString
	tInt
	tNumber // has a fraction or exponent
	tOp
)

type token struct {
	kind tokKind
	text string // identifiers upper-cased; strings unescaped
	pos  Pos
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tString:
		return "'" + t.text + "'"
	case tQuoted:
		return `"` + t.text + `"`
	}
	return "'" + t.text + "'"
}

// lex splits src into tokens. Comments (-- to end of line, /* */) go.
func lex(src string) ([]token, error) {
	var toks []token
	line, col := 1, 1
	i := 0
	adv := func(n int) {
		for k := 0; k < n; k++ {
			if src[i] == '\n' {
				line++
				col = 1
			} else if src[i] < utf8.RuneSelf || utf8.RuneStart(src[i]) {
				col++
			}
			i++
		}
	}
	for i < len(src) {
		c := src[i]
		pos := Pos{line, col}
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			adv(1)
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				adv(1)
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, errAt(pos, "unterminated comment")
			}
			adv(end + 4)
		case c == '\'':
			var b strings.Builder
			adv(1)
			for {
				if i >= len(src) {
					return nil, errAt(pos, "unterminated string literal")
				}
				if src[i] == '\'' {
					if i+1 < len(src) && src[i+1] == '\'' {
						b.WriteByte('\'')
						adv(2)
						continue
					}
					adv(1)
					break
				}
				b.WriteByte(src[i])
				adv(1)
			}
			toks = append(toks, token{tString, b.String(), pos})
		case c == '"' || c == '`':
			q := c
			var b strings.Builder
			adv(1)
			for {
				if i >= len(src) {
					return nil, errAt(pos, "unterminated quoted identifier")
				}
				if src[i] == q {
					if i+1 < len(src) && src[i+1] == q {
						b.WriteByte(q)
						adv(2)
						continue
					}
					adv(1)
					break
				}
				b.WriteByte(src[i])
				adv(1)
			}
			toks = append(toks, token{tQuoted, b.String(), pos})
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i
			kind := tInt
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			if j < len(src) && src[j] == '.' {
				kind = tNumber
				j++
				for j < len(src) && src[j] >= '0' && src[j] <= '9' {
					j++
				}
			}
			if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
				k := j + 1
				if k < len(src) && (src[k] == '+' || src[k] == '-') {
					k++
				}
				if k < len(src) && src[k] >= '0' && src[k] <= '9' {
					kind = tNumber
					j = k
					for j < len(src) && src[j] >= '0' && src[j] <= '9' {
						j++
					}
				}
			}
			if j < len(src) && isIdentStart(src[j]) {
				// ksqlDB identifiers may start with digits (AS 1R).
				for j < len(src) && isIdentPart(src[j]) {
					j++
				}
				toks = append(toks, token{tIdent, strings.ToUpper(src[i:j]), pos})
				adv(j - i)
				continue
			}
			toks = append(toks, token{kind, src[i:j], pos})
			adv(j - i)
		case isIdentStart(c):
			j := i
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			toks = append(toks, token{tIdent, strings.ToUpper(src[i:j]), pos})
			adv(j - i)
		default:
			op := ""
			if i+1 < len(src) {
				switch src[i : i+2] {
				case "<=", ">=", "<>", "!=", "||", "->", "=>", ":=":
					op = src[i : i+2]
				}
			}
			if op == "" {
				if strings.IndexByte("(),;=<>+-*/%.[]:{}", c) < 0 {
					r, _ := utf8.DecodeRuneInString(src[i:])
					return nil, errAt(pos, "unexpected character %q", r)
				}
				op = src[i : i+1]
			}
			toks = append(toks, token{tOp, op, pos})
			adv(len(op))
		}
	}
	toks = append(toks, token{tEOF, "", Pos{line, col}})
	return toks, nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf && unicode.IsLetter(rune(c))
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '@' }
