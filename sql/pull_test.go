package sql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
)

const pullProgram = `
CREATE STREAM clicks (user_id STRING KEY, page STRING) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=2);
CREATE TABLE per_page AS SELECT page, COUNT(*) AS n FROM clicks GROUP BY page;
CREATE TABLE per_user AS SELECT user_id, COUNT(*) AS n, LATEST_BY_OFFSET(page) AS last FROM clicks GROUP BY user_id;
CREATE TABLE per_user_min AS SELECT user_id, COUNT(*) AS n FROM clicks WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY user_id;
CREATE TABLE busy_pages AS SELECT page, COUNT(*) AS n FROM clicks WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY page HAVING COUNT(*) > 1;
CREATE TABLE visits AS SELECT user_id, COUNT(*) AS n FROM clicks WINDOW SESSION (30 SECONDS) GROUP BY user_id;
CREATE STREAM pages AS SELECT user_id, page FROM clicks;
`

func TestPullPlanErrors(t *testing.T) {
	prog, err := Compile(pullProgram)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in, want    string
		unsupported bool
	}{
		{"SELECT * FROM nope WHERE k = 1;", "sql: 1:15: NOPE does not exist", false},
		{"SELECT * FROM clicks;", "sql: 1:15: pull queries read tables; CLICKS is a stream (use SELECT ... EMIT CHANGES)", false},
		{"SELECT * FROM per_page WHERE n = 3;", "sql: 1:30: a condition on the value column N in a pull query is not supported", true},
		{"SELECT * FROM per_page WHERE page > 'a';", "sql: 1:30: a key bound other than = in a pull query is not supported", true},
		{"SELECT * FROM per_page WHERE page = 'a' OR page = 'b';", "sql: 1:41: this condition in a pull query (key column = constant, bounds on WINDOWSTART and WINDOWEND, joined by AND) is not supported", true},
		{"SELECT nope FROM per_page;", "sql: 1:8: column 'NOPE' cannot be resolved", false},
		{"SELECT UCASE(page) FROM per_page;", "sql: 1:8: an expression in a pull query's select list (name columns) is not supported", true},
		{"SELECT * FROM per_page WHERE page = 'a' AND page = 'b';", "sql: 1:45: the key column PAGE is set twice", false},
		{"SELECT * FROM per_page WHERE page = NULL;", "sql: 1:37: a pull query cannot compare PAGE with NULL", false},
		{"SELECT * FROM per_page WHERE page = 'a' EMIT CHANGES;", "sql: 1:1: not a pull query (SELECT ... FROM table WHERE ...)", false},
		{"SELECT * FROM per_page; SELECT * FROM per_user;", "sql: want one pull query, got 2 statements", false},
		{"SELECT * FROM per_page LIMIT 1;", "sql: 1:24: LIMIT is not supported", true},
	} {
		_, err := prog.Pull(c.in)
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
	// A table no aggregation computes has no store to read.
	p2, err := Compile(`CREATE TABLE t (k STRING PRIMARY KEY, v INT) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON');
CREATE TABLE u AS SELECT k, v FROM t WHERE v > 1;`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Pull("SELECT * FROM u WHERE k = 'a';"); err == nil || !errors.Is(err, ErrNotSupported) {
		t.Errorf("pull on a filtered table: %v", err)
	}
}

// Pull queries answer from the stores of a program running on an
// in-process broker: plain and windowed, keyed lookups and scans, over
// aggregations fed by a repartition (whose key's task is known) and by
// the source's own partitions (which are all searched).
func TestPullOnBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a broker; skipped with -short")
	}
	prog, err := Compile(pullProgram)
	if err != nil {
		t.Fatal(err)
	}
	var topics []string
	for _, s := range prog.Sources() {
		topics = append(topics, s.Topic)
	}
	b := kafkatest.NewBroker(t, kafkatest.Topics(2, topics...))
	cl, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for _, c := range []struct {
		user, page string
		ts         int64
	}{{"alice", "/a", 1000}, {"bob", "/a", 2000}, {"alice", "/b", 3000}, {"alice", "/a", 61000}, {"bob", "/b", 62000}} {
		recs = append(recs, &kgo.Record{Topic: "clicks", Key: []byte(c.user), Value: fmt.Appendf(nil, `{"PAGE":%q}`, c.page), Timestamp: time.UnixMilli(c.ts)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	app, err := runtime.New(prog.Topology(),
		runtime.ApplicationID("sql-pull"),
		runtime.Brokers(b.Addrs()...),
		runtime.StateDir(t.TempDir()),
		runtime.CommitInterval(100*time.Millisecond),
		runtime.Logger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	appCtx, stop := context.WithCancel(context.Background())
	go func() { done <- app.Run(appCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	cases := []struct{ query, want string }{
		{"SELECT * FROM per_page WHERE page = '/a';", `{PAGE: "/a", N: 3}`},
		{"SELECT * FROM per_page WHERE page = '/nope';", ``},
		{"SELECT * FROM per_user WHERE user_id = 'alice';", `{USER_ID: "alice", N: 3, LAST: "/a"}`},
		{"SELECT user_id, n AS views FROM per_user;", `{USER_ID: "alice", VIEWS: 3}` + "\n" + `{USER_ID: "bob", VIEWS: 2}`},
		{"SELECT * FROM per_user_min WHERE user_id = 'alice';",
			`{USER_ID: "alice", WINDOWSTART: 0, WINDOWEND: 60000, N: 2}` + "\n" + `{USER_ID: "alice", WINDOWSTART: 60000, WINDOWEND: 120000, N: 1}`},
		{"SELECT n FROM per_user_min WHERE user_id = 'alice' AND WINDOWSTART >= 60000;", `{N: 1}`},
		{"SELECT n FROM per_user_min WHERE user_id = 'alice' AND WINDOWEND <= 60000;", `{N: 2}`},
		{"SELECT user_id, n FROM per_user_min WHERE WINDOWSTART BETWEEN 60000 AND 60000;", `{USER_ID: "alice", N: 1}` + "\n" + `{USER_ID: "bob", N: 1}`},
		// HAVING COUNT(*) > 1 keeps window 0 of /a only.
		{"SELECT * FROM busy_pages WHERE page = '/a';", `{PAGE: "/a", WINDOWSTART: 0, WINDOWEND: 60000, N: 2}`},
		{"SELECT * FROM busy_pages WHERE page = '/b';", ``},
		{"SELECT * FROM visits WHERE user_id = 'alice';",
			`{USER_ID: "alice", WINDOWSTART: 1000, WINDOWEND: 3000, N: 2}` + "\n" + `{USER_ID: "alice", WINDOWSTART: 61000, WINDOWEND: 61000, N: 1}`},
	}
	pulls := make([]*Pull, len(cases))
	for i, c := range cases {
		if pulls[i], err = prog.Pull(c.query); err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
	}
	answer := func(i int) (string, error) {
		rows, err := pulls[i].Execute(app)
		if err != nil {
			return "", err
		}
		var lines []string
		for _, r := range rows {
			lines = append(lines, pulls[i].Render(r))
		}
		slices.Sort(lines) // rows come task by task
		return strings.Join(lines, "\n"), nil
	}
	// The application catches up with the input in its own time.
	for {
		var wrong []string
		for i, c := range cases {
			got, err := answer(i)
			if err != nil || got != c.want {
				wrong = append(wrong, fmt.Sprintf("%s\n got %s (%v)\nwant %s", c.query, got, err, c.want))
			}
		}
		if len(wrong) == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal(strings.Join(wrong, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A query of a store the app does not hold fails with the runtime's error.
	other, err := Compile(`CREATE STREAM s (k STRING KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
CREATE TABLE elsewhere AS SELECT k, COUNT(*) AS n FROM s GROUP BY k;`)
	if err != nil {
		t.Fatal(err)
	}
	q, err := other.Pull("SELECT * FROM elsewhere WHERE k = 'x';")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Execute(app); !errors.Is(err, runtime.ErrUnknownStore) && !errors.Is(err, runtime.ErrStoreMoved) && !errors.Is(err, runtime.ErrRebalancing) {
		t.Errorf("query of another program's store: %v", err)
	}
}
