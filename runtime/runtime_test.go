package runtime_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
)

func closeApp(t testing.TB, app *runtime.App, done chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func waitState(t testing.TB, app *runtime.App, want runtime.State) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for app.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("state = %v, want %v", app.State(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readAtLeast reads counts until every word has at least its wanted count
// and the output has been quiet for a while; it returns the last counts.
func readSettled(t testing.TB, c *kafkatest.Broker, want map[string]int64) map[string]int64 {
	t.Helper()
	got := testfix.ReadCountsAtLeast(t, c, want, 60*time.Second)
	return got
}

func TestThreeInstancesOneCrashes(t *testing.T) {
	c := testfix.WordCountBroker(t, 6)
	root := t.TempDir()
	a, aDone := startApp(t, c, root+"/a")
	b := startCrashable(t, c, root+"/b", false)
	cApp, cDone := startApp(t, c, root+"/c")
	waitState(t, a, runtime.Running)
	b.waitRunning(t)
	waitState(t, cApp, runtime.Running)

	lines1, want1 := testfix.Corpus(0, 300)
	testfix.ProduceLines(t, c, lines1...)
	testfix.ReadCounts(t, c, want1, 60*time.Second)

	// Kill b mid-stream (SIGKILL): no commit, no clean close of its tasks,
	// no leaving the group.
	lines2, want2 := testfix.Corpus(300, 300)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = testfix.ProduceLinesErr(c, lines2...) }()
	time.Sleep(50 * time.Millisecond)
	b.kill(t)
	wg.Wait()

	want := testfix.Add(want1, want2)
	got := testfix.ReadCountsAtLeast(t, c, want, 60*time.Second)
	// At least once: nothing lost; duplicates only from records b processed
	// after its last commit, so from words of lines2. Each such word can be
	// counted three more times: b's splitting task wrote its repartition
	// record, which the next owner writes again; and b's counting task
	// logged its count of each of them, which the next owner restores and
	// then counts again.
	var extra int64
	for w, n := range got {
		extra += n - want[w]
	}
	if words := int64(4 * len(lines2)); extra > 3*words {
		t.Fatalf("%d duplicate counts, more than three for each of the %d words produced after the crash", extra, words)
	}
	closeApp(t, a, aDone)
	closeApp(t, cApp, cDone)
}

func TestRestoreAfterStateDirDeleted(t *testing.T) {
	c := testfix.WordCountBroker(t, 3)
	dir := t.TempDir()
	app, done := startApp(t, c, dir)
	lines1, want1 := testfix.Corpus(0, 100)
	testfix.ProduceLines(t, c, lines1...)
	testfix.ReadCounts(t, c, want1, 30*time.Second)
	closeApp(t, app, done)

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	app, done = startApp(t, c, dir)
	lines2, want2 := testfix.Corpus(100, 50)
	testfix.ProduceLines(t, c, lines2...)
	testfix.ReadCounts(t, c, testfix.Add(want1, want2), 30*time.Second)
	closeApp(t, app, done)
}

func TestScaleOutAndIn(t *testing.T) {
	c := testfix.WordCountBroker(t, 6)
	root := t.TempDir()
	a, aDone := startApp(t, c, root+"/a")
	waitState(t, a, runtime.Running)
	lines, want := testfix.Corpus(0, 100)
	testfix.ProduceLines(t, c, lines...)

	b, bDone := startApp(t, c, root+"/b")
	cApp, cDone := startApp(t, c, root+"/c")
	more, want2 := testfix.Corpus(100, 100)
	testfix.ProduceLines(t, c, more...)
	want = testfix.Add(want, want2)
	testfix.ReadCounts(t, c, want, 60*time.Second)

	closeApp(t, b, bDone)
	more, want2 = testfix.Corpus(200, 100)
	testfix.ProduceLines(t, c, more...)
	closeApp(t, cApp, cDone)
	more, want3 := testfix.Corpus(300, 100)
	testfix.ProduceLines(t, c, more...)
	testfix.ReadCounts(t, c, testfix.Add(testfix.Add(want, want2), want3), 60*time.Second)
	closeApp(t, a, aDone)
}

func TestConfigErrors(t *testing.T) {
	topo := testfix.WordCount(t)
	for _, tc := range []struct {
		opts []runtime.Option
		want string
	}{
		{[]runtime.Option{runtime.Brokers("x:1")}, "application id"},
		{[]runtime.Option{runtime.ApplicationID("a")}, "brokers"},
		{[]runtime.Option{runtime.ApplicationID("a"), runtime.Brokers("x:1"), runtime.Threads(0)}, "threads"},
	} {
		if _, err := runtime.New(topo, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New = %v, want an error about %s", err, tc.want)
		}
	}
}
