package runtime

import (
	"context"
	"errors"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/assign"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/internal/statedir"
	"github.com/samsa-go/samsa/internal/topics"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// handoffApp is an App with a state directory and one thread that never
// connects, over a count in a Pebble store without a changelog, so that
// its tasks open and start without a broker.
func handoffApp(t *testing.T) (*App, *thread) {
	t.Helper()
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		GroupByKey().
		Count(dsl.MaterializedAs[string, int64]("counts").WithLoggingDisabled())
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(topo, ApplicationID("handoff"), Brokers("127.0.0.1:1"), ExactlyOnce())
	if err != nil {
		t.Fatal(err)
	}
	if a.dir, err = statedir.Open(t.TempDir(), "handoff"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.dir.Close() })
	a.assignSubs = []assign.Subtopology{{ID: 0, SourceTopics: []string{"in"}, Stateful: true}}
	a.layout = &topics.Layout{TaskCounts: []int32{4}}
	th := &thread{app: a, name: "handoff-StreamThread-1", log: a.log, eos: true,
		active: map[processor.TaskID]*engine.Task{}, taskCtx: map[processor.TaskID]*sendContext{}, sendCtx: context.Background()}
	th.cfg = engine.Config{ApplicationID: "handoff", Collector: th, OpenDB: a.openDB, Logger: a.log}
	return a, th
}

// A transactional session passes on one revocation per transaction: with
// a transaction open across two rebalances, the second assignment comes
// without a revocation before it, while the tasks of the first wait to be
// made (KIP-441's warm-ups made such rebalances a second apart). Each task
// must be made once: made twice, the second found the first's database
// locked, took that for a corrupt store, wiped it and failed the app.
func TestAssignmentWithoutRevocationMakesTasksOnce(t *testing.T) {
	a, th := handoffApp(t)
	ctx := context.Background()
	p01 := map[string][]int32{"in": {0, 1}}
	th.onAssigned(ctx, nil, p01)
	// The next rebalance: no revocation, and the tasks still pending.
	th.onAssigned(ctx, nil, map[string][]int32{"in": {0, 1, 2}})
	if err := th.createPending(ctx); err != nil {
		t.Fatalf("creating the tasks of the second assignment: %v", err)
	}
	if len(th.active) != 3 || len(th.pending) != 0 {
		t.Fatalf("active %v, pending %v; want 3 tasks active, none pending", keys(th.active), th.pending)
	}
	// An aborted transaction rewinds the tasks; the assignment after
	// finds them pending again.
	th.rewind("test")
	th.onAssigned(ctx, nil, p01)
	if err := th.createPending(ctx); err != nil {
		t.Fatalf("creating the tasks after a rewind: %v", err)
	}
	if len(th.active) != 2 || len(th.pending) != 0 {
		t.Fatalf("active %v, pending %v; want 2 tasks active, none pending", keys(th.active), th.pending)
	}
	th.closeAll(th.active)
	if n := len(a.ActiveTasks()); n != 0 {
		t.Fatalf("%d tasks still marked open after every one closed", n)
	}
}

// A task's database held by another thread of this process is locked,
// not corrupt: it is never wiped, the task waits, pending, and is made
// once the other thread closed it.
func TestLockedStateIsNotWiped(t *testing.T) {
	a, th := handoffApp(t)
	ctx := context.Background()
	id := processor.TaskID{Subtopology: 0, Partition: 0}
	holder, err := a.openDB(id)
	if err != nil {
		t.Fatal(err)
	}
	st := holder.Store("counts")
	if err := st.Put([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.openDB(id); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("opening a held database: %v, want ErrLocked", err)
	}
	th.onAssigned(ctx, nil, map[string][]int32{"in": {0}})
	if err := th.createPending(ctx); err != nil {
		t.Fatalf("a task whose state another thread holds: %v, want it left pending", err)
	}
	if len(th.active) != 0 || len(th.pending) != 1 {
		t.Fatalf("active %v, pending %v; want the task pending", keys(th.active), th.pending)
	}
	if got := a.ActiveTasks(); len(got) != 1 {
		t.Fatalf("tasks marked open %v; want the pending one, whose state housekeeping must keep", got)
	}
	if v, _, err := st.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("the holder's store reads %q, %v after the attempt: its state was wiped", v, err)
	}
	if err := holder.Close(); err != nil {
		t.Fatal(err)
	}
	if err := th.createPending(ctx); err != nil {
		t.Fatal(err)
	}
	if len(th.active) != 1 || len(th.pending) != 0 {
		t.Fatalf("active %v, pending %v; want the task made once its state was free", keys(th.active), th.pending)
	}
	th.closeAll(th.active)
}

func keys[V any](m map[processor.TaskID]V) []processor.TaskID {
	var ids []processor.TaskID
	for id := range m {
		ids = append(ids, id)
	}
	return ids
}
