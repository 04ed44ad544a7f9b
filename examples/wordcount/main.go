// Command wordcount runs the word-count topology on Kafka: it writes lines
// to the input topic (the lines of standard input, or a sample text when
// standard input is a terminal), runs the application, prints each count
// it reads back from the output topic as it changes, and prints the final
// table when it stops.
//
// Without -brokers (or SAMSA_BROKERS) it starts an in-process broker, so
//
//	GOTOOLCHAIN=auto go run ./examples/wordcount
//
// runs with nothing installed but Go. It stops once standard input has
// ended and the counts have not changed for -idle, or on Ctrl-C or
// SIGTERM, which close the application cleanly; a second signal exits at
// once. "wordcount -h" lists the flags and the environment variables that
// stand in for them.
//
// "wordcount -describe json" prints the topology as JSON and exits, for
// "samsa describe" to draw and "samsa lag" to name tasks with; text,
// mermaid and dot print it drawn.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/term"

	"github.com/samsa-go/samsa/internal/flagenv"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
)

var sample = []string{
	"Kafka Streams is a client library for building applications",
	"Samsa brings Kafka Streams to Go",
	"all streams lead to Kafka",
	"hello kafka streams hello samsa",
}

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
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(exitUsage)
	}
	if cfg.describe != "" {
		if err := describe(os.Stdout, cfg); err != nil {
			fmt.Fprintln(os.Stderr, "wordcount:", err)
			os.Exit(exitFail)
		}
		return
	}
	// The runtime's variables the example has no flag for (SAMSA_THREADS,
	// SAMSA_COMMIT_INTERVAL_MS), checked before anything starts.
	if cfg.envOpts, err = runtime.FromEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(exitUsage)
	}
	ctx, stop := signalContext(os.Stderr)
	defer stop()
	var lines io.Reader = os.Stdin
	if term.IsTerminal(int(os.Stdin.Fd())) {
		lines = nil // nobody is piping text in: count the sample
	}
	if err := run(ctx, cfg, lines, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
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
		fmt.Fprintf(stderr, "\nwordcount: %v: closing the application (signal again to exit at once)\n", s)
		cancel()
		if s, ok = <-sigs; ok {
			fmt.Fprintf(stderr, "wordcount: %v: exiting without closing\n", s)
			code := exitFail
			if n, ok := s.(syscall.Signal); ok {
				code = 128 + int(n)
			}
			os.Exit(code)
		}
	}()
	return ctx, func() { signal.Stop(sigs); cancel() }
}

// run runs the application until ctx ends, the app fails, or, with
// cfg.idle set, the input has ended and the counts have been still for
// cfg.idle. lines is the input; nil means the sample text. Counts go to
// stdout, progress to stderr. Once the app has started, the final table
// is printed however it stops.
func run(ctx context.Context, cfg *config, lines io.Reader, stdout, stderr io.Writer) error {
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
		fmt.Fprintf(stderr, "wordcount: in-process Kafka broker up on %s (set -brokers to use your own)\n", strings.Join(addrs, ","))
	} else {
		fmt.Fprintf(stderr, "wordcount: using the brokers %s\n", strings.Join(addrs, ","))
	}
	stateDir := cfg.stateDir
	if stateDir == "" {
		var err error
		if stateDir, err = os.MkdirTemp("", "samsa-wordcount-"); err != nil {
			return err
		}
		defer os.RemoveAll(stateDir)
	}
	if err := createTopics(ctx, addrs, int32(cfg.partitions), cfg.inputTopic, cfg.outputTopic); err != nil {
		return err
	}
	app, err := newApp(cfg, addrs, stateDir, stderr)
	if err != nil {
		return err
	}
	stopServe, err := serve(cfg, app, stderr)
	if err != nil {
		return err
	}
	defer stopServe()
	var running atomic.Int64 // unix nanos of the first RUNNING; 0 before
	app.SetStateListener(func(_, s runtime.State) {
		if s == runtime.Running && running.CompareAndSwap(0, time.Now().UnixNano()) {
			fmt.Fprintf(stderr, "wordcount: application %q running; counts from %q follow\n", cfg.appID, cfg.outputTopic)
		}
	})
	appCtx, cancelApp := context.WithCancel(context.Background())
	defer cancelApp()
	appErr := make(chan error, 1)
	go func() { appErr <- app.Run(appCtx) }()

	prod, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(cfg.inputTopic))
	if err != nil {
		cancelApp()
		<-appErr
		return err
	}
	defer prod.Close()
	inputDone := make(chan inputResult, 1)
	go func() { inputDone <- produce(ctx, prod, lines, stderr) }()

	counts, err := follow(ctx, cfg, addrs, stdout, &running, inputDone, appErr)
	cancelApp()
	if runErr := <-appErr; runErr != nil && err == nil {
		err = runErr
	}
	printTable(stdout, counts)
	return err
}

func newApp(cfg *config, addrs []string, stateDir string, stderr io.Writer) (*runtime.App, error) {
	topo, err := Topology(cfg.inputTopic, cfg.outputTopic)
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
	)
	if cfg.sessionTimeout > 0 {
		opts = append(opts, runtime.SessionTimeout(cfg.sessionTimeout))
	}
	if cfg.httpAddr != "" {
		opts = append(opts, runtime.HTTP(cfg.httpAddr))
	}
	if cfg.instanceID != "" {
		opts = append(opts, runtime.InstanceID(cfg.instanceID))
	}
	opts = append(opts, serveOptions(cfg)...)
	return runtime.New(topo, opts...)
}

func createTopics(ctx context.Context, addrs []string, partitions int32, topics ...string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return err
	}
	defer cl.Close()
	// Bounded, so that brokers named wrong give an error, not a hang.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, -1, nil, topics...)
	if err != nil {
		return fmt.Errorf("create topics on %s: %w", strings.Join(addrs, ","), err)
	}
	for _, r := range resp {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %q: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// inputResult is what produce did: whether any line had a word, so that
// follow knows whether to wait for a first count.
type inputResult struct {
	words bool
	err   error
}

// produce writes the lines of r, or the sample when r is nil, to the input
// topic as they come, each keyed by its line number so that they spread
// over the partitions, and returns once all are acknowledged.
func produce(ctx context.Context, cl *kgo.Client, r io.Reader, stderr io.Writer) inputResult {
	var res inputResult
	var failed atomic.Pointer[error]
	n := 0
	send := func(line string) {
		if strings.TrimSpace(line) != "" {
			res.words = true
		}
		rec := &kgo.Record{Key: fmt.Append(nil, n), Value: []byte(line)}
		n++
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.CompareAndSwap(nil, &err)
			}
		})
	}
	if r == nil {
		fmt.Fprintf(stderr, "wordcount: counting a sample text (pipe text into standard input to count your own)\n")
		for _, l := range sample {
			send(l)
		}
	} else {
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20) // Kafka's default largest record
		for sc.Scan() {
			send(sc.Text())
		}
		if err := sc.Err(); err != nil {
			res.err = fmt.Errorf("read standard input: %w", err)
		}
	}
	if err := cl.Flush(ctx); err != nil && res.err == nil && ctx.Err() == nil {
		res.err = err
	}
	if p := failed.Load(); p != nil && res.err == nil && ctx.Err() == nil {
		res.err = fmt.Errorf("write to the input topic: %w", *p)
	}
	return res
}

// follow prints every count read from the output topic until ctx ends,
// the app stops, the input fails, or the input has ended, the app is
// running, and the counts have been still for cfg.idle (and there was one
// at least, if the input had words).
func follow(ctx context.Context, cfg *config, addrs []string, out io.Writer, running *atomic.Int64, inputDone <-chan inputResult, appErr chan error) (map[string]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...),
		kgo.ConsumeTopics(cfg.outputTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), // no aborted counts under exactly-once
	)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	counts := map[string]int64{}
	var (
		ended     bool // the input has been written
		wantCount bool // ... and had a word, so a count will come
		updates   int
		still     = time.Now() // when the counts last changed, or the input ended
	)
	for {
		pollCtx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		fs := cl.PollFetches(pollCtx)
		cancel()
		if ctx.Err() != nil {
			return counts, nil
		}
		select {
		case err := <-appErr:
			appErr <- err
			if err == nil {
				err = errors.New("the application stopped on its own")
			}
			return counts, err
		case res := <-inputDone:
			if res.err != nil {
				return counts, res.err
			}
			ended, wantCount, still = true, res.words, time.Now()
		default:
		}
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Value) != 8 {
				return
			}
			n := int64(binary.BigEndian.Uint64(r.Value))
			counts[string(r.Key)] = n
			fmt.Fprintf(out, "%s\t%d\n", r.Key, n)
			updates++
			still = time.Now()
		})
		if cfg.idle == 0 || !ended || (wantCount && updates == 0) {
			continue
		}
		since := running.Load()
		if since == 0 {
			continue
		}
		if t := time.Unix(0, since); t.After(still) {
			still = t
		}
		if time.Since(still) >= cfg.idle {
			return counts, nil
		}
	}
}

func printTable(out io.Writer, counts map[string]int64) {
	if len(counts) == 0 {
		fmt.Fprintln(out, "\nfinal counts: none")
		return
	}
	fmt.Fprintln(out, "\nfinal counts:")
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	slices.Sort(words)
	for _, w := range words {
		fmt.Fprintf(out, "  %-12s %d\n", w, counts[w])
	}
}
