package runtime

import (
	"errors"
	"fmt"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
	"github.com/twmb/franz-go/pkg/kgo"
)

// task is an engine task as a stream thread runs it: input queues per
// source partition, offsets to commit, and the changelog positions of its
// stores.
type task struct {
	*engine.Task
	th  *thread
	db  *state.DB
	dir string

	// queues hold fetched records per source topic (logical name) until
	// they are processed in timestamp order.
	queues map[string]*queue
	// queueList and queueNames hold the queues and their logical topics in
	// a fixed order, for processing without walking the map.
	queueList  []*queue
	queueNames []string
	changed    bool

	// changelog positions: the last record produced per logged store, whose
	// offset is known once the producer is flushed.
	lastLogged map[string]*kgo.Record
	raw        engine.RawRecord
}

type queue struct {
	recs []*kgo.Record
	head int
	// topic is the real name of the queue's topic, next the offset to
	// commit for it, set once a record was processed.
	topic string
	next  int64
	seen  bool
}

func (q *queue) len() int { return len(q.recs) - q.head }

func (q *queue) pop() *kgo.Record {
	r := q.recs[q.head]
	q.recs[q.head] = nil
	q.head++
	if q.head == len(q.recs) {
		q.recs, q.head = q.recs[:0], 0
	}
	return r
}

// enqueue queues records fetched from topic, whose name in the graph is
// logical.
func (tk *task) enqueue(logical, topic string, recs []*kgo.Record) {
	q := tk.queues[logical]
	if q == nil {
		q = &queue{topic: topic}
		tk.queues[logical] = q
		tk.queueList = append(tk.queueList, q)
		tk.queueNames = append(tk.queueNames, logical)
	}
	q.recs = append(q.recs, recs...)
}

// processQueued processes queued records, always taking the one with the
// smallest timestamp across the task's partitions, so that a task reading
// several topics sees their records in time order (max.task.idle.ms = 0:
// it does not wait for empty partitions).
func (tk *task) processQueued() (int, error) {
	n := 0
	if len(tk.queueList) == 1 {
		q, topic := tk.queueList[0], tk.queueNames[0]
		for q.len() > 0 {
			if err := tk.process(topic, q, q.pop()); err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}
	for {
		best := -1
		for i, q := range tk.queueList {
			if q.len() == 0 {
				continue
			}
			if best < 0 || q.recs[q.head].Timestamp.Before(tk.queueList[best].recs[tk.queueList[best].head].Timestamp) {
				best = i
			}
		}
		if best < 0 {
			return n, nil
		}
		q := tk.queueList[best]
		if err := tk.process(tk.queueNames[best], q, q.pop()); err != nil {
			return n, err
		}
		n++
	}
}

func (tk *task) process(logical string, q *queue, r *kgo.Record) error {
	raw := &tk.raw
	*raw = engine.RawRecord{
		Topic:     logical,
		Partition: r.Partition,
		Offset:    r.Offset,
		Timestamp: r.Timestamp.UnixMilli(),
		Key:       r.Key,
		Value:     r.Value,
	}
	if len(r.Headers) > 0 {
		raw.Headers = make([]processor.Header, len(r.Headers))
		for i, h := range r.Headers {
			raw.Headers[i] = processor.Header{Key: h.Key, Value: h.Value}
		}
	}
	if err := tk.Process(raw); err != nil {
		return err
	}
	q.next, q.seen = r.Offset+1, true
	tk.changed = true
	return nil
}

// collectOffsets adds the task's offsets to commit to offsets and reports
// whether it had any.
func (tk *task) collectOffsets(offsets map[string]map[int32]kgo.EpochOffset) bool {
	if !tk.changed {
		return false
	}
	for _, q := range tk.queueList {
		if !q.seen {
			continue
		}
		m := offsets[q.topic]
		if m == nil {
			m = map[int32]kgo.EpochOffset{}
			offsets[q.topic] = m
		}
		m[tk.ID.Partition] = kgo.EpochOffset{Epoch: -1, Offset: q.next}
	}
	return true
}

// committed records, after a commit, how far each store's changelog got.
func (tk *task) committed() error {
	tk.changed = false
	if tk.db == nil {
		return nil
	}
	for store, r := range tk.lastLogged {
		if err := tk.db.SetChangelogOffset(store, r.Offset); err != nil {
			return fmt.Errorf("runtime: task %s: record changelog offset of %q: %w", tk.ID, store, err)
		}
	}
	clear(tk.lastLogged)
	return nil
}

// applyTxn applies the stores' transaction buffers after their
// transaction committed, then records the changelog offsets reached.
func (tk *task) applyTxn() error {
	for _, s := range tk.Stores() {
		if x := s.Txn(); x != nil {
			if err := x.Commit(); err != nil {
				return fmt.Errorf("runtime: task %s: apply committed writes of %q: %w", tk.ID, s.Name(), err)
			}
		}
	}
	return tk.committed()
}

// close closes the task's processors and stores. Uncommitted work is not
// written down: store writes still in the transaction buffer are dropped,
// and the next owner catches up from the changelog.
func (tk *task) close() error {
	var errs []error
	errs = append(errs, tk.Task.Close())
	if tk.db != nil {
		errs = append(errs, tk.db.Close())
	}
	return errors.Join(errs...)
}

// changeLogger returns the ChangeLogger of store in tk: it produces to the
// store's changelog partition, stamped with the time the store gives.
func (tk *task) changeLogger(store, topic string) state.ChangeLogger {
	return state.ChangeLoggerFunc(func(key, value []byte, ts int64, headers []processor.Header) error {
		r := tk.th.out.record(key, value)
		r.Topic, r.Partition = topic, tk.ID.Partition
		r.Timestamp = timeOf(ts)
		for _, h := range headers {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: append([]byte(nil), h.Value...)})
		}
		tk.lastLogged[store] = r
		tk.th.produce(r)
		return nil
	})
}
