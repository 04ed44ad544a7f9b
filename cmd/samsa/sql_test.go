package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestSQLExplain(t *testing.T) {
	f := filepath.Join(t.TempDir(), "q.sql")
	src := "CREATE STREAM words (k BIGINT KEY, word STRING) WITH (KAFKA_TOPIC='words', VALUE_FORMAT='DELIMITED');\n" +
		"CREATE TABLE counts AS SELECT word, COUNT(*) AS n FROM words GROUP BY word;\n"
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"sql", "-explain", "-f", f}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "(topic: COUNTS)") {
		t.Fatalf("unexpected EXPLAIN:\n%s", out.String())
	}
	if err := os.WriteFile(f, []byte("CREATE STREAM s (a INT) WITH (VALUE_FORMAT='JSON');"), 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run(context.Background(), []string{"sql", "-explain", "-f", f}, nil, &out, &errb); code != exitFail || !strings.Contains(errb.String(), "1:1: missing required property KAFKA_TOPIC") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// TestSQLRunPushQuery runs a file with a push query on the embedded broker,
// produces to its source and waits for the row to be printed.
func TestSQLRunPushQuery(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a broker; skipped with -short")
	}
	f := filepath.Join(t.TempDir(), "q.sql")
	src := "CREATE STREAM clicks (user_id STRING KEY, page STRING) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON');\n" +
		"SELECT user_id, UCASE(page) AS page FROM clicks EMIT CHANGES;\n"
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sql", "-f", f, "-application-id", "sql-cli-test"}, nil, &out, &errb)
	}()
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("exit %d: %s", code, errb.String())
		}
	}()
	addr := ""
	deadline := time.Now().Add(30 * time.Second)
	for addr == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no broker address: %s %s", out.String(), errb.String())
		}
		if _, rest, ok := strings.Cut(out.String(), "embedded broker listening on "); ok {
			addr, _, _ = strings.Cut(rest, "\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer pcancel()
	if err := cl.ProduceSync(pctx, &kgo.Record{Topic: "clicks", Key: []byte("ann"), Value: []byte(`{"PAGE":"/home"}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	want := `TRANSIENT_1 {USER_ID: "ann", PAGE: "/HOME"}`
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("no row %s in output:\n%s\n%s", want, out.String(), errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
