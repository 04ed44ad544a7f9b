package engine

import (
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// Metrics is where a task reports what its host measures of it; the host
// makes one per task (Config.Metrics). Every field may be nil, and is then
// not measured. The task calls them from its goroutine.
type Metrics struct {
	// Process observes the time one record takes through the subtopology,
	// in seconds, for one record in state.SampleEvery: reading the clock
	// twice per record would cost more than the nodes of a light
	// subtopology. The stream-time punctuators a record makes due are not
	// in it.
	Process state.Observer
	// Punctuate observes the time of every punctuator call, in seconds.
	Punctuate state.Observer
	// Store returns the metrics of the task's store name (see
	// state.StoreMetrics), called once per store as the task opens it.
	Store func(name string) *state.StoreMetrics
}

// timedProcess is processRecord for a record that is sampled: see
// Metrics.Process.
func (t *Task) timedProcess(src RawSource, r *RawRecord) error {
	start := time.Now()
	err := t.processRecord(src, r)
	t.metrics.Process.Observe(time.Since(start).Seconds())
	return err
}

// timedPunctuator calls fn, observing its time when punctuation is
// measured.
func (t *Task) timedPunctuator(fn processor.Punctuator, now int64) error {
	if t.metrics == nil || t.metrics.Punctuate == nil {
		return fn(now)
	}
	start := time.Now()
	err := fn(now)
	t.metrics.Punctuate.Observe(time.Since(start).Seconds())
	return err
}
