package harness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// VerifyConfig says what to verify.
type VerifyConfig struct {
	Brokers   []string
	AppID     string
	Guarantee Guarantee
	// Settle bounds the wait for open transactions to finish (last stable
	// offset reaching the high watermark) and for the group to empty.
	// Default 15s; make it longer than the transaction timeout.
	Settle time.Duration
}

// Verification is what Verify found.
type Verification struct {
	// Read is the number of records read per output topic.
	Read map[string]int
	// Duplicates per output topic, under at_least_once: records beyond one
	// per input in echo, counts beyond the number of inputs in the
	// aggregates.
	Duplicates map[string]int
	Violations []string
}

// Verify checks the outputs of the application against in once every
// process has stopped. An error means the harness could not look, not that
// the application is wrong.
func Verify(ctx context.Context, vc VerifyConfig, in *Input) (*Verification, error) {
	if vc.Settle <= 0 {
		vc.Settle = 15 * time.Second
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(vc.Brokers...))
	if err != nil {
		return nil, fmt.Errorf("harness: verify: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	v := &Verification{Read: map[string]int{}, Duplicates: map[string]int{}}

	// (d) Every transaction finished: on every topic the application
	// writes, the last stable offset is the high watermark.
	topics, err := appTopics(ctx, adm, vc.AppID)
	if err != nil {
		return nil, err
	}
	ends, stuck, err := settleLSO(ctx, adm, topics, vc.Settle)
	if err != nil {
		return nil, err
	}
	v.Violations = append(v.Violations, stuck...)

	// (a)-(c) The contents of each output.
	var outTopics []string
	for _, o := range Outputs {
		outTopics = append(outTopics, o.Topic)
	}
	recs, err := readToEnd(ctx, vc.Brokers, outTopics, ends, 60*time.Second)
	if err != nil {
		return nil, err
	}
	for _, o := range Outputs {
		f := &findings{prefix: o.Topic + ": "}
		keyed := byKey(f, recs[o.Topic])
		d := o.Check(f, in, keyed, vc.Guarantee)
		v.Read[o.Topic] = len(recs[o.Topic])
		if vc.Guarantee == AtLeastOnce {
			v.Duplicates[o.Topic] = d
		}
		v.Violations = append(v.Violations, f.result()...)
	}

	// The group consumed the inputs to their ends.
	v.Violations = append(v.Violations, checkConsumed(ctx, adm, vc.AppID)...)

	// (e) Every process left the group.
	v.Violations = append(v.Violations, checkGroupEmpty(ctx, adm, vc.AppID, vc.Settle)...)
	return v, nil
}

// appTopics lists the topics the application writes: the outputs and its
// internal topics.
func appTopics(ctx context.Context, adm *kadm.Client, appID string) ([]string, error) {
	td, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("harness: verify: list topics: %w", err)
	}
	var ts []string
	for _, o := range Outputs {
		ts = append(ts, o.Topic)
	}
	for _, t := range td.Names() {
		if strings.HasPrefix(t, appID+"-") {
			ts = append(ts, t)
		}
	}
	slices.Sort(ts)
	return ts, nil
}

// settleLSO waits up to settle for the last stable offset of every
// partition of topics to reach its high watermark, and returns the high
// watermarks and, as violations, the partitions where it did not.
func settleLSO(ctx context.Context, adm *kadm.Client, topics []string, settle time.Duration) (kadm.ListedOffsets, []string, error) {
	deadline := time.Now().Add(settle)
	for {
		hw, err := adm.ListEndOffsets(ctx, topics...)
		if err == nil {
			err = hw.Error()
		}
		if err != nil {
			return nil, nil, fmt.Errorf("harness: verify: list end offsets: %w", err)
		}
		lso, err := adm.ListCommittedOffsets(ctx, topics...)
		if err == nil {
			err = lso.Error()
		}
		if err != nil {
			return nil, nil, fmt.Errorf("harness: verify: list committed offsets: %w", err)
		}
		var stuck []string
		hw.Each(func(o kadm.ListedOffset) {
			l, ok := lso.Lookup(o.Topic, o.Partition)
			if !ok || l.Offset != o.Offset {
				stuck = append(stuck, fmt.Sprintf("topic %q partition %d: last stable offset %d, high watermark %d %v after the last process stopped: a transaction was left open",
					o.Topic, o.Partition, l.Offset, o.Offset, settle))
			}
		})
		if len(stuck) == 0 || time.Now().After(deadline) {
			slices.Sort(stuck)
			return hw, stuck, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// readToEnd reads topics from their start with a read_committed consumer
// until every partition is read up to its end in ends. Control records
// (transaction markers) are kept by the client and skipped here: they tell
// the reader how far it got even when the last data records of a partition
// were aborted.
func readToEnd(ctx context.Context, brokers, topics []string, ends kadm.ListedOffsets, timeout time.Duration) (map[string][]Record, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)
	if err != nil {
		return nil, fmt.Errorf("harness: verify: %w", err)
	}
	defer cl.Close()
	type tp struct {
		t string
		p int32
	}
	todo := map[tp]int64{} // partition → offset of its last record
	for _, t := range topics {
		for p, o := range ends[t] {
			if o.Offset > 0 {
				todo[tp{t, p}] = o.Offset - 1
			}
		}
	}
	out := map[string][]Record{}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for len(todo) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			var left []string
			for k, o := range todo {
				left = append(left, fmt.Sprintf("%s/%d (to offset %d)", k.t, k.p, o))
			}
			slices.Sort(left)
			return nil, fmt.Errorf("harness: verify: could not read to the end of %s within %v", strings.Join(left, ", "), timeout)
		}
		var errs []error
		fs.EachError(func(t string, p int32, err error) {
			errs = append(errs, fmt.Errorf("topic %q partition %d: %w", t, p, err))
		})
		if len(errs) > 0 {
			return nil, fmt.Errorf("harness: verify: reading outputs: %w", errors.Join(errs...))
		}
		fs.EachRecord(func(r *kgo.Record) {
			k := tp{r.Topic, r.Partition}
			if last, ok := todo[k]; ok && r.Offset >= last {
				delete(todo, k)
			}
			if r.Attrs.IsControl() {
				return
			}
			out[r.Topic] = append(out[r.Topic], Record{Key: string(r.Key), Value: r.Value, Timestamp: r.Timestamp.UnixMilli(), Partition: r.Partition, Offset: r.Offset})
		})
	}
	return out, nil
}

// checkConsumed checks that the group committed the inputs to their ends.
func checkConsumed(ctx context.Context, adm *kadm.Client, appID string) []string {
	ends, err := adm.ListEndOffsets(ctx, InputTopic, TableTopic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return []string{fmt.Sprintf("cannot list the ends of %s and %s: %v", InputTopic, TableTopic, err)}
	}
	committed, err := adm.FetchOffsetsForTopics(ctx, appID, InputTopic, TableTopic)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		return []string{fmt.Sprintf("cannot fetch the offsets group %q committed: %v", appID, err)}
	}
	var out []string
	ends.Each(func(e kadm.ListedOffset) {
		c, ok := committed.Lookup(e.Topic, e.Partition)
		if e.Offset > 0 && (!ok || c.At != e.Offset) {
			out = append(out, fmt.Sprintf("group %q committed offset %d on %s partition %d, whose end is %d: the input was not consumed to its end",
				appID, c.At, e.Topic, e.Partition, e.Offset))
		}
	})
	slices.Sort(out)
	return out
}

// checkGroupEmpty waits up to settle for the group to have no members.
func checkGroupEmpty(ctx context.Context, adm *kadm.Client, appID string, settle time.Duration) []string {
	deadline := time.Now().Add(settle)
	for {
		gs, err := adm.DescribeGroups(ctx, appID)
		var problem string
		switch g, ok := gs[appID]; {
		case err != nil:
			problem = fmt.Sprintf("cannot describe group %q: %v", appID, err)
		case !ok:
			problem = fmt.Sprintf("group %q was not described", appID)
		case g.Err != nil:
			problem = fmt.Sprintf("cannot describe group %q: %v", appID, g.Err)
		case len(g.Members) > 0:
			var ms []string
			for _, m := range g.Members {
				ms = append(ms, fmt.Sprintf("%s (client %s, host %s)", m.MemberID, m.ClientID, m.ClientHost))
			}
			problem = fmt.Sprintf("group %q is %s with %d members %v after every process stopped: %s",
				appID, g.State, len(g.Members), settle, strings.Join(ms, ", "))
		default:
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return []string{problem}
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// tailer reads the outputs with a read_committed consumer while the
// application runs, so the harness can tell when the outputs cover the
// input.
type tailer struct {
	cl     *kgo.Client
	mu     sync.Mutex
	recs   map[string][]Record
	cancel context.CancelFunc
	done   chan struct{}
}

func startTailer(brokers []string) (*tailer, error) {
	var topics []string
	for _, o := range Outputs {
		topics = append(topics, o.Topic)
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &tailer{cl: cl, recs: map[string][]Record{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				return
			}
			// Errors are retried by the client; the drain's timeout covers a
			// consumer that never recovers.
			t.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				t.recs[r.Topic] = append(t.recs[r.Topic], Record{Key: string(r.Key), Value: r.Value, Timestamp: r.Timestamp.UnixMilli(), Partition: r.Partition, Offset: r.Offset})
			})
			t.mu.Unlock()
		}
	}()
	return t, nil
}

// covered reports whether every output reflects every input at least once,
// and how many records the tailer has read.
func (t *tailer) covered(in *Input) (bool, int) {
	t.mu.Lock()
	recs := maps.Clone(t.recs)
	t.mu.Unlock()
	n := 0
	ok := true
	for _, o := range Outputs {
		n += len(recs[o.Topic])
		f := &findings{}
		o.Check(f, in, byKey(f, recs[o.Topic]), AtLeastOnce)
		if len(f.list) > 0 {
			ok = false
		}
	}
	return ok, n
}

func (t *tailer) close() {
	t.cancel()
	<-t.done
	t.cl.Close()
}
