package sql

import (
	"testing"
	"time"

	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

func TestPushQuery(t *testing.T) {
	p, err := Compile(`CREATE STREAM clicks (user_id STRING KEY, page STRING, ms BIGINT) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='DELIMITED');
SELECT user_id, UCASE(page) AS page FROM clicks WHERE ms > 10 EMIT CHANGES;
SELECT user_id, COUNT(*) AS n FROM clicks WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY user_id EMIT CHANGES;`)
	if err != nil {
		t.Fatal(err)
	}
	push := p.PushQueries()
	if len(push) != 2 || push[0].Topic != "samsa-transient-1" || push[1].Window != "TUMBLING" {
		t.Fatalf("push queries: %+v", push)
	}
	td := testdriver.New(t, p.Topology())
	in := testdriver.InputTopic(td, "clicks", serde.String, serde.String)
	in.PipeInputAt("ann", "/a,5", time.UnixMilli(1000))
	in.PipeInputAt("ann", "/b,50", time.UnixMilli(2000))
	var got []string
	for _, s := range push {
		out := testdriver.OutputTopic(td, s.Topic, serde.Bytes, serde.Bytes)
		for out.QueueSize() > 0 {
			r := out.ReadRecord()
			row, err := s.Render(r.Key, r.Value)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, s.Name+" "+row)
		}
	}
	want := []string{
		`TRANSIENT_1 {USER_ID: "ann", PAGE: "/B"}`,
		`TRANSIENT_2 {WINDOWSTART: 0, USER_ID: "ann", N: 1}`,
		`TRANSIENT_2 {WINDOWSTART: 0, USER_ID: "ann", N: 2}`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: got %s, want %s", i, got[i], want[i])
		}
	}
	if _, err := Compile("CREATE TABLE t (k STRING PRIMARY KEY, v INT) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON');\nSELECT * FROM t WHERE k = 'a';"); err == nil || err.Error() != "sql: 2:1: a pull query among a program's statements (run it with Program.Pull) is not supported" {
		t.Fatalf("pull query: %v", err)
	}
}
