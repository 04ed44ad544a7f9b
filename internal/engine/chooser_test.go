package engine_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// sent records what a task's sinks write, as "value@timestamp".
type sent struct {
	nopCollector
	out []string
}

func (s *sent) Send(_ string, _, value []byte, ts int64, _ []processor.Header) error {
	s.out = append(s.out, fmt.Sprintf("%s@%d", value, ts))
	return nil
}

// mergeTask starts the task of a topology merging topics "a" and "b" into
// "out", whose sink writes to s.
func mergeTask(t *testing.T, s *sent, idle time.Duration) *engine.Task {
	t.Helper()
	b := dsl.NewBuilder()
	dsl.Stream(b, "a", serde.String, serde.String).Merge(dsl.Stream(b, "b", serde.String, serde.String)).To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	task, err := engine.NewTask(engine.GraphOf(topo), 0, 0, engine.Config{Collector: s, InMemory: true, MaxTaskIdle: idle})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close() })
	return task
}

func add(t *testing.T, task *engine.Task, topic string, timestamps ...int64) {
	t.Helper()
	in := task.Input(topic)
	for _, ts := range timestamps {
		in.Add(&engine.RawRecord{Offset: ts, Timestamp: ts, Value: []byte(fmt.Sprintf("%s%d", topic, ts))})
	}
}

func processReady(t *testing.T, task *engine.Task, now int64) int {
	t.Helper()
	n, err := task.ProcessReady(now, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func expectSent(t *testing.T, s *sent, want ...string) {
	t.Helper()
	if !slices.Equal(s.out, want) {
		t.Fatalf("processed\n %q\nwant\n %q", s.out, want)
	}
	s.out = nil
}

// Two inputs with interleaved timestamps are processed in timestamp order,
// whatever order they were fetched in; ties go to the topic first by name.
func TestChooserTimestampOrder(t *testing.T) {
	s := &sent{}
	task := mergeTask(t, s, 0)
	add(t, task, "b", 2, 4, 6, 7)
	add(t, task, "a", 1, 3, 5, 7, 9)
	if n := processReady(t, task, 0); n != 9 {
		t.Fatalf("processed %d records, want 9", n)
	}
	expectSent(t, s, "a1@1", "b2@2", "a3@3", "b4@4", "a5@5", "b6@6", "a7@7", "b7@7", "a9@9")
	if task.StreamTime() != 9 {
		t.Fatalf("stream time %d, want 9", task.StreamTime())
	}
	// With MaxTaskIdle 0 an empty input holds nothing back.
	add(t, task, "b", 8)
	processReady(t, task, 0)
	expectSent(t, s, "b8@8")
}

// Under MaxTaskIdle, an empty input holds the task back until the wall
// clock passes its deadline; once it has records, the deadline starts anew
// the next time it is empty.
func TestChooserMaxTaskIdle(t *testing.T) {
	s := &sent{}
	task := mergeTask(t, s, 100*time.Millisecond)
	add(t, task, "a", 1, 3)
	if n := processReady(t, task, 1000); n != 0 {
		t.Fatalf("processed %d records with b empty, want none", n)
	}
	if at, ok := task.IdleDeadline(); !ok || at != 1100 {
		t.Fatalf("idle deadline %d, %v; want 1100", at, ok)
	}
	processReady(t, task, 1099)
	expectSent(t, s)
	// b's record arrives before the deadline: both in order, then b is
	// empty again and a3 waits for a new deadline.
	add(t, task, "b", 2)
	processReady(t, task, 1099)
	expectSent(t, s, "a1@1", "b2@2")
	if at, ok := task.IdleDeadline(); !ok || at != 1199 {
		t.Fatalf("idle deadline %d, %v; want 1199", at, ok)
	}
	processReady(t, task, 1198)
	expectSent(t, s)
	processReady(t, task, 1199)
	expectSent(t, s, "a3@3")
	// Past the deadline, with b still empty, records of a go at once.
	add(t, task, "a", 4)
	processReady(t, task, 1200)
	expectSent(t, s, "a4@4")
	if _, ok := task.IdleDeadline(); ok {
		t.Fatal("an idle deadline with nothing waiting")
	}
}
