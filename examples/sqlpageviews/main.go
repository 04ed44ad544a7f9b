// Command sqlpageviews counts page views per region in one-minute tumbling
// windows: each page view is joined with its user's region from the users
// table, then counted per region and minute. The application is written
// twice, in SQL (pageviews.sql, compiled by the sql package) and with the
// DSL (topology.go); -mode picks which one runs, and both write the same
// records.
//
// It generates the users and the page views, writes them to their topics,
// runs the application, prints every count as it changes on the output
// topic and prints the final counts when it stops. Without -brokers it
// starts an in-process broker, so
//
//	GOTOOLCHAIN=auto go run ./examples/sqlpageviews -mode sql
//
// runs with nothing installed but Go. It stops once the counts have not
// changed for -idle, or on Ctrl-C or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "sqlpageviews:", err)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sqlpageviews:", err)
		stop()
		os.Exit(1)
	}
}

// errUsage is a flag error the flag package has already printed.
var errUsage = errors.New("usage error")

// config is what the flags set.
type config struct {
	brokers    []string
	appID      string
	mode       string
	users      int
	views      int
	span       time.Duration
	seed       uint64
	partitions int
	idle       time.Duration
	start      time.Time // of the generated events; zero: now, truncated to the minute
}

func parseConfig(args []string, usageOut io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("sqlpageviews", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	brokers := fs.String("brokers", "", "comma-separated `host:port` list of Kafka brokers; empty starts an in-process broker")
	fs.StringVar(&c.appID, "application-id", "sqlpageviews", "application `id`: consumer group and prefix of internal topics")
	fs.StringVar(&c.mode, "mode", "sql", "`language` of the application that runs: sql (pageviews.sql) or dsl")
	fs.IntVar(&c.users, "users", 20, "`number` of users to generate")
	fs.IntVar(&c.views, "views", 500, "`number` of page views to generate")
	fs.DurationVar(&c.span, "span", 5*time.Minute, "event-time `duration` the page views are spread over")
	fs.Uint64Var(&c.seed, "seed", 1, "`seed` of the generator: the same seed writes the same records")
	fs.IntVar(&c.partitions, "partitions", 3, "`number` of partitions of the topics this program creates")
	fs.DurationVar(&c.idle, "idle", 3*time.Second, "stop once the counts have not changed for this `duration`; 0 runs until interrupted")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	for a := range strings.SplitSeq(*brokers, ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.brokers = append(c.brokers, a)
		}
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case c.mode != "sql" && c.mode != "dsl":
		return nil, fmt.Errorf("-mode %q: want sql or dsl", c.mode)
	case c.users < 1 || c.views < 0:
		return nil, fmt.Errorf("-users %d -views %d: need a user and no negative number of views", c.users, c.views)
	case c.partitions < 1:
		return nil, fmt.Errorf("-partitions %d: need at least one", c.partitions)
	case c.span <= 0 || c.idle < 0:
		return nil, errors.New("-span must be positive and -idle not negative")
	}
	return c, nil
}

// run writes the generated records, runs the application until ctx ends
// or the counts have been still for cfg.idle, and returns the final
// counts, which it also prints.
func run(ctx context.Context, cfg *config, stdout, stderr io.Writer) (map[windowKey]int64, error) {
	topo, err := Topology(cfg.mode)
	if err != nil {
		return nil, err
	}
	addrs := cfg.brokers
	if len(addrs) == 0 {
		b, err := kafkatest.Start(kafkatest.Partitions(int32(cfg.partitions)))
		if err != nil {
			return nil, err
		}
		defer b.Close()
		addrs = b.Addrs()
		fmt.Fprintf(stderr, "sqlpageviews: in-process Kafka broker up on %s (set -brokers to use your own)\n", strings.Join(addrs, ","))
	}
	if err := createTopics(ctx, addrs, int32(cfg.partitions)); err != nil {
		return nil, err
	}
	start := cfg.start
	if start.IsZero() {
		start = time.Now().Truncate(time.Minute)
	}
	// All the input is written before the application starts, and the
	// users carry earlier timestamps than the views: with the task idling
	// for data on every partition, each view meets its user.
	if err := produce(ctx, addrs, generate(cfg.seed, cfg.users, cfg.views, start, cfg.span)); err != nil {
		return nil, err
	}
	stateDir, err := os.MkdirTemp("", "samsa-sqlpageviews-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stateDir)
	app, err := runtime.New(topo,
		runtime.ApplicationID(cfg.appID),
		runtime.Brokers(addrs...),
		runtime.StateDir(stateDir),
		runtime.CommitInterval(200*time.Millisecond),
		runtime.MaxTaskIdle(time.Second),
		runtime.Logger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "sqlpageviews: running the %s application %q; counts from %q follow\n", cfg.mode, cfg.appID, OutputTopic)
	appCtx, cancelApp := context.WithCancel(context.Background())
	defer cancelApp()
	appErr := make(chan error, 1)
	go func() { appErr <- app.Run(appCtx) }()
	counts, err := follow(ctx, addrs, cfg.idle, stdout, appErr)
	cancelApp()
	if runErr := <-appErr; runErr != nil && err == nil {
		err = runErr
	}
	printTable(stdout, counts)
	return counts, err
}
