package runtime

import (
	"testing"
	"time"

	"github.com/samsa-go/samsa/processor"
)

// Warm-ups ask for a probing rebalance as soon as they caught up, or once
// they warmed up for the probing interval; warm-ups a probing rebalance
// left where they were wait, doubling, before they ask again, and wait no
// more once one moved them.
func TestProbingRebalanceSchedule(t *testing.T) {
	const probing = 10 * time.Second
	t0 := time.Unix(1_000_000, 0)
	x, y := processor.TaskID{Partition: 1}, processor.TaskID{Partition: 2}
	w := warmups{tasks: []processor.TaskID{x}, since: t0}
	if !w.due(true, t0, probing) {
		t.Error("caught-up warm-ups do not ask at once")
	}
	if w.due(false, t0.Add(probing-time.Millisecond), probing) {
		t.Error("warm-ups behind ask before the probing interval")
	}
	if !w.due(false, t0.Add(probing), probing) {
		t.Error("warm-ups behind do not ask after the probing interval")
	}

	// x was asked for and stays a warm-up, again and again.
	var waits []time.Duration
	for range 6 {
		w.probed = []processor.TaskID{x}
		w = warmups{tasks: []processor.TaskID{x}, since: t0, backoff: w.nextBackoff([]processor.TaskID{x, y}, probing)}
		waits = append(waits, w.backoff)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, probing, probing}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits of warm-ups left in place %v, want %v", waits, want)
		}
	}
	if w.due(true, t0.Add(w.backoff-time.Millisecond), probing) || !w.due(true, t0.Add(w.backoff), probing) {
		t.Errorf("caught-up warm-ups do not wait %v", w.backoff)
	}
	// The next rebalance moved x: y, caught up, asks at once.
	w.probed = []processor.TaskID{x}
	if b := w.nextBackoff([]processor.TaskID{y}, probing); b != 0 {
		t.Errorf("wait %v after a rebalance that moved the task asked for, want 0", b)
	}
}
