package sql

import (
	"errors"
	"strings"
	"testing"
)

func TestParseStatements(t *testing.T) {
	src := `CREATE STREAM pageviews (user_id STRING KEY, page STRING, ts BIGINT)
  WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON', PARTITIONS=3, TIMESTAMP='ts');
-- a comment
CREATE TABLE counts AS SELECT page, COUNT(*) AS n FROM pageviews
  WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 10 SECONDS)
  WHERE page LIKE '/a%' AND NOT (ts BETWEEN 1 AND 2) GROUP BY page HAVING COUNT(*) > 1 EMIT CHANGES;
INSERT INTO out SELECT * FROM pageviews PARTITION BY page;`
	stmts, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) != 3 {
		t.Fatalf("got %d statements", len(stmts))
	}
	c := stmts[0].(*CreateSource)
	if c.Name != "PAGEVIEWS" || len(c.Columns) != 3 || !c.Columns[0].Key || c.Props["PARTITIONS"].I != 3 {
		t.Fatalf("bad CREATE STREAM: %+v", c)
	}
	q := stmts[1].(*CreateSource).Query
	if q.Window == nil || q.Window.Size != 60_000 || q.Window.Grace != 10_000 || q.Emit != "CHANGES" || q.Having == nil {
		t.Fatalf("bad query: %+v", q)
	}
	if got := exprString(q.Where); got != "(PAGE LIKE \"/a%\" AND (NOT TS BETWEEN 1 AND 2))" {
		t.Fatalf("where: %s", got)
	}
	if ins := stmts[2].(*InsertInto); ins.Name != "OUT" || !ins.Query.Items[0].Star || len(ins.Query.PartBy) != 1 {
		t.Fatalf("bad INSERT: %+v", ins)
	}
}

func TestParseExpressionPrecedence(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"1 + 2 * 3", "(1 + (2 * 3))"},
		{"a OR b AND NOT c", "(A OR (B AND (NOT C)))"},
		{"-x % 2 = 1", "(((- X) % 2) = 1)"},
		{"a || 'b' = 'ab'", "((A || \"b\") = \"ab\")"},
		{"x IS NOT NULL AND y NOT IN (1, 2)", "(X IS NOT NULL AND Y IN (1, 2))"},
		{"CASE WHEN a > 1 THEN 'x' ELSE 'y' END", "CASE WHEN (A > 1) THEN \"x\" ELSE \"y\" END"},
		{"CAST(s AS BIGINT) + arr[1]", "(CAST(S AS BIGINT) + ARR[1])"},
		{`"quoted col" <> s.x`, "(quoted col <> X)"},
		{"-5", "-5"},
	} {
		e, err := ParseExpr(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := exprString(e); got != c.want {
			t.Errorf("%s: got %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		in, want    string
		unsupported bool
	}{
		{"CREATE STREAM s (a INT) WITH (KAFKA_TOPIC='t'", "sql: 1:46: expected ',' or ')', found end of input", false},
		{"CREATE STREAM s (a INT,) WITH (KAFKA_TOPIC='t');", "sql: 1:24: expected a column name, found ')'", false},
		{"CREATE STREAM s (a FLOAT8) WITH (KAFKA_TOPIC='t');", "sql: 1:20: expected a type, found 'FLOAT8'", false},
		{"CREATE TABLE t AS SELECT a FROM\n  WHERE x = 1;", "sql: 2:3: expected a stream or table name, found 'WHERE'", false},
		{"CREATE STREAM s AS SELECT a, FROM x;", "sql: 1:30: expected an expression, found 'FROM'", false},
		{"CREATE STREAM s AS SELECT a FROM x\nWINDOW SLIDING (SIZE 1 SECOND);", "sql: 2:8: expected TUMBLING, HOPPING or SESSION, found 'SLIDING'", false},
		{"CREATE STREAM s AS SELECT a FROM x WINDOW TUMBLING (SIZE 1 FORTNIGHT);", "sql: 1:60: expected a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS), found 'FORTNIGHT'", false},
		{"CREATE STREAM s AS SELECT CASE WHEN a THEN 1 FROM x;", "sql: 1:46: expected WHEN, ELSE or END, found 'FROM'", false},
		{"CREATE STREAM s AS SELECT 'abc FROM x;", "sql: 1:27: unterminated string literal", false},
		{"CREATE STREAM s AS SELECT a # b FROM x;", "sql: 1:29: unexpected character '#'", false},
		{"SELECT * FROM x EMIT FINAL;", "sql: 1:17: EMIT FINAL in a push query is not supported", true},
		{"TERMINATE q;", "sql: 1:1: TERMINATE statements is not supported", true},
		{"DROP STREAM IF x;", "sql: 1:16: expected EXISTS, found 'X'", false},
		{"DROP VIEW x;", "sql: 1:6: expected STREAM or TABLE, found 'VIEW'", false},
		{"DROP TABLE t DELETE;", "sql: 1:20: expected TOPIC, found ';'", false},
		{"CREATE STREAM s AS SELECT TRANSFORM(a, (x, x) => x + 1) FROM s;", "sql: 1:44: duplicate lambda parameter 'X'", false},
		{"CREATE STREAM s AS SELECT TRANSFORM(a, x => ) FROM s;", "sql: 1:45: expected an expression, found ')'", false},
		{"INSERT INTO s (a, 1) VALUES (1);", "sql: 1:19: expected a column name, found '1'", false},
		{"INSERT INTO s VALUES 1;", "sql: 1:22: expected '(', found '1'", false},
		{"CREATE STREAM s AS SELECT a FROM x; garbage", "sql: 1:37: expected CREATE, INSERT or EXPLAIN, found 'GARBAGE'", false},
	} {
		_, err := Parse(c.in)
		if err == nil {
			t.Errorf("%q: no error", c.in)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.in, err, c.want)
		}
		if errors.Is(err, ErrNotSupported) != c.unsupported {
			t.Errorf("%q: errors.Is(ErrNotSupported) = %v", c.in, !c.unsupported)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	const decl = "CREATE STREAM s (k STRING KEY, a INT, b STRING) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');\n"
	for _, c := range []struct {
		in, want    string
		unsupported bool
	}{
		{"CREATE STREAM o AS SELECT k, c FROM s;", "sql: 2:30: column 'C' cannot be resolved", false},
		{"CREATE STREAM o AS SELECT k, a + b FROM s;", "sql: 2:32: cannot apply '+' to INTEGER and STRING", false},
		{"CREATE STREAM o AS SELECT k, a FROM s WHERE a;", "sql: 2:45: WHERE needs a BOOLEAN expression, got INTEGER", false},
		{"CREATE STREAM o AS SELECT a FROM s;", "the query used to build `O` must include the key column K in its projection", false},
		{"CREATE TABLE o AS SELECT b, COUNT(*) AS n FROM s GROUP BY b;\nCREATE STREAM p AS SELECT b, n FROM o;", "sql: 3:1: invalid result type: your SELECT query produces a TABLE", false},
		{"CREATE TABLE o AS SELECT b, a, COUNT(*) FROM s GROUP BY b;", "sql: 2:29: non-aggregate SELECT expression(s) not part of GROUP BY: A", false},
		{"CREATE STREAM o AS SELECT k, a FROM s WHERE COUNT(*) > 1;", "aggregate function COUNT is not allowed in a query without GROUP BY", false},
		{"CREATE STREAM o AS SELECT k FROM s JOIN t ON s.k = t.k;", "sql: 2:41: T does not exist", false},
		{"CREATE STREAM o AS SELECT s.k FROM s JOIN s AS t WITHIN 1 SECOND ON s.k = t.k;", "sql: 2:43: can not join 'S' to 'S': self joins are not supported", false},
		{"CREATE STREAM s2 (k STRING KEY, a INT) WITH (KAFKA_TOPIC='s2', VALUE_FORMAT='JSON');\nCREATE STREAM o AS SELECT s.k FROM s JOIN s2 WITHIN 1 SECOND ON s.a = s2.a;", "sql: 3:65: the query used to build `O` must include the key column A in its projection", false},
		{"CREATE STREAM s2 (k STRING KEY, a INT) WITH (KAFKA_TOPIC='s2', VALUE_FORMAT='JSON');\nCREATE STREAM o AS SELECT s.k, s2.a FROM s JOIN s2 ON s.k = s2.k;", "sql: 3:44: stream-stream joins must have a WITHIN clause specified", false},
		{"CREATE TABLE t (id INT PRIMARY KEY, x INT) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON');\nCREATE TABLE u (id INT PRIMARY KEY, y INT) WITH (KAFKA_TOPIC='u', VALUE_FORMAT='JSON');\nCREATE TABLE o AS SELECT t.id, u.y FROM t FULL OUTER JOIN u ON t.x = u.id;", "sql: 4:43: invalid join type: foreign-key table-table joins support only INNER and LEFT, not FULL", false},
		{"CREATE STREAM x (k STRING KEY, v INT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON', WINDOW_TYPE='TUMBLING');", "sql: 2:83: WINDOW_SIZE is required for TUMBLING windows", false},
		{"CREATE STREAM x (k STRING KEY, v INT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON', WINDOW_TYPE='HOPPING', WINDOW_SIZE='3 FORTNIGHTS');", "sql: 2:118: invalid WINDOW_SIZE '3 FORTNIGHTS'", false},
		{"CREATE STREAM x (k STRING KEY, v INT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON', WINDOW_TYPE='SESSION');\nCREATE STREAM o AS SELECT * FROM x PARTITION BY v;", "sql: 3:34: GROUP BY, PARTITION BY or WINDOW over a windowed source is not supported", true},
		{"CREATE STREAM x (k STRING KEY, v INT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON', WINDOW_TYPE='SESSION');\nCREATE STREAM o AS SELECT * FROM x JOIN s WITHIN 1 SECOND ON x.k = s.k;", "sql: 3:36: can not join windowed source to non-windowed source: X is SESSION windowed, S is not windowed", false},
		{"CREATE STREAM x (k STRING KEY, v INT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON', WINDOW_TYPE='SESSION');\nCREATE STREAM y (k STRING KEY, v INT) WITH (KAFKA_TOPIC='y', VALUE_FORMAT='JSON', WINDOW_TYPE='TUMBLING', WINDOW_SIZE='1 SECOND');\nCREATE STREAM o AS SELECT * FROM x JOIN y WITHIN 1 SECOND ON x.k = y.k;", "sql: 4:36: incompatible windowed sources: X is SESSION windowed, Y is TUMBLING windowed", false},
		{"CREATE STREAM x (k STRING KEY, v INT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON', WINDOW_TYPE='SESSION');\nCREATE STREAM y (k STRING KEY, v INT) WITH (KAFKA_TOPIC='y', VALUE_FORMAT='JSON', WINDOW_TYPE='SESSION');\nCREATE STREAM o AS SELECT * FROM x JOIN y WITHIN 1 SECOND ON x.v = y.v;", "sql: 4:36: implicit repartitioning of windowed sources is not supported", false},
		{"CREATE TABLE x (k STRING PRIMARY KEY, v INT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON', WINDOW_TYPE='SESSION');\nCREATE TABLE o AS SELECT * FROM x;", "sql: 3:33: a persistent query cannot read windowed table X", false},
		{"CREATE STREAM x (k STRING KEY, d DECIMAL(20,2)) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON');", "DECIMAL precision above 18 is not supported", true},
		{"CREATE STREAM x (k STRING KEY) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='AVRO');", "sql: 2:68: format AVRO is not supported", true},
		{"CREATE STREAM x (k STRING KEY) WITH (VALUE_FORMAT='JSON');", "sql: 2:1: missing required property KAFKA_TOPIC", false},
		{"DROP STREAM x;", "sql: 2:1: Stream X does not exist", false},
		{"CREATE TABLE l (a BIGINT PRIMARY KEY, b BIGINT PRIMARY KEY, fk BIGINT) WITH (KAFKA_TOPIC='l', FORMAT='JSON');\nCREATE TABLE r (id BIGINT PRIMARY KEY, v BIGINT) WITH (KAFKA_TOPIC='r', FORMAT='JSON');\nCREATE TABLE o AS SELECT a, fk, v FROM l JOIN r ON fk = id;", "must include the key column B in its projection", false},
		{"INSERT INTO s VALUES ('k', 1, 'b');", "sql: 2:1: INSERT INTO ... VALUES is not supported", true},
		{"INSERT INTO nope VALUES (1);", "sql: 2:1: cannot insert values into an unknown stream/table: NOPE", false},
		{"CREATE SOURCE TABLE r (k STRING PRIMARY KEY, v INT) WITH (KAFKA_TOPIC='r', VALUE_FORMAT='JSON');\nINSERT INTO r (k, v) VALUES ('a', 1);", "sql: 3:1: cannot insert values into read-only table: R", false},
		{"DROP TABLE s;", "sql: 2:1: incompatible data source type is STREAM, but statement was DROP TABLE", false},
		{"DROP STREAM s DELETE TOPIC;", "sql: 2:1: DROP ... DELETE TOPIC is not supported", true},
		{"CREATE SOURCE STREAM r (k STRING KEY) WITH (KAFKA_TOPIC='r', VALUE_FORMAT='JSON');\nDROP STREAM r DELETE TOPIC;", "sql: 3:1: cannot delete topic for read-only source: R", false},
		{"CREATE STREAM o AS SELECT * FROM s;\nDROP STREAM s;", "sql: 3:1: cannot drop stream S: a persistent query reads or writes it, and TERMINATE is not supported", false},
		{"CREATE STREAM o AS SELECT * FROM s;\nDROP STREAM o;", "sql: 3:1: cannot drop stream O: a persistent query reads or writes it", false},
	} {
		_, err := Compile(decl + c.in)
		if err == nil {
			t.Errorf("%q: no error", c.in)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %s\nwant %s", c.in, err, c.want)
		}
		if errors.Is(err, ErrNotSupported) != c.unsupported {
			t.Errorf("%q: errors.Is(ErrNotSupported) = %v: %v", c.in, !c.unsupported, err)
		}
	}
}

// A window may be named before its kind, as ksqlDB allows; the name is
// ignored.
func TestWindowName(t *testing.T) {
	stmts, err := Parse("CREATE TABLE o AS SELECT k, COUNT(*) FROM s WINDOW w1 HOPPING (SIZE 2 SECONDS, ADVANCE BY 1 SECOND) GROUP BY k;")
	if err != nil {
		t.Fatal(err)
	}
	if w := stmts[0].(*CreateSource).Query.Window; w.Kind != "HOPPING" || w.Size != 2000 || w.Advance != 1000 {
		t.Errorf("window %+v", w)
	}
}
