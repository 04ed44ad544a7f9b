package engine_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// host logs the steps a task takes it through, and commits, or aborts,
// as told.
type host struct {
	log    []string
	abort  bool
	offset map[*engine.Changelog]int64
}

func (h *host) Send(string, []byte, []byte, int64, []processor.Header) error { return nil }

func (h *host) SendChangelog(cl *engine.Changelog, key, value []byte, ts int64, _ []processor.Header) error {
	n, _ := serde.Int64.Deserialize("", value)
	h.log = append(h.log, fmt.Sprintf("changelog %s[%d] %s=%d@%d", cl.Topic, cl.Partition, key, n, ts))
	h.offset[cl]++
	return nil
}

func (h *host) Commit(_ context.Context, offsets []engine.Offset) (bool, error) {
	var os []string
	for _, o := range offsets {
		os = append(os, fmt.Sprintf("%s[%d]@%d", o.Topic, o.Partition, o.Next))
	}
	h.log = append(h.log, fmt.Sprintf("commit %v abort=%v", os, h.abort))
	return !h.abort, nil
}

func (h *host) ChangelogOffset(cl *engine.Changelog) (int64, bool) {
	h.log = append(h.log, "changelog offset")
	return h.offset[cl] - 1, h.offset[cl] > 0
}

func (h *host) expect(t *testing.T, want ...string) {
	t.Helper()
	if !slices.Equal(h.log, want) {
		t.Fatalf("steps\n %q\nwant\n %q", h.log, want)
	}
	h.log = nil
}

// viewGetter hands out one store view.
type viewGetter struct{ v processor.StateStore }

func (g viewGetter) StateStore(string) (processor.StateStore, error) { return g.v, nil }

// commitFixture runs tasks of a cached count over Pebble, reopened on the
// same database, with a host that logs the steps of their commits.
type commitFixture struct {
	t     *testing.T
	h     *host
	g     *engine.Graph
	cfg   engine.Config
	group engine.Group
}

func newCommitFixture(t *testing.T) *commitFixture {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).GroupByKey().
		Count(dsl.MaterializedAs[string, int64]("counts").WithCachingEnabled(1 << 20))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	fs := vfs.NewMem()
	h := &host{offset: map[*engine.Changelog]int64{}}
	return &commitFixture{t: t, h: h, g: engine.GraphOf(topo), cfg: engine.Config{
		ApplicationID: "app",
		Collector:     h,
		OpenDB: func(id processor.TaskID) (*state.DB, error) {
			return state.OpenDB("/"+id.String(), state.DBOptions{FS: fs})
		},
	}}
}

func (f *commitFixture) open() *engine.Task {
	task, err := engine.NewTask(f.g, 0, 0, f.cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := task.Start(); err != nil {
		f.t.Fatal(err)
	}
	return task
}

// pebbleValue reads a's count with the store's view, which reads Pebble,
// below the cache and the transaction buffer.
func (f *commitFixture) pebbleValue(task *engine.Task) string {
	v, err := task.Store("counts").View()
	if err != nil {
		f.t.Fatal(err)
	}
	ro, err := state.GetReadOnlyKeyValueStore[string, int64](viewGetter{v}, "counts")
	if err != nil {
		f.t.Fatal(err)
	}
	got, found, err := ro.Get("a")
	if err != nil {
		f.t.Fatal(err)
	}
	if !found {
		return "none"
	}
	return fmt.Sprint(got)
}

// pipe processes records of key a at offsets.
func (f *commitFixture) pipe(task *engine.Task, offsets ...int64) {
	for _, o := range offsets {
		task.Input("in").Add(&engine.RawRecord{Offset: o, Timestamp: 10 * o, Key: []byte("a"), Value: []byte("x")})
	}
	processReady(f.t, task, 0)
}

func (f *commitFixture) commit(task *engine.Task) bool {
	f.group.Tasks = []*engine.Task{task}
	ok, err := f.group.Commit(context.Background(), f.h)
	if err != nil {
		f.t.Fatal(err)
	}
	return ok
}

func (f *commitFixture) restoreFrom(task *engine.Task, want int64) {
	f.t.Helper()
	if from, err := task.RestoreFrom(task.Changelogs()[0]); err != nil || from != want {
		f.t.Fatalf("restore from %d, %v; want %d", from, err, want)
	}
}

// The commit sequence: caches flush and their changes go to the changelog,
// the host commits the offsets, the transaction buffer reaches Pebble, and
// the changelog offset is recorded; an aborted commit leaves Pebble alone,
// and a task opened again restores from the offset recorded.
func TestCommitSequence(t *testing.T) {
	f := newCommitFixture(t)
	h := f.h
	task := f.open()
	f.pipe(task, 0, 1, 2)
	h.expect(t) // the cache holds the writes
	if ok := f.commit(task); !ok {
		t.Fatal("commit did not take effect")
	}
	h.expect(t, "changelog app-counts-changelog[0] a=3@20", "commit [in[0]@3] abort=false", "changelog offset")
	if got := f.pebbleValue(task); got != "3" {
		t.Fatalf("Pebble holds %s after the commit, want 3", got)
	}
	f.restoreFrom(task, 1)
	// Nothing processed since: nothing to commit.
	if ok := f.commit(task); !ok {
		t.Fatal("empty commit failed")
	}
	h.expect(t)

	h.abort = true
	f.pipe(task, 3, 4)
	if ok := f.commit(task); ok {
		t.Fatal("an aborted commit reported committed")
	}
	h.expect(t, "changelog app-counts-changelog[0] a=5@40", "commit [in[0]@5] abort=true")
	if got := f.pebbleValue(task); got != "3" {
		t.Fatalf("Pebble holds %s after an aborted commit, want 3", got)
	}
	if err := task.Close(); err != nil {
		t.Fatal(err)
	}
	task = f.open()
	defer task.Close()
	if got := f.pebbleValue(task); got != "3" {
		t.Fatalf("reopened, Pebble holds %s, want 3", got)
	}
	f.restoreFrom(task, 1)
}

// Under DeferApply, commits take effect for the host as they do without
// (changelog sent, offsets committed, changelog offset asked for), but
// leave their writes in the transaction buffer until it holds more than
// DeferApply bytes or ApplyCommitted: Pebble and the changelog offset it
// records stay at the last apply, behind the changelog, and a task opened
// again restores from there. ApplyCommitted applies nothing while the task
// holds writes that did not commit.
func TestCommitDeferApply(t *testing.T) {
	f := newCommitFixture(t)
	h := f.h
	f.group.DeferApply = 1 << 20
	task := f.open()
	f.pipe(task, 0, 1, 2)
	f.commit(task)
	h.expect(t, "changelog app-counts-changelog[0] a=3@20", "commit [in[0]@3] abort=false", "changelog offset")
	if got := f.pebbleValue(task); got != "none" {
		t.Fatalf("Pebble holds %s after a deferred commit, want none", got)
	}
	f.restoreFrom(task, 0)
	f.pipe(task, 3)
	if err := task.ApplyCommitted(); err != nil {
		t.Fatal(err)
	}
	if got := f.pebbleValue(task); got != "none" {
		t.Fatalf("Pebble holds %s after an apply with writes pending, want none", got)
	}
	f.commit(task)
	h.expect(t, "changelog app-counts-changelog[0] a=4@30", "commit [in[0]@4] abort=false", "changelog offset")
	if err := task.ApplyCommitted(); err != nil {
		t.Fatal(err)
	}
	if got := f.pebbleValue(task); got != "4" {
		t.Fatalf("Pebble holds %s after ApplyCommitted, want 4", got)
	}
	f.restoreFrom(task, 2)

	// Past DeferApply, the commit applies.
	f.group.DeferApply = 1
	f.pipe(task, 4)
	f.commit(task)
	h.expect(t, "changelog app-counts-changelog[0] a=5@40", "commit [in[0]@5] abort=false", "changelog offset")
	if got := f.pebbleValue(task); got != "5" {
		t.Fatalf("Pebble holds %s after a commit past DeferApply, want 5", got)
	}
	f.restoreFrom(task, 3)

	// A deferred commit, then a close: the task opened again restores
	// what Pebble lacks from the offset recorded at the last apply.
	f.group.DeferApply = 1 << 20
	f.pipe(task, 5)
	f.commit(task)
	h.expect(t, "changelog app-counts-changelog[0] a=6@50", "commit [in[0]@6] abort=false", "changelog offset")
	if err := task.Close(); err != nil {
		t.Fatal(err)
	}
	task = f.open()
	defer task.Close()
	if got := f.pebbleValue(task); got != "5" {
		t.Fatalf("reopened, Pebble holds %s, want 5", got)
	}
	f.restoreFrom(task, 3)
}

// With HoldCommits a commit's writes may stay among the store's clean
// entries: views see them, but the changelog offset is recorded only once
// Pebble holds them, by a later commit that applies or by ApplyCommitted,
// which applies them even with an open transaction; a task closed while
// holding some restores from the offset recorded before them.
func TestCommitHoldCommits(t *testing.T) {
	f := newCommitFixture(t)
	h := f.h
	f.group.HoldCommits = true
	task := f.open()
	f.pipe(task, 0, 1, 2)
	f.commit(task)
	h.expect(t, "changelog app-counts-changelog[0] a=3@20", "commit [in[0]@3] abort=false", "changelog offset")
	if got := f.pebbleValue(task); got != "3" {
		t.Fatalf("the view reads %s after a held commit, want 3", got)
	}
	f.restoreFrom(task, 0)
	f.pipe(task, 3)
	if err := task.ApplyCommitted(); err != nil {
		t.Fatal(err)
	}
	f.restoreFrom(task, 1)
	f.commit(task)
	h.expect(t, "changelog app-counts-changelog[0] a=4@30", "commit [in[0]@4] abort=false", "changelog offset")
	if got := f.pebbleValue(task); got != "4" {
		t.Fatalf("the view reads %s after a held commit, want 4", got)
	}
	f.restoreFrom(task, 1)
	if err := task.Close(); err != nil {
		t.Fatal(err)
	}
	task = f.open()
	defer task.Close()
	if got := f.pebbleValue(task); got != "3" {
		t.Fatalf("reopened, Pebble holds %s, want 3", got)
	}
	f.restoreFrom(task, 1)
}
