package runtime_test

import (
	"sync"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/runtime"
)

// TestExactlyOnceStandbyChurn runs cached word count exactly-once on three
// instances with a standby for each task, and closes and restarts them in
// turn while lines arrive: every rebalance hands tasks between actives,
// standbys and warm-ups of one process, in quick succession. No instance
// may fail (a task's state opened while its standby, or a task of the last
// assignment, still held it was wiped as corrupt, and the app failed), and
// every word is counted exactly once.
func TestExactlyOnceStandbyChurn(t *testing.T) {
	const parts, rounds = 4, 6
	c := testfix.WordCountBroker(t, parts)
	root := t.TempDir()
	topo := testfix.WordCountCached(t, 1<<20)
	type instance struct {
		dir  string
		app  *runtime.App
		done chan error
	}
	start := func(in *instance) {
		in.app, in.done = runApp(t, c, topo, in.dir, runtime.ApplicationID("churn"), runtime.ExactlyOnce(), runtime.Standbys(1))
	}
	ins := []*instance{{dir: root + "/a"}, {dir: root + "/b"}, {dir: root + "/c"}}
	for _, in := range ins {
		start(in)
	}

	var mu sync.Mutex
	want := map[string]int64{}
	stop := make(chan struct{})
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; ; i += 20 {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			lines, counts := testfix.Corpus(i, 20)
			if err := testfix.ProduceLinesErr(c, lines...); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			want = testfix.Add(want, counts)
			mu.Unlock()
		}
	}()
	for r := range rounds {
		in := ins[r%len(ins)]
		time.Sleep(700 * time.Millisecond)
		closeApp(t, in.app, in.done)
		time.Sleep(300 * time.Millisecond)
		start(in)
	}
	time.Sleep(time.Second)
	close(stop)
	<-produced
	mu.Lock()
	final := want
	mu.Unlock()
	testfix.ReadCounts(t, c, final, 90*time.Second)
	for _, in := range ins {
		if s := in.app.State(); s == runtime.Error {
			t.Errorf("an instance is in %v", s)
		}
		closeApp(t, in.app, in.done)
	}
}
