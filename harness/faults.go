package harness

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The kinds of broker faults the chaos injects, as the report counts them.
const (
	// FaultProduce fails produce requests with retriable errors, some of
	// them (REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND) after the
	// broker appended the batch, so that a retry must be deduplicated.
	FaultProduce = "produce-error"
	// FaultFetch fails fetch requests with retriable partition errors.
	FaultFetch = "fetch-error"
	// FaultNotCoordinator answers group or transaction coordinator
	// requests NOT_COORDINATOR.
	FaultNotCoordinator = "not-coordinator"
	// FaultCoordinatorLoading answers them COORDINATOR_LOAD_IN_PROGRESS.
	FaultCoordinatorLoading = "coordinator-loading"
	// FaultSlowCommit holds transaction commits (EndTxn with commit set;
	// offset commits under at_least_once) before the broker acts on them,
	// now and then past the transaction timeout.
	FaultSlowCommit = "slow-commit"
	// FaultConnDrop closes the connection of requests instead of
	// answering them.
	FaultConnDrop = "connection-drop"
	// FaultRestart stops the broker, which saves its state and drops
	// every connection, and starts it again on the same port.
	FaultRestart = "broker-restart"
)

// faultKinds is the order a round of faults is shuffled from: each round
// injects every kind once, so even a short run sees them all.
var faultKinds = []string{FaultProduce, FaultFetch, FaultNotCoordinator, FaultCoordinatorLoading, FaultSlowCommit, FaultConnDrop, FaultRestart}

var (
	produceErrs = []*kerr.Error{kerr.NotLeaderForPartition, kerr.LeaderNotAvailable, kerr.NotEnoughReplicas, kerr.RequestTimedOut, kerr.NotEnoughReplicasAfterAppend}
	fetchErrs   = []*kerr.Error{kerr.NotLeaderForPartition, kerr.ReplicaNotAvailable, kerr.KafkaStorageError, kerr.OffsetNotAvailable}
	// The requests a coordinator answers; which ones depends on the
	// guarantee, since only exactly-once has a transaction coordinator.
	// AddPartitionsToTxn and AddOffsetsToTxn are not among them: franz-go
	// leaves them out against a broker with KIP-890's second part, as
	// kfake is.
	groupKeys = []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.OffsetFetch}
	txnKeys   = []kmsg.Key{kmsg.InitProducerID, kmsg.TxnOffsetCommit, kmsg.EndTxn}
	aloKeys   = []kmsg.Key{kmsg.OffsetCommit}
	// Connection drops hit the producer's, the consumer's and the
	// coordinators' connections, or whatever request comes next.
	dropKeys    = []int16{int16(kmsg.Produce), int16(kmsg.Fetch), int16(kmsg.Heartbeat), -1}
	dropTxnKeys = []int16{int16(kmsg.TxnOffsetCommit), int16(kmsg.EndTxn)}
	dropALOKeys = []int16{int16(kmsg.OffsetCommit)}
)

// faultWindow is how long an injected fault waits for the requests it
// fails: one that found fewer by then is removed, so faults never pile up.
const faultWindow = 3 * time.Second

// injectFaults injects one broker fault after another, a seeded draw of
// kinds and details, until ctx is done. Each fault is counted when it
// failed, held or dropped at least one request (a restart always counts).
func (f *Fleet) injectFaults(ctx context.Context, b *Broker, cc ChaosConfig) {
	rng := rand.New(rand.NewPCG(cc.Seed, 0xfa017))
	between := func(lo, hi time.Duration) time.Duration {
		return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
	}
	var round []string
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(between(cc.MinFaultInterval, cc.MaxFaultInterval)):
		}
		if len(round) == 0 {
			round = append(round, faultKinds...)
			rng.Shuffle(len(round), func(i, j int) { round[i], round[j] = round[j], round[i] })
		}
		kind := round[0]
		round = round[1:]
		var desc string
		var hits int
		var err error
		switch kind {
		case FaultRestart:
			down := between(100*time.Millisecond, f.maxDown())
			desc = fmt.Sprintf("down for %v", down)
			if f.cfg.Guarantee == ExactlyOnce && !f.transactionsYoung(ctx, b) {
				f.logf("broker fault %s skipped: a transaction stayed open too long to restart under", kind)
				continue
			}
			f.logf("broker fault %s: %s", kind, desc)
			start := time.Now()
			if err = b.Restart(down); err == nil {
				hits = 1
				desc += fmt.Sprintf(", serving again after %v", time.Since(start).Round(time.Millisecond))
			}
		case FaultSlowCommit:
			hits, desc = f.slowCommits(ctx, b, rng)
		case FaultConnDrop:
			hits, desc = f.dropConns(ctx, b, rng)
		default:
			hits, desc = f.failRequests(ctx, b, rng, kind)
		}
		if err != nil {
			f.violation("broker fault %s: %v", kind, err)
			return
		}
		f.logf("broker fault %s (%s): %d requests", kind, desc, hits)
		if hits > 0 {
			f.mu.Lock()
			if f.stats.BrokerFaults == nil {
				f.stats.BrokerFaults = map[string]int{}
				f.stats.FaultedRequests = map[string]int{}
			}
			f.stats.BrokerFaults[kind]++
			if kind != FaultRestart {
				f.stats.FaultedRequests[kind] += hits
			}
			f.mu.Unlock()
		}
	}
}

// maxDown bounds how long a broker restart keeps the broker down. Under
// exactly-once it stays well under the transaction timeout, and the
// restart waits for every open transaction to be young (transactionsYoung):
// kfake aborts a transaction that was open longer than its timeout when it
// starts again from its saved state, without bumping the producer's epoch
// as its own timeout abort does, so the producer goes on unfenced in a
// transaction of its own making and commits offsets whose outputs were
// aborted. A Kafka broker keeps open transactions through a restart, and
// fences the producer of one it aborts.
func (f *Fleet) maxDown() time.Duration {
	if tt := f.cfg.TransactionTimeout; tt > 0 && f.cfg.Guarantee == ExactlyOnce {
		return min(3*time.Second, tt/3)
	}
	return 3 * time.Second
}

// transactionsYoung waits, a few seconds at most, until no transaction
// the broker holds open is older than a third of the transaction timeout,
// so that none outlives its timeout across a restart (see maxDown).
func (f *Fleet) transactionsYoung(ctx context.Context, b *Broker) bool {
	limit := f.cfg.TransactionTimeout / 3
	if limit <= 0 {
		limit = time.Second
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		return false
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(faultWindow)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		young, err := openTransactionsYoung(ctx, adm, limit)
		if err == nil && young {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func openTransactionsYoung(ctx context.Context, adm *kadm.Client, limit time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	described, err := adm.DescribeTransactions(ctx)
	if err != nil {
		return false, err
	}
	oldest := time.Now().Add(-limit).UnixMilli()
	for _, d := range described {
		if d.Err != nil {
			return false, d.Err
		}
		if d.State == "Ongoing" && d.StartTimestamp > 0 && d.StartTimestamp < oldest {
			return false, nil
		}
	}
	return true, nil
}

// failRequests answers the next few requests of a kind with a retriable
// error, through kfake's Fault, and returns how many it answered.
func (f *Fleet) failRequests(ctx context.Context, b *Broker, rng *rand.Rand, kind string) (int, string) {
	c := b.cluster()
	if c == nil {
		return 0, "broker closed"
	}
	n := 1 + rng.IntN(4)
	var flt kfake.Fault
	switch kind {
	case FaultProduce:
		// Mostly aimed at an output of the application, whose producers
		// are transactional under exactly-once; sometimes at whatever is
		// produced next, the generator's writes and changelogs included.
		flt = kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: produceErrs[rng.IntN(len(produceErrs))]}
		if i := rng.IntN(len(Outputs) + 2); i < len(Outputs) {
			flt.Topic = Outputs[i].Topic
		}
	case FaultFetch:
		flt = kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Err: fetchErrs[rng.IntN(len(fetchErrs))]}
	case FaultNotCoordinator, FaultCoordinatorLoading:
		keys := append(append([]kmsg.Key(nil), groupKeys...), aloKeys...)
		if f.cfg.Guarantee == ExactlyOnce {
			keys = append(append([]kmsg.Key(nil), groupKeys...), txnKeys...)
		}
		e := kerr.NotCoordinator
		if kind == FaultCoordinatorLoading {
			e = kerr.CoordinatorLoadInProgress
		}
		flt = kfake.Fault{Keys: []kmsg.Key{keys[rng.IntN(len(keys))]}, Err: e}
	}
	flt.Count = n
	desc := fmt.Sprintf("%s on up to %d %s requests", flt.Err.Message, n, flt.Keys[0].Name())
	if flt.Topic != "" {
		desc += " to " + flt.Topic
	}
	f.logf("broker fault %s: %s", kind, desc)
	h := c.Fault(flt)
	wctx, cancel := context.WithTimeout(ctx, faultWindow)
	_ = h.Wait(wctx, n)
	cancel()
	h.Remove()
	return h.Hits(), desc
}

// slowCommits holds the next few commits for a while before the broker
// handles them, with kfake's SleepControl: the committing client waits,
// the other connections go on. Under exactly-once a commit is an EndTxn
// that commits; under at-least-once an OffsetCommit.
func (f *Fleet) slowCommits(ctx context.Context, b *Broker, rng *rand.Rand) (int, string) {
	c := b.cluster()
	if c == nil {
		return 0, "broker closed"
	}
	n := 1 + rng.IntN(3)
	hold := 200*time.Millisecond + time.Duration(rng.Int64N(int64(1800*time.Millisecond)))
	if tt := f.cfg.TransactionTimeout; tt > 0 && f.cfg.Guarantee == ExactlyOnce && rng.IntN(4) == 0 {
		// Held past the transaction timeout: the broker aborts the
		// transaction the commit is for, which then finds it gone.
		hold = tt + 500*time.Millisecond + time.Duration(rng.Int64N(int64(time.Second)))
	}
	key := kmsg.EndTxn
	if f.cfg.Guarantee != ExactlyOnce {
		key = kmsg.OffsetCommit
	}
	desc := fmt.Sprintf("%d %s requests held %v each", n, key.Name(), hold)
	f.logf("broker fault %s: %s", FaultSlowCommit, desc)
	var left, hits atomic.Int64
	left.Store(int64(n))
	var over atomic.Bool
	c.ControlKey(int16(key), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if over.Load() {
			c.DropControl()
			return nil, nil, false
		}
		if r, ok := req.(*kmsg.EndTxnRequest); ok && !r.Commit {
			return nil, nil, false
		}
		if left.Add(-1) < 0 {
			c.DropControl()
			return nil, nil, false
		}
		hits.Add(1)
		c.SleepControl(func() { time.Sleep(hold) })
		// Not handled: the broker answers the commit as usual, late.
		return nil, nil, false
	})
	waitFor(ctx, faultWindow+hold, func() bool { return left.Load() <= 0 })
	over.Store(true)
	return int(hits.Load()), desc
}

// dropConns closes the connection of the next few requests of a kind
// instead of answering them, with a kfake control that keeps itself
// (KeepControl) until it has dropped enough.
func (f *Fleet) dropConns(ctx context.Context, b *Broker, rng *rand.Rand) (int, string) {
	c := b.cluster()
	if c == nil {
		return 0, "broker closed"
	}
	n := 1 + rng.IntN(5)
	keys := append(append([]int16(nil), dropKeys...), dropALOKeys...)
	if f.cfg.Guarantee == ExactlyOnce {
		keys = append(append([]int16(nil), dropKeys...), dropTxnKeys...)
	}
	key := keys[rng.IntN(len(keys))]
	name := "any"
	if key >= 0 {
		name = kmsg.Key(key).Name()
	}
	desc := fmt.Sprintf("connections of up to %d %s requests", n, name)
	f.logf("broker fault %s: %s", FaultConnDrop, desc)
	var left, hits atomic.Int64
	left.Store(int64(n))
	var over atomic.Bool
	c.ControlKey(key, func(kmsg.Request) (kmsg.Response, error, bool) {
		if over.Load() || left.Add(-1) < 0 {
			c.DropControl()
			return nil, nil, false
		}
		hits.Add(1)
		c.KeepControl()
		return nil, errDropped, true
	})
	waitFor(ctx, faultWindow, func() bool { return left.Load() <= 0 })
	over.Store(true)
	return int(hits.Load()), desc
}

var errDropped = errors.New("harness: connection dropped by a broker fault")

// waitFor polls done until it holds, d passed or ctx is done.
func waitFor(ctx context.Context, d time.Duration, done func() bool) {
	deadline := time.Now().Add(d)
	for !done() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
}
