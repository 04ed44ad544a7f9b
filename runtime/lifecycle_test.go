package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// logBuffer collects an app's logs so that a test can look for a message.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// taskDirs lists the task directories under dir/appID.
func taskDirs(t testing.TB, dir, appID string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, appID))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	slices.Sort(ids)
	return ids
}

// stateful keeps the ids of subtopology 1, the word-count tasks with a
// store, sorted.
func stateful(ids []string) []string {
	var out []string
	for _, id := range ids {
		if strings.HasPrefix(id, "1_") {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func admin(t testing.TB, c *kafkatest.Broker) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s: %s", timeout, what, detail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An unreadable Pebble database is wiped and restored from the changelog;
// counting goes on from the restored counts.
func TestLifecycleCorruptStateDir(t *testing.T) {
	c := testfix.WordCountBroker(t, 3)
	dir := t.TempDir()
	app, done := startApp(t, c, dir)
	lines1, want1 := testfix.Corpus(0, 60)
	testfix.ProduceLines(t, c, lines1...)
	testfix.ReadCounts(t, c, want1, 30*time.Second)
	closeApp(t, app, done)

	tasks := stateful(taskDirs(t, dir, "wordcount"))
	if len(tasks) != 3 {
		t.Fatalf("task directories %v, want 1_0, 1_1 and 1_2", tasks)
	}
	garbage := bytes.Repeat([]byte("not a pebble file\x00\xff"), 64)
	for _, id := range tasks {
		td := filepath.Join(dir, "wordcount", id)
		entries, err := os.ReadDir(td)
		if err != nil {
			t.Fatal(err)
		}
		var hit int
		for _, e := range entries {
			n := e.Name()
			if n == "CURRENT" || strings.HasPrefix(n, "MANIFEST") || strings.HasPrefix(n, "marker.manifest") {
				if err := os.WriteFile(filepath.Join(td, n), garbage, 0o644); err != nil {
					t.Fatal(err)
				}
				hit++
			}
		}
		if hit == 0 {
			t.Fatalf("no CURRENT or MANIFEST file in %s: %v", td, entries)
		}
	}

	logs := &logBuffer{}
	app, done = startApp(t, c, dir, runtime.Logger(logs.logger()))
	waitState(t, app, runtime.Running)
	lines2, want2 := testfix.Corpus(60, 40)
	testfix.ProduceLines(t, c, lines2...)
	testfix.ReadCounts(t, c, testfix.Add(want1, want2), 30*time.Second)
	closeApp(t, app, done)

	out := logs.String()
	for _, id := range tasks {
		if !strings.Contains(out, "state of task is unreadable") || !strings.Contains(out, "task="+id) {
			t.Errorf("no log saying the state of task %s was unreadable and wiped; logs:\n%s", id, out)
		}
	}
	if !strings.Contains(out, "restored store") {
		t.Errorf("no log of a restore; logs:\n%s", out)
	}
}

// A task reading two topics processes its buffered records in timestamp
// order across them.
func TestLifecycleMultiInputTimestampOrder(t *testing.T) {
	c := kafkatest.NewBroker(t, kafkatest.Topics(1, "a", "b"))

	// Everything is produced before the app starts, so that its first fetch
	// brings both partitions' records at once.
	pcl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		topic string
		ts    int64
	}{{"a", 1}, {"a", 3}, {"a", 5}, {"b", 2}, {"b", 4}, {"b", 6}} {
		rec := &kgo.Record{Topic: r.topic, Key: []byte("k"), Value: []byte(fmt.Sprint(r.ts)), Timestamp: time.UnixMilli(r.ts)}
		if err := pcl.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	pcl.Close()

	var mu sync.Mutex
	var seen []string
	b := dsl.NewBuilder()
	dsl.Streams(b, []string{"a", "b"}, serde.String, serde.String).
		Process[string, string](processor.Func[string, string, string, string](func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		md, _ := ctx.RecordMetadata()
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s@%d", md.Topic, rec.Timestamp))
		mu.Unlock()
		return nil
	}))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, err := runtime.New(topo, runtime.ApplicationID("merge"), runtime.Brokers(c.Addrs()...),
		runtime.StateDir(t.TempDir()), runtime.CommitInterval(100*time.Millisecond), runtime.Logger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	done := launch(t, app)
	eventually(t, 20*time.Second, "records processed", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= 6, fmt.Sprint(seen)
	})
	closeApp(t, app, done)
	want := []string{"a@1", "b@2", "a@3", "b@4", "a@5", "b@6"}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, want) {
		t.Fatalf("processing order %v, want %v", seen, want)
	}
}

// trickle produces a line to text-lines every 50ms until the test ends, so
// that the app's poll loop keeps returning.
func trickle(t testing.TB, c *kafkatest.Broker) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic("text-lines"))
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			cl.Produce(context.Background(), &kgo.Record{Key: []byte("tick"), Value: []byte("tick")}, nil)
		}
	}()
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
		cl.Close()
	})
}

// committedInput returns the sum of the offsets group has committed on
// text-lines.
func committedInput(adm *kadm.Client, group string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return 0, err
	}
	if err := committed.Error(); err != nil {
		return 0, err
	}
	var n int64
	for _, o := range committed["text-lines"] {
		n += o.At
	}
	return n, nil
}

// Records of a repartition topic below the committed offsets are deleted.
// Input keeps trickling in so that this checks the purge alone, not
// committing while idle (TestLifecycleCommitWhenIdle).
func TestLifecycleRepartitionPurge(t *testing.T) {
	c := testfix.WordCountBroker(t, 3)
	app, done := startApp(t, c, t.TempDir())
	lines, want := testfix.Corpus(0, 60)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 30*time.Second)

	adm := admin(t, c)
	const topic = "wordcount-counts-repartition"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	before, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if len(before[topic]) != 3 {
		t.Fatalf("end offsets of %s: %v, want 3 partitions", topic, before)
	}
	trickle(t, c)
	eventually(t, 5*time.Second, "repartition topic purged past the records of the batch", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		starts, err := adm.ListStartOffsets(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		var detail []string
		ok := true
		for p, b := range before[topic] {
			s, found := starts.Lookup(topic, p)
			detail = append(detail, fmt.Sprintf("p%d start %d, end before %d (err %v)", p, s.Offset, b.Offset, s.Err))
			if !found || s.Err != nil || s.Offset < b.Offset {
				ok = false
			}
		}
		slices.Sort(detail)
		return ok, strings.Join(detail, "; ")
	})
	closeApp(t, app, done)
}

// An app that has processed records commits them within a commit interval
// or so, even if no more records arrive: commit.interval.ms is a timer, not
// a count of polls that returned records.
func TestLifecycleCommitWhenIdle(t *testing.T) {
	c := testfix.WordCountBroker(t, 3)
	app, done := startApp(t, c, t.TempDir())
	waitState(t, app, runtime.Running)
	lines, want := testfix.Corpus(0, 30)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 30*time.Second)
	adm := admin(t, c)
	// The commit interval is 100ms: 3s is thirty of them.
	eventually(t, 3*time.Second, "input offsets committed while idle", func() (bool, string) {
		n, err := committedInput(adm, "wordcount")
		if err != nil {
			return false, err.Error()
		}
		return n == int64(len(lines)), fmt.Sprintf("%d of %d input records committed", n, len(lines))
	})
	closeApp(t, app, done)
}

// keyCount counts the records of each key of text-lines: one subtopology
// whose every task has a store.
func keyCount(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	dsl.Stream(b, "text-lines", serde.String, serde.String).
		GroupByKey(dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.MaterializedAs[string, int64]("counts")).
		ToStream().
		To("word-counts", dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func startTopology(t testing.TB, c *kafkatest.Broker, topo *topology.Topology, dir string, opts ...runtime.Option) (*runtime.App, chan error) {
	t.Helper()
	base := []runtime.Option{
		runtime.ApplicationID("keycount"),
		// Members notice a joining member at their next heartbeat.
		runtime.KgoOpts(kgo.HeartbeatInterval(300 * time.Millisecond)),
	}
	return runApp(t, c, topo, dir, append(base, opts...)...)
}

func lineCounts(n, times int) map[string]int64 {
	m := map[string]int64{}
	for i := 0; i < n; i++ {
		m[fmt.Sprint(i)] = int64(times)
	}
	return m
}

// When a second instance takes tasks over, the first removes their state
// directories once the cleanup delay has passed, and keeps those of the
// tasks it still owns.
func TestLifecycleTaskDirectoryCleanup(t *testing.T) {
	c := testfix.WordCountBroker(t, 4)
	root := t.TempDir()
	aDir, bDir := root+"/a", root+"/b"
	// The test sees the rebalance only when it polls, some time after the
	// tasks moved; a delay long against that lag keeps the timing checks
	// below meaningful on a loaded machine.
	const delay = time.Second
	a, aDone := startTopology(t, c, keyCount(t), aDir, runtime.StateCleanupDelay(delay))
	waitState(t, a, runtime.Running)
	lines, _ := testfix.Corpus(0, 40)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, lineCounts(len(lines), 1), 30*time.Second)
	all := []string{"0_0", "0_1", "0_2", "0_3"}
	if got := taskDirs(t, aDir, "keycount"); !slices.Equal(got, all) {
		t.Fatalf("instance a has task directories %v, want %v", got, all)
	}

	b, bDone := startTopology(t, c, keyCount(t), bDir, runtime.StateCleanupDelay(delay))
	waitState(t, b, runtime.Running)
	// More input while the tasks move; counted once each at the end.
	testfix.ProduceLines(t, c, lines...)
	var aOwns, released []string
	var movedAt time.Time
	eventually(t, 20*time.Second, "tasks split over a and b", func() (bool, string) {
		aOwns = openTasks(a)
		bOwns := openTasks(b)
		both := slices.Sorted(slices.Values(append(slices.Clone(aOwns), bOwns...)))
		return len(aOwns) == 2 && len(bOwns) == 2 && slices.Equal(both, all), fmt.Sprintf("a owns %v, b owns %v", aOwns, bOwns)
	})
	movedAt = time.Now()
	for _, id := range all {
		if !slices.Contains(aOwns, id) {
			released = append(released, id)
		}
	}
	// Within the delay a keeps the directories of the tasks it gave up.
	if got := taskDirs(t, aDir, "keycount"); !slices.Equal(got, all) {
		t.Errorf("right after the rebalance a has task directories %v, want all of %v until the cleanup delay passed", got, all)
	}
	eventually(t, 5*time.Second, "a's directories of released tasks removed", func() (bool, string) {
		got := taskDirs(t, aDir, "keycount")
		return slices.Equal(got, aOwns), fmt.Sprintf("a owns %v and has task directories %v", aOwns, got)
	})
	if took := time.Since(movedAt); took < delay/2 {
		t.Errorf("directories of %v removed %v after the rebalance, before the %v cleanup delay", released, took, delay)
	}
	// The directories of the tasks a still owns stay.
	time.Sleep(2 * delay)
	if got, now := taskDirs(t, aDir, "keycount"), openTasks(a); !slices.Equal(got, aOwns) || !slices.Equal(now, aOwns) {
		t.Fatalf("a has task directories %v and tasks %v, want both %v", got, now, aOwns)
	}
	testfix.ReadCounts(t, c, lineCounts(len(lines), 2), 30*time.Second)
	closeApp(t, b, bDone)
	closeApp(t, a, aDone)
}

// Tasks assigned to a new instance are created and restored without
// waiting for new input: a member must not sit on tasks it does not run.
func TestLifecycleAssignedTasksStartWhenIdle(t *testing.T) {
	c := testfix.WordCountBroker(t, 4)
	root := t.TempDir()
	a, aDone := startTopology(t, c, keyCount(t), root+"/a")
	waitState(t, a, runtime.Running)
	lines, _ := testfix.Corpus(0, 40)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, lineCounts(len(lines), 1), 30*time.Second)

	b, bDone := startTopology(t, c, keyCount(t), root+"/b")
	waitState(t, b, runtime.Running)
	eventually(t, 5*time.Second, "b runs the tasks it was assigned", func() (bool, string) {
		aOwns := openTasks(a)
		bOwns := openTasks(b)
		return len(aOwns) == 2 && len(bOwns) == 2, fmt.Sprintf("a runs %v, b runs %v, b's task directories %v", aOwns, bOwns, taskDirs(t, root+"/b", "keycount"))
	})
	closeApp(t, b, bDone)
	closeApp(t, a, aDone)
}

type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) listen(old, new runtime.State) {
	tr.mu.Lock()
	tr.got = append(tr.got, old.String()+"->"+new.String())
	tr.mu.Unlock()
}

func (tr *transitions) list() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.got)
}

// The listener sees every state of a start, run and clean close, as Kafka
// Streams' KafkaStreams.StateListener does.
func TestLifecycleStateListener(t *testing.T) {
	c := testfix.WordCountBroker(t, 2)
	app, err := runtime.New(testfix.WordCount(t), runtime.ApplicationID("wordcount"), runtime.Brokers(c.Addrs()...),
		runtime.StateDir(t.TempDir()), runtime.CommitInterval(100*time.Millisecond), runtime.Logger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	tr := &transitions{}
	app.SetStateListener(tr.listen)
	done := launch(t, app)
	waitState(t, app, runtime.Running)
	testfix.ProduceLines(t, c, "hello kafka hello")
	testfix.ReadCounts(t, c, map[string]int64{"hello": 2, "kafka": 1}, 20*time.Second)
	closeApp(t, app, done)
	want := []string{
		"CREATED->REBALANCING",
		"REBALANCING->RUNNING",
		"RUNNING->PENDING_SHUTDOWN",
		"PENDING_SHUTDOWN->NOT_RUNNING",
	}
	if got := tr.list(); !slices.Equal(got, want) {
		t.Fatalf("state transitions\n got %v\nwant %v", got, want)
	}
}

// Close enters PENDING_SHUTDOWN at once, before the threads have finished,
// as KafkaStreams.close does; a Close whose context expires leaves the app
// there.
func TestLifecycleCloseEntersPendingShutdown(t *testing.T) {
	c := testfix.WordCountBroker(t, 2)
	app, done := startApp(t, c, t.TempDir())
	waitState(t, app, runtime.Running)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := app.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with a cancelled context = %v, want context.Canceled", err)
	}
	if s := app.State(); s != runtime.PendingShutdown {
		t.Errorf("state right after Close = %v, want PENDING_SHUTDOWN", s)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s := app.State(); s != runtime.NotRunning {
		t.Errorf("state after Run returned = %v, want NOT_RUNNING", s)
	}
}

// Run can be called once; Close before Run closes the app without running
// it.
func TestLifecycleRunTwiceAndCloseBeforeRun(t *testing.T) {
	c := testfix.WordCountBroker(t, 1)
	app, done := startApp(t, c, t.TempDir())
	waitState(t, app, runtime.Running)
	if err := app.Run(context.Background()); !errors.Is(err, runtime.ErrNotCreated) {
		t.Fatalf("second Run = %v, want ErrNotCreated", err)
	}
	if s := app.State(); s != runtime.Running {
		t.Errorf("state after a second Run = %v, want RUNNING", s)
	}
	closeApp(t, app, done)
	if err := app.Run(context.Background()); !errors.Is(err, runtime.ErrNotCreated) {
		t.Fatalf("Run after Close = %v, want ErrNotCreated", err)
	}

	idle, err := runtime.New(testfix.WordCount(t), runtime.ApplicationID("wordcount"), runtime.Brokers(c.Addrs()...),
		runtime.StateDir(t.TempDir()), runtime.Logger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	if s := idle.State(); s != runtime.Created {
		t.Fatalf("state of a new app = %v, want CREATED", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := idle.Close(ctx); err != nil {
		t.Fatalf("Close before Run = %v, want nil", err)
	}
	if s := idle.State(); s != runtime.NotRunning {
		t.Fatalf("state after Close before Run = %v, want NOT_RUNNING", s)
	}
	if err := idle.Close(ctx); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	if err := idle.Run(ctx); !errors.Is(err, runtime.ErrNotCreated) {
		t.Fatalf("Run after Close = %v, want ErrNotCreated", err)
	}
}

// delayThread2 is a kgo hook that slows down the making of the second
// stream thread's client, as a slow machine might.
type delayThread2 struct {
	delay   time.Duration
	created atomic.Bool
}

func (h *delayThread2) OnNewClient(cl *kgo.Client) {
	if id, _ := cl.OptValue(kgo.ClientID).(string); strings.HasSuffix(id, "-StreamThread-2") {
		time.Sleep(h.delay)
		h.created.Store(true)
	}
}

// The app is RUNNING only once all its stream threads run, as in Kafka
// Streams: not while a thread has yet to be made or to join the group.
func TestLifecycleRunningOnlyWhenAllThreadsAssigned(t *testing.T) {
	c := testfix.WordCountBroker(t, 2)
	hook := &delayThread2{delay: 500 * time.Millisecond}
	var early atomic.Bool
	app, err := runtime.New(testfix.WordCount(t), runtime.ApplicationID("wordcount"), runtime.Brokers(c.Addrs()...),
		runtime.StateDir(t.TempDir()), runtime.CommitInterval(100*time.Millisecond), runtime.Logger(testLogger(t)),
		runtime.Threads(2), runtime.KgoOpts(kgo.WithHooks(hook), kgo.HeartbeatInterval(300*time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	tr := &transitions{}
	app.SetStateListener(func(old, new runtime.State) {
		if new == runtime.Running && !hook.created.Load() {
			early.Store(true)
		}
		tr.listen(old, new)
	})
	done := launch(t, app)
	eventually(t, 10*time.Second, "second thread made", func() (bool, string) { return hook.created.Load(), "" })
	waitState(t, app, runtime.Running)
	closeApp(t, app, done)
	if early.Load() {
		t.Fatalf("app went RUNNING before its second stream thread existed; transitions %v", tr.list())
	}
}

// FromEnv configures a whole app: brokers with spaces, application id,
// state directory, threads, guarantee, commit interval and session
// timeout.
func TestLifecycleFromEnv(t *testing.T) {
	c := testfix.WordCountBroker(t, 4, kafkatest.Nodes(2))
	addrs := c.Addrs()
	if len(addrs) != 2 {
		t.Fatalf("cluster listens on %v, want two addresses", addrs)
	}
	dir := t.TempDir()
	t.Setenv(runtime.EnvBrokers, " "+addrs[0]+" , "+addrs[1]+" ")
	t.Setenv(runtime.EnvApplicationID, "envapp")
	t.Setenv(runtime.EnvStateDir, dir)
	t.Setenv(runtime.EnvThreads, "2")
	t.Setenv(runtime.EnvGuarantee, "AT_LEAST_ONCE")
	t.Setenv(runtime.EnvCommitMillis, "100")
	t.Setenv(runtime.EnvSessionTimeoutMillis, "6000")
	opts, err := runtime.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	app, err := runtime.New(testfix.WordCount(t), append(opts, runtime.Logger(testLogger(t)),
		runtime.KgoOpts(kgo.HeartbeatInterval(300*time.Millisecond)))...)
	if err != nil {
		t.Fatal(err)
	}
	done := launch(t, app)
	waitState(t, app, runtime.Running)

	adm := admin(t, c)
	eventually(t, 20*time.Second, "group envapp has two stable members", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		gs, err := adm.DescribeGroups(ctx, "envapp")
		if err != nil {
			return false, err.Error()
		}
		g := gs["envapp"]
		return g.Err == nil && g.State == "Stable" && len(g.Members) == 2, fmt.Sprintf("state %q, %d members, err %v", g.State, len(g.Members), g.Err)
	})

	lines, want := testfix.Corpus(0, 40)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 30*time.Second)
	// A 100ms commit interval, not the 30s default: the offsets are
	// committed soon after processing. Input keeps trickling in so that
	// this checks the interval alone, not committing while idle
	// (TestLifecycleCommitWhenIdle).
	trickle(t, c)
	eventually(t, 3*time.Second, "input offsets committed", func() (bool, string) {
		n, err := committedInput(adm, "envapp")
		if err != nil {
			return false, err.Error()
		}
		return n >= int64(len(lines)), fmt.Sprintf("%d of %d input records committed", n, len(lines))
	})
	if got := stateful(taskDirs(t, dir, "envapp")); len(got) == 0 {
		t.Errorf("no task directories under %s/envapp", dir)
	}
	closeApp(t, app, done)
}

// openTasks returns the tasks app has open, as "<sub>_<part>", sorted.
func openTasks(app *runtime.App) []string {
	var ids []string
	for _, id := range app.ActiveTasks() {
		ids = append(ids, id.String())
	}
	slices.Sort(ids)
	return ids
}
