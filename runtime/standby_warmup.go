package runtime

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/samsa-go/samsa/internal/assign"
	"github.com/samsa-go/samsa/processor"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// AcceptableRecoveryLag sets how many changelog records a copy of a task
// may trail by and still count as caught up (acceptable.recovery.lag):
// a task moves only to an instance that is caught up on it; another
// instance the balance would give it to first warms a copy up, as a
// standby, while the task keeps running where it is, and takes it over in
// a rebalance it asks for once caught up (KIP-441). The group leader's
// setting holds. Default 10,000.
func AcceptableRecoveryLag(records int64) Option {
	return func(c *config) { c.acceptableLag = records }
}

// MaxWarmupReplicas bounds the warm-up replicas one rebalance hands out
// (max.warmup.replicas): more move tasks sooner, each warming up at the
// cost of reading its changelog. The group leader's setting holds. Default
// 2.
func MaxWarmupReplicas(n int) Option { return func(c *config) { c.maxWarmups = n } }

// ProbingRebalanceInterval bounds how long an instance keeps warm-up
// replicas before it asks for a rebalance anyway, caught up or not
// (probing.rebalance.interval.ms): Kafka Streams' leader schedules one that
// long after it handed warm-ups out. An instance also asks as soon as its
// warm-ups caught up, but when the rebalance it asked for left them
// warm-ups, it waits a second, then twice as long each time, up to the
// interval. Default 10 minutes.
func ProbingRebalanceInterval(d time.Duration) Option {
	return func(c *config) { c.probingInterval = d }
}

// Defaults of the warm-up options, Kafka Streams'.
const (
	defaultAcceptableLag   = assign.DefaultAcceptableRecoveryLag
	defaultMaxWarmups      = assign.DefaultMaxWarmups
	defaultProbingInterval = 10 * time.Minute
)

// lagCheckInterval is how often the standby keeper learns the changelogs'
// end offsets, for the lags the subscription reports and to tell when
// warm-ups have caught up.
const lagCheckInterval = 500 * time.Millisecond

// warmups are one thread's warm-up replicas, from its last assignment.
type warmups struct {
	tasks []processor.TaskID
	since time.Time
	// probed are the warm-ups the thread last asked a rebalance for;
	// backoff is how long caught-up warm-ups wait before they ask: zero,
	// but after a rebalance that left them warm-ups (see nextBackoff).
	probed  []processor.TaskID
	backoff time.Duration
}

// due reports whether the thread asks for a probing rebalance now: once
// the warm-ups warmed up for the probing interval, as Kafka Streams' leader
// schedules one that long after it hands warm-ups out, and before that as
// soon as they caught up. Caught up, they ask at once, unless the last
// time they did the task stayed where it was: then they wait, longer each
// time (nextBackoff), so that a copy whose lag hovers about the threshold
// does not make the group rebalance every second.
func (w warmups) due(caught bool, now time.Time, probing time.Duration) bool {
	waited := now.Sub(w.since)
	return caught && waited >= w.backoff || waited >= probing
}

// minProbeBackoff is the first wait of warm-ups that asked for a
// rebalance and were left warm-ups by it; each such rebalance doubles it,
// up to the probing interval.
const minProbeBackoff = time.Second

// nextBackoff is the wait of caught-up warm-ups, given the last ones (w)
// and the new assignment's (warm): if a task the thread asked for stayed a
// warm-up, the rebalance moved nothing the thread was ready for, so the
// wait doubles; else it is zero.
func (w warmups) nextBackoff(warm []processor.TaskID, probing time.Duration) time.Duration {
	for _, id := range w.probed {
		if slices.Contains(warm, id) {
			return min(max(2*w.backoff, minProbeBackoff), probing)
		}
	}
	return 0
}

// taskLags are this process's lags for the subscription: 0 for the tasks
// its threads ran until this rebalance, the lag last measured for its
// standbys (summed over their changelogs). It runs on a group's goroutine
// and does not block on the network.
func (s *standbys) taskLags() []assign.TaskLag {
	s.mu.Lock()
	defer s.mu.Unlock()
	lags := map[processor.TaskID]int64{}
	for id, st := range s.tasks {
		var sum int64
		known := true
		for _, lg := range st.logs {
			end, ok := s.ends[lg.cl.Topic][lg.cl.Partition]
			if !ok {
				known = false
				break
			}
			sum += max(end-(lg.last+1), 0)
		}
		if known {
			lags[id] = sum
		}
	}
	for _, ids := range s.prevActive {
		for _, id := range ids {
			lags[id] = 0
		}
	}
	out := make([]assign.TaskLag, 0, len(lags))
	for id, l := range lags {
		out = append(out, assign.TaskLag{Task: assign.TaskID{Subtopology: id.Subtopology, Partition: id.Partition}, Lag: l})
	}
	return out
}

// changelogEnds returns the records each stateful task's changelogs held
// when last listed, for the leader's balance: the most a process without a
// copy of the task restores. It runs on a group's goroutine and does not
// block on the network.
func (s *standbys) changelogEnds() map[assign.TaskID]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.taskEnds)
}

// checkLags learns the end offsets of every changelog (learnEnds), then
// asks for a rebalance on behalf of each thread whose warm-ups have caught
// up, or have warmed up for the probing interval.
func (s *standbys) checkLags(ctx context.Context) {
	ends, ok := s.learnEnds(ctx, 5*time.Second)
	if !ok {
		return
	}
	a := s.app
	var probe []*kgo.Client
	now := time.Now()
	s.mu.Lock()
	acceptable := a.cfg.acceptableLag
	for th, w := range s.warm {
		if len(w.tasks) == 0 {
			continue
		}
		caught := true
		for _, id := range w.tasks {
			st := s.tasks[id]
			if st == nil {
				caught = false
				break
			}
			var lag int64
			for _, lg := range st.logs {
				end, ok := ends[lg.cl.Topic][lg.cl.Partition]
				if !ok {
					lag = acceptable + 1
					break
				}
				lag += max(end-(lg.last+1), 0)
			}
			if lag > acceptable {
				caught = false
				break
			}
		}
		// The thread's client, once it has one: the first assignment can
		// come before NewClient returned it. Without it the warm-ups ask
		// at the next check.
		cl := th.groupCl.Load()
		if cl != nil && w.due(caught, now, a.cfg.probingInterval) {
			s.log.Info("asking for a probing rebalance", "warmups", len(w.tasks), "caught_up", caught, "warmed_for", now.Sub(w.since).Round(time.Millisecond))
			w.probed = slices.Clone(w.tasks)
			w.tasks = nil
			s.warm[th] = w
			probe = append(probe, cl)
		}
	}
	s.mu.Unlock()
	// Outside mu: the client's group goroutine takes it for the task lags
	// of the join that this starts.
	for _, cl := range probe {
		cl.ForceRebalance()
	}
}

// learnEnds learns the end offsets of every changelog, waiting at most
// timeout, and keeps them with the records each task's changelogs hold,
// for the lags the subscription reports and the leader's balance. It
// reports whether it learned them.
func (s *standbys) learnEnds(ctx context.Context, timeout time.Duration) (map[string]map[int32]int64, bool) {
	a := s.app
	var topics []string
	for _, topic := range a.layout.Changelogs {
		topics = append(topics, topic)
	}
	if a.adm == nil || len(topics) == 0 {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	listed, err := a.adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		s.log.Debug("changelog end offsets", "err", err)
		return nil, false
	}
	ends := map[string]map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			if ends[o.Topic] == nil {
				ends[o.Topic] = map[int32]int64{}
			}
			ends[o.Topic][o.Partition] = o.Offset
		}
	})
	taskEnds := map[assign.TaskID]int64{}
	for _, st := range a.graph.Subtopologies {
		if int(st.ID) >= len(a.layout.TaskCounts) {
			continue
		}
		for p := range a.layout.TaskCounts[st.ID] {
			var sum int64
			known, logged := true, false
			for _, store := range st.Stores {
				topic, ok := a.layout.Changelogs[store]
				if !ok {
					continue
				}
				logged = true
				end, ok := ends[topic][p]
				if !ok {
					known = false
					break
				}
				sum += end
			}
			if logged && known {
				taskEnds[assign.TaskID{Subtopology: st.ID, Partition: p}] = sum
			}
		}
	}
	s.mu.Lock()
	s.ends, s.taskEnds = ends, taskEnds
	s.mu.Unlock()
	return ends, true
}
