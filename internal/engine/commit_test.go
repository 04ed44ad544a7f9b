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

// The commit sequence: caches flush and their changes go to the changelog,
// the host commits the offsets, the transaction buffer reaches Pebble, and
// the changelog offset is recorded; an aborted commit leaves Pebble alone,
// and a task opened again restores from the offset recorded.
func TestCommitSequence(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).GroupByKey().
		Count(dsl.MaterializedAs[string, int64]("counts").WithCachingEnabled(1 << 20))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	g := engine.GraphOf(topo)
	fs := vfs.NewMem()
	h := &host{offset: map[*engine.Changelog]int64{}}
	cfg := engine.Config{
		ApplicationID: "app",
		Collector:     h,
		OpenDB: func(id processor.TaskID) (*state.DB, error) {
			return state.OpenDB("/"+id.String(), state.DBOptions{FS: fs})
		},
	}
	open := func() *engine.Task {
		task, err := engine.NewTask(g, 0, 0, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Start(); err != nil {
			t.Fatal(err)
		}
		return task
	}
	// The store's view reads Pebble, below the cache and the transaction
	// buffer.
	pebbleValue := func(task *engine.Task) string {
		v, err := task.Store("counts").View()
		if err != nil {
			t.Fatal(err)
		}
		ro, err := state.GetReadOnlyKeyValueStore[string, int64](viewGetter{v}, "counts")
		if err != nil {
			t.Fatal(err)
		}
		got, found, err := ro.Get("a")
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			return "none"
		}
		return fmt.Sprint(got)
	}
	pipe := func(task *engine.Task, offsets ...int64) {
		for _, o := range offsets {
			task.Input("in").Add(&engine.RawRecord{Offset: o, Timestamp: 10 * o, Key: []byte("a"), Value: []byte("x")})
		}
		processReady(t, task, 0)
	}
	var group engine.Group
	commit := func(task *engine.Task) bool {
		group.Tasks = []*engine.Task{task}
		ok, err := group.Commit(context.Background(), h)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	task := open()
	pipe(task, 0, 1, 2)
	h.expect(t) // the cache holds the writes
	if ok := commit(task); !ok {
		t.Fatal("commit did not take effect")
	}
	h.expect(t, "changelog app-counts-changelog[0] a=3@20", "commit [in[0]@3] abort=false", "changelog offset")
	if got := pebbleValue(task); got != "3" {
		t.Fatalf("Pebble holds %s after the commit, want 3", got)
	}
	cl := task.Changelogs()[0]
	if from, err := task.RestoreFrom(cl); err != nil || from != 1 {
		t.Fatalf("restore from %d, %v; want 1", from, err)
	}
	// Nothing processed since: nothing to commit.
	if ok := commit(task); !ok {
		t.Fatal("empty commit failed")
	}
	h.expect(t)

	h.abort = true
	pipe(task, 3, 4)
	if ok := commit(task); ok {
		t.Fatal("an aborted commit reported committed")
	}
	h.expect(t, "changelog app-counts-changelog[0] a=5@40", "commit [in[0]@5] abort=true")
	if got := pebbleValue(task); got != "3" {
		t.Fatalf("Pebble holds %s after an aborted commit, want 3", got)
	}
	if err := task.Close(); err != nil {
		t.Fatal(err)
	}
	task = open()
	defer task.Close()
	if got := pebbleValue(task); got != "3" {
		t.Fatalf("reopened, Pebble holds %s, want 3", got)
	}
	if from, err := task.RestoreFrom(task.Changelogs()[0]); err != nil || from != 1 {
		t.Fatalf("reopened, restore from %d, %v; want 1", from, err)
	}
}
