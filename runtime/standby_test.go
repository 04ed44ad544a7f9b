package runtime_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
)

// restoreCounter counts the changelog records restores applied.
type restoreCounter struct{ n atomic.Int64 }

func (c *restoreCounter) OnRestoreStart(runtime.RestoreProgress)    {}
func (c *restoreCounter) OnRestoreEnd(runtime.RestoreProgress)      {}
func (c *restoreCounter) OnBatchRestored(p runtime.RestoreProgress) { c.n.Add(p.Batch) }

// waitSpread waits until apps, all running, run every task of the
// word count's two subtopologies of parts tasks once between them, and each
// counting task (subtopology 1) has min(n, len(apps)-1) standbys, on apps
// other than its active's.
func waitSpread(t *testing.T, parts int32, n int, apps ...*runtime.App) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		why := spreadWrong(parts, min(n, len(apps)-1), apps)
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func spreadWrong(parts int32, n int, apps []*runtime.App) string {
	active := map[processor.TaskID]int{}
	standby := map[processor.TaskID][]int{}
	var desc string
	for i, app := range apps {
		desc += fmt.Sprintf(" [app %d %v: active %v standby %v]", i, app.State(), app.ActiveTasks(), app.StandbyTasks())
		if app.State() != runtime.Running {
			return "not running:" + desc
		}
		for _, id := range app.ActiveTasks() {
			if _, ok := active[id]; ok {
				return fmt.Sprintf("task %v active twice:%s", id, desc)
			}
			active[id] = i
		}
		for _, id := range app.StandbyTasks() {
			standby[id] = append(standby[id], i)
		}
	}
	for sub := range 2 {
		for p := range parts {
			id := processor.TaskID{Subtopology: sub, Partition: p}
			at, ok := active[id]
			if !ok {
				return fmt.Sprintf("task %v not active:%s", id, desc)
			}
			if slices.Contains(standby[id], at) {
				return fmt.Sprintf("task %v standby with its active:%s", id, desc)
			}
			want := n
			if sub == 0 {
				want = 0
			}
			if len(standby[id]) != want {
				return fmt.Sprintf("task %v has %d standbys, want %d:%s", id, len(standby[id]), want, desc)
			}
		}
	}
	return ""
}

// failover runs cached word count on two instances with n standbys each,
// closes one and returns the records the survivor restored taking its tasks
// over; then it starts the closed one again and returns what it restored
// taking its share back. Counts must stay exact throughout: a task whose
// store, or whose cache, missed writes of the instance it took over from
// would count on from a stale value (KAFKA-14172).
func failover(t *testing.T, n int) (survivor, returner int64) {
	const parts = 4
	c := testfix.WordCountBroker(t, parts)
	root := t.TempDir()
	topo := testfix.WordCountCached(t, 1<<20)
	type instance struct {
		dir      string
		app      *runtime.App
		done     chan error
		restored restoreCounter
	}
	start := func(in *instance) {
		in.app, in.done = runApp(t, c, topo, in.dir, runtime.ApplicationID("standby"), runtime.Standbys(n), runtime.RestoreListener(&in.restored))
	}
	x, y := &instance{dir: root + "/a"}, &instance{dir: root + "/b"}
	start(x)
	start(y)
	// Two subtopologies of parts tasks split between them; with a
	// standby, each counting task has one on the other instance.
	waitSpread(t, parts, n, x.app, y.app)

	lines, want := testfix.Corpus(0, 600)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 60*time.Second)

	// The instance that counts most words leaves: the other takes its
	// counting tasks over.
	counting := func(app *runtime.App) int {
		n := 0
		for _, id := range app.ActiveTasks() {
			if id.Subtopology == 1 {
				n++
			}
		}
		return n
	}
	victim, other := x, y
	if counting(y.app) > counting(x.app) {
		victim, other = y, x
	}
	if n > 0 {
		// The standbys of the victim's tasks have caught up: the
		// failover is then measured, not how far a standby just made was
		// behind (under load it may not have started tailing yet).
		waitStandbysCaughtUp(t, other.app, victim.app)
	}
	other.restored.n.Store(0)
	closeApp(t, victim.app, victim.done)
	waitSpread(t, parts, n, other.app)
	more, want2 := testfix.Corpus(600, 300)
	testfix.ProduceLines(t, c, more...)
	want = testfix.Add(want, want2)
	testfix.ReadCounts(t, c, want, 60*time.Second)
	survivor = other.restored.n.Load()

	victim.restored.n.Store(0)
	start(victim)
	waitSpread(t, parts, n, victim.app, other.app)
	returner = victim.restored.n.Load()
	more, want2 = testfix.Corpus(900, 300)
	testfix.ProduceLines(t, c, more...)
	testfix.ReadCounts(t, c, testfix.Add(want, want2), 60*time.Second)
	closeApp(t, victim.app, victim.done)
	closeApp(t, other.app, other.done)
	return survivor, returner
}

// waitStandbysCaughtUp waits until app keeps a standby of every counting
// task of victim and each trails its changelog by nothing.
func waitStandbysCaughtUp(t *testing.T, app, victim *runtime.App) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lags, err := app.StandbyLags(context.Background())
		if err == nil && caughtUp(lags, victim.ActiveTasks()) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("standbys not caught up with the tasks %v after 30s: %v (err %v)", victim.ActiveTasks(), lags, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func caughtUp(lags []runtime.StandbyLag, tasks []processor.TaskID) bool {
	for _, id := range tasks {
		if id.Subtopology != 1 {
			continue
		}
		found := false
		for _, l := range lags {
			if l.Task == id {
				found = true
				if l.Lag > 0 {
					return false
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestStandbyFailoverRestoresLess(t *testing.T) {
	without, _ := failover(t, 0)
	with, back := failover(t, 1)
	t.Logf("records restored taking over a closed instance's tasks: %d without a standby, %d with one; %d by the instance coming back", without, with, back)
	if without == 0 {
		t.Fatal("without a standby the survivor restored nothing: the test proves nothing")
	}
	if with >= without {
		t.Errorf("with a standby the survivor restored %d records, not fewer than the %d without", with, without)
	}
}

func TestStandbyTasksListed(t *testing.T) {
	// Standbys(2) on two instances: capped at one, on the other instance.
	c := testfix.WordCountBroker(t, 2)
	root := t.TempDir()
	a, _ := startApp(t, c, root+"/a", runtime.Standbys(2))
	b, _ := startApp(t, c, root+"/b", runtime.Standbys(2))
	waitSpread(t, 2, 2, a, b)
}
