package runtime_test

import (
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/runtime"
)

func TestExactlyOnceWordCount(t *testing.T) {
	c := testfix.WordCountBroker(t, 3)
	dir := t.TempDir()
	app, done := startApp(t, c, dir, runtime.ExactlyOnce())
	lines, want := testfix.Corpus(0, 200)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 30*time.Second)
	closeApp(t, app, done)

	// A restart restores from the changelog (read_committed) and goes on.
	app, done = startApp(t, c, dir, runtime.ExactlyOnce())
	more, want2 := testfix.Corpus(200, 100)
	testfix.ProduceLines(t, c, more...)
	testfix.ReadCounts(t, c, testfix.Add(want, want2), 30*time.Second)
	closeApp(t, app, done)
}

func TestExactlyOnceCrashNoDuplicates(t *testing.T) {
	c := testfix.WordCountBroker(t, 4)
	root := t.TempDir()
	a, aDone := startApp(t, c, root+"/a", runtime.ExactlyOnce(), runtime.TransactionTimeout(2*time.Second))
	b := startCrashable(t, c, root+"/b", true)
	waitState(t, a, runtime.Running)
	b.waitRunning(t)
	lines, want := testfix.Corpus(0, 300)
	produced := make(chan struct{})
	go func() { defer close(produced); testfix.ProduceLinesErr(c, lines...) }()
	time.Sleep(100 * time.Millisecond)
	b.kill(t)
	<-produced
	more, want2 := testfix.Corpus(300, 200)
	testfix.ProduceLines(t, c, more...)
	got := testfix.ReadCounts(t, c, testfix.Add(want, want2), 60*time.Second)
	_ = got
	closeApp(t, a, aDone)
}

// A thread that has caught up commits without waiting out the interval:
// under exactly-once, word count needs two commits before a count is
// visible (one for the repartition records, one for the counts), which a
// 30-second interval would otherwise take a minute to make.
func TestCommitWhenCaughtUp(t *testing.T) {
	c := testfix.WordCountBroker(t, 2)
	app, done := startApp(t, c, t.TempDir(), runtime.ExactlyOnce(), runtime.CommitInterval(30*time.Second))
	waitState(t, app, runtime.Running)
	lines, want := testfix.Corpus(0, 50)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 10*time.Second)
	closeApp(t, app, done)
}
