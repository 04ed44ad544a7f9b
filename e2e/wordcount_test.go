package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
)

// wordCount is one test's word count: its application id and topics, all
// under the run's prefix.
type wordCount struct {
	t             *testing.T
	brokers       []string
	appID         string
	input, output string
}

const partitions = 3

func newWordCount(t *testing.T) *wordCount {
	brokers := cluster(t)
	name := runID + "-" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	w := &wordCount{t: t, brokers: brokers, appID: name, input: name + "-lines", output: name + "-counts"}
	cl := w.client()
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, -1, nil, w.input, w.output)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			t.Fatalf("create %s: %v", r.Topic, r.Err)
		}
	}
	return w
}

func (w *wordCount) client(opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(w.brokers...)}, opts...)...)
	if err != nil {
		w.t.Fatal(err)
	}
	return cl
}

// produce writes lines to the input topic, keyed by their index.
func (w *wordCount) produce(lines []string) {
	w.t.Helper()
	cl := w.client(kgo.DefaultProduceTopic(w.input))
	defer cl.Close()
	var rs []*kgo.Record
	for i, l := range lines {
		rs = append(rs, &kgo.Record{Key: fmt.Append(nil, i), Value: []byte(l)})
	}
	ctx, cancel := context.WithTimeout(w.t.Context(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		w.t.Fatal(err)
	}
}

// instance is one running application instance.
type instance struct {
	app  *runtime.App
	done chan error
}

// start runs an instance with its own state directory and waits until it
// is RUNNING; opts come last and win.
func (w *wordCount) start(g runtime.Guarantee, opts ...runtime.Option) *instance {
	w.t.Helper()
	b := dsl.NewBuilder()
	testfix.AddWordCountOn(b, w.input, w.output, 0)
	topo, err := b.Build()
	if err != nil {
		w.t.Fatal(err)
	}
	app, err := runtime.New(topo, append([]runtime.Option{
		runtime.ApplicationID(w.appID),
		runtime.Brokers(w.brokers...),
		runtime.StateDir(w.t.TempDir()),
		runtime.ProcessingGuarantee(g),
		runtime.CommitInterval(200 * time.Millisecond),
	}, opts...)...)
	if err != nil {
		w.t.Fatal(err)
	}
	in := &instance{app: app, done: make(chan error, 1)}
	go func() { in.done <- app.Run(context.Background()) }()
	w.t.Cleanup(func() { in.stop(w.t) })
	deadline := time.Now().Add(60 * time.Second)
	for app.State() != runtime.Running {
		select {
		case err := <-in.done:
			in.done <- err
			w.t.Fatalf("instance stopped before RUNNING: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("instance not RUNNING after 60s: %v", app.State())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return in
}

func (in *instance) stop(t *testing.T) {
	if in.done == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := in.app.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := <-in.done; err != nil {
		t.Errorf("run: %v", err)
	}
	in.done = nil
}

// waitCounts reads the output topic from the start, read_committed, until
// the latest count of every word is want.
func (w *wordCount) waitCounts(want map[string]int64) {
	w.t.Helper()
	cl := w.client(kgo.ConsumeTopics(w.output), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(w.t.Context(), 90*time.Second)
	defer cancel()
	got := map[string]int64{}
	for !maps.Equal(got, want) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			w.t.Fatalf("counts = %v, want %v", got, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Value) == 8 {
				got[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
			}
		})
	}
}

// members waits until the group has n members.
func (w *wordCount) members(n int) {
	w.t.Helper()
	cl := w.client()
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(60 * time.Second)
	for {
		gs, err := adm.DescribeGroups(w.t.Context(), w.appID)
		if g, ok := gs[w.appID]; err == nil && ok && g.State == "Stable" && len(g.Members) == n {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("group %s has not settled with %d members after 60s (%v)", w.appID, n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var guarantees = map[string]runtime.Guarantee{"at-least-once": runtime.AtLeastOnce, "exactly-once": runtime.ExactlyOnceV2}

// Word count counts on a real broker under both guarantees.
func TestWordCount(t *testing.T) {
	for name, g := range guarantees {
		t.Run(name, func(t *testing.T) {
			w := newWordCount(t)
			lines, want := testfix.Corpus(0, 40)
			w.produce(lines)
			w.start(g)
			w.waitCounts(want)
		})
	}
}

// An instance started on an empty state directory restores the counts
// from the changelog and goes on from them.
func TestRestoreFromChangelog(t *testing.T) {
	w := newWordCount(t)
	first, want1 := testfix.Corpus(0, 30)
	w.produce(first)
	in := w.start(runtime.ExactlyOnceV2)
	w.waitCounts(want1)
	in.stop(t)

	w.start(runtime.ExactlyOnceV2) // a new state directory
	second, want2 := testfix.Corpus(30, 30)
	w.produce(second)
	w.waitCounts(testfix.Add(want1, want2))
}

// Tasks move to a second instance and back without losing or doubling a
// count, under exactly-once.
func TestScaleOutAndIn(t *testing.T) {
	w := newWordCount(t)
	batch := func(from int) map[string]int64 {
		lines, want := testfix.Corpus(from, 20)
		w.produce(lines)
		return want
	}
	want := batch(0)
	a := w.start(runtime.ExactlyOnceV2)
	w.waitCounts(want)

	w.start(runtime.ExactlyOnceV2)
	w.members(2)
	want = testfix.Add(want, batch(20))
	w.waitCounts(want)

	a.stop(t)
	w.members(1)
	want = testfix.Add(want, batch(40))
	w.waitCounts(want)
}

// split waits until a and b share the tasks of word count's two
// subtopologies, each having some, and returns each one's.
func (w *wordCount) split(a, b *instance) ([]processor.TaskID, []processor.TaskID) {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		at, bt := a.app.ActiveTasks(), b.app.ActiveTasks()
		if len(at) > 0 && len(bt) > 0 && len(at)+len(bt) == 2*partitions {
			return at, bt
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("tasks not split after 60s: %v and %v", at, bt)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A static member that restarts within the session timeout takes its tasks
// back, and the other member keeps its own throughout: the closing member
// does not leave the group.
func TestStaticMemberRestart(t *testing.T) {
	w := newWordCount(t)
	lines, want := testfix.Corpus(0, 30)
	w.produce(lines)
	dir := t.TempDir()
	session := runtime.SessionTimeout(30 * time.Second)
	a := w.start(runtime.AtLeastOnce, runtime.InstanceID("pod-a"), session)
	b := w.start(runtime.AtLeastOnce, runtime.InstanceID("pod-b"), session, runtime.StateDir(dir))
	w.members(2)
	w.waitCounts(want)
	aTasks, bTasks := w.split(a, b)
	var rebalances atomic.Int32
	a.app.SetStateListener(func(_, s runtime.State) {
		if s == runtime.Rebalancing {
			rebalances.Add(1)
		}
	})
	b.stop(t)
	time.Sleep(2 * time.Second)
	if got := a.app.ActiveTasks(); !slices.Equal(got, aTasks) {
		t.Errorf("while pod-b is down, pod-a has tasks %v, want its own %v", got, aTasks)
	}
	b = w.start(runtime.AtLeastOnce, runtime.InstanceID("pod-b"), session, runtime.StateDir(dir))
	deadline := time.Now().Add(60 * time.Second)
	for !slices.Equal(b.app.ActiveTasks(), bTasks) || !slices.Equal(a.app.ActiveTasks(), aTasks) {
		if time.Now().After(deadline) {
			t.Fatalf("after pod-b's restart: pod-a has %v (had %v), pod-b %v (had %v)", a.app.ActiveTasks(), aTasks, b.app.ActiveTasks(), bTasks)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("pod-a rebalanced %d times across pod-b's restart", rebalances.Load())
	more, want2 := testfix.Corpus(30, 30)
	w.produce(more)
	w.waitCounts(testfix.Add(want, want2))
}
