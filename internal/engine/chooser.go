package engine

import (
	"fmt"

	"github.com/samsa-go/samsa/processor"
)

// Input is one input partition of a task: the records the host fetched
// from it, waiting to be processed, and how far processing got. A task has
// one Input per source topic of its subtopology, all on the task's
// partition. Inputs belong to the goroutine that drives the task.
type Input struct {
	// Topic is the topic's name in the graph.
	Topic     string
	Partition int32
	// HostData is the host's, for its bookkeeping of the input; the engine
	// never touches it.
	HostData any

	task *Task
	src  RawSource
	recs []RawRecord
	head int
	// next is the offset after the last record processed; moved says
	// whether a record was processed since the last commit.
	next  int64
	moved bool
	// deadline is the wall-clock time until which this input, empty, holds
	// back the task's other inputs under MaxTaskIdle; -1 while it has
	// records or none was set.
	deadline int64
}

// Add queues a copy of *r, which the host fetched from the input's
// partition. The input keeps r's key, value and headers until r is
// processed: the host must not reuse them before.
func (in *Input) Add(r *RawRecord) {
	in.recs = append(in.recs, *r)
	q := &in.recs[len(in.recs)-1]
	q.Topic, q.Partition = in.Topic, in.Partition
	in.task.buffered++
}

// Push queues the record at offset of the input's partition, with
// timestamp, key, value and headers: Add for a host that keeps its records
// in a form of its own, without a RawRecord to copy from. The input keeps
// key, value and headers as Add does.
func (in *Input) Push(offset, timestamp int64, key, value []byte, headers []processor.Header) {
	// Every field is written below: the slot is not zeroed first.
	n := len(in.recs)
	if n == cap(in.recs) {
		in.recs = append(in.recs, RawRecord{})
	}
	in.recs = in.recs[:n+1]
	q := &in.recs[n]
	q.Topic, q.Partition, q.Offset, q.Timestamp = in.Topic, in.Partition, offset, timestamp
	q.Key, q.Value, q.Headers = key, value, headers
	in.task.buffered++
}

// Buffered is the number of records waiting.
func (in *Input) Buffered() int { return len(in.recs) - in.head }

// Head returns the offset of the first record waiting, if one is.
func (in *Input) Head() (int64, bool) {
	if in.head == len(in.recs) {
		return 0, false
	}
	return in.recs[in.head].Offset, true
}

// Clear drops the records waiting, as when the host moves the input's
// position back to reread them.
func (in *Input) Clear() {
	in.task.buffered -= in.Buffered()
	clear(in.recs)
	in.recs, in.head = in.recs[:0], 0
}

// pop takes the head record. The queue keeps its capacity once drained.
func (in *Input) pop() *RawRecord {
	r := &in.recs[in.head]
	in.head++
	in.task.buffered--
	return r
}

// drained empties the queue once every record was taken. Each record taken
// was zeroed when its processing ended (processFrom, recoveredRecord), so
// the queue holds on to no record's bytes: it is not cleared again.
func (in *Input) drained() {
	if in.head == len(in.recs) {
		in.recs, in.head = in.recs[:0], 0
	}
}

// Input returns the task's input for topic (its name in the graph), or nil
// if the task does not read topic.
func (t *Task) Input(topic string) *Input {
	for _, in := range t.inputs {
		if in.Topic == topic {
			return in
		}
	}
	return nil
}

// Inputs returns the task's inputs, ordered by topic.
func (t *Task) Inputs() []*Input { return t.inputs }

// Buffered is the number of records waiting in the task's inputs.
func (t *Task) Buffered() int { return t.buffered }

// ProcessReady processes waiting records, each time the one at the head of
// the input with the lowest head timestamp, as Kafka Streams'
// PartitionGroup does, so that a task reading several topics sees their
// records in time order; ties go to the input whose topic sorts first. now
// is the host's wall clock (ms): it moves the task's wall clock (without
// punctuating: see AdvanceWallClock) and decides how long an empty input
// holds the others back under MaxTaskIdle. It stops when no input is ready
// or after max records (max ≤ 0: no limit), and returns how many it
// processed.
//
// With MaxTaskIdle 0 an empty input holds nothing back: the task processes
// what is buffered. With MaxTaskIdle d > 0, while some input is empty the
// task waits, until the wall clock is d past the moment the input was first
// found empty; then it processes what it has (Kafka's enforced processing)
// until that input gets records again, which resets its deadline. An empty
// input counts as caught up: the engine cannot tell whether its host has
// records for it that it has not fetched yet, so an empty input holds the
// task back for d at most, never longer. (In the test driver everything
// piped is fetched at once, so every empty input is caught up.) Kafka, which
// knows each partition's lag, also waits at max.task.idle.ms = 0 for a
// partition known to have records on the broker; MaxTaskIdle 0 here is
// Kafka's -1.
func (t *Task) ProcessReady(now int64, max int) (int, error) {
	if t.flying {
		// A failure of the job that applied a commit fails the task
		// before it goes on.
		if err := t.landDone(); err != nil {
			return 0, err
		}
	}
	t.flushed = false
	if now > t.wallClock {
		t.wallClock = now
	}
	if t.sample > 0 {
		t.sample = 1 // the first record of each call is timed
	}
	n := 0
	for {
		k, err := t.processSome(now, max, n)
		n += k
		if err != errRecovered {
			return n, t.located(err)
		}
	}
}

// processSome is ProcessReady's loop, n records into the call. A panic in
// the processing of a record unwinds to its deferred recover, once per
// call, not per record: the record is put to the processing handler, and
// when the handler drops it, errRecovered has ProcessReady call again for
// the records after it.
func (t *Task) processSome(now int64, max, n int) (k int, err error) {
	var cur *Input
	defer func() {
		if v := recover(); v != nil {
			err = t.recoveredRecord(v, cur)
			k++
		}
	}()
	if len(t.inputs) == 1 {
		in := t.inputs[0]
		cur = in
		for in.head < len(in.recs) && (max <= 0 || n+k < max) {
			if err := t.processFrom(in, in.pop()); err != nil {
				in.drained()
				return k, err
			}
			k++
		}
		in.drained()
		return k, nil
	}
	for (max <= 0 || n+k < max) && t.ready(now) {
		var best *Input
		for _, in := range t.inputs {
			if in.head < len(in.recs) && (best == nil || in.recs[in.head].Timestamp < best.recs[best.head].Timestamp) {
				best = in
			}
		}
		cur = best
		err := t.processFrom(best, best.pop())
		best.drained()
		if err != nil {
			return k, err
		}
		k++
	}
	return k, nil
}

// recoveredRecord handles a panic recovered while the task processed the
// head record of in, or ran the punctuators after it (t.raw is nil then:
// the record was processed). A record the handler drops counts as
// processed; one it fails on does not, as a record whose processing
// returned an error.
func (t *Task) recoveredRecord(v any, in *Input) error {
	r := t.raw
	err := t.recovered(v)
	if in == nil {
		return err
	}
	if r != nil {
		if err == errRecovered {
			in.next, in.moved = r.Offset+1, true
		}
		*r = RawRecord{}
	}
	in.drained()
	return err
}

// ready reports whether the task may process its next record at wall-clock
// time now (see ProcessReady).
func (t *Task) ready(now int64) bool {
	if t.buffered == 0 {
		return false
	}
	if t.idle <= 0 {
		return true
	}
	wait := false
	for _, in := range t.inputs {
		if in.head < len(in.recs) {
			in.deadline = -1
			continue
		}
		if in.deadline < 0 {
			in.deadline = now + t.idle
		}
		if now < in.deadline {
			wait = true
		}
	}
	return !wait
}

// IdleDeadline returns the earliest wall-clock time at which an empty input
// stops holding back records that wait in the task, and whether there is
// one: a host that sleeps until then processes them on time.
func (t *Task) IdleDeadline() (int64, bool) {
	if t.idle <= 0 || t.buffered == 0 {
		return 0, false
	}
	var at int64
	found := false
	for _, in := range t.inputs {
		if in.head == len(in.recs) && in.deadline >= 0 && (!found || in.deadline < at) {
			at, found = in.deadline, true
		}
	}
	return at, found
}

// processFrom processes r, the record just taken from in, and the
// stream-time punctuators it makes due.
func (t *Task) processFrom(in *Input, r *RawRecord) error {
	var err error
	// sample is 0 when processing is not measured: it stays 0.
	if t.sample == 1 {
		t.sample = SampleEvery
		err = t.timedProcess(in.src, r)
	} else {
		if t.sample > 1 {
			t.sample--
		}
		err = t.processRecord(in.src, r)
	}
	// A record that failed is not retried, and its offset is not committed:
	// the task fails, and the next owner starts over from the record.
	if err == nil {
		in.next, in.moved = r.Offset+1, true
	}
	*r = RawRecord{}
	if err != nil || len(t.streamSch) == 0 {
		return err
	}
	return t.punctuate(processor.StreamTime, t.streamTime)
}

// Process runs one record through the subtopology at once, bypassing the
// inputs: no chooser, no offset to commit. Hosts queue records in Inputs
// and call ProcessReady; Process is for measuring and testing the nodes.
func (t *Task) Process(r *RawRecord) (err error) {
	t.flushed = false
	in := t.Input(r.Topic)
	if in == nil {
		return fmt.Errorf("engine: task %s has no source for topic %q", t.ID, r.Topic)
	}
	defer func() {
		if v := recover(); v != nil {
			if err = t.recovered(v); err == errRecovered {
				err = nil
			}
			err = t.located(err)
		}
	}()
	if err := t.processRecord(in.src, r); err != nil {
		return t.located(err)
	}
	return t.located(t.punctuate(processor.StreamTime, t.streamTime))
}
