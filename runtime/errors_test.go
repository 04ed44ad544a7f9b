package runtime_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

// runErr runs topo as application "wc" on addrs until it fails, and
// checks that it failed, with one "runtime: " prefix and in state ERROR.
func runErr(t *testing.T, topo *topology.Topology, addrs []string, opts ...runtime.Option) error {
	t.Helper()
	app, err := runtime.New(topo, append([]runtime.Option{runtime.ApplicationID("wc"), runtime.Brokers(addrs...),
		runtime.StateDir(t.TempDir()), runtime.Logger(testLogger(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err = app.Run(ctx)
	if err == nil {
		t.Fatal("Run succeeded, want an error")
	}
	checkPrefix(t, err)
	if app.State() != runtime.Error {
		t.Errorf("state = %v, want ERROR", app.State())
	}
	return err
}

// checkPrefix checks that every line of err's message starts with
// "runtime: " once: no "runtime: topics: ".
func checkPrefix(t *testing.T, err error) {
	t.Helper()
	for line := range strings.Lines(err.Error()) {
		rest, ok := strings.CutPrefix(line, "runtime: ")
		if !ok {
			t.Errorf("error line %q does not start with \"runtime: \"", line)
			continue
		}
		if pkg, _, ok := strings.Cut(rest, ": "); ok && !strings.ContainsAny(pkg, " \"") {
			t.Errorf("error line %q stutters: a second prefix %q", line, pkg)
		}
	}
}

func TestErrMissingSourceTopic(t *testing.T) {
	b := kafkatest.NewBroker(t, kafkatest.Topics(1, testfix.OutputTopic))
	err := runErr(t, testfix.WordCount(t), b.Addrs())
	if !errors.Is(err, runtime.ErrMissingSourceTopic) || !strings.Contains(err.Error(), `"text-lines"`) {
		t.Fatalf("Run = %v, want ErrMissingSourceTopic naming text-lines", err)
	}
	if errors.Is(err, runtime.ErrBrokersUnreachable) || errors.Is(err, runtime.ErrNotCopartitioned) {
		t.Errorf("Run = %v matches sentinels of other mistakes", err)
	}
}

func TestErrBrokersUnreachable(t *testing.T) {
	start := time.Now()
	err := runErr(t, testfix.WordCount(t), []string{"127.0.0.1:1"}, runtime.StartupTimeout(2*time.Second))
	if !errors.Is(err, runtime.ErrBrokersUnreachable) || !strings.Contains(err.Error(), "2s") {
		t.Fatalf("Run = %v, want ErrBrokersUnreachable saying how long it waited", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Run took %v with a 2s startup timeout", took)
	}
}

// Topics read by one sub-topology with different partition counts: Build
// cannot see it, Run can, and the error matches the topology's sentinel
// too.
func TestErrNotCopartitioned(t *testing.T) {
	br := kafkatest.NewBroker(t, kafkatest.Topics(2, "a"), kafkatest.Topics(3, "b"), kafkatest.Topics(1, "out"))
	b := dsl.NewBuilder()
	dsl.Streams(b, []string{"a", "b"}, serde.String, serde.String).
		GroupByKey(dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.MaterializedAs[string, int64]("n")).
		ToStream().
		To("out", dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	err = runErr(t, topo, br.Addrs())
	if !errors.Is(err, runtime.ErrNotCopartitioned) || !errors.Is(err, topology.ErrNotCopartitioned) {
		t.Fatalf("Run = %v, want ErrNotCopartitioned (runtime's and topology's)", err)
	}
	if !strings.Contains(err.Error(), `"a" (2 partitions)`) || !strings.Contains(err.Error(), `"b" (3 partitions)`) {
		t.Errorf("Run = %v, want the topics and their partition counts named", err)
	}
}

func TestErrPartitionMismatch(t *testing.T) {
	b := testfix.WordCountBroker(t, 3)
	if err := b.CreateTopic("wc-counts-repartition", 2); err != nil {
		t.Fatal(err)
	}
	err := runErr(t, testfix.WordCount(t), b.Addrs())
	if !errors.Is(err, runtime.ErrPartitionMismatch) || !strings.Contains(err.Error(), `"wc-counts-repartition" has 2 partitions, expected 3`) {
		t.Fatalf("Run = %v, want ErrPartitionMismatch naming the topic", err)
	}
}

func TestErrStateDirLocked(t *testing.T) {
	c := testfix.WordCountBroker(t, 1)
	dir := t.TempDir()
	a, aDone := startApp(t, c, dir)
	waitState(t, a, runtime.Running)
	b, err := runtime.New(testfix.WordCount(t), runtime.ApplicationID("wordcount"), runtime.Brokers(c.Addrs()...), runtime.StateDir(dir), runtime.Logger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	err = b.Run(context.Background())
	if !errors.Is(err, runtime.ErrStateDirLocked) {
		t.Fatalf("second Run on a locked state dir = %v, want ErrStateDirLocked", err)
	}
	checkPrefix(t, err)
	var le *runtime.StateDirLockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || !strings.HasSuffix(le.Path, "wordcount") {
		t.Fatalf("Run = %v, want a *StateDirLockedError with this process's pid and the directory", err)
	}
	closeApp(t, a, aDone)
}

func TestErrNotCreated(t *testing.T) {
	app, err := runtime.New(testfix.WordCount(t), runtime.ApplicationID("wc"), runtime.Brokers("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := app.Run(t.Context()); !errors.Is(err, runtime.ErrNotCreated) {
		t.Fatalf("Run after Close = %v, want ErrNotCreated", err)
	}
}

// A topology mistake comes back from New as Build said it, without a
// second prefix.
func TestNewTopologyError(t *testing.T) {
	topo := topology.New()
	_, err := runtime.New(topo, runtime.ApplicationID("wc"), runtime.Brokers("127.0.0.1:1"))
	if !errors.Is(err, topology.ErrEmpty) {
		t.Fatalf("New(empty topology) = %v, want topology.ErrEmpty", err)
	}
	if strings.HasPrefix(err.Error(), "runtime: ") {
		t.Errorf("New(empty topology) = %q: want the topology's message alone", err)
	}
}
