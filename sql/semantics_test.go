package sql

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// A record with a null value keeps a PARTITION BY key that reads only
// key columns, and gets a NULL key from one that reads a value column,
// as in ksqlDB.
func TestPartitionByNullValue(t *testing.T) {
	p, err := Compile(`CREATE STREAM s (id INT KEY, name STRING) WITH (KAFKA_TOPIC='s', FORMAT='JSON');
CREATE STREAM byval AS SELECT * FROM s PARTITION BY (name IS NULL);
CREATE STREAM bykey AS SELECT id + 1 AS k, name FROM s PARTITION BY id + 1;`)
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, p.Topology())
	in := testdriver.InputTopic(td, "s", serde.String, serde.String)
	in.PipeRecord(processor.Record[string, string]{Key: "1", NullValue: true})
	for topic, want := range map[string]string{"BYVAL": "null", "BYKEY": "2"} {
		out := testdriver.OutputTopic(td, topic, serde.String, serde.String)
		r := out.ReadRecord()
		got := "null"
		if !r.NullKey {
			got = r.Key
		}
		if got != want || !r.NullValue {
			t.Errorf("%s: key %s (null value %v), want %s", topic, got, r.NullValue, want)
		}
	}
}

// STRINGTOTIMESTAMP parses case-insensitively, as ksqlDB's does.
func TestStringToTimestampCase(t *testing.T) {
	p, err := Compile(`CREATE STREAM s (k STRING KEY, t STRING) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='DELIMITED');
CREATE STREAM o AS SELECT k, STRINGTOTIMESTAMP(t, 'yyyy-MM-dd''T''HH:mm:ssX') AS ms FROM s;`)
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, p.Topology())
	in := testdriver.InputTopic(td, "s", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "O", serde.String, serde.String)
	for _, s := range []string{"2020-05-11T21:58:33Z", "2020-05-11T21:58:33z"} {
		in.PipeInput("k", s)
		if got := out.ReadValue(); got != "1589234313000" {
			t.Errorf("%s: %s", s, got)
		}
	}
}

// The literals of an IN list are coerced to the type of the value tested,
// as ksqlDB coerces them: strings to numbers and booleans, numbers and
// booleans to their text, and inside ARRAY and STRUCT constructors too; a
// STRUCT is matched by field name and equals nothing with a field the
// value lacks.
func TestInListCoercion(t *testing.T) {
	p, err := Compile(`CREATE STREAM s (k STRING KEY, i INT, b BOOLEAN, str STRING, a ARRAY<BIGINT>, st STRUCT<x BIGINT, y BIGINT>) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
CREATE STREAM o AS SELECT k,
  i IN ('4.000', '2147483648') AS i_in,
  b IN ('Y') AS b_in,
  str IN (true, 10.50) AS str_in,
  a IN (ARRAY['3', NULL]) AS a_in,
  st IN (STRUCT(y := 2, x := '1'), STRUCT(x := 5, z := 1), STRUCT(x := 7)) AS st_in
FROM s;`)
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, p.Topology())
	in := testdriver.InputTopic(td, "s", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "O", serde.String, serde.String)
	for _, c := range []struct{ in, want string }{
		{`{"I":4,"B":true,"STR":"true","A":[3,null],"ST":{"X":1,"Y":2}}`, `{"I_IN":true,"B_IN":true,"STR_IN":true,"A_IN":true,"ST_IN":true}`},
		{`{"I":-2147483648,"B":false,"STR":"10.5","A":[3],"ST":{"X":5,"Y":null}}`, `{"I_IN":false,"B_IN":false,"STR_IN":false,"A_IN":false,"ST_IN":false}`},
		{`{"I":1,"B":true,"STR":"10.50","A":[3,null],"ST":{"X":7,"Y":null}}`, `{"I_IN":false,"B_IN":true,"STR_IN":true,"A_IN":true,"ST_IN":true}`},
	} {
		in.PipeInput("k", c.in)
		if got := out.ReadValue(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
	if _, err := Compile(`CREATE STREAM s (k STRING KEY, b BOOLEAN) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
CREATE STREAM o AS SELECT k FROM s WHERE b IN ('maybe');`); err == nil || !strings.Contains(err.Error(), "2:48: invalid BOOLEAN literal in IN list: 'maybe'") {
		t.Errorf("a string that is no BOOLEAN: %v", err)
	}
}

// TRUNC, LOG, NULLIF, FORMAT_TIMESTAMP and PARSE_TIMESTAMP, as ksqlDB's.
func TestMoreFunctions(t *testing.T) {
	p, err := Compile(`CREATE STREAM s (k STRING KEY, d DOUBLE, i INT, t TIMESTAMP, s STRING) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
CREATE STREAM o AS SELECT k, TRUNC(d) AS t0, TRUNC(d, 2) AS t2, TRUNC(d, -1) AS tm1, TRUNC(i) AS ti,
  LOG(d) AS ln, LOG(10, i) AS l10, LOG(1, i) AS l1, NULLIF(i, 3) AS ni,
  FORMAT_TIMESTAMP(t, 'yyyy-MM-dd HH:mm') AS ft, PARSE_TIMESTAMP(s, 'yyyy-MM-dd HH:mm') AS pt
FROM s;`)
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, p.Topology())
	in := testdriver.InputTopic(td, "s", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "O", serde.String, serde.String)
	for _, c := range []struct{ in, want string }{
		{`{"D":-12.299,"I":100,"T":60000,"S":"1970-01-01 00:02"}`, `{"T0":-12,"T2":-12.29,"TM1":-10.0,"TI":100,"LN":"NaN","L10":2.0,"L1":"NaN","NI":100,"FT":"1970-01-01 00:01","PT":120000}`},
		{`{"D":0.29,"I":3,"T":null,"S":"nope"}`, `{"T0":0,"T2":0.29,"TM1":0.0,"TI":3,"LN":-1.2378743560016174,"L10":0.4771212547196623,"L1":"NaN","NI":null,"FT":null,"PT":null}`},
	} {
		in.PipeInput("k", c.in)
		if got := out.ReadValue(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
	if _, err := Compile(`CREATE STREAM s (k STRING KEY, s STRING) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
CREATE STREAM o AS SELECT k, PARSE_TIMESTAMP(s, 'yyyy-MM-dd zzz') AS t FROM s;`); !errors.Is(err, ErrNotSupported) {
		t.Errorf("parsing a zone name: %v", err)
	}
}

// DELIMITED writes TIMESTAMP, DATE and TIME columns as it reads them:
// numbers.
func TestDelimitedTimes(t *testing.T) {
	p, err := Compile(`CREATE STREAM s (k STRING KEY, t TIMESTAMP, d DATE) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='DELIMITED');
CREATE STREAM o AS SELECT * FROM s;`)
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, p.Topology())
	testdriver.InputTopic(td, "s", serde.String, serde.String).PipeInput("k", "1526075913000,3")
	if got := testdriver.OutputTopic(td, "O", serde.String, serde.String).ReadValue(); got != "1526075913000,3" {
		t.Errorf("got %s", got)
	}
}

// A sink's TIMESTAMP may be a key column: its records take their time
// from it, and a negative one is dropped.
func TestSinkTimestampKey(t *testing.T) {
	p, err := Compile(`CREATE STREAM s (k BIGINT KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
CREATE STREAM o WITH (TIMESTAMP='K') AS SELECT * FROM s;`)
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, p.Topology())
	in := testdriver.InputTopic(td, "s", serde.Int64, serde.String)
	in.PipeInput(7, `{"V":1}`)
	in.PipeInput(-2, `{"V":2}`)
	out := testdriver.OutputTopic(td, "O", serde.Int64, serde.String)
	recs := out.ReadRecordsToList()
	if len(recs) != 1 || recs[0].Key != 7 || recs[0].Timestamp != 7 {
		t.Errorf("records %+v", recs)
	}
}

// The properties Compile honours: COLLECT_LIST's limit, and a TIMESTAMP
// column that does not parse failing the task; values that mean nothing
// are errors.
func TestProperties(t *testing.T) {
	const decl = `CREATE STREAM s (k STRING KEY, v INT, ts STRING) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', TIMESTAMP='ts', TIMESTAMP_FORMAT='yyyy-MM-dd');
`
	p, err := Compile(decl+"CREATE TABLE o AS SELECT k, COLLECT_LIST(v) AS vs FROM s GROUP BY k;", WithProperty("ksql.functions.collect_list.limit", "2"))
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, p.Topology())
	in := testdriver.InputTopic(td, "s", serde.String, serde.String)
	for _, v := range []string{"1", "2", "3"} {
		in.PipeInput("k", `{"V":`+v+`,"TS":"2020-01-01"}`)
	}
	in.PipeInput("k", `{"V":4,"TS":"nope"}`) // dropped: no timestamp
	var got []string
	for _, r := range testdriver.OutputTopic(td, "O", serde.String, serde.String).ReadRecordsToList() {
		got = append(got, r.Value)
	}
	if want := `{"VS":[1]} {"VS":[1,2]} {"VS":[1,2]}`; strings.Join(got, " ") != want {
		t.Errorf("got %s, want %s", got, want)
	}

	p, err = Compile(decl+"CREATE STREAM o AS SELECT * FROM s;", WithProperty("ksql.timestamp.throw.on.invalid", "true"))
	if err != nil {
		t.Fatal(err)
	}
	td = testdriver.New(t, p.Topology())
	raw := testdriver.InputTopic(td, "s", serde.Bytes, serde.Bytes)
	if err := raw.TryPipeBytes([]byte("k"), []byte(`{"V":1,"TS":"nope"}`), time.UnixMilli(0)); err == nil || !strings.Contains(err.Error(), "TIMESTAMP column TS does not parse") {
		t.Errorf("an invalid timestamp under ksql.timestamp.throw.on.invalid: %v", err)
	}

	for k, v := range map[string]string{"ksql.functions.collect_list.limit": "-1", "ksql.timestamp.throw.on.invalid": "yes"} {
		if _, err := Compile(decl, WithProperty(k, v)); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}

// SET and UNSET change the honoured properties for the statements after
// them, and the programs after (Catalog); others are not supported.
func TestSetProperty(t *testing.T) {
	p, err := Compile(`SET 'ksql.functions.collect_list.limit' = '1';
CREATE STREAM s (k STRING KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
CREATE TABLE one AS SELECT k, COLLECT_LIST(v) AS vs FROM s GROUP BY k;
UNSET 'ksql.functions.collect_list.limit';
CREATE TABLE all_ AS SELECT k, COLLECT_LIST(v) AS vs FROM s GROUP BY k;`)
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, p.Topology())
	in := testdriver.InputTopic(td, "s", serde.String, serde.String)
	in.PipeInput("k", `{"V":1}`)
	in.PipeInput("k", `{"V":2}`)
	for topic, want := range map[string]string{"ONE": `{"VS":[1]}`, "ALL_": `{"VS":[1,2]}`} {
		recs := testdriver.OutputTopic(td, topic, serde.String, serde.String).ReadRecordsToList()
		if got := recs[len(recs)-1].Value; got != want {
			t.Errorf("%s: %s, want %s", topic, got, want)
		}
	}
	set, err := Compile("SET 'ksql.timestamp.throw.on.invalid' = 'true';")
	if err != nil {
		t.Fatal(err)
	}
	next, err := Compile("CREATE STREAM s (k STRING KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');", Catalog(set))
	if err != nil || next.props["ksql.timestamp.throw.on.invalid"] != "true" {
		t.Errorf("SET through Catalog: %v, %v", err, next.props)
	}
	for in, want := range map[string]string{
		"SET 'auto.offset.reset' = 'earliest';":            "sql: 1:1: property auto.offset.reset is not supported",
		"SET 'ksql.timestamp.throw.on.invalid' = 'maybe';": `sql: 1:1: property ksql.timestamp.throw.on.invalid: "maybe" is neither true nor false`,
		"SET ksql.timestamp.throw.on.invalid = 'true';":    "sql: 1:5: expected a property name in quotes, found 'KSQL'",
		"SET 'ksql.functions.collect_list.limit' = 2;":     "sql: 1:43: expected a property value in quotes, found '2'",
	} {
		if _, err := Compile(in); err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", in, err, want)
		}
	}
}

// COLLECT_LIST and COLLECT_SET collect arrays too; the set keeps one of
// equal arrays.
func TestCollectArrays(t *testing.T) {
	p, err := Compile(`CREATE STREAM s (k STRING KEY, a ARRAY<INT>) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
CREATE TABLE o AS SELECT k, COLLECT_LIST(a) AS l, COLLECT_SET(a) AS st FROM s GROUP BY k;`)
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, p.Topology())
	in := testdriver.InputTopic(td, "s", serde.String, serde.String)
	for _, a := range []string{"[1,2]", "[3]", "[1,2]"} {
		in.PipeInput("k", `{"A":`+a+`}`)
	}
	recs := testdriver.OutputTopic(td, "O", serde.String, serde.String).ReadRecordsToList()
	if got, want := recs[len(recs)-1].Value, `{"L":[[1,2],[3],[1,2]],"ST":[[1,2],[3]]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// ALTER ... ADD COLUMN adds value columns to a declared source no query
// reads yet; ksqlDB's refusals are errors.
func TestAlter(t *testing.T) {
	p, err := Compile(`CREATE STREAM s (k STRING KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
ALTER STREAM s ADD COLUMN w STRING, ADD x BIGINT;
CREATE STREAM o AS SELECT k, w, x FROM s;`)
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, p.Topology())
	testdriver.InputTopic(td, "s", serde.String, serde.String).PipeInput("k", `{"V":1,"W":"a","X":2}`)
	if got := testdriver.OutputTopic(td, "O", serde.String, serde.String).ReadValue(); got != `{"W":"a","X":2}` {
		t.Errorf("got %s", got)
	}
	const decl = "CREATE STREAM s (k STRING KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');\n"
	for in, want := range map[string]string{
		"ALTER STREAM s ADD COLUMN v INT;":                               "sql: 2:27: cannot add column 'V' to stream 'S': it already exists",
		"ALTER TABLE s ADD COLUMN w INT;":                                "sql: 2:1: incompatible data source type is STREAM, but statement was ALTER TABLE",
		"ALTER STREAM s ADD COLUMN w INT KEY;":                           "sql: 2:27: ALTER cannot add a key column",
		"CREATE STREAM o AS SELECT * FROM s;\nALTER STREAM s ADD w INT;": "sql: 3:1: ALTER of a source a query reads or writes is not supported",
		"CREATE SOURCE STREAM r (k STRING KEY) WITH (KAFKA_TOPIC='r', VALUE_FORMAT='JSON');\nALTER STREAM r ADD w INT;": "sql: 3:1: cannot alter stream 'R': ALTER operations are not supported on source streams",
	} {
		if _, err := Compile(decl + in); err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", in, err, want)
		}
	}
}

// A foreign-key join keeps every key column of the left table as the key.
func TestForeignKeyJoinCompositeKey(t *testing.T) {
	p, err := Compile(`CREATE TABLE l (a BIGINT PRIMARY KEY, b BIGINT PRIMARY KEY, fk BIGINT) WITH (KAFKA_TOPIC='l', FORMAT='JSON');
CREATE TABLE r (id BIGINT PRIMARY KEY, v BIGINT) WITH (KAFKA_TOPIC='r', FORMAT='JSON');
CREATE TABLE o AS SELECT a, b, fk, v FROM l JOIN r ON fk = id;`)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := p.Source("O")
	if len(o.Schema.Key) != 2 || o.Schema.Key[0].Name != "A" || o.Schema.Key[1].Name != "B" {
		t.Fatalf("key %+v", o.Schema.Key)
	}
	td := testdriver.New(t, p.Topology())
	testdriver.InputTopic(td, "r", serde.String, serde.String).PipeInput(`5`, `{"V":50}`)
	testdriver.InputTopic(td, "l", serde.String, serde.String).PipeInput(`{"A":1,"B":2}`, `{"FK":5}`)
	r := testdriver.OutputTopic(td, "O", serde.String, serde.String).ReadRecord()
	if r.Key != `{"A":1,"B":2}` || r.Value != `{"FK":5,"V":50}` {
		t.Errorf("record %s %s", r.Key, r.Value)
	}
}
