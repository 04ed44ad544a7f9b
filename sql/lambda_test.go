package sql

import (
	"strings"
	"testing"

	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// TRANSFORM, FILTER and REDUCE over arrays and maps, nested, with lambda
// parameters shadowing nothing and reading columns around them; a NULL in
// a lambda's arithmetic makes the outermost call NULL, as in ksqlDB.
func TestLambdas(t *testing.T) {
	p, err := Compile(`CREATE STREAM s (k STRING KEY, xs ARRAY<INT>, m MAP<STRING, INT>, d INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
CREATE STREAM o AS SELECT k,
  TRANSFORM(xs, x => x * d) AS scaled,
  FILTER(xs, x => x > 1) AS big,
  REDUCE(xs, 0, (acc, x) => acc + x) AS total,
  TRANSFORM(m, (a, b) => UCASE(a), (a, b) => REDUCE(FILTER(xs, y => y < b), 0, (s, y) => s + y)) AS below,
  FILTER(m, (a, b) => LEN(a) > 1) AS longer,
  REDUCE(m, '', (acc, a, b) => acc + a) AS keys
FROM s;`)
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, p.Topology())
	in := testdriver.InputTopic(td, "s", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "O", serde.String, serde.String)
	for _, c := range []struct{ in, want string }{
		{`{"XS":[1,2,3],"M":{"a":3,"bb":1},"D":10}`, `{"SCALED":[10,20,30],"BIG":[2,3],"TOTAL":6,"BELOW":{"A":3,"BB":0},"LONGER":{"bb":1},"KEYS":"abb"}`},
		{`{"XS":[1,null],"M":null,"D":2}`, `{"SCALED":null,"BIG":[],"TOTAL":null,"BELOW":null,"LONGER":null,"KEYS":""}`},
		{`{"XS":null,"M":{"a":1},"D":2}`, `{"SCALED":null,"BIG":null,"TOTAL":0,"BELOW":{"A":0},"LONGER":{},"KEYS":"a"}`},
	} {
		in.PipeInput("k", c.in)
		if got := out.ReadValue(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestLambdaErrors(t *testing.T) {
	const decl = "CREATE STREAM s (k STRING KEY, xs ARRAY<INT>, m MAP<STRING, INT>) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');\n"
	for _, c := range []struct{ in, want string }{
		{"CREATE STREAM o AS SELECT k, TRANSFORM(xs, (a, b) => a) AS t FROM s;", "sql: 2:44: the lambda of TRANSFORM here takes 1 parameters, not 2"},
		{"CREATE STREAM o AS SELECT k, TRANSFORM(m, (a, b) => a) AS t FROM s;", "sql: 2:30: TRANSFORM of MAP<STRING, INTEGER> takes 3 arguments, not 2"},
		{"CREATE STREAM o AS SELECT k, FILTER(xs, x => x + 1) AS t FROM s;", "sql: 2:41: the lambda of FILTER must return a BOOLEAN, not INTEGER"},
		{"CREATE STREAM o AS SELECT k, REDUCE(xs, '', (s, x) => s + x) AS t FROM s;", "sql: 2:57: cannot apply '+' to STRING and INTEGER"},
		{"CREATE STREAM o AS SELECT k, TRANSFORM(k, x => x) AS t FROM s;", "sql: 2:40: TRANSFORM needs an ARRAY or a MAP, got STRING"},
		{"CREATE STREAM o AS SELECT k, x => 1 AS t FROM s;", "sql: 2:32: expected ',' or FROM, found '=>'"},
		{"CREATE STREAM o AS SELECT k, UCASE(x => x) AS t FROM s;", "a lambda is only allowed as an argument of TRANSFORM, FILTER or REDUCE"},
	} {
		_, err := Compile(decl + c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s", c.in, err, c.want)
		}
	}
}
