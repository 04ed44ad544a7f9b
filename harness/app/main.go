// Command app is the application under test of the exactly-once crash
// harness (package harness): it runs the topology of harness.Outputs on
// Kafka until SIGTERM or SIGINT, then closes cleanly and exits 0. Any error
// of the runtime exits 1 with the error on stderr.
//
// Configuration comes from the SAMSA_* environment variables that
// runtime.FromEnv reads, overridden by the flags that are set:
//
//	app -brokers 127.0.0.1:9092 -application-id eos -state-dir /tmp/s0 \
//	    -guarantee exactly_once_v2 -commit-interval 100ms \
//	    -session-timeout 3s -transaction-timeout 3s -rebalance-timeout 10s \
//	    -heartbeat-interval 1s
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/samsa-go/samsa/harness"
	"github.com/samsa-go/samsa/runtime"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	// Installed first, so that a SIGTERM at any point after the process
	// started is a clean stop.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	brokers := fs.String("brokers", "", "comma-separated bootstrap brokers (or "+runtime.EnvBrokers+")")
	appID := fs.String("application-id", "", "application id (or "+runtime.EnvApplicationID+")")
	stateDir := fs.String("state-dir", "", "state directory (or "+runtime.EnvStateDir+")")
	guarantee := fs.String("guarantee", "", "exactly_once_v2 or at_least_once (or "+runtime.EnvGuarantee+")")
	commit := fs.Duration("commit-interval", 0, "commit interval (or "+runtime.EnvCommitMillis+")")
	session := fs.Duration("session-timeout", 0, "group session timeout")
	txnTimeout := fs.Duration("transaction-timeout", 0, "transaction timeout")
	rebalance := fs.Duration("rebalance-timeout", 0, "group rebalance timeout, passed to franz-go (default franz-go's 60s)")
	heartbeat := fs.Duration("heartbeat-interval", 0, "group heartbeat interval, passed to franz-go (default franz-go's 3s); keep it a third of the session timeout")
	standbys := fs.Int("standbys", 0, "standby replicas of each task")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	opts, err := runtime.FromEnv()
	if err != nil {
		return err
	}
	opts = append(opts, runtime.Logger(log))
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["brokers"] {
		opts = append(opts, runtime.Brokers(strings.Split(*brokers, ",")...))
	}
	if set["application-id"] {
		opts = append(opts, runtime.ApplicationID(*appID))
	}
	if set["state-dir"] {
		opts = append(opts, runtime.StateDir(*stateDir))
	}
	if set["guarantee"] {
		switch harness.Guarantee(*guarantee) {
		case harness.ExactlyOnce:
			opts = append(opts, runtime.ExactlyOnce())
		case harness.AtLeastOnce:
			opts = append(opts, runtime.ProcessingGuarantee(runtime.AtLeastOnce))
		default:
			return fmt.Errorf("-guarantee %q is neither %s nor %s", *guarantee, harness.ExactlyOnce, harness.AtLeastOnce)
		}
	}
	if set["commit-interval"] {
		opts = append(opts, runtime.CommitInterval(*commit))
	}
	if set["session-timeout"] {
		opts = append(opts, runtime.SessionTimeout(*session))
	}
	if set["transaction-timeout"] {
		opts = append(opts, runtime.TransactionTimeout(*txnTimeout))
	}
	if set["standbys"] {
		opts = append(opts, runtime.Standbys(*standbys))
	}
	if set["rebalance-timeout"] {
		// The runtime has no option of its own for it (Kafka Streams'
		// max.poll.interval.ms); the kgo passthrough sets it.
		opts = append(opts, runtime.KgoOpts(kgo.RebalanceTimeout(*rebalance)))
	}
	if set["heartbeat-interval"] {
		// Nor for heartbeat.interval.ms: with a session timeout of 3s,
		// franz-go's default interval of 3s lets sessions expire between
		// heartbeats.
		opts = append(opts, runtime.KgoOpts(kgo.HeartbeatInterval(*heartbeat)))
	}

	topo, err := harness.Topology()
	if err != nil {
		return err
	}
	app, err := runtime.New(topo, opts...)
	if err != nil {
		return err
	}
	// The harness reads these lines to know which processes joined.
	app.SetStateListener(func(_, s runtime.State) { fmt.Printf("%s%s\n", harness.StateLine, s) })
	log.Info("app starting", "pid", os.Getpid())
	start := time.Now()
	if err := app.Run(ctx); err != nil {
		return err
	}
	log.Info("app closed cleanly", "ran", time.Since(start).Round(time.Millisecond))
	return nil
}
