package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestStmtSplitter(t *testing.T) {
	for _, c := range []struct {
		lines []string
		want  []string
		rest  string
	}{
		{[]string{"SELECT 1;"}, []string{"SELECT 1;"}, ""},
		{[]string{"CREATE STREAM s", "  (a INT) WITH (X='a;b');", "SELECT"}, []string{"CREATE STREAM s\n  (a INT) WITH (X='a;b');"}, "SELECT\n"},
		{[]string{"a; b;c"}, []string{"a;", "b;"}, "c\n"},
		{[]string{"a -- comment; not the end", "b;"}, []string{"a \nb;"}, ""},
		{[]string{"a /* ; */ b;", ";"}, []string{"a /* ; */ b;"}, ""},
		{[]string{"x = 'it''s;'; y"}, []string{"x = 'it''s;';"}, " y\n"},
	} {
		var s stmtSplitter
		var got []string
		for _, l := range c.lines {
			got = append(got, s.add(l)...)
		}
		if !slices.Equal(got, c.want) || s.pending() != c.rest {
			t.Errorf("%q: got %q rest %q, want %q rest %q", c.lines, got, s.pending(), c.want, c.rest)
		}
	}
}

// TestSQLInteractive pipes statements into samsa sql on the embedded
// broker: a declaration, a persistent aggregation, pull queries answered
// from its store, a push query whose rows are printed, and a bad
// statement that is reported without ending the session. Exactly-once,
// so that the first rebalances count no record twice.
func TestSQLInteractive(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a broker; skipped with -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in, feed := io.Pipe()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sql", "-application-id", "sql-i-test", "-processing-guarantee", "exactly_once_v2"}, in, &out, &errb)
	}()
	write := func(s string) {
		t.Helper()
		if _, err := io.WriteString(feed, s); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	waitFor := func(want string, retry func()) {
		t.Helper()
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the output:\n%s\nstderr:\n%s", want, out.String(), errb.String())
			}
			if retry != nil {
				retry()
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("embedded broker listening on ", nil)
	_, rest, _ := strings.Cut(out.String(), "embedded broker listening on ")
	addr, _, _ := strings.Cut(rest, "\n")

	write("CREATE STREAM clicks (user_id STRING KEY, page STRING)\n  WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON');\n")
	waitFor("samsa: stream CLICKS declared", nil)
	write("CREATE STREAM tmp (k STRING KEY) WITH (KAFKA_TOPIC='tmp', VALUE_FORMAT='JSON');\nDROP STREAM tmp;\n")
	waitFor("samsa: stream TMP dropped", nil)
	write("SET 'ksql.functions.collect_list.limit' = '5';\n")
	waitFor("samsa: property ksql.functions.collect_list.limit set to 5", nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i, p := range []string{"/a", "/b", "/a"} {
		recs = append(recs, &kgo.Record{Topic: "clicks", Key: fmt.Appendf(nil, "u%d", i), Value: fmt.Appendf(nil, `{"PAGE":%q}`, p)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	write("CREATE TABLE per_page AS SELECT page, COUNT(*) AS n FROM clicks GROUP BY page; -- counts\n")
	waitFor("samsa: table PER_PAGE created; query sql-i-test-query-1 running", nil)
	// The query catches up in its own time: ask until it has.
	waitFor(`{PAGE: "/a", N: 2}`+"\n(1 rows)", func() { write("SELECT * FROM per_page WHERE page = '/a';\n") })
	write("SELECT page, n AS views FROM per_page;\n")
	waitFor("(2 rows)", nil)
	write("SELECT * FROM nope WHERE k = 1;\n")
	write("SELECT page, n FROM per_page\n  EMIT CHANGES;\n")
	waitFor(`TRANSIENT_1 {PAGE: "/a", N: 2}`, nil)
	if !strings.Contains(errb.String(), "samsa: sql: 1:15: NOPE does not exist") {
		t.Errorf("no error for the unknown table in:\n%s", errb.String())
	}
	feed.Close()
	waitFor("samsa: end of input; the queries run until interrupted", nil)
	cancel()
	if code := <-done; code != exitFail {
		t.Errorf("exit %d after a failed statement, want %d; stderr:\n%s", code, exitFail, errb.String())
	}
}
