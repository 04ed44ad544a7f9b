// Command tradeflags flags suspicious trades of an online game on Kafka: a
// generator plays players, a few of them cheaters, whose logins and trades
// go to one topic keyed by player id; the application keeps each player's
// recent trades and logins in a state store and writes an alert for every
// trade far above the player's usual amount from an address the player did
// not log in from lately. Each alert is printed as it arrives, and at the
// end who was flagged, cheater or not. See README.md for the design.
//
// Without -brokers (or SAMSA_BROKERS) it starts an in-process broker, so
//
//	GOTOOLCHAIN=auto go run ./examples/tradeflags
//
// runs with nothing installed but Go. -variant join runs the same rule
// over two topics, a table of each player's last login joined by the
// stream of trades. It stops once the generator has stopped and every
// event has been processed, or on Ctrl-C or SIGTERM, which close the
// application cleanly; a second signal exits at once. "tradeflags -h"
// lists the flags and the environment variables that stand in for them.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/internal/flagenv"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/topology"
)

// Exit codes: 2 for a usage error, as the go command; 128 plus the signal
// number when a second signal cuts the close short, as a shell reports a
// process killed by it.
const (
	exitFail  = 1
	exitUsage = 2
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, flagenv.ErrUsage): // the flag package has said what
		os.Exit(exitUsage)
	case err != nil:
		fmt.Fprintln(os.Stderr, "tradeflags:", err)
		os.Exit(exitUsage)
	}
	if cfg.envOpts, err = runtime.FromEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "tradeflags:", err)
		os.Exit(exitUsage)
	}
	ctx, stop := signalContext(os.Stderr)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tradeflags:", err)
		stop()
		os.Exit(exitFail)
	}
}

// signalContext returns a context cancelled by the first SIGINT or
// SIGTERM. A second one exits the process at once, without closing.
func signalContext(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(stderr, "\ntradeflags: %v: closing the application (signal again to exit at once)\n", s)
		cancel()
		if s, ok = <-sigs; ok {
			fmt.Fprintf(stderr, "tradeflags: %v: exiting without closing\n", s)
			code := exitFail
			if n, ok := s.(syscall.Signal); ok {
				code = 128 + int(n)
			}
			os.Exit(code)
		}
	}()
	return ctx, func() { signal.Stop(sigs); cancel() }
}

// inputs returns the topics the variant reads.
func (c *config) inputs() []string {
	if c.variant == VariantJoin {
		return []string{LoginsTopic, TradesTopic}
	}
	return []string{EventsTopic}
}

// build returns the variant's topology.
func (c *config) build() (*topology.Topology, error) {
	if c.variant == VariantJoin {
		return JoinTopology(LoginsTopic, TradesTopic, AlertsTopic)
	}
	return Topology(EventsTopic, AlertsTopic)
}

// run runs the application and the generator until the generator has
// stopped and the application has processed all it wrote, ctx ends, or
// something fails. Alerts and the summary go to stdout, progress to
// stderr. Once the app has started, the summary is printed however it
// stops.
func run(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	addrs := []string(cfg.brokers)
	if len(addrs) == 0 {
		b, err := kafkatest.Start(
			kafkatest.Partitions(int32(cfg.partitions)),
			// Kafka refuses sessions under 6s
			// (group.min.session.timeout.ms); a development
			// broker takes -session-timeout down to 1s.
			kafkatest.GroupMinSessionTimeout(time.Second),
		)
		if err != nil {
			return err
		}
		defer b.Close() // last: after the app and the clients
		addrs = b.Addrs()
		fmt.Fprintf(stderr, "tradeflags: in-process Kafka broker up on %s (set -brokers to use your own)\n", strings.Join(addrs, ","))
	} else {
		fmt.Fprintf(stderr, "tradeflags: using the brokers %s\n", strings.Join(addrs, ","))
	}
	stateDir := cfg.stateDir
	if stateDir == "" {
		var err error
		if stateDir, err = os.MkdirTemp("", "samsa-tradeflags-"); err != nil {
			return err
		}
		defer os.RemoveAll(stateDir)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if err := createTopics(ctx, adm, int32(cfg.partitions), append(cfg.inputs(), AlertsTopic)...); err != nil {
		return err
	}
	app, err := newApp(cfg, addrs, stateDir, stderr)
	if err != nil {
		return err
	}
	app.SetStateListener(func(_, s runtime.State) {
		if s == runtime.Running {
			fmt.Fprintf(stderr, "tradeflags: application %q running (-variant %s); alerts from %q follow\n", cfg.appID, cfg.variant, AlertsTopic)
		}
	})
	appCtx, cancelApp := context.WithCancel(context.Background())
	defer cancelApp()
	appErr := make(chan error, 1)
	go func() { appErr <- app.Run(appCtx) }()

	gen := newGenerator(cfg.seed, cfg.players, cfg.cheaters)
	fmt.Fprintf(stderr, "tradeflags: %d players, %d of them cheaters: %s\n", cfg.players, cfg.cheaters, strings.Join(gen.cheaters(), " "))
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	genDone := make(chan generated, 1)
	genExited := make(chan struct{})
	go func() {
		defer close(genExited)
		genDone <- produce(genCtx, cl, cfg, gen)
	}()

	flagged, err := follow(ctx, cfg, addrs, adm, stdout, stderr, genDone, appErr)
	stopGen()
	<-genExited // before the client closes
	cancelApp()
	if runErr := <-appErr; runErr != nil && err == nil {
		err = runErr
	}
	summarize(stdout, gen, flagged)
	if cfg.variant == VariantJoin {
		fmt.Fprintf(stdout, "(-variant join checks the address of the last login only; see README.md)\n")
	}
	return err
}

func newApp(cfg *config, addrs []string, stateDir string, stderr io.Writer) (*runtime.App, error) {
	topo, err := cfg.build()
	if err != nil {
		return nil, err
	}
	// The example's defaults first, then what the environment sets that
	// the example has no flag for (SAMSA_THREADS...), then the flags,
	// already merged with their variables.
	opts := []runtime.Option{
		runtime.CommitInterval(200 * time.Millisecond),
		runtime.Logger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	}
	opts = append(opts, cfg.envOpts...)
	opts = append(opts,
		runtime.ApplicationID(cfg.appID),
		runtime.Brokers(addrs...),
		runtime.StateDir(stateDir),
		runtime.ProcessingGuarantee(cfg.guarantee),
		runtime.MaxTaskIdle(cfg.maxTaskIdle),
	)
	if cfg.sessionTimeout > 0 {
		opts = append(opts, runtime.SessionTimeout(cfg.sessionTimeout))
	}
	return runtime.New(topo, opts...)
}

func createTopics(ctx context.Context, adm *kadm.Client, partitions int32, topics ...string) error {
	// Bounded, so that brokers named wrong give an error, not a hang.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopics(ctx, partitions, -1, nil, topics...)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for _, r := range resp {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %q: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// generated is what produce wrote: the offset after the last record of
// each partition it wrote to, so that follow can tell when the app has
// processed it all.
type generated struct {
	events int
	ends   map[string]map[int32]int64
	err    error
}

// produce writes the generator's events, each keyed by its player, until
// cfg.events were written, cfg.duration passed or ctx ends, at cfg.rate,
// and returns once all are acknowledged. The producer is idempotent, so a
// player's events stay in the order they were played.
func produce(ctx context.Context, cl *kgo.Client, cfg *config, gen *generator) generated {
	var (
		mu     sync.Mutex // guards res.ends and failed, which callbacks set
		res    = generated{ends: map[string]map[int32]int64{}}
		failed error
	)
	acked := func(r *kgo.Record, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed = cmp.Or(failed, err)
			return
		}
		if res.ends[r.Topic] == nil {
			res.ends[r.Topic] = map[int32]int64{}
		}
		res.ends[r.Topic][r.Partition] = max(res.ends[r.Topic][r.Partition], r.Offset+1)
	}
	var deadline <-chan time.Time
	if cfg.duration > 0 {
		t := time.NewTimer(cfg.duration)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
loop:
	for cfg.events == 0 || res.events < cfg.events {
		// Ahead of the rate: wait a tick. Otherwise only look whether
		// to stop.
		ahead := cfg.rate > 0 && float64(res.events) >= time.Since(start).Seconds()*float64(cfg.rate)
		select {
		case <-ctx.Done():
			break loop
		case <-deadline:
			break loop
		case <-tick.C:
			if ahead {
				continue
			}
		default:
			if ahead {
				<-tick.C
				continue
			}
		}
		player, ev := gen.next()
		topic := EventsTopic
		if cfg.variant == VariantJoin {
			topic = TradesTopic
			if ev.Kind == KindLogin {
				topic = LoginsTopic
			}
		}
		v, err := eventSerde.Serialize(nil, topic, ev)
		if err != nil {
			res.err = err
			break
		}
		res.events++
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: []byte(player), Value: v}, acked)
	}
	// Bounded, so that a broker gone away gives an error, not a hang.
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := cl.Flush(flushCtx); err != nil && res.err == nil {
		res.err = fmt.Errorf("write the events: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if failed != nil && res.err == nil && ctx.Err() == nil {
		res.err = fmt.Errorf("write the events: %w", failed)
	}
	return res
}

// drain is how long follow reads on once the app has committed every
// event, for the alerts that commit made readable.
const drain = time.Second

// follow prints every alert read from the alerts topic until ctx ends,
// the app stops, the generator fails, or the generator has stopped, the
// app has committed the offsets after all it wrote, and drain has passed.
// It returns the number of alerts of each player.
func follow(ctx context.Context, cfg *config, addrs []string, adm *kadm.Client, out, stderr io.Writer, genDone <-chan generated, appErr chan error) (map[string]int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...),
		kgo.ConsumeTopics(AlertsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), // no aborted alerts under exactly-once
	)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	flagged := map[string]int{}
	var (
		gen       *generated // once the generator has stopped
		processed time.Time  // when the app was seen to have committed it all
		checked   time.Time
	)
	for {
		pollCtx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		fs := cl.PollFetches(pollCtx)
		cancel()
		if ctx.Err() != nil {
			return flagged, nil
		}
		select {
		case err := <-appErr:
			appErr <- err
			if err == nil {
				err = errors.New("the application stopped on its own")
			}
			return flagged, err
		case g := <-genDone:
			if g.err != nil {
				return flagged, g.err
			}
			gen = &g
			fmt.Fprintf(stderr, "tradeflags: %d events written; waiting for the application to process them\n", g.events)
		default:
		}
		fs.EachRecord(func(r *kgo.Record) {
			a, err := alertSerde.Deserialize(r.Topic, r.Value)
			if err != nil {
				fmt.Fprintf(out, "unreadable alert at %s/%d@%d: %v\n", r.Topic, r.Partition, r.Offset, err)
				return
			}
			flagged[a.Player]++
			fmt.Fprintf(out, "ALERT %s: %s\n", a.Player, a.Reason)
		})
		switch {
		case gen == nil:
		case !processed.IsZero():
			if time.Since(processed) >= drain {
				return flagged, nil
			}
		case time.Since(checked) >= 250*time.Millisecond:
			checked = time.Now()
			if done, err := caughtUp(ctx, adm, cfg.appID, gen.ends); err != nil {
				return flagged, err
			} else if done {
				processed = time.Now()
			}
		}
	}
}

// caughtUp reports whether group has committed, for every partition in
// ends, an offset at or past its end there.
func caughtUp(ctx context.Context, adm *kadm.Client, group string, ends map[string]map[int32]int64) (bool, error) {
	offsets, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		// A group that has not committed yet may not exist: some brokers
		// (kfake) say so where Kafka answers with no offsets.
		if ctx.Err() != nil || kerr.IsRetriable(err) || errors.Is(err, kerr.GroupIDNotFound) {
			return false, nil // the next look will tell
		}
		return false, fmt.Errorf("fetch the offsets of group %q: %w", group, err)
	}
	for topic, parts := range ends {
		for p, end := range parts {
			o, ok := offsets.Lookup(topic, p)
			if !ok || o.Err != nil || o.At < end {
				return false, nil
			}
		}
	}
	return true, nil
}

// summarize prints who was flagged, and how many of the cheaters.
func summarize(out io.Writer, gen *generator, flagged map[string]int) {
	cheaters := gen.cheaters()
	caught, honest := 0, 0
	fmt.Fprintln(out, "\nflagged players:")
	if len(flagged) == 0 {
		fmt.Fprintln(out, "  none")
	}
	for _, p := range gen.players {
		n := flagged[p.id]
		if n == 0 {
			continue
		}
		who := "honest"
		if p.cheater {
			who = "cheater"
			caught++
		} else {
			honest++
		}
		alerts := "alerts"
		if n == 1 {
			alerts = "alert"
		}
		fmt.Fprintf(out, "  %s  %-7s  %d %s\n", p.id, who, n, alerts)
	}
	fmt.Fprintf(out, "caught %d of %d cheaters; %d honest players flagged\n", caught, len(cheaters), honest)
}
