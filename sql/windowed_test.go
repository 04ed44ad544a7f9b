package sql

import (
	"errors"
	"testing"
	"time"

	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// A stateless query of a windowed source reads the windows of its keys,
// WINDOWSTART and WINDOWEND among its columns, and writes them to a sink
// windowed the same way.
func TestWindowedSource(t *testing.T) {
	for _, c := range []struct {
		kind string
		ks   serde.Serde[serde.Windowed[int64]]
		end  int64
	}{
		{"WINDOW_TYPE='TUMBLING', WINDOW_SIZE='10 SECONDS'", serde.TimeWindowed(serde.Int64, 10*time.Second), 10_000},
		{"WINDOW_TYPE='SESSION'", serde.SessionWindowed(serde.Int64), 3_000},
	} {
		p, err := Compile(`CREATE STREAM s (k BIGINT KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', ` + c.kind + `);
CREATE STREAM o AS SELECT k, v * 2 AS v2, WINDOWSTART AS ws, WINDOWEND AS we FROM s WHERE v > 0;`)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := p.Source("O"); o.Window == "" {
			t.Fatalf("%s: the sink is not windowed", c.kind)
		}
		td := testdriver.New(t, p.Topology())
		in := testdriver.InputTopic(td, "s", c.ks, serde.String)
		in.PipeInput(serde.Windowed[int64]{Key: 7, Start: 0, End: c.end}, `{"V":1}`)
		in.PipeInput(serde.Windowed[int64]{Key: 7, Start: 0, End: c.end}, `{"V":0}`)
		out := testdriver.OutputTopic(td, "O", c.ks, serde.String)
		recs := out.ReadRecordsToList()
		want := `{"V2":2,"WS":0,"WE":` + map[bool]string{true: "10000", false: "3000"}[c.end == 10_000] + `}`
		if len(recs) != 1 || recs[0].Key != (serde.Windowed[int64]{Key: 7, Start: 0, End: c.end}) || recs[0].Value != want {
			t.Errorf("%s: records %+v, want one of key 7 in [0,%d), value %s", c.kind, recs, c.end, want)
		}
	}
	const decl = "CREATE STREAM s (k BIGINT KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', WINDOW_TYPE='SESSION');\n"
	for _, q := range []string{
		"CREATE TABLE o AS SELECT k, COUNT(*) FROM s GROUP BY k;",
		"CREATE STREAM o AS SELECT * FROM s PARTITION BY v;",
		"SELECT * FROM s EMIT CHANGES;",
	} {
		if _, err := Compile(decl + q); !errors.Is(err, ErrNotSupported) {
			t.Errorf("%s: %v", q, err)
		}
	}
}
