package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config is one run of the harness.
type Config struct {
	// Binary is the built harness/app; Brokers the cluster it runs on.
	Binary  string
	Brokers []string
	// Dir holds the processes' state directories and logs.
	Dir       string
	AppID     string
	Guarantee Guarantee
	// Instances is the number of application processes; default 3.
	Instances int

	CommitInterval     time.Duration
	SessionTimeout     time.Duration
	TransactionTimeout time.Duration
	// RebalanceTimeout is passed to the processes (franz-go's default is
	// 60s); keep it short, see Fleet.Nudge.
	RebalanceTimeout time.Duration
	// Standbys is each task's number of standby replicas.
	Standbys int

	Chaos     ChaosConfig
	Generator Generator
	// DrainTimeout bounds the wait, after the chaos, for the outputs to
	// cover the input. Default 2 minutes.
	DrainTimeout time.Duration

	Logf func(format string, args ...any)
}

// Report is the outcome of a run.
type Report struct {
	Guarantee Guarantee
	Duration  time.Duration
	// Records is the number of input records; Consumed how many of them
	// the group had committed as consumed when the chaos stopped, a measure
	// of how much work the chaos interrupted rather than prevented.
	Records  int
	Consumed int64
	// Read is the number of records read back per output topic.
	Read map[string]int
	// Duplicates per output topic, counted under at_least_once only.
	Duplicates map[string]int
	FleetStats
	// Drain is how long the application took to catch up once the chaos
	// stopped: until its outputs covered the input, or it had consumed its
	// sources to their ends and its outputs were quiet. Drained is false if
	// neither happened within the drain timeout.
	Drain   time.Duration
	Drained bool
	// Violations are the findings, one sentence each; none means the run
	// passed. Those about the processes themselves (exits nobody asked for,
	// unclean stops, panics) start with "process: "; the others are about
	// what the application wrote or left behind on the broker.
	Violations []string
	// Logs are the processes' log files.
	Logs []string
	// Input is what the generator wrote, for verifying again.
	Input *Input
}

func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "guarantee %s, %v: %d input records (%d consumed during the chaos); %d kills, %d pauses, %d clean restarts, %d unexpected exits, %d nudges, %d process starts\n",
		r.Guarantee, r.Duration.Round(time.Second), r.Records, r.Consumed, r.Kills, r.Pauses, r.CleanRestarts, r.UnexpectedExits, r.Nudges, r.Starts)
	if len(r.BrokerFaults) > 0 {
		total := 0
		var kinds []string
		for _, k := range faultKinds {
			if n := r.BrokerFaults[k]; n > 0 {
				total += n
				s := fmt.Sprintf("%s %d", k, n)
				if q := r.FaultedRequests[k]; q > 0 {
					s += fmt.Sprintf(" (%d requests)", q)
				}
				kinds = append(kinds, s)
			}
		}
		fmt.Fprintf(&b, "  %d broker faults: %s\n", total, strings.Join(kinds, ", "))
	}
	for _, o := range Outputs {
		fmt.Fprintf(&b, "  %-14s %d records read", o.Topic, r.Read[o.Topic])
		if r.Guarantee == AtLeastOnce {
			fmt.Fprintf(&b, ", %d duplicates", r.Duplicates[o.Topic])
		}
		b.WriteByte('\n')
	}
	if r.Drained {
		fmt.Fprintf(&b, "  the application caught up %v after the chaos\n", r.Drain.Round(time.Millisecond))
	} else {
		fmt.Fprintf(&b, "  the application did NOT catch up within %v after the chaos\n", r.Drain.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "%d violations\n", len(r.Violations))
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "  - %s\n", v)
	}
	return b.String()
}

// Run runs the application under chaos while the generator writes, then
// restarts every process, waits for the outputs to cover the input, stops
// the processes cleanly and verifies. An error means the harness itself
// failed; findings about the application are the report's violations.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	start := time.Now()
	if cfg.Guarantee == "" {
		cfg.Guarantee = ExactlyOnce
	}
	if cfg.AppID == "" {
		cfg.AppID = "samsa-eos-harness"
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 2 * time.Minute
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	fleet, err := NewFleet(FleetConfig{
		Binary: cfg.Binary, Brokers: cfg.Brokers, AppID: cfg.AppID, Guarantee: cfg.Guarantee,
		Instances: cfg.Instances, Dir: cfg.Dir,
		CommitInterval: cfg.CommitInterval, SessionTimeout: cfg.SessionTimeout, TransactionTimeout: cfg.TransactionTimeout,
		RebalanceTimeout: cfg.RebalanceTimeout, Standbys: cfg.Standbys,
		Logf: logf,
	})
	if err != nil {
		return nil, err
	}
	defer fleet.Close()
	if err := fleet.Start(); err != nil {
		return nil, err
	}

	gen := cfg.Generator
	gen.Brokers = cfg.Brokers
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	type genResult struct {
		in  *Input
		err error
	}
	genDone := make(chan genResult, 1)
	go func() {
		in, err := gen.Run(genCtx)
		genDone <- genResult{in, err}
	}()

	logf("chaos for %v (at least %d kills)", cfg.Chaos.Duration, cfg.Chaos.MinKills)
	fleet.Chaos(ctx, cfg.Chaos)
	stopGen()
	g := <-genDone
	if g.err != nil {
		return nil, g.err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	in := g.in
	adm, err := newAdmin(cfg.Brokers)
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	consumed := committedInput(ctx, adm.adm, cfg.AppID)
	logf("chaos over: %+v; %d input records, %d of them committed as consumed; draining", fleet.Stats(), in.Records(), consumed)

	drainStart := time.Now()
	tl, err := startTailer(cfg.Brokers)
	if err != nil {
		return nil, err
	}
	rebalance := cfg.RebalanceTimeout
	if rebalance <= 0 {
		rebalance = 60 * time.Second
	}
	drained := false
	lastLog, lastN, lastProgress := time.Now(), -1, time.Now()
	for time.Since(drainStart) < cfg.DrainTimeout && ctx.Err() == nil {
		ok, n := tl.covered(in)
		if ok {
			drained = true
			break
		}
		if n != lastN {
			lastN, lastProgress = n, time.Now()
		}
		// Outputs that never cover the input (a count that went wrong
		// stays wrong) end the drain once the application has consumed
		// everything and its outputs are quiet: the verifier says why.
		if time.Since(lastProgress) > 5*time.Second && caughtUp(ctx, adm.adm, cfg.AppID) {
			logf("the outputs do not cover the input, but the group consumed its sources to their ends and the outputs are quiet")
			drained = true
			break
		}
		if time.Since(lastLog) > 10*time.Second {
			logf("draining: %d output records read so far", n)
			lastLog = time.Now()
		}
		if time.Since(lastProgress) > rebalance+5*time.Second {
			members, state, err := groupMembers(ctx, adm.adm, cfg.AppID)
			if err == nil && (len(members) > fleet.Running() || state != "Stable") {
				logf("no progress for %v and group %q is %s with %d members for %d running processes: %s",
					time.Since(lastProgress).Round(time.Second), cfg.AppID, state, len(members), fleet.Running(), strings.Join(members, ", "))
				fleet.Nudge()
			}
			lastProgress = time.Now()
		}
		time.Sleep(500 * time.Millisecond)
	}
	drain := time.Since(drainStart)
	tl.close()
	stuckGroup := ""
	if !drained {
		members, state, err := groupMembers(ctx, adm.adm, cfg.AppID)
		stuckGroup = fmt.Sprintf("%s with members %v (err %v) for %d running processes", state, members, err, fleet.Running())
	}
	logf("drained=%v after %v; stopping every process", drained, drain.Round(time.Millisecond))

	fleet.Stop()
	fleet.ScanLogs()
	settle := max(2*cfg.TransactionTimeout, rebalance) + 5*time.Second
	v, err := Verify(ctx, VerifyConfig{Brokers: cfg.Brokers, AppID: cfg.AppID, Guarantee: cfg.Guarantee, Settle: settle}, in)
	if err != nil {
		return nil, err
	}
	r := &Report{
		Guarantee:  cfg.Guarantee,
		Records:    in.Records(),
		Read:       v.Read,
		Duplicates: v.Duplicates,
		FleetStats: fleet.Stats(),
		Drain:      drain,
		Consumed:   consumed,
		Drained:    drained,
		Logs:       fleet.Logs(),
		Input:      in,
	}
	r.Violations = append(fleet.Violations(), v.Violations...)
	if !drained {
		r.Violations = append(r.Violations, fmt.Sprintf("the outputs did not cover the input within %v after the chaos stopped and every process ran again; the group was then %s",
			cfg.DrainTimeout, stuckGroup))
	}
	if len(r.Violations) > 0 {
		dir := filepath.Join(cfg.Dir, "topics")
		if err := Dump(ctx, cfg.Brokers, cfg.AppID, dir); err != nil {
			logf("dumping the topics: %v", err)
		} else {
			logf("every record of every topic, aborted ones included, dumped to %s", dir)
		}
	}
	r.Duration = time.Since(start)
	return r, nil
}

type admin struct {
	cl  *kgo.Client
	adm *kadm.Client
}

func newAdmin(brokers []string) (*admin, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	return &admin{cl: cl, adm: kadm.NewClient(cl)}, nil
}

func (a *admin) Close() { a.cl.Close() }

// groupMembers returns the member ids and the state of a group.
func groupMembers(ctx context.Context, adm *kadm.Client, group string) ([]string, string, error) {
	gs, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return nil, "", err
	}
	g, ok := gs[group]
	if !ok {
		return nil, "", fmt.Errorf("group %q not described", group)
	}
	if g.Err != nil {
		return nil, "", g.Err
	}
	var ms []string
	for _, m := range g.Members {
		ms = append(ms, m.MemberID)
	}
	return ms, g.State, nil
}

// caughtUp reports whether the group committed every partition of its
// source topics (the inputs and the repartition topics) to the end. The
// committed offset of a transactional topic may stop one short of the end,
// before the last transaction's marker.
func caughtUp(ctx context.Context, adm *kadm.Client, appID string) bool {
	td, err := adm.ListTopics(ctx)
	if err != nil {
		return false
	}
	sources := []string{InputTopic, TableTopic}
	for _, t := range td.Names() {
		if strings.HasPrefix(t, appID+"-") && strings.HasSuffix(t, "-repartition") {
			sources = append(sources, t)
		}
	}
	ends, err := adm.ListEndOffsets(ctx, sources...)
	if err != nil || ends.Error() != nil {
		return false
	}
	committed, err := adm.FetchOffsetsForTopics(ctx, appID, sources...)
	if err != nil || committed.Error() != nil {
		return false
	}
	ok := true
	ends.Each(func(e kadm.ListedOffset) {
		c, found := committed.Lookup(e.Topic, e.Partition)
		slack := int64(0)
		if e.Topic != InputTopic && e.Topic != TableTopic {
			slack = 1
		}
		if e.Offset > 0 && (!found || c.At < e.Offset-slack) {
			ok = false
		}
	})
	return ok
}

// committedInput is the number of input records the group committed as
// consumed.
func committedInput(ctx context.Context, adm *kadm.Client, appID string) int64 {
	committed, err := adm.FetchOffsetsForTopics(ctx, appID, InputTopic)
	if err != nil {
		return -1
	}
	var n int64
	committed.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At > 0 {
			n += o.At
		}
	})
	return n
}
