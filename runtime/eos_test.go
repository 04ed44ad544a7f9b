package runtime_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/samsa-go/samsa/runtime"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// readCommittedCounts reads word-counts with read_committed isolation and
// returns the last count per word once want is reached.
func readCommittedCounts(t testing.TB, c *kfake.Cluster, want map[string]int64, timeout time.Duration) map[string]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("word-counts"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]int64{}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !countsEqual(got, want) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("counts = %v, want %v", got, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
		})
	}
	return got
}

func TestExactlyOnceWordCount(t *testing.T) {
	c := newCluster(t, 3)
	dir := t.TempDir()
	app, done := startApp(t, c, dir, runtime.ExactlyOnce())
	lines, want := corpus(0, 200)
	produceLines(t, c, lines...)
	readCommittedCounts(t, c, want, 30*time.Second)
	closeApp(t, app, done)

	// A restart restores from the changelog (read_committed) and goes on.
	app, done = startApp(t, c, dir, runtime.ExactlyOnce())
	more, want2 := corpus(200, 100)
	produceLines(t, c, more...)
	readCommittedCounts(t, c, add(want, want2), 30*time.Second)
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
	got := readCommittedCounts(t, c, add(want, want2), 60*time.Second)
	_ = got
	closeApp(t, a, aDone)
}
