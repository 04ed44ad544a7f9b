package harness

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// ChaosConfig sets the pace of Fleet.Chaos.
type ChaosConfig struct {
	// Duration is how long the chaos lasts at least.
	Duration time.Duration
	// MinKills keeps the chaos going past Duration until this many
	// processes were killed, for at most 3×Duration.
	MinKills int
	// MinInterval and MaxInterval bound the time between two actions.
	// Defaults 2s and 3.5s.
	MinInterval, MaxInterval time.Duration
	// MinRestart and MaxRestart bound how long a killed or stopped process
	// stays down. Defaults 200ms and 1.5s.
	MinRestart, MaxRestart time.Duration
	// PauseFor is how long a paused process stays stopped; make it longer
	// than the session timeout, so that the group evicts the process and it
	// comes back a zombie. Default 5s.
	PauseFor time.Duration
	// Seed picks the intervals and the victims, and the broker faults.
	Seed uint64

	// Broker, when set, is the broker the application runs on, in this
	// process: alongside the process actions the chaos injects broker
	// faults through it, one every MinFaultInterval to MaxFaultInterval
	// (defaults 1.5s and 3s), in rounds that each inject every kind once
	// (see FaultProduce and the kinds after it).
	Broker                             *Broker
	MinFaultInterval, MaxFaultInterval time.Duration
}

type action int

const (
	actKill action = iota
	actPause
	actTerm
)

// rotation is the order of the actions: mostly kills, whose open
// transactions and half-applied state are what exactly-once must survive,
// with pauses (zombies) and clean stops between them.
var rotation = []action{actKill, actKill, actPause, actKill, actTerm, actKill}

// Chaos kills, pauses and stops the fleet's processes in rotation until
// the configuration says it has done enough or ctx is done, restarting each
// process soon after it went down. It returns once every process it touched
// runs again; a process that exited on its own is restarted too.
func (f *Fleet) Chaos(ctx context.Context, cc ChaosConfig) {
	if cc.MinInterval <= 0 {
		cc.MinInterval = 2 * time.Second
	}
	if cc.MaxInterval < cc.MinInterval {
		cc.MaxInterval = max(cc.MinInterval, 3500*time.Millisecond)
	}
	if cc.MinRestart <= 0 {
		cc.MinRestart = 200 * time.Millisecond
	}
	if cc.MaxRestart < cc.MinRestart {
		cc.MaxRestart = max(cc.MinRestart, 1500*time.Millisecond)
	}
	if cc.PauseFor <= 0 {
		cc.PauseFor = 5 * time.Second
	}
	if cc.MinFaultInterval <= 0 {
		cc.MinFaultInterval = 1500 * time.Millisecond
	}
	if cc.MaxFaultInterval < cc.MinFaultInterval {
		cc.MaxFaultInterval = max(cc.MinFaultInterval, 3*time.Second)
	}
	rng := rand.New(rand.NewPCG(cc.Seed, 0xc4a05))
	between := func(lo, hi time.Duration) time.Duration {
		return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
	}
	start := time.Now()
	var wg sync.WaitGroup
	faultCtx, stopFaults := context.WithCancel(ctx)
	defer func() {
		stopFaults()
		wg.Wait()
		f.restartDown()
	}()
	if cc.Broker != nil {
		// Broker faults run on their own clock, between and during the
		// process actions, so that they do not thin out the kills.
		wg.Go(func() { f.injectFaults(faultCtx, cc.Broker, cc) })
	}
	next := 0
	wait := between(cc.MinInterval, cc.MaxInterval)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		elapsed := time.Since(start)
		if elapsed >= cc.Duration && (f.Stats().Kills >= cc.MinKills || elapsed >= 3*cc.Duration) {
			return
		}
		f.restartDown()
		act := rotation[next%len(rotation)]
		in := f.victim(rng, act)
		if in == nil {
			// Everyone is down or busy: try the same action again soon.
			wait = 200 * time.Millisecond
			continue
		}
		next++
		wait = between(cc.MinInterval, cc.MaxInterval)
		down := between(cc.MinRestart, cc.MaxRestart)
		wg.Go(func() {
			defer f.release(in)
			switch act {
			case actKill:
				f.kill(in)
				time.Sleep(down)
				f.restart(in)
			case actPause:
				f.pause(in, cc.PauseFor)
			case actTerm:
				if f.stop(in) {
					f.mu.Lock()
					f.stats.CleanRestarts++
					f.mu.Unlock()
				}
				time.Sleep(down)
				f.restart(in)
			}
		})
	}
}

// victim picks a running instance no other action owns and marks it busy.
//
// It picks only processes that joined the group (reached RUNNING) since
// they started. A process killed while its first JoinGroup waits for an
// answer becomes, in kfake, a member that never expires (see Fleet.Nudge);
// under constant churn those pile up, and since kfake restarts the
// rebalance timeout at every join, the group would never finish a
// rebalance again. Kafka has neither problem. Members killed during later
// rebalances, during restores and mid-transaction are fair game.
//
// A clean stop also waits until the process is up for two seconds, so
// that SIGTERM finds the app's signal handler installed.
func (f *Fleet) victim(rng *rand.Rand, act action) *instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	var cands []*instance
	for _, in := range f.insts {
		if in.status != running || in.busy || !in.joined {
			continue
		}
		if act == actTerm && time.Since(in.startedAt) < 2*time.Second {
			continue
		}
		cands = append(cands, in)
	}
	if len(cands) == 0 {
		return nil
	}
	in := cands[rng.IntN(len(cands))]
	in.busy = true
	return in
}

func (f *Fleet) release(in *instance) {
	f.mu.Lock()
	in.busy = false
	f.mu.Unlock()
}

func (f *Fleet) restart(in *instance) {
	if err := f.start(in); err != nil {
		f.violation("restarting instance %d: %v", in.idx, err)
	}
}

// restartDown starts the instances that are down and that no action owns:
// those that exited on their own.
func (f *Fleet) restartDown() {
	f.mu.Lock()
	var ins []*instance
	for _, in := range f.insts {
		if in.status == down && !in.busy {
			ins = append(ins, in)
		}
	}
	f.mu.Unlock()
	for _, in := range ins {
		f.restart(in)
	}
}
