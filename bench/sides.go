package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kgo"
)

// stopTimeout bounds the teardown of one side.
const stopTimeout = 30 * time.Second

// startApp runs a Samsa app with its own state directory under b.tmp. The
// returned stop function closes it, waits for Run to return and, if
// afterStop is set, calls it with the state directory before removing it.
func (b *bench) startApp(topo *topology.Topology, appID string, logs *logSink, afterStop func(dir string) error, extra ...runtime.Option) (*proc, func() error, error) {
	dir, err := os.MkdirTemp(b.tmp, appID+"-")
	if err != nil {
		return nil, nil, err
	}
	opts := []runtime.Option{
		runtime.ApplicationID(appID),
		runtime.Brokers(b.addrs...),
		runtime.StateDir(dir),
		runtime.CommitInterval(b.cfg.commit),
		runtime.Logger(slog.New(logs.handler())),
		runtime.KgoOpts(kgo.ProducerBatchCompression(b.cfg.codec)),
	}
	app, err := runtime.New(topo, append(opts, extra...)...)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &proc{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.err = app.Run(ctx)
	}()
	stop := func() error {
		cancel()
		cctx, ccancel := context.WithTimeout(context.Background(), stopTimeout)
		defer ccancel()
		cerr := app.Close(cctx)
		select {
		case <-p.done:
		case <-cctx.Done():
			return fmt.Errorf("app %q did not stop within %v (Close: %v)", appID, stopTimeout, cerr)
		}
		var verr error
		if afterStop != nil && cerr == nil && p.err == nil {
			verr = afterStop(dir)
		}
		os.RemoveAll(dir)
		return errors.Join(cerr, p.err, verr)
	}
	return p, stop, nil
}

// handleFunc is the per-record work of a baseline loop; produce sends an
// output record asynchronously.
type handleFunc func(r *kgo.Record, produce func(*kgo.Record))

// startLoop runs a hand-written consume → process → produce loop in group
// group over topic in, committing as Samsa does under at-least-once: every
// commit interval it flushes the producer, then commits the offsets of the
// records it polled.
func (b *bench) startLoop(group, in string, handle handleFunc) (*proc, func() error, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(b.addrs...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(in),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ProducerBatchCompression(b.cfg.codec),
	)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &proc{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.err = loop(ctx, cl, b.cfg.commit, handle)
	}()
	stop := func() error {
		cancel()
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			return fmt.Errorf("baseline loop of group %q did not stop within %v", group, stopTimeout)
		}
		cl.Close()
		return p.err
	}
	return p, stop, nil
}

func loop(ctx context.Context, cl *kgo.Client, interval time.Duration, handle handleFunc) error {
	var mu sync.Mutex
	var produceErr error
	produce := func(r *kgo.Record) {
		cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if produceErr == nil {
					produceErr = fmt.Errorf("produce to %q: %w", r.Topic, err)
				}
				mu.Unlock()
			}
		})
	}
	last := time.Now()
	for {
		fs := cl.PollRecords(ctx, 2000) // as a Samsa stream thread polls
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if ferr == nil && !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("fetch %q partition %d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		fs.EachRecord(func(r *kgo.Record) { handle(r, produce) })
		mu.Lock()
		perr := produceErr
		mu.Unlock()
		if perr != nil {
			return perr
		}
		if time.Since(last) >= interval {
			last = time.Now()
			if err := cl.Flush(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("flush: %w", err)
			}
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("commit: %w", err)
			}
		}
	}
}

// logSink receives a Samsa app's logs: it keeps the warnings and errors to
// show them (they may point at runtime bugs) and reports "restore done".
type logSink struct {
	level   slog.Level
	mu      sync.Mutex
	n       int
	first   []string
	restore chan restoreDone
}

type restoreDone struct {
	at      time.Time
	records int64
	took    time.Duration
}

func newLogSink(level slog.Level) *logSink {
	return &logSink{level: level, restore: make(chan restoreDone, 1)}
}

func (s *logSink) handler() slog.Handler { return sinkHandler{s: s} }

// report is a line about the warnings and errors logged, or "".
func (s *logSink) report() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return ""
	}
	return fmt.Sprintf("%d warnings/errors logged, first: %s", s.n, strings.Join(s.first, " | "))
}

type sinkHandler struct {
	s     *logSink
	attrs []slog.Attr
}

// BENCH_LOG=info or BENCH_LOG=debug also prints the apps' logs from that
// level on to standard error, for debugging the benchmark.
var debugLog, debugLevel = func() (bool, slog.Level) {
	var l slog.Level
	v := os.Getenv("BENCH_LOG")
	if v == "" || l.UnmarshalText([]byte(v)) != nil {
		return false, 0
	}
	return true, l
}()

var debugHandler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})

func (h sinkHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.s.level || debugLog && l >= debugLevel
}

func (h sinkHandler) Handle(ctx context.Context, r slog.Record) error {
	if debugLog && r.Level >= debugLevel {
		_ = debugHandler.WithAttrs(h.attrs).Handle(ctx, r)
	}
	if r.Message == "restore done" {
		d := restoreDone{at: time.Now()}
		r.Attrs(func(a slog.Attr) bool {
			v := a.Value.Resolve()
			switch {
			case a.Key == "records" && v.Kind() == slog.KindInt64:
				d.records = v.Int64()
			case a.Key == "took" && v.Kind() == slog.KindDuration:
				d.took = v.Duration()
			}
			return true
		})
		select {
		case h.s.restore <- d:
		default:
		}
	}
	if r.Level < slog.LevelWarn {
		return nil
	}
	var sb strings.Builder
	sb.WriteString(r.Level.String() + " " + r.Message)
	for _, a := range h.attrs {
		sb.WriteString(" " + a.String())
	}
	r.Attrs(func(a slog.Attr) bool {
		sb.WriteString(" " + a.String())
		return true
	})
	h.s.mu.Lock()
	h.s.n++
	if len(h.s.first) < 3 {
		h.s.first = append(h.s.first, sb.String())
	}
	h.s.mu.Unlock()
	return nil
}

func (h sinkHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return sinkHandler{s: h.s, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h sinkHandler) WithGroup(string) slog.Handler { return h }
