package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/statedir"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/twmb/franz-go/pkg/kfake"
)

// corpus returns n lines over a small vocabulary and the counts they make.
func corpus(from, n int) ([]string, map[string]int64) {
	vocab := strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu")
	counts := map[string]int64{}
	lines := make([]string, n)
	for i := range lines {
		var ws []string
		for j := 0; j < 4; j++ {
			w := vocab[((from+i)*5+j*7)%len(vocab)]
			ws = append(ws, w)
			counts[w]++
		}
		lines[i] = strings.Join(ws, " ")
	}
	return lines, counts
}

func add(a, b map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range a {
		out[k] += v
	}
	for k, v := range b {
		out[k] += v
	}
	return out
}

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
func readSettled(t testing.TB, c *kfake.Cluster, want map[string]int64) map[string]int64 {
	t.Helper()
	got := readCountsAtLeast(t, c, want, 60*time.Second)
	return got
}

func TestThreeInstancesOneCrashes(t *testing.T) {
	c := newCluster(t, 6)
	root := t.TempDir()
	a, aDone := startApp(t, c, root+"/a")
	b, bDone := startApp(t, c, root+"/b")
	cApp, cDone := startApp(t, c, root+"/c")
	waitState(t, a, runtime.Running)
	waitState(t, b, runtime.Running)
	waitState(t, cApp, runtime.Running)

	lines1, want1 := corpus(0, 300)
	produceLines(t, c, lines1...)
	readCounts(t, c, want1, 60*time.Second)

	// Crash b mid-stream: no commit, no clean close of its tasks.
	lines2, want2 := corpus(300, 300)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = produceLinesErr(c, lines2...) }()
	time.Sleep(50 * time.Millisecond)
	runtime.CrashForTest(b)
	<-bDone
	wg.Wait()

	want := add(want1, want2)
	got := readCountsAtLeast(t, c, want, 60*time.Second)
	// At least once: nothing lost; duplicates only from records b processed
	// after its last commit, so at most the words of lines2.
	var extra int64
	for w, n := range got {
		extra += n - want[w]
	}
	if extra > 4*int64(len(lines2)) {
		t.Fatalf("%d duplicate counts, more than the %d words produced after the crash", extra, 4*len(lines2))
	}
	closeApp(t, a, aDone)
	closeApp(t, cApp, cDone)
}

func TestRestoreAfterStateDirDeleted(t *testing.T) {
	c := newCluster(t, 3)
	dir := t.TempDir()
	app, done := startApp(t, c, dir)
	lines1, want1 := corpus(0, 100)
	produceLines(t, c, lines1...)
	readCounts(t, c, want1, 30*time.Second)
	closeApp(t, app, done)

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	app, done = startApp(t, c, dir)
	lines2, want2 := corpus(100, 50)
	produceLines(t, c, lines2...)
	readCounts(t, c, add(want1, want2), 30*time.Second)
	closeApp(t, app, done)
}

func TestScaleOutAndIn(t *testing.T) {
	c := newCluster(t, 6)
	root := t.TempDir()
	a, aDone := startApp(t, c, root+"/a")
	waitState(t, a, runtime.Running)
	lines, want := corpus(0, 100)
	produceLines(t, c, lines...)

	b, bDone := startApp(t, c, root+"/b")
	cApp, cDone := startApp(t, c, root+"/c")
	more, want2 := corpus(100, 100)
	produceLines(t, c, more...)
	want = add(want, want2)
	readCounts(t, c, want, 60*time.Second)

	closeApp(t, b, bDone)
	more, want2 = corpus(200, 100)
	produceLines(t, c, more...)
	closeApp(t, cApp, cDone)
	more, want3 := corpus(300, 100)
	produceLines(t, c, more...)
	readCounts(t, c, add(add(want, want2), want3), 60*time.Second)
	closeApp(t, a, aDone)
}

func TestMissingInputTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "word-counts"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	app, err := runtime.New(wordCount(t), runtime.ApplicationID("wc"), runtime.Brokers(c.ListenAddrs()...), runtime.StateDir(t.TempDir()), runtime.Logger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	err = app.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `"text-lines"`) {
		t.Fatalf("Run = %v, want an error naming the missing topic text-lines", err)
	}
	if app.State() != runtime.Error {
		t.Errorf("state = %v, want ERROR", app.State())
	}
}

func TestUnreachableBroker(t *testing.T) {
	app, err := runtime.New(wordCount(t), runtime.ApplicationID("wc"), runtime.Brokers("127.0.0.1:1"),
		runtime.StateDir(t.TempDir()), runtime.StartupTimeout(2*time.Second), runtime.Logger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = app.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") && !strings.Contains(err.Error(), "reach") {
		t.Fatalf("Run = %v, want an error saying the brokers cannot be reached", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Run took %v with a 2s startup timeout", took)
	}
}

func TestStateDirLocked(t *testing.T) {
	c := newCluster(t, 1)
	dir := t.TempDir()
	a, aDone := startApp(t, c, dir)
	waitState(t, a, runtime.Running)
	b, err := runtime.New(wordCount(t), runtime.ApplicationID("wordcount"), runtime.Brokers(c.ListenAddrs()...), runtime.StateDir(dir), runtime.Logger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	err = b.Run(context.Background())
	if !errors.Is(err, statedir.ErrLocked) {
		t.Fatalf("second Run on a locked state dir = %v, want ErrLocked", err)
	}
	closeApp(t, a, aDone)
}

func TestConfigErrors(t *testing.T) {
	topo := wordCount(t)
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
	t.Setenv(runtime.EnvThreads, "zero")
	if _, err := runtime.FromEnv(); err == nil || !strings.Contains(err.Error(), runtime.EnvThreads) {
		t.Errorf("FromEnv = %v, want an error naming %s", err, runtime.EnvThreads)
	}
}

var _ = fmt.Sprint
var _ = dsl.NewBuilder
var _ = serde.String
