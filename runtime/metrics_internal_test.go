package runtime

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/processor"
)

// The lag of an input partition is what the broker has past the last
// record fetched, set once per fetch, and goes with the task.
func TestLagFromFetch(t *testing.T) {
	a, err := New(testfix.WordCount(t), ApplicationID("lag"), Brokers("localhost:9092"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if a.metrics, err = newMetrics(a, reg); err != nil {
		t.Fatal(err)
	}
	tm := a.metrics.thread("lag-StreamThread-1")
	id := processor.TaskID{Subtopology: 0, Partition: 1}
	tk, err := engine.NewTask(a.graph, 0, 1, engine.Config{Collector: discard{}, InMemory: true, Metrics: tm.engineMetrics(id)})
	if err != nil {
		t.Fatal(err)
	}
	defer tk.Close()
	in := tk.Input(testfix.InputTopic)
	fetch := func(hw int64, offsets ...int64) {
		p := kgo.FetchTopicPartition{Topic: testfix.InputTopic, FetchPartition: kgo.FetchPartition{Partition: 1, HighWatermark: hw, LastStableOffset: hw}}
		for _, o := range offsets {
			p.Records = append(p.Records, &kgo.Record{Offset: o})
		}
		tm.fetched(tk, in, p, false)
	}
	lag := func() float64 {
		return testutil.ToFloat64(a.metrics.lag.WithLabelValues("0_1", testfix.InputTopic, "1"))
	}
	fetch(5000, 0, 1, 2)
	if got := lag(); got != 4997 {
		t.Errorf("lag %v after fetching offsets 0-2 of 5000, want 4997", got)
	}
	fetch(5000) // no records: nothing learnt
	if got := lag(); got != 4997 {
		t.Errorf("lag %v after an empty fetch, want it unchanged", got)
	}
	fetch(5001, 4999, 5000)
	if got := lag(); got != 0 {
		t.Errorf("lag %v once caught up, want 0", got)
	}
	tm.released(id)
	if n := testutil.CollectAndCount(a.metrics.lag); n != 0 {
		t.Errorf("%d lag series after the task left, want none", n)
	}
}

type discard struct{}

func (discard) Send(string, []byte, []byte, int64, []processor.Header) error { return nil }
func (discard) SendChangelog(*engine.Changelog, []byte, []byte, int64, []processor.Header) error {
	return nil
}
