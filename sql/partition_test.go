package sql

import (
	"testing"

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
