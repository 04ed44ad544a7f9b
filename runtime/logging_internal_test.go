package runtime

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A message repeated a thousand times a second logs logBurst lines per
// window; the first line of the next window counts the suppressed ones.
// Other messages, and debug lines, have limits of their own.
func TestLimitHandler(t *testing.T) {
	var buf bytes.Buffer
	h := newLimitHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	log := slog.New(h).With("thread", "t1")
	t0 := time.Unix(0, 0)
	emit := func(at time.Time, level slog.Level, msg string) {
		r := slog.NewRecord(at, level, msg, 0)
		if err := log.Handler().Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1000 {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		emit(at, slog.LevelWarn, "fetch error")
		emit(at, slog.LevelDebug, "wrote Fetch")
	}
	emit(t0.Add(500*time.Millisecond), slog.LevelWarn, "another")
	emit(t0.Add(logWindow), slog.LevelWarn, "fetch error")
	out := buf.String()
	if n := strings.Count(out, `msg="fetch error"`); n != logBurst+1 {
		t.Errorf("%d fetch error lines, want %d", n, logBurst+1)
	}
	if !strings.Contains(out, "suppressed=990") || !strings.Contains(out, "thread=t1") {
		t.Errorf("the line after the window does not count the suppressed lines:\n%s", out)
	}
	if n := strings.Count(out, `msg="wrote Fetch"`); n != 1000 {
		t.Errorf("%d debug lines, want all 1000", n)
	}
	if n := strings.Count(out, `msg=another`); n != 1 {
		t.Errorf("%d lines of another message, want 1", n)
	}
}
