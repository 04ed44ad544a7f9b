package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/sql"
)

func runSQL(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("samsa sql", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "", "comma-separated `addresses` of the Kafka brokers; empty starts an embedded broker")
	appID := fs.String("application-id", "samsa-sql", "application `id` of the queries (group id and internal topic prefix)")
	explain := fs.Bool("explain", false, "print the topology the statements compile to and exit (EXPLAIN)")
	file := fs.String("f", "", "`file` of statements; - reads standard input")
	stateDir := fs.String("state-dir", "", "state `directory` of the queries (default: a temporary directory, removed on exit)")
	var guarantee runtime.Guarantee
	fs.TextVar(&guarantee, "processing-guarantee", runtime.AtLeastOnce, "`guarantee` of the queries: at_least_once or exactly_once_v2")
	inter := fs.Bool("i", false, "interactive: read statements from standard input and run each as it ends with ';' (the default without -f)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: samsa sql [-f FILE [-explain] | -i] [-brokers host:port,...] [-application-id ID]\n\n"+
			"Sql compiles ksqlDB-style statements (CREATE STREAM/TABLE, CREATE ... AS SELECT,\n"+
			"INSERT INTO, SELECT ... EMIT CHANGES) into one topology and runs it until\n"+
			"interrupted, printing the rows of push queries as they arrive; with -explain\n"+
			"it prints the topology instead.\n\n"+
			"Without -f (or with -i) it reads statements from standard input and runs each\n"+
			"once it ends with ';': every persistent or push query as an application of its\n"+
			"own, and a pull query (SELECT ... FROM table WHERE key = ...) answered from the\n"+
			"store of the query that computes the table. At the end of the input the\n"+
			"queries run on until interrupted.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	// A state directory that outlives the broker would restore a store
	// the next embedded broker's changelogs know nothing of.
	if *stateDir == "" {
		dir, err := os.MkdirTemp("", "samsa-sql-")
		if err != nil {
			fmt.Fprintf(stderr, "samsa: %v\n", err)
			return exitFail
		}
		defer os.RemoveAll(dir)
		*stateDir = dir
	}
	if *inter && *file != "" {
		return usageError(fs, "-i and -f exclude each other")
	}
	if *file == "" {
		if *explain {
			return usageError(fs, "-explain needs -f")
		}
		return runInteractive(ctx, *brokers, *appID, *stateDir, guarantee, stdin, stdout, stderr)
	}
	var src []byte
	var err error
	if *file == "-" {
		src, err = io.ReadAll(os.Stdin)
	} else {
		src, err = os.ReadFile(*file)
	}
	if err != nil {
		fmt.Fprintf(stderr, "samsa: %v\n", err)
		return exitFail
	}
	prog, err := sql.Compile(string(src))
	if err != nil {
		fmt.Fprintf(stderr, "samsa: %s: %v\n", *file, err)
		return exitFail
	}
	if *explain {
		fmt.Fprint(stdout, prog.Explain())
		return exitOK
	}
	if prog.Topology() == nil {
		fmt.Fprintf(stderr, "samsa: %s: no query to run, only declarations\n", *file)
		return exitFail
	}
	if prog.Explained() {
		fmt.Fprint(stdout, prog.Explain())
	}
	addrs := strings.Split(*brokers, ",")
	if *brokers == "" {
		b, err := kafkatest.Start(kafkatest.Logger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
		if err != nil {
			fmt.Fprintf(stderr, "samsa: %v\n", err)
			return exitFail
		}
		defer b.Close()
		addrs = b.Addrs()
		for _, s := range append(prog.Sources(), prog.PushQueries()...) {
			if err := b.CreateTopic(s.Topic, int32(max(s.Partitions, 1))); err != nil {
				fmt.Fprintf(stderr, "samsa: create topic %s: %v\n", s.Topic, err)
				return exitFail
			}
		}
		fmt.Fprintf(stdout, "samsa: embedded broker listening on %s\n", strings.Join(addrs, ","))
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := runtime.New(prog.Topology(), runtime.ApplicationID(*appID), runtime.Brokers(addrs...), runtime.Logger(logger), runtime.ProcessingGuarantee(guarantee), runtime.StateDir(*stateDir))
	if err != nil {
		fmt.Fprintf(stderr, "samsa: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "samsa: running; interrupt to stop\n")
	if push := prog.PushQueries(); len(push) > 0 {
		go printPush(ctx, addrs, push, stdout, stderr)
	}
	if err := app.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "samsa: %v\n", err)
		return exitFail
	}
	return exitOK
}

// printPush prints the rows of the push queries (SELECT ... EMIT CHANGES)
// as they are committed, until ctx ends.
func printPush(ctx context.Context, addrs []string, push []*sql.Source, stdout, stderr io.Writer) {
	byTopic := map[string]*sql.Source{}
	var topics []string
	for _, s := range push {
		byTopic[s.Topic] = s
		topics = append(topics, s.Topic)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		fmt.Fprintf(stderr, "samsa: %v\n", err)
		return
	}
	defer cl.Close()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			s := byTopic[r.Topic]
			row, err := s.Render(r.Key, r.Value)
			if err != nil {
				fmt.Fprintf(stderr, "samsa: %s: %v\n", s.Name, err)
				return
			}
			fmt.Fprintf(stdout, "%s %s\n", s.Name, row)
		})
	}
}

// runInteractive runs statements from stdin (sql_interactive.go) on the
// brokers, or on an embedded broker when none are given.
func runInteractive(ctx context.Context, brokers, appID, stateDir string, guarantee runtime.Guarantee, stdin io.Reader, stdout, stderr io.Writer) int {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	out := &lockedWriter{w: stdout}
	s := &sqlSession{ctx: ctx, appID: appID, out: out, stderr: &lockedWriter{w: stderr}, logger: logger, guarantee: guarantee, stateDir: stateDir, owners: map[string]*runtime.App{}}
	if brokers == "" {
		b, err := kafkatest.Start(kafkatest.Logger(logger))
		if err != nil {
			fmt.Fprintf(stderr, "samsa: %v\n", err)
			return exitFail
		}
		defer b.Close()
		s.broker, s.addrs = b, b.Addrs()
		fmt.Fprintf(out, "samsa: embedded broker listening on %s\n", strings.Join(s.addrs, ","))
	} else {
		s.addrs = strings.Split(brokers, ",")
	}
	if stdin == nil {
		stdin = os.Stdin
	}
	return interactive(ctx, s, stdin)
}
