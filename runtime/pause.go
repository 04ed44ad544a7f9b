package runtime

import (
	"context"
	"sync"
	"time"
)

// pauseWatch notices that the process stood still: stopped by SIGSTOP, a
// frozen VM, a debugger. A process paused past the session timeout has been
// removed from the group, and its tasks belong to other members; under
// at-least-once nothing fences what it still sends, so it must not flush
// the changelog writes it folded since its last commit on top of the new
// owner's. A ticker goroutine records when it last ran; a gap far above
// its period is a pause.
type pauseWatch struct {
	mu   sync.Mutex
	last time.Time
	// longest is the longest gap seen since the last take.
	longest time.Duration
}

// pauseTick is the watch's period: short against any session timeout.
const pauseTick = 100 * time.Millisecond

func newPauseWatch() *pauseWatch { return &pauseWatch{last: time.Now()} }

// run ticks until ctx is done.
func (w *pauseWatch) run(ctx context.Context) {
	tk := time.NewTicker(pauseTick)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			w.mu.Lock()
			now := time.Now()
			w.longest = max(w.longest, now.Sub(w.last))
			w.last = now
			w.mu.Unlock()
		}
	}
}

// take returns the longest time the process stood still since the last
// take, including the gap up to now (the ticker may not have run since the
// process woke), and starts over.
func (w *pauseWatch) take() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	d := max(w.longest, now.Sub(w.last))
	w.longest, w.last = 0, now
	return d
}
