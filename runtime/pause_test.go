package runtime

import (
	"context"
	"testing"
	"time"
)

// A watch reports a gap in its ticks as a pause, once, and reports none
// while it ticks.
func TestPauseWatch(t *testing.T) {
	w := newPauseWatch()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.run(ctx)
	time.Sleep(3 * pauseTick)
	if p := w.take(); p > 20*pauseTick {
		t.Fatalf("a ticking watch reports a pause of %v", p)
	}
	// The process standing still looks to the watch like a tick long
	// overdue.
	w.mu.Lock()
	w.last = w.last.Add(-time.Minute)
	w.mu.Unlock()
	if p := w.take(); p < time.Minute {
		t.Fatalf("after a minute without ticks take = %v", p)
	}
	time.Sleep(3 * pauseTick)
	if p := w.take(); p > 20*pauseTick {
		t.Fatalf("the pause is reported again: %v", p)
	}
}
