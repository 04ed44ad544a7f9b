// Command wordcount runs the word-count topology on Kafka: it writes lines
// to the "text-lines" topic (a sample text, or the lines of standard input
// when it is not a terminal), runs the application, and prints each count
// it reads back from "word-counts" as it changes.
//
// With SAMSA_BROKERS unset it starts an in-process broker, so
//
//	go run ./examples/wordcount
//
// runs with nothing installed. It stops once the counts have not changed
// for -idle (or on Ctrl-C) and prints the final table.
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
	"time"

	"github.com/samsa-go/samsa/internal/devbroker"
	"github.com/samsa-go/samsa/runtime"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

var sample = []string{
	"Kafka Streams is a client library for building applications",
	"Samsa brings Kafka Streams to Go",
	"all streams lead to Kafka",
	"hello kafka streams hello samsa",
}

func main() {
	idle := flag.Duration("idle", 3*time.Second, "stop after the counts have not changed for this long (0: run until interrupted)")
	stateDir := flag.String("state-dir", "", "state directory (default: a temporary directory)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdin, os.Stdout, *idle, *stateDir); err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, stdin *os.File, out io.Writer, idle time.Duration, stateDir string) error {
	addrs, stopBroker, err := devbroker.Brokers()
	if err != nil {
		return err
	}
	defer stopBroker()
	if stateDir == "" {
		if stateDir, err = os.MkdirTemp("", "samsa-wordcount-"); err != nil {
			return err
		}
		defer os.RemoveAll(stateDir)
	}
	if err := createTopics(ctx, addrs); err != nil {
		return err
	}
	topo, err := Topology()
	if err != nil {
		return err
	}
	envOpts, err := runtime.FromEnv()
	if err != nil {
		return err
	}
	opts := append([]runtime.Option{
		runtime.ApplicationID("wordcount"),
		runtime.Brokers(addrs...),
		runtime.StateDir(stateDir),
		runtime.CommitInterval(200 * time.Millisecond),
		runtime.Logger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	}, envOpts...)
	app, err := runtime.New(topo, opts...)
	if err != nil {
		return err
	}
	appCtx, cancelApp := context.WithCancel(ctx)
	defer cancelApp()
	appErr := make(chan error, 1)
	go func() { appErr <- app.Run(appCtx) }()

	lines := sample
	if st, err := stdin.Stat(); err == nil && st.Mode()&os.ModeCharDevice == 0 {
		lines = nil
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
	}
	if err := produce(ctx, addrs, lines); err != nil {
		return err
	}
	counts, err := follow(ctx, addrs, out, idle, appErr)
	cancelApp()
	if runErr := <-appErr; runErr != nil && err == nil {
		err = runErr
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
	return err
}

func createTopics(ctx context.Context, addrs []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, 3, -1, nil, InputTopic, OutputTopic)
	if err != nil {
		return fmt.Errorf("create topics on %v: %w", addrs, err)
	}
	for _, r := range resp {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %q: %w", r.Topic, r.Err)
		}
	}
	return nil
}

func produce(ctx context.Context, addrs []string, lines []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(InputTopic))
	if err != nil {
		return err
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i, l := range lines {
		recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(l)})
	}
	return cl.ProduceSync(ctx, recs...).FirstErr()
}

// follow prints every count read from the output topic until the counts
// have been still for idle, ctx ends, or the app fails.
func follow(ctx context.Context, addrs []string, out io.Writer, idle time.Duration, appErr chan error) (map[string]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(OutputTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	counts := map[string]int64{}
	last := time.Now()
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
			return counts, err
		default:
		}
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Value) != 8 {
				return
			}
			n := int64(binary.BigEndian.Uint64(r.Value))
			counts[string(r.Key)] = n
			fmt.Fprintf(out, "%s\t%d\n", r.Key, n)
			last = time.Now()
		})
		if idle > 0 && len(counts) > 0 && time.Since(last) >= idle {
			return counts, nil
		}
	}
}
