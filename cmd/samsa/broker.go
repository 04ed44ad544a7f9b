package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"

	"github.com/samsa-go/samsa/kafkatest"
)

// defaultPartitions is higher than Kafka's num.partitions of 1 so that an
// application run against the development broker has several tasks, as it
// would in production.
const defaultPartitions = 3

func runBroker(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("samsa broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 9092, "TCP `port` to listen on, on 127.0.0.1; 0 picks a free port")
	partitions := fs.Int("partitions", defaultPartitions, "`number` of partitions of topics created on first use")
	dataDir := fs.String("data-dir", "", "`directory` to keep topics, records and offsets in across restarts; empty keeps them in memory")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: samsa broker [-port 9092] [-partitions 3] [-data-dir DIR]\n\n"+
			"Broker runs a single-node Kafka broker in this process until interrupted.\n"+
			"It creates topics on first use. It is for development only.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case *port < 0 || *port > 65535:
		return usageError(fs, "-port %d out of range", *port)
	case *partitions < 1 || *partitions > math.MaxInt32:
		return usageError(fs, "-partitions must be at least 1, got %d", *partitions)
	}

	opts := []kafkatest.Option{
		kafkatest.Port(*port),
		kafkatest.Partitions(int32(*partitions)),
		kafkatest.Logger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	}
	if *dataDir != "" {
		opts = append(opts, kafkatest.DataDir(*dataDir))
	}
	b, err := kafkatest.Start(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "samsa: %v\n", err)
		return exitFail
	}
	for _, a := range b.Addrs() {
		fmt.Fprintf(stdout, "samsa: broker listening on %s\n", a)
	}
	if *dataDir != "" {
		fmt.Fprintf(stdout, "samsa: broker keeps its data in %s\n", *dataDir)
	}
	<-ctx.Done()
	b.Close()
	fmt.Fprintln(stderr, "samsa: broker stopped")
	return exitOK
}

// parseFlags parses args and refuses arguments after the flags. It returns
// false, with the exit code, when the command should stop: on -h (0) and on
// a usage error (2), which the flag package or usageError has printed.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		return usageError(fs, "unexpected arguments: %s", strings.Join(fs.Args(), " ")), false
	}
	return 0, true
}

func usageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return exitUsage
}
