package runtime_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
)

// TestKeptTasksCommitBeforeARestore: a thread given tasks to restore
// commits the tasks it keeps first, so that while the restore holds the
// thread their views answer everything they processed (here, every count
// they wrote to the output topic), not what they held at their last commit
// on the interval. Input flows to every partition until the
// restore starts, so the thread never finds itself idle, which commits
// too.
func TestKeptTasksCommitBeforeARestore(t *testing.T) {
	for _, g := range []runtime.Guarantee{runtime.AtLeastOnce, runtime.ExactlyOnceV2} {
		t.Run(g.String(), func(t *testing.T) { keptTasksCommitBeforeARestore(t, g) })
	}
}

func keptTasksCommitBeforeARestore(t *testing.T, g runtime.Guarantee) {
	const parts = 4
	c := testfix.WordCountBroker(t, parts)
	root := t.TempDir()
	newGate := func() *restoreGate { return &restoreGate{started: make(chan struct{}), release: make(chan struct{})} }
	ga, gb := newGate(), newGate()
	// Under exactly-once the counting tasks read the repartition topic
	// read_committed: they count only what committed transactions hold.
	interval := time.Hour
	if g == runtime.ExactlyOnceV2 {
		interval = time.Second
	}
	opts := []runtime.Option{runtime.CommitInterval(interval), runtime.ProcessingGuarantee(g)}
	a, da := startApp(t, c, root+"/a", append(opts, runtime.RestoreListener(ga))...)
	b, db := startApp(t, c, root+"/b", append(opts, runtime.RestoreListener(gb))...)
	waitSpread(t, parts, 0, a, b)

	// One word for each partition of the counts, so that every counting
	// task has work in every line.
	byKey := kgo.StickyKeyPartitioner(nil).ForTopic("")
	words := make([]string, parts)
	for i, found := 0, 0; found < parts; i++ {
		w := fmt.Sprintf("w%d", i)
		if p := byKey.Partition(&kgo.Record{Key: []byte(w)}, parts); words[p] == "" {
			words[p] = w
			found++
		}
	}
	line := []byte(strings.Join(words, " "))
	pcl, err := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			pcl.Produce(context.Background(), &kgo.Record{Topic: testfix.InputTopic, Partition: int32(i % parts), Value: line}, nil)
		}
	}()
	stopInput := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopInput()
	latest(t, c, words, true)

	victim, survivor, gate, vdone := b, a, ga, db
	if !slices.ContainsFunc(b.ActiveTasks(), func(id processor.TaskID) bool { return id.Subtopology == 1 }) {
		victim, survivor, gate, vdone = a, b, gb, da
	}
	before := survivor.ActiveTasks()
	gate.armed.Store(true)
	closeApp(t, victim, vdone)
	select {
	case <-gate.started:
	case <-time.After(60 * time.Second):
		t.Fatal("the survivor restored nothing")
	}
	stopInput()
	// The survivor's thread is held in its restore: what its kept tasks
	// wrote to the output topic is all they have processed.
	out := latest(t, c, words, false)
	q, err := runtime.QueryKeyValue[string, int64](survivor, testfix.CountsStore)
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for p, w := range words {
		if !slices.Contains(before, processor.TaskID{Subtopology: 1, Partition: int32(p)}) {
			continue
		}
		v, found, err := q.Get(w)
		switch {
		case err != nil:
			t.Errorf("%q, of a task the survivor kept: %v", w, err)
		case !found || v != out[w]:
			t.Errorf("%q, of a task the survivor kept, answers %d (found %v) while the restore runs; its output says %d", w, v, found, out[w])
		}
		kept++
	}
	if kept == 0 {
		t.Fatal("the survivor kept no counting task")
	}
	close(gate.release)
}

// latest reads the output topic from the start and returns the latest
// count of each of words: once all have one, if wait, else once a second
// has passed with nothing new.
func latest(t *testing.T, c *kafkatest.Broker, words []string, wait bool) map[string]int64 {
	t.Helper()
	cl, err := c.Client(kgo.ConsumeTopics(testfix.OutputTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]int64{}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			got[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
			n++
		})
		all := true
		for _, w := range words {
			if _, ok := got[w]; !ok {
				all = false
			}
		}
		if wait && all || !wait && n == 0 && all {
			return got
		}
	}
	t.Fatalf("output counts %v after 60s; want one for each of %v", got, words)
	return nil
}
