package runtime

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Records the brokers refuse. The engine handles what fails inside a task;
// a produced record fails later, in its promise, on one of franz-go's
// goroutines. The promise only queues it (refused); the thread's loop puts
// it to the production handler, after processing and at every commit, once
// the producer was flushed, so that a record a handler sends to the
// dead-letter topic commits with the offsets that skip the record.

// refusal is a record the brokers did not take, and why.
type refusal struct {
	r   *kgo.Record
	err error
}

// produced queues a record the brokers refused; the promise of the
// record's block (outBlock.produced) calls it.
func (t *thread) produced(r *kgo.Record, err error) {
	t.produceMu.Lock()
	t.refused = append(t.refused, refusal{r, err})
	t.produceMu.Unlock()
}

// checkProduce handles the records refused since the last call; it returns
// the error of the first that fails the app, or one that is the producer's
// (see producerState). mu is held.
func (t *thread) checkProduce() error {
	t.produceMu.Lock()
	list := t.refused
	t.refused = nil
	t.produceMu.Unlock()
	for _, f := range list {
		if err := t.refusedRecord(f.r, f.err); err != nil {
			return err
		}
	}
	return nil
}

// clearRefused forgets the records refused: the transaction they were in
// is aborted.
func (t *thread) clearRefused() {
	t.produceMu.Lock()
	t.refused = nil
	t.produceMu.Unlock()
}

// flushAndSettle waits until every record produced was acknowledged or
// refused and handles the refused ones, then waits for the dead-letter
// records that sent, whose own refusals go to no dead-letter topic. mu is
// held.
func (t *thread) flushAndSettle(ctx context.Context) error {
	for {
		t.drain()
		if err := t.cl.Flush(ctx); err != nil {
			return fmt.Errorf("runtime: flush producer: %w", err)
		}
		sent := t.deadLettered
		if err := t.checkProduce(); err != nil {
			return err
		}
		if t.deadLettered == sent {
			return nil
		}
	}
}

// producerError is a refusal that is the producer's fault, not the
// record's: under exactly-once the thread aborts the transaction and
// rewinds its tasks, which produce the records again.
type producerError struct{ err error }

func (e *producerError) Error() string { return e.err.Error() }
func (e *producerError) Unwrap() error { return e.err }

func isProducerError(err error) bool {
	var pe *producerError
	return errors.As(err, &pe)
}

// refusedRecord handles one refused record: it returns nil when the
// production handler dropped it.
func (t *thread) refusedRecord(r *kgo.Record, err error) error {
	if errors.Is(err, kgo.ErrClientClosed) || errors.Is(err, kgo.ErrAborting) {
		// Failed by a client closing (a rejoin, the close) or by an
		// aborted transaction: the record's task was dropped uncommitted,
		// and whoever runs it next produces the record again.
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: not acknowledged within the delivery timeout (%v)", kgo.ErrRecordTimeout, t.app.cfg.deliveryTimeout)
	}
	perr := fmt.Errorf("runtime: produce to topic %q partition %d: %w", r.Topic, r.Partition, err)
	switch {
	case producerState(err):
		return &producerError{perr}
	case fatalProduceError(err):
		return perr
	case t.app.changelogs[r.Topic]:
		// Dropping a store's change would leave the store ahead of its
		// changelog: a restore would lose what the store holds.
		return fmt.Errorf("%w (a changelog record: no handler may drop it)", perr)
	}
	id, _ := taskOf(r)
	ctx := processor.ErrorContext{Task: id, Topic: r.Topic, Partition: r.Partition, Offset: -1, Timestamp: r.Timestamp.UnixMilli(), Key: r.Key, Value: r.Value, Headers: headersOf(r)}
	resp, herr := askHandler(t.app.cfg.production, ctx, err)
	if herr != nil {
		return fmt.Errorf("%w; the production handler failed on it: %w", perr, herr)
	}
	if resp != processor.Continue {
		return perr
	}
	a := t.app
	if n, unlogged, log := a.dropsOf(id).Add(processor.DropProductionError, time.Now().UnixMilli()); log {
		attrs := []any{"task", id.String(), "reason", processor.DropProductionError}
		if n == 1 {
			t.log.Warn("dropping records the brokers refused; further drops are logged at most once a minute", append(attrs, "topic", r.Topic, "partition", r.Partition, "err", err)...)
		} else {
			t.log.Warn("dropped records", append(attrs, "dropped", unlogged, "total", n)...)
		}
	}
	if a.cfg.deadLetter == "" || r.Topic == a.cfg.deadLetter {
		return nil
	}
	dl, b := t.out.record(r.Key, r.Value)
	dl.Topic, dl.Timestamp, dl.Context = a.cfg.deadLetter, r.Timestamp, t.contextOf(id)
	for _, h := range engine.DeadLetterHeaders(ctx.Headers, err, r.Topic, r.Partition, -1, "", id) {
		dl.Headers = append(dl.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	t.deadLettered++
	t.produce(dl, b)
	return nil
}

// askHandler calls h (nil is processor.LogAndFail), recovering its panic.
func askHandler(h processor.ErrorHandler, ctx processor.ErrorContext, err error) (resp processor.HandlerResponse, herr error) {
	if h == nil {
		return processor.Fail, nil
	}
	defer func() {
		if v := recover(); v != nil {
			herr = &processor.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return h(ctx, err), nil
}

func headersOf(r *kgo.Record) []processor.Header {
	if len(r.Headers) == 0 {
		return nil
	}
	hs := make([]processor.Header, len(r.Headers))
	for i, h := range r.Headers {
		hs[i] = processor.Header{Key: h.Key, Value: h.Value}
	}
	return hs
}

// producerState reports whether err is the producer's or its transaction's,
// which Kafka Streams answers by migrating the task, never by a handler.
func producerState(err error) bool {
	for _, e := range []error{kerr.ProducerFenced, kerr.InvalidProducerEpoch, kerr.InvalidProducerIDMapping,
		kerr.OutOfOrderSequenceNumber, kerr.InvalidTxnState, kerr.TransactionAbortable, kerr.UnknownProducerID,
		context.Canceled} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// fatalProduceError reports whether err fails the app whatever the handler
// says, as Kafka Streams' RecordCollector decides: no record can be sent.
func fatalProduceError(err error) bool {
	for _, e := range []error{kerr.TopicAuthorizationFailed, kerr.ClusterAuthorizationFailed,
		kerr.TransactionalIDAuthorizationFailed, kerr.SaslAuthenticationFailed, kerr.InvalidTopicException,
		kerr.UnknownServerError} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// taskKey keys the task id in the context of a record a task sent, so that
// a refusal is counted for the task.
type taskKey struct{}

// deliveryWindow is how long the records of a task share one context.
// franz-go's own delivery timeout counts from a record's timestamp, which
// for a stream processor is the event's time, hours old maybe: a record's
// context carries the deadline instead. One context serves the records a
// task sends within a window, so that none is made per record; the deadline
// is the window's start plus the delivery timeout plus the window, so a
// record gets between DeliveryTimeout and DeliveryTimeout plus a second.
const deliveryWindow = time.Second

// sendContext is the context of the records a task sends in one window.
type sendContext struct {
	ctx     context.Context
	renewAt time.Time
	// cancel releases the deadline's timer, if records of the window are
	// still in flight when the thread stops, say.
	cancel context.CancelFunc
}

// sending notes that tk runs now: what it sends carries the context of its
// current window, with its id and its deadline. mu is held.
func (t *thread) sending(tk *engine.Task) { t.sendCtx = t.contextOf(tk.ID) }

// contextOf returns the context of task id's current window.
func (t *thread) contextOf(id processor.TaskID) context.Context {
	now := time.Now()
	c := t.taskCtx[id]
	if c == nil {
		c = &sendContext{}
		t.taskCtx[id] = c
	}
	if c.ctx == nil || !now.Before(c.renewAt) {
		// The last window's context stays with its records until its
		// deadline, whose timer then releases it.
		ctx, cancel := context.WithDeadline(context.Background(), now.Add(t.app.cfg.deliveryTimeout+deliveryWindow))
		c.ctx, c.cancel, c.renewAt = context.WithValue(ctx, taskKey{}, id), cancel, now.Add(deliveryWindow)
	}
	return c.ctx
}

func taskOf(r *kgo.Record) (processor.TaskID, bool) {
	if r.Context == nil {
		return processor.TaskID{}, false
	}
	id, ok := r.Context.Value(taskKey{}).(processor.TaskID)
	return id, ok
}

// dropsOf returns the drop counts of task id, which outlive the task's
// incarnations on this instance.
func (a *App) dropsOf(id processor.TaskID) *engine.DropCounts {
	a.mu.Lock()
	defer a.mu.Unlock()
	d := a.drops[id]
	if d == nil {
		d = &engine.DropCounts{}
		a.drops[id] = d
	}
	return d
}

// DroppedRecords returns how many records the tasks of this instance
// dropped since it started, by reason (processor.DropNullKey,
// DropDeserializationError, DropProcessingError, DropProductionError, ...),
// summed over tasks. The test driver's DroppedRecords counts the same.
func (a *App) DroppedRecords() map[string]int64 {
	out := map[string]int64{}
	for _, m := range a.DroppedRecordsByTask() {
		for k, v := range m {
			out[k] += v
		}
	}
	return out
}

// DroppedRecordsByTask returns the counts of DroppedRecords per task;
// tasks that dropped nothing are absent.
func (a *App) DroppedRecordsByTask() map[processor.TaskID]map[string]int64 {
	a.mu.Lock()
	drops := make(map[processor.TaskID]*engine.DropCounts, len(a.drops))
	for id, d := range a.drops {
		drops[id] = d
	}
	a.mu.Unlock()
	out := map[processor.TaskID]map[string]int64{}
	for id, d := range drops {
		if m := d.Snapshot(); len(m) > 0 {
			out[id] = m
		}
	}
	return out
}

// checkDeadLetterTopic makes sure the dead-letter topic exists, so that a
// missing one is an error when the app starts, not a record refused after
// a poison record came.
func (a *App) checkDeadLetterTopic(ctx context.Context) error {
	topic := a.cfg.deadLetter
	if topic == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.timeout)
	defer cancel()
	td, err := a.adm.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("looking up dead-letter topic %q: %w", topic, err)
	}
	if d, ok := td[topic]; !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("dead-letter topic %q does not exist: create it before the app starts", topic)
	} else if d.Err != nil {
		return fmt.Errorf("looking up dead-letter topic %q: %w", topic, d.Err)
	}
	return nil
}
