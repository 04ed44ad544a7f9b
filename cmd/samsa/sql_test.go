package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
