package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/runtime"
)

// w2Input produces the W2 lines once: cfg.records lines of about ten
// words drawn from a vocabulary of cfg.w2Keys random words.
func (b *bench) w2Input(ctx context.Context) (*wordInput, error) {
	if b.w2 != nil {
		return b.w2, nil
	}
	rng := rand.New(rand.NewPCG(2, 2))
	vocab := newRandomVocab(b.cfg.w2Keys, rng)
	in, err := b.produceWords(ctx, "w2-in", vocab, b.cfg.w2Keys, b.cfg.records, 0, func(int64) int { return rng.IntN(b.cfg.w2Keys) })
	if err != nil {
		return nil, err
	}
	b.w2 = in
	return in, nil
}

// w2mInput produces the W2M lines once: cfg.w2mWords words, the first
// cfg.w2mKeys of them each word of the vocabulary once, in a scattered
// order, the rest drawn at random from it.
func (b *bench) w2mInput(ctx context.Context) (*wordInput, error) {
	if b.w2m != nil {
		return b.w2m, nil
	}
	keys := b.cfg.w2mKeys
	rng := rand.New(rand.NewPCG(3, 3))
	step := int64(1_000_003)
	for gcd(step, int64(keys)) != 1 {
		step++
	}
	pick := func(j int64) int {
		if j < int64(keys) {
			return int((j*step + 7) % int64(keys))
		}
		return rng.IntN(keys)
	}
	in, err := b.produceWords(ctx, "w2m-in", spelledVocab{n: keys}, keys, 0, int64(b.cfg.w2mWords), pick)
	if err != nil {
		return nil, err
	}
	b.w2m = in
	return in, nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// wordCountBaseline is the hand-written word count: it counts in a Go map
// and produces each new count, as Java's Long serde encodes it, keyed by
// word.
func (b *bench) wordCountBaseline(in *wordInput, group, topic string) func(ctx context.Context) (outcome, error) {
	return func(ctx context.Context) (outcome, error) {
		counts := map[string]int64{}
		p, stop, err := b.startLoop(group, in.topic, func(r *kgo.Record, produce func(*kgo.Record)) {
			for _, w := range splitLine(string(r.Value)) {
				c := counts[w] + 1
				counts[w] = c
				v := make([]byte, 8)
				binary.BigEndian.PutUint64(v, uint64(c))
				produce(&kgo.Record{Topic: topic, Key: []byte(w), Value: v, Timestamp: r.Timestamp})
			}
		})
		if err != nil {
			return outcome{}, err
		}
		last, first, err := b.waitEndOffsets(ctx, topic, in.words, p)
		return outcome{end: last, first: first, words: in.words, stop: stop, verify: b.wordCountCheck(topic, in, true)}, err
	}
}

func (b *bench) wordCountCheck(topic string, in *wordInput, every bool) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) { return b.verifyWordCounts(ctx, topic, in, every) }
}

// wordCountSamsa runs word count as app appID over in, writing to topic,
// with a cache of cacheBytes (0: none). Uncached, it waits for one output
// per word (committed ones, if committed); cached, where outputs are the
// counts as of each commit, until the app has committed its input and
// repartition topics to their ends.
func (b *bench) wordCountSamsa(in *wordInput, appID, topic string, cacheBytes int, committed bool, logs *logSink, opts ...runtime.Option) func(ctx context.Context) (outcome, error) {
	return func(ctx context.Context) (outcome, error) {
		topo, err := wordCountTopology(in.topic, topic, cacheBytes)
		if err != nil {
			return outcome{}, fmt.Errorf("topology: %w", err)
		}
		p, stop, err := b.startApp(topo, appID, logs, nil, opts...)
		if err != nil {
			return outcome{}, err
		}
		var last, first time.Time
		switch {
		case cacheBytes > 0:
			last, first, err = b.waitProcessed(ctx, appID, []string{in.topic}, []string{appID + "-counts-repartition"}, topic, p)
		case committed:
			last, first, err = b.waitCommitted(ctx, topic, in.words, p)
		default:
			last, first, err = b.waitEndOffsets(ctx, topic, in.words, p)
		}
		return outcome{end: last, first: first, words: in.words, stop: stop, note: logs.report(),
			verify: b.wordCountCheck(topic, in, cacheBytes == 0)}, err
	}
}

// wordCountSides are the sides of a word-count table: the baseline, then
// Samsa cached and uncached, then any extra.
func (b *bench) wordCountSides(in *wordInput, name string, logs *logSink, extra ...side) []side {
	out := func(s string, round int) string { return fmt.Sprintf("%s-out-%s-%d", name, s, round) }
	app := func(s string, round int) string { return fmt.Sprintf("%s-%s-%d", name, s, round) }
	mk := func(label, s string, run func(round int) func(context.Context) (outcome, error)) side {
		return side{
			label: label,
			prepare: func(ctx context.Context, round int) error {
				return b.createTopics(ctx, b.cfg.partitions, nil, out(s, round))
			},
			run: func(ctx context.Context, round int) (outcome, error) { return run(round)(ctx) },
			cleanup: func(ctx context.Context, round int) error {
				return b.dropTopics(ctx, []string{out(s, round)}, app(s, round)+"-")
			},
		}
	}
	sides := []side{
		mk("baseline", "base", func(round int) func(context.Context) (outcome, error) {
			return b.wordCountBaseline(in, app("base", round), out("base", round))
		}),
		mk("samsa-cached", "cached", func(round int) func(context.Context) (outcome, error) {
			return b.wordCountSamsa(in, app("cached", round), out("cached", round), w2CacheBytes, false, logs)
		}),
		mk("samsa-uncached", "samsa", func(round int) func(context.Context) (outcome, error) {
			return b.wordCountSamsa(in, app("samsa", round), out("samsa", round), 0, false, logs)
		}),
	}
	return append(sides, extra...)
}

func (b *bench) w2Bench(ctx context.Context) error {
	in, err := b.w2Input(ctx)
	if err != nil {
		return err
	}
	b.tableHead(fmt.Sprintf("W2 word count: FlatMapValues → GroupBy → Count (Pebble + changelog) → To; %d lines, %d words = outputs, %d distinct",
		in.lines, in.words, len(in.counts)))
	logs := newLogSink(slog.LevelWarn)
	med, err := b.compare(ctx, "w2", int64(in.lines), b.wordCountSides(in, "w2", logs, b.wordCountMetricsSide(in, "w2", logs)))
	if err != nil {
		return err
	}
	base, cached, uncached := med[0], med[1], med[2]
	b.w2Rates = map[string]float64{"cached": cached.wordRate(), "uncached": uncached.wordRate()}
	ratio, uratio := cached.rate()/base.rate(), uncached.rate()/base.rate()
	fmt.Fprintf(b.out, "  ratio samsa-cached/baseline %.2f (target ≥ 0.6): a %d MiB cache in front of the store, Kafka Streams' default;\n", ratio, w2CacheBytes>>20)
	fmt.Fprintf(b.out, "    the outputs are the counts as of each commit (the baseline produces every update); the run waits until the app\n")
	fmt.Fprintf(b.out, "    committed its input and repartition topics to their ends\n")
	fmt.Fprintf(b.out, "  ratio samsa-uncached/baseline %.2f (target ≥ 0.55): every update produced, as the baseline does, plus a repartition record per word\n", uratio)
	b.summary = append(b.summary, fmt.Sprintf("W2 wordcount   samsa-cached %.0f rec/s (%.0f words/s)  baseline %.0f rec/s (%.0f words/s)  ratio %.2f (target ≥ 0.6) %s",
		cached.rate(), cached.wordRate(), base.rate(), base.wordRate(), ratio, verdict(ratio, 0.6)))
	b.summary = append(b.summary, fmt.Sprintf("W2 uncached    samsa %.0f rec/s (%.0f words/s)  ratio %.2f (target ≥ 0.55) %s",
		uncached.rate(), uncached.wordRate(), uratio, verdict(uratio, 0.55)))
	b.metricsRatio("W2 cached", med[3], cached)
	return nil
}

// w2mBench is W2 at a million distinct words: the sides of W2, and the
// uncached one again at a 30s commit interval, Kafka Streams' default
// under at-least-once, where the store's uncommitted writes are bounded
// only by runtime.UncommittedMaxBytes.
func (b *bench) w2mBench(ctx context.Context) error {
	in, err := b.w2mInput(ctx)
	if err != nil {
		return err
	}
	const slow = 30 * time.Second
	logs := newLogSink(slog.LevelWarn)
	out := func(round int) string { return fmt.Sprintf("w2m-out-slow-%d", round) }
	app := func(round int) string { return fmt.Sprintf("w2m-slow-%d", round) }
	slowSide := side{
		label: "samsa-uncached-30s",
		prepare: func(ctx context.Context, round int) error {
			return b.createTopics(ctx, b.cfg.partitions, nil, out(round))
		},
		run: func(ctx context.Context, round int) (outcome, error) {
			return b.wordCountSamsa(in, app(round), out(round), 0, false, logs, runtime.CommitInterval(slow))(ctx)
		},
		cleanup: func(ctx context.Context, round int) error {
			return b.dropTopics(ctx, []string{out(round)}, app(round)+"-")
		},
	}
	b.tableHead(fmt.Sprintf("W2M word count at %d distinct words: %d lines, %d words = outputs (samsa-uncached-30s: commit interval %v)",
		len(in.counts), in.lines, in.words, slow))
	med, err := b.compare(ctx, "w2m", int64(in.lines), b.wordCountSides(in, "w2m", logs, slowSide))
	if err != nil {
		return err
	}
	base, cached, uncached, slowRun := med[0], med[1], med[2], med[3]
	cacheRatio := cached.wordRate() / uncached.wordRate()
	fmt.Fprintf(b.out, "  ratio samsa-cached/samsa-uncached %.2f (target ≥ 1.0); samsa-uncached/baseline %.2f\n", cacheRatio, uncached.rate()/base.rate())
	b.summary = append(b.summary, fmt.Sprintf("W2M %d keys  samsa-cached %.0f words/s  samsa-uncached %.0f words/s  baseline %.0f words/s  cached/uncached %.2f (target ≥ 1.0) %s",
		len(in.counts), cached.wordRate(), uncached.wordRate(), base.wordRate(), cacheRatio, verdict(cacheRatio, 1.0)))
	if b.w2Rates != nil {
		for _, s := range []struct {
			label string
			r     result
		}{{"uncached", uncached}, {"cached", cached}} {
			ratio := s.r.wordRate() / b.w2Rates[s.label]
			fmt.Fprintf(b.out, "  words/s at %d keys ÷ at %d keys, samsa-%s: %.2f (target ≥ 0.5)\n", len(in.counts), b.cfg.w2Keys, s.label, ratio)
			b.summary = append(b.summary, fmt.Sprintf("W2M/W2 %-8s  %.0f words/s at %d keys, %.0f at %d  ratio %.2f (target ≥ 0.5) %s",
				s.label, s.r.wordRate(), len(in.counts), b.w2Rates[s.label], b.cfg.w2Keys, ratio, verdict(ratio, 0.5)))
		}
	}
	const rssTarget = 300 << 20
	rssOK := func(v, limit int64) string {
		if v <= limit {
			return "ok"
		}
		return "ABOVE TARGET"
	}
	fmt.Fprintf(b.out, "  peak RSS uncached: %s at a %v commit interval (target ≤ %s), %s at %v (target ≤ %s)\n",
		fmtMB(slowRun.peakRSS), slow, fmtMB(rssTarget), fmtMB(uncached.peakRSS), b.cfg.commit, fmtMB(rssTarget*6/5))
	b.summary = append(b.summary,
		fmt.Sprintf("W2M RSS 30s    uncached peak %s (target ≤ %s) %s", fmtMB(slowRun.peakRSS), fmtMB(rssTarget), rssOK(slowRun.peakRSS, rssTarget)),
		fmt.Sprintf("W2M RSS %-6v uncached peak %s (target ≤ %s, 20%% above) %s", b.cfg.commit, fmtMB(uncached.peakRSS), fmtMB(rssTarget*6/5), rssOK(uncached.peakRSS, rssTarget*6/5)))
	return nil
}
