package runtime_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
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

// A rebalance that revokes a thread's tasks while its transaction holds
// work dooms that transaction: the next step aborts it, which puts the
// consumer back to the last commit. The records that step's poll returned
// are fetched again; processing them as well wrote every one of them twice
// into the next transaction, which then committed. The input is there
// before the first member starts and the commit interval is long, so the
// first member's transaction is open and dirty when the second joins.
func TestExactlyOnceRebalanceInDirtyTransaction(t *testing.T) {
	const n = 20000
	c := kafkatest.NewBroker(t, kafkatest.Topics(4, "in", "out"))
	cl, err := c.Client(kgo.DefaultProduceTopic("in"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		cl.Produce(context.Background(), &kgo.Record{Key: []byte(strconv.Itoa(i % 64)), Value: []byte(strconv.Itoa(i))}, nil)
	}
	if err := cl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	var seen atomic.Int64
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		MapValues(func(v string) string {
			// Slow enough that the backlog outlasts the rebalance.
			if seen.Add(1)%16 == 0 {
				time.Sleep(5 * time.Millisecond)
			}
			return v
		}).
		To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	opts := []runtime.Option{runtime.ApplicationID("doomed"), runtime.ExactlyOnce(), runtime.CommitInterval(time.Hour)}
	root := t.TempDir()
	a, aDone := runApp(t, c, topo, root+"/a", opts...)
	deadline := time.Now().Add(20 * time.Second)
	for seen.Load() < 500 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	bApp, bDone := runApp(t, c, topo, root+"/b", opts...)

	got := map[string]int{}
	rd, err := c.Client(kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	total := 0
	// Past n, a second longer: duplicates committed later would show.
	deadline = time.Now().Add(60 * time.Second)
	var settled time.Time
	for settled.IsZero() || time.Now().Before(settled) {
		if time.Now().After(deadline) {
			t.Fatalf("read %d distinct values of %d from out", len(got), n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		rd.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			got[string(r.Value)]++
			total++
		})
		cancel()
		if settled.IsZero() && len(got) == n {
			settled = time.Now().Add(time.Second)
		}
	}
	closeApp(t, bApp, bDone)
	closeApp(t, a, aDone)
	if total != n {
		dup := 0
		for _, k := range got {
			if k > 1 {
				dup++
			}
		}
		t.Fatalf("out holds %d records for %d inputs: %d values written more than once", total, n, dup)
	}
}
