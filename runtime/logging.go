package runtime

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// The app's logger, and franz-go's through kslog, go through limitHandler:
// a failure that repeats (a deleted topic's fetches, a broker that does
// not answer) logs its first lines, then at most logBurst lines of one
// message per logWindow, the next one saying how many were suppressed. A
// log that grows by megabytes a minute hides the line that matters and
// fills the disk; debug lines, which a user asks for, pass.
const (
	logWindow = 10 * time.Second
	logBurst  = 10
)

// limitHandler rate-limits the records of inner by level and message. The
// handlers derived from it (With, WithGroup) share its limits.
type limitHandler struct {
	inner slog.Handler
	lim   *logLimiter
}

func newLimitHandler(inner slog.Handler) *limitHandler {
	return &limitHandler{inner: inner, lim: &logLimiter{seen: map[logKey]*logCount{}}}
}

func (h *limitHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *limitHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelInfo {
		return h.inner.Handle(ctx, r)
	}
	ok, suppressed := h.lim.allow(logKey{r.Level, r.Message}, r.Time)
	if !ok {
		return nil
	}
	if suppressed > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", suppressed))
	}
	return h.inner.Handle(ctx, r)
}

func (h *limitHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &limitHandler{inner: h.inner.WithAttrs(attrs), lim: h.lim}
}

func (h *limitHandler) WithGroup(name string) slog.Handler {
	return &limitHandler{inner: h.inner.WithGroup(name), lim: h.lim}
}

type logKey struct {
	level slog.Level
	msg   string
}

// logCount is one message's window: when it began, the lines let through
// in it, and those suppressed.
type logCount struct {
	start      time.Time
	n          int
	suppressed int
}

// logLimiter counts lines per message. Messages are constants of the code
// that logs them, so the map stays small.
type logLimiter struct {
	mu   sync.Mutex
	seen map[logKey]*logCount
}

// allow reports whether a line of key at now may be logged, and how many
// were suppressed before it since the last one let through.
func (l *logLimiter) allow(key logKey, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.seen[key]
	if c == nil {
		c = &logCount{start: now}
		l.seen[key] = c
	}
	if now.Sub(c.start) >= logWindow {
		s := c.suppressed
		c.start, c.n, c.suppressed = now, 1, 0
		return true, s
	}
	if c.n < logBurst {
		c.n++
		return true, 0
	}
	c.suppressed++
	return false, 0
}
