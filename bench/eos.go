package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/samsa-go/samsa/runtime"
)

// eosCompare runs W2, uncached, under exactly-once and at-least-once at
// commit intervals of 100ms and 1s.
func (b *bench) eosCompare(ctx context.Context) error {
	in, err := b.w2Input(ctx)
	if err != nil {
		return err
	}
	targets := map[time.Duration]float64{100 * time.Millisecond: 0.7, time.Second: 0.9}
	intervals := []time.Duration{100 * time.Millisecond, time.Second}
	b.tableHead(fmt.Sprintf("W2 exactly-once vs at-least-once; %d lines, %d words; outputs counted by a read_committed consumer", in.lines, in.words))
	for _, iv := range intervals {
		mk := func(name string, g runtime.Guarantee) side {
			tag := func(round int) string { return fmt.Sprintf("%s-%v-%d", name, iv, round) }
			return side{
				label: fmt.Sprintf("%s-%v", name, iv),
				prepare: func(ctx context.Context, round int) error {
					return b.createTopics(ctx, b.cfg.partitions, nil, "w2-out-"+tag(round))
				},
				run: func(ctx context.Context, round int) (outcome, error) {
					logs := newLogSink(slog.LevelWarn)
					return b.wordCountSamsa(in, "w2-"+tag(round), "w2-out-"+tag(round), 0, true, logs,
						runtime.ProcessingGuarantee(g), runtime.CommitInterval(iv))(ctx)
				},
				cleanup: func(ctx context.Context, round int) error {
					return b.dropTopics(ctx, []string{"w2-out-" + tag(round)}, "w2-"+tag(round)+"-")
				},
			}
		}
		med, err := b.compare(ctx, "w2", int64(in.lines), []side{mk("alos", runtime.AtLeastOnce), mk("eos", runtime.ExactlyOnceV2)})
		if err != nil {
			return err
		}
		ratio := med[1].rate() / med[0].rate()
		fmt.Fprintf(b.out, "  ratio EOS/ALOS at %v: %.2f (target ≥ %.1f)\n", iv, ratio, targets[iv])
		b.summary = append(b.summary, fmt.Sprintf("W2 EOS/ALOS %-6v eos %.0f rec/s  alos %.0f rec/s  ratio %.2f (target ≥ %.1f) %s",
			iv, med[1].rate(), med[0].rate(), ratio, targets[iv], verdict(ratio, targets[iv])))
	}
	return nil
}
