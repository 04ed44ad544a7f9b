package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A stream thread runs engine tasks and is their host: it feeds them what
// it fetched (enqueue), produces what they send (Send, SendChangelog) and
// does the Kafka steps of their commit (Commit, ChangelogOffset). Everything
// between is the engine's.

// enqueue queues records fetched from topic, whose name in the graph is
// logical, in the input of the task reading them.
func enqueue(tk *engine.Task, logical string, recs []*kgo.Record) {
	in := tk.Input(logical)
	if in == nil {
		return
	}
	for _, r := range recs {
		raw := engine.RawRecord{
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
		in.Add(&raw)
	}
}

// Send produces a record a sink wrote; the client's partitioner picks the
// partition by key.
func (t *thread) Send(topic string, key, value []byte, timestamp int64, headers []processor.Header) error {
	if topic != t.lastTopic {
		t.lastTopic, t.lastReal = topic, t.app.realTopic(topic)
	}
	r, b := t.out.record(key, value)
	r.Topic, r.Timestamp, r.Context = t.lastReal, timeOf(timestamp), t.sendCtx
	if len(headers) > 0 {
		r.Headers = make([]kgo.RecordHeader, len(headers))
		for i, h := range headers {
			r.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	t.produce(r, b)
	return nil
}

// lastChange is the last record a changelog was sent since its last
// commit, kept in its HostData, whose offset is known once the producer was
// flushed. Its block is pinned until then, so that the record is not used
// again before its offset was read.
type lastChange struct {
	r *kgo.Record
	b *outBlock
}

// SendChangelog produces a store change to its changelog partition.
func (t *thread) SendChangelog(cl *engine.Changelog, key, value []byte, timestamp int64, headers []processor.Header) error {
	r, b := t.out.record(key, value)
	r.Topic, r.Partition, r.Timestamp, r.Context = cl.Topic, cl.Partition, timeOf(timestamp), t.sendCtx
	for _, h := range headers {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: append([]byte(nil), h.Value...)})
	}
	last, _ := cl.HostData.(*lastChange)
	if last == nil {
		last = &lastChange{}
		cl.HostData = last
	}
	if last.b != nil {
		last.b.unpin()
	}
	b.pin()
	last.r, last.b = r, b
	if !t.eos && !cl.Ahead {
		t.changes = append(t.changes, heldChange{r, b, cl})
		return nil
	}
	t.produce(r, b)
	return nil
}

// heldChange is a changelog record held until the commit sends it.
type heldChange struct {
	r  *kgo.Record
	b  *outBlock
	cl *engine.Changelog
}

// Under at-least-once a store's changelog must never get ahead of the
// records its state sent downstream. A crash between the changelog landing
// and the offsets committing lets the next owner restore the state and
// process the same input again; that is at-least-once's duplicate. But an
// output record still in flight at the crash (a produce being retried)
// would then be lost for good wherever the restored state decides that
// the input was dealt with: a windowed aggregation restarts from the
// stream time its store holds and drops the input again as late, a close
// emitter or a suppression does not emit a window again. So the stores'
// changelog records wait in changes while the commit flushes the outputs,
// and are produced once every output was acknowledged or handled; a
// refused output that fails the app leaves the changelog behind, where a
// restore takes the input again. Under exactly-once the transaction makes
// the two land together, and records go out as they are sent. So do those
// of a store whose writers send the same outputs again, updated, when
// they are handed an input again past its restored state
// (engine.Changelog's Ahead: an aggregation that is not windowed): its
// changelog landing first costs a duplicate, which at-least-once allows,
// and the commit one round trip to the broker rather than two.
//
// The stores count what they handed over as logged, so the records held
// stay held through a commit that fails before sending them (a flush cut
// short by the app closing, say), for the next commit of the same tasks to
// send ahead of its offsets; they go only with a task that closes without
// committing, whose state goes with them.

// sendChanges produces the changelog records held, and reports whether
// there were any. mu is held.
func (t *thread) sendChanges() bool {
	if len(t.changes) == 0 {
		return false
	}
	for i, c := range t.changes {
		t.produce(c.r, c.b)
		t.changes[i] = heldChange{}
	}
	t.changes = t.changes[:0]
	return true
}

// dropChangesOf forgets the changelog records held for tk's stores: tk
// closes, and what it did not commit is dropped. Their blocks stay off the
// free list, as a refused record's do. mu is held.
func (t *thread) dropChangesOf(tk *engine.Task) {
	if len(t.changes) == 0 {
		return
	}
	cls := tk.Changelogs()
	t.changes = slices.DeleteFunc(t.changes, func(c heldChange) bool { return slices.Contains(cls, c.cl) })
}

// ChangelogOffset reports the offset of the last record produced to cl.
func (t *thread) ChangelogOffset(cl *engine.Changelog) (int64, bool) {
	last, _ := cl.HostData.(*lastChange)
	if last == nil || last.r == nil {
		return 0, false
	}
	off := last.r.Offset
	last.b.unpin()
	last.r, last.b = nil, nil
	return off, true
}

// Commit is the Kafka part of the engine's commit sequence, under the
// thread's guarantee. mu is held.
func (t *thread) Commit(ctx context.Context, offsets []engine.Offset) (bool, error) {
	if t.eos {
		return t.commitTxn(ctx, offsets)
	}
	return t.commitOffsets(ctx, offsets)
}

// commitOffsets is at-least-once: wait until every record produced was
// acknowledged, then send the changelog records held and wait for them,
// then commit the input offsets the tasks reached.
func (t *thread) commitOffsets(ctx context.Context, offsets []engine.Offset) (bool, error) {
	if err := t.flushAndSettle(ctx); err != nil {
		return false, err
	}
	if t.sendChanges() {
		if err := t.flushAndSettle(ctx); err != nil {
			return false, err
		}
	}
	if len(offsets) == 0 {
		return true, nil
	}
	commit := t.offsetMap(offsets)
	var commitErr error
	t.cl.CommitOffsetsSync(ctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			commitErr = err
			return
		}
		for _, topic := range resp.Topics {
			for _, p := range topic.Partitions {
				if e := kerr.ErrorForCode(p.ErrorCode); e != nil && commitErr == nil {
					commitErr = fmt.Errorf("topic %q partition %d: %w", topic.Topic, p.Partition, e)
				}
			}
		}
	})
	if commitErr != nil {
		if lostMembership(commitErr) {
			// The group moved on without this member (a pause past the
			// session timeout, say): its tasks belong to others now. Drop
			// them uncommitted and join again, as Kafka Streams does on a
			// TaskMigratedException.
			t.log.Warn("commit refused: this member left the group; rejoining", "err", commitErr)
			return false, errRejoin
		}
		if transient(commitErr) && ctx.Err() == nil {
			return false, &commitLater{commitErr}
		}
		return false, fmt.Errorf("runtime: commit offsets: %w", commitErr)
	}
	t.app.purgeLater(commit)
	return true, nil
}

// commitTxn is exactly-once: commit the open transaction, with the input
// offsets the tasks reached inside it and the group's generation, so that a
// zombie is fenced.
//
// franz-go's session commits the offsets it polled up to; records a task
// holds back (MaxTaskIdle) were polled but not processed, so the offset
// commit is rewritten to the tasks' own offsets, and once it committed the
// consumer is moved back to the first record held back, which is fetched
// again. A transaction refused is aborted and reported as not committed:
// the caller rewinds the tasks.
func (t *thread) commitTxn(ctx context.Context, offsets []engine.Offset) (bool, error) {
	if !t.inTxn {
		return true, nil
	}
	// Records refused go to the production handler before the
	// transaction ends, so that the dead-letter records it sends are in it.
	if err := t.flushAndSettle(ctx); err != nil {
		if !isProducerError(err) {
			return false, err
		}
		t.log.Warn("aborting the transaction: the producer failed", "err", err)
		_, aerr := t.end(ctx, kgo.TryAbort)
		t.inTxn = false
		t.metrics.txnEnded(false)
		t.clearRefused()
		if aerr != nil {
			return false, errRejoin
		}
		return false, nil
	}
	commit := t.offsetMap(offsets)
	endCtx := kgo.PreTxnCommitFnContext(ctx, func(req *kmsg.TxnOffsetCommitRequest) error {
		rewriteTxnOffsets(req, commit)
		return nil
	})
	committed, err := t.end(endCtx, kgo.TryCommit)
	t.inTxn = false
	if err == nil {
		t.metrics.txnEnded(committed)
	}
	if err != nil {
		if ctx.Err() != nil {
			// Cut short by the shutdown, with an outcome unknown: the
			// tasks drop what the transaction held, or the close's own
			// commit, finding no transaction open, would apply it.
			t.rewind("the transaction's end was cut short")
			return false, ctx.Err()
		}
		// The outcome may be unknown (a commit that timed out): never abort
		// it from here. A new producer with the same transactional id makes
		// the broker finish it; the stores, whose writes were not applied,
		// catch up from their changelogs.
		t.log.Warn("transaction failed; rejoining the group with a new producer", "err", err)
		return false, errRejoin
	}
	if !committed {
		return false, nil
	}
	held := map[string]map[int32]kgo.EpochOffset{}
	for _, tk := range t.active {
		for _, in := range tk.Inputs() {
			if off, ok := in.Head(); ok {
				real := t.app.realTopic(in.Topic)
				if held[real] == nil {
					held[real] = map[int32]kgo.EpochOffset{}
				}
				held[real][in.Partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
				in.Clear()
			}
		}
	}
	if len(held) > 0 {
		t.cl.SetOffsets(held)
	}
	t.app.purgeLater(commit)
	return true, nil
}

// rewriteTxnOffsets makes req commit exactly offsets, keeping the topic ids
// and metadata franz-go filled in.
func rewriteTxnOffsets(req *kmsg.TxnOffsetCommitRequest, offsets map[string]map[int32]kgo.EpochOffset) {
	ids := map[string][16]byte{}
	for _, rt := range req.Topics {
		ids[rt.Topic] = rt.TopicID
	}
	req.Topics = req.Topics[:0]
	for topic, ps := range offsets {
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic, rt.TopicID = topic, ids[topic]
		for p, eo := range ps {
			rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch = p, eo.Offset, eo.Epoch
			rp.Metadata = &req.MemberID
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
}

// offsetMap turns the engine's offsets into franz-go's, keyed by the
// broker's topic names.
func (t *thread) offsetMap(offsets []engine.Offset) map[string]map[int32]kgo.EpochOffset {
	m := map[string]map[int32]kgo.EpochOffset{}
	for _, o := range offsets {
		real := t.app.realTopic(o.Topic)
		ps := m[real]
		if ps == nil {
			ps = map[int32]kgo.EpochOffset{}
			m[real] = ps
		}
		ps[o.Partition] = kgo.EpochOffset{Epoch: -1, Offset: o.Next}
	}
	return m
}

// commit runs the engine's commit sequence over the active tasks, under the
// thread's guarantee. An aborted transaction rewinds them. mu is held.
func (t *thread) commit(ctx context.Context) error {
	_, err := t.commitAll(ctx)
	return err
}

// commitAll is commit, reporting whether the commit went through (false
// once an aborted transaction rewound the tasks). mu is held.
func (t *thread) commitAll(ctx context.Context) (bool, error) {
	t.lastCommit.Store(nowNanos())
	if !t.eos && t.pauses != nil {
		// Stores send their changelogs the writes they folded at this
		// commit. A member paused past the session timeout was removed
		// from the group and its tasks have new owners; sending now would
		// put its stale state on top of theirs (a transaction fences that
		// under exactly-once). Drop the work and join again.
		if p := t.pauses.take(); p > t.app.cfg.sessionTimeout {
			t.log.Warn("this process stood still longer than the session timeout; dropping uncommitted work and rejoining the group", "paused", p.Round(time.Millisecond), "session_timeout", t.app.cfg.sessionTimeout)
			return false, errRejoin
		}
	}
	t.group.Tasks = t.group.Tasks[:0]
	t.worked = t.worked[:0]
	for _, tk := range t.active {
		if tk.Dirty() {
			t.worked = append(t.worked, tk)
		}
		// Flushed here, not in the group's commit, so that what a cache
		// sends carries its task's context.
		t.sending(tk)
		if err := tk.Flush(); err != nil {
			return false, err
		}
		t.group.Tasks = append(t.group.Tasks, tk)
	}
	began := time.Now()
	committed, err := t.group.Commit(ctx, t)
	if len(t.worked) > 0 {
		t.metrics.committed(began, err == nil && committed)
	}
	t.txnDirty = false
	var later *commitLater
	if errors.As(err, &later) {
		return false, t.commitFailed(later)
	}
	t.commitFailing = time.Time{}
	if err != nil {
		return false, err
	}
	if committed {
		t.app.committed(t.worked)
	}
	if !committed {
		t.rewind("the transaction was aborted")
	}
	return committed, nil
}

// commitLater is an at-least-once offset commit that failed with an error
// that passes, as a connection dropped or a coordinator moving: the tasks
// keep their state and offsets, and the next commit tries again. Kafka
// Streams does the same with the commit failures it counts against
// task.timeout.ms.
type commitLater struct{ err error }

func (e *commitLater) Error() string { return "runtime: commit offsets: " + e.err.Error() }
func (e *commitLater) Unwrap() error { return e.err }

// commitRetryFor bounds how long at-least-once commits may keep failing with
// errors that pass before the thread fails: Kafka's task.timeout.ms default.
const commitRetryFor = 5 * time.Minute

// commitFailed keeps the tasks uncommitted for the next commit, or fails
// once commits have failed for longer than commitRetryFor. mu is held.
func (t *thread) commitFailed(later *commitLater) error {
	now := time.Now()
	if t.commitFailing.IsZero() {
		t.commitFailing = now
	}
	if failing := now.Sub(t.commitFailing); failing > commitRetryFor {
		return fmt.Errorf("runtime: thread %s: offset commits failed for %s: %w", t.name, failing.Round(time.Second), later.err)
	}
	t.log.Warn("offset commit failed; the next commit tries again", "err", later.err)
	return nil
}
