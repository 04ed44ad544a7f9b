package runtime_test

import (
	"testing"
	"time"

	"github.com/samsa-go/samsa/runtime"
)

func TestExactlyOnceWordCount(t *testing.T) {
	c := newCluster(t, 3)
	dir := t.TempDir()
	app, done := startApp(t, c, dir, runtime.ExactlyOnce())
	lines, want := corpus(0, 200)
	produceLines(t, c, lines...)
	readCounts(t, c, want, 30*time.Second)
	closeApp(t, app, done)

	// A restart restores from the changelog (read_committed) and goes on.
	app, done = startApp(t, c, dir, runtime.ExactlyOnce())
	more, want2 := corpus(200, 100)
	produceLines(t, c, more...)
	readCounts(t, c, add(want, want2), 30*time.Second)
	closeApp(t, app, done)
}

func TestExactlyOnceCrashNoDuplicates(t *testing.T) {
	c := newCluster(t, 4)
	root := t.TempDir()
	a, aDone := startApp(t, c, root+"/a", runtime.ExactlyOnce(), runtime.TransactionTimeout(2*time.Second))
	b, bDone := startApp(t, c, root+"/b", runtime.ExactlyOnce(), runtime.TransactionTimeout(2*time.Second))
	waitState(t, a, runtime.Running)
	waitState(t, b, runtime.Running)
	lines, want := corpus(0, 300)
	produced := make(chan struct{})
	go func() { defer close(produced); produceLinesErr(c, lines...) }()
	time.Sleep(100 * time.Millisecond)
	runtime.CrashForTest(b)
	<-bDone
	<-produced
	more, want2 := corpus(300, 200)
	produceLines(t, c, more...)
	got := readCounts(t, c, add(want, want2), 60*time.Second)
	_ = got
	closeApp(t, a, aDone)
}

// A thread that has caught up commits without waiting out the interval:
// under exactly-once, word count needs two commits before a count is
// visible (one for the repartition records, one for the counts), which a
// 30-second interval would otherwise take a minute to make.
func TestCommitWhenCaughtUp(t *testing.T) {
	c := newCluster(t, 2)
	app, done := startApp(t, c, t.TempDir(), runtime.ExactlyOnce(), runtime.CommitInterval(30*time.Second))
	waitState(t, app, runtime.Running)
	lines, want := corpus(0, 50)
	produceLines(t, c, lines...)
	readCounts(t, c, want, 10*time.Second)
	closeApp(t, app, done)
}
