package main

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/samsa-go/samsa/runtime"
)

// metricsOn is the option of a side that runs with Prometheus metrics on,
// registered with a registry of its own, as a pod serving /metrics would.
// It does not scrape while measuring: a scrape reads the counters on the
// HTTP server's goroutine, off the path records take.
type metricsOn struct{ reg *prometheus.Registry }

func newMetricsOn() metricsOn { return metricsOn{prometheus.NewRegistry()} }

func (m metricsOn) option() runtime.Option { return runtime.Metrics(m.reg) }

// check wraps verify with a check that the metrics did count: the app's
// tasks processed at least records input records (a side reading its own
// repartition topic processes more), so that the side cannot pass with
// metrics that measure nothing.
func (m metricsOn) check(records int64, verify func(ctx context.Context) (string, error)) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		note := ""
		if verify != nil {
			var err error
			if note, err = verify(ctx); err != nil {
				return note, err
			}
		}
		fams, err := m.reg.Gather()
		if err != nil {
			return note, fmt.Errorf("gather metrics: %w", err)
		}
		var processed float64
		var timed uint64
		var commits, commitSecs float64
		for _, f := range fams {
			for _, mt := range f.GetMetric() {
				switch f.GetName() {
				case "samsa_task_records_processed_total":
					processed += mt.GetCounter().GetValue()
				case "samsa_task_process_latency_seconds":
					timed += mt.GetHistogram().GetSampleCount()
				case "samsa_thread_commits_total":
					commits += mt.GetCounter().GetValue()
				case "samsa_thread_commit_latency_seconds":
					commitSecs += mt.GetHistogram().GetSampleSum()
				}
			}
		}
		if processed < float64(records) || timed == 0 {
			return note, fmt.Errorf("metrics counted %.0f records processed (want at least %d) and timed %d", processed, records, timed)
		}
		if note != "" {
			note += "; "
		}
		return note + fmt.Sprintf("metrics: %.0f processed, %d timed, %.0f commits taking %.2fs", processed, timed, commits, commitSecs), nil
	}
}

// metricsRatio is the line of a table saying what metrics cost: the rate
// with metrics on over the rate with them off.
func (b *bench) metricsRatio(workload string, on, off result) {
	ratio := on.rate() / off.rate()
	fmt.Fprintf(b.out, "  ratio metrics-on/metrics-off %.3f (target ≥ 0.97)\n", ratio)
	b.summary = append(b.summary, fmt.Sprintf("%-14s metrics on %.0f rec/s  off %.0f rec/s  ratio %.3f (target ≥ 0.97) %s",
		workload+" metrics", on.rate(), off.rate(), ratio, verdict(ratio, 0.97)))
}

// wordCountMetricsSide is the samsa-cached side of a word-count table with
// metrics on.
func (b *bench) wordCountMetricsSide(in *wordInput, name string, logs *logSink) side {
	out := func(round int) string { return fmt.Sprintf("%s-out-metrics-%d", name, round) }
	app := func(round int) string { return fmt.Sprintf("%s-metrics-%d", name, round) }
	return side{
		label: "samsa-cached-metrics",
		prepare: func(ctx context.Context, round int) error {
			return b.createTopics(ctx, b.cfg.partitions, nil, out(round))
		},
		run: func(ctx context.Context, round int) (outcome, error) {
			m := newMetricsOn()
			o, err := b.wordCountSamsa(in, app(round), out(round), w2CacheBytes, false, logs, m.option())(ctx)
			o.verify = m.check(int64(in.lines), o.verify)
			return o, err
		},
		cleanup: func(ctx context.Context, round int) error {
			return b.dropTopics(ctx, []string{out(round)}, app(round)+"-")
		},
	}
}
