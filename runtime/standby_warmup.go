package runtime

import (
	"context"
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
// (probing.rebalance.interval.ms); it asks as soon as they are caught up.
// Default 10 minutes.
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
	cl    *kgo.Client // the thread's client, to ask for a rebalance
	since time.Time
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

// checkLags learns the end offsets of the standbys' changelogs, then asks
// for a rebalance on behalf of each thread whose warm-ups have caught up,
// or have warmed up for the probing interval.
func (s *standbys) checkLags(ctx context.Context) {
	s.mu.Lock()
	cl := s.cl
	var topics []string
	for topic, ps := range s.byTP {
		if len(ps) > 0 {
			topics = append(topics, topic)
		}
	}
	s.mu.Unlock()
	if cl == nil || len(topics) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics...)
	if err != nil {
		s.log.Debug("standby changelog end offsets", "err", err)
		return
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
	var probe []*kgo.Client
	s.mu.Lock()
	s.ends = ends
	acceptable := s.app.cfg.acceptableLag
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
		if caught || time.Since(w.since) >= s.app.cfg.probingInterval {
			s.log.Info("warm-up replicas caught up; asking for a probing rebalance", "tasks", len(w.tasks), "caught_up", caught)
			w.tasks = nil
			s.warm[th] = w
			probe = append(probe, w.cl)
		}
	}
	s.mu.Unlock()
	// Outside mu: the client's group goroutine takes it for the task lags
	// of the join that this starts.
	for _, cl := range probe {
		cl.ForceRebalance()
	}
}
