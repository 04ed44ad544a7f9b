package engine

import (
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// Metrics is where a task reports what its host measures of it; the host
// makes one per task (Config.Metrics). Every field may be nil, and is then
// not measured. The task calls them from its goroutine.
//
// Reading the clock can cost more than processing a record (half a
// microsecond where the clock is read through a trap), so what runs per
// record is sampled: the task times the first record of each ProcessReady
// call, so that a task with few records is measured on each, and one in
// SampleEvery after it, and the calls its stores make while processing a
// timed record (see state.StoreMetrics.Sampled).
type Metrics struct {
	// Process observes the time one sampled record takes through the
	// subtopology, in seconds. The stream-time punctuators the record
	// makes due are not in it.
	Process state.Observer
	// Punctuate observes the time of every punctuator call, in seconds.
	Punctuate state.Observer
	// Store returns the metrics of the task's store name (see
	// state.StoreMetrics), called once per store as the task opens it;
	// the task sets their Sampled.
	Store func(name string) *state.StoreMetrics
}

// SampleEvery is how many records a task processes, past the first of a
// ProcessReady call, per record it times.
const SampleEvery = 1024

// timedProcess is processRecord for a record that is sampled: see
// Metrics.Process.
func (t *Task) timedProcess(src RawSource, r *RawRecord) error {
	t.sampled = true
	start := time.Now()
	err := t.processRecord(src, r)
	t.metrics.Process.Observe(time.Since(start).Seconds())
	t.sampled = false
	return err
}

// storeMetrics is the state.Env Metrics of a measured task: its host's,
// sampled with the task's records.
func (t *Task) storeMetrics(name string) *state.StoreMetrics {
	m := t.metrics.Store(name)
	if m != nil {
		m.Sampled = &t.sampled
	}
	return m
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
