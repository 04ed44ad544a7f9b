package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kgo"
)

const valueSize = 100

func randomValue(rng *rand.Rand) []byte {
	v := make([]byte, valueSize)
	var w [8]byte
	for j := 0; j < valueSize; j += 8 {
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		copy(v[j:], w[:])
	}
	return v
}

func key(i int) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, uint64(i))
	return k
}

// --- W1: stateless filter + map ---

// keep drops one record in a thousand (those whose value starts with 0xFF).
func keep(v []byte) bool { return len(v) > 0 && v[0] != 0xFF }

// transform is the map of W1, the same on both sides: a fresh copy with its
// first 8 bytes changed.
func transform(v []byte) []byte {
	out := make([]byte, len(v))
	copy(out, v)
	for i := 0; i < 8 && i < len(out); i++ {
		out[i] ^= 0x5A
	}
	return out
}

func w1Topology(in, out string) (*topology.Topology, error) {
	b := dsl.NewBuilder()
	dsl.Stream(b, in, serde.Bytes, serde.Bytes).
		Filter(func(_, v []byte) bool { return keep(v) }).
		MapValues(transform).
		To(out)
	return b.Build()
}

func (b *bench) w1(ctx context.Context) error {
	const in, outBase, outSamsa = "w1-in", "w1-out-base", "w1-out-samsa"
	n := b.cfg.records
	if err := b.createTopics(ctx, b.cfg.partitions, nil, in, outBase, outSamsa); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var want int64
	err := b.produceAll(ctx, in, n, func(i int) ([]byte, []byte) {
		v := randomValue(rng)
		if i%1000 == 999 {
			v[0] = 0xFF
		} else if v[0] == 0xFF {
			v[0] = 0xFE
		}
		if keep(v) {
			want++
		}
		return key(i), v
	})
	if err != nil {
		return err
	}
	topo, err := w1Topology(in, outSamsa)
	if err != nil {
		return fmt.Errorf("w1 topology: %w", err)
	}

	b.tableHead(fmt.Sprintf("W1 stateless: Filter → MapValues → To; %d records in, %d out", n, want))
	base, err := b.measure(ctx, "w1", "baseline", int64(n), func(ctx context.Context) (outcome, error) {
		p, stop, err := b.startLoop("w1-base", in, func(r *kgo.Record, produce func(*kgo.Record)) {
			if keep(r.Value) {
				produce(&kgo.Record{Topic: outBase, Key: r.Key, Value: transform(r.Value), Timestamp: r.Timestamp})
			}
		})
		if err != nil {
			return outcome{}, err
		}
		last, first, err := b.waitEndOffsets(ctx, outBase, want, p)
		return outcome{end: last, first: first, stop: stop}, err
	})
	if err != nil {
		return err
	}
	b.row(base)
	logs := newLogSink(slog.LevelWarn)
	samsa, err := b.measure(ctx, "w1", "samsa", int64(n), func(ctx context.Context) (outcome, error) {
		p, stop, err := b.startApp(topo, "w1-samsa", logs)
		if err != nil {
			return outcome{}, err
		}
		last, first, err := b.waitEndOffsets(ctx, outSamsa, want, p)
		return outcome{end: last, first: first, stop: stop}, err
	})
	if err != nil {
		return err
	}
	samsa.note = logs.report()
	b.row(samsa)
	ratio := samsa.rate() / base.rate()
	fmt.Fprintf(b.out, "  ratio samsa/baseline %.2f (target ≥ 0.8)\n", ratio)
	b.summary = append(b.summary, fmt.Sprintf("W1 stateless   samsa %.0f rec/s  baseline %.0f rec/s  ratio %.2f (target ≥ 0.8) %s",
		samsa.rate(), base.rate(), ratio, verdict(ratio, 0.8)))
	return nil
}

// --- W2: word count ---

// splitLine is the FlatMapValues of W2, the same on both sides.
func splitLine(line string) []string { return strings.Fields(strings.ToLower(line)) }

func w2Topology(in, out string) (*topology.Topology, error) {
	b := dsl.NewBuilder()
	dsl.Stream(b, in, serde.Bytes, serde.String).
		FlatMapValues(splitLine).
		GroupBy(func(_ []byte, word string) string { return word }, dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.Materialized("counts")).
		ToStream().
		To(out, dsl.ProducedWith(serde.String, serde.Int64))
	return b.Build()
}

const w2In = "w2-in"

// w2Input produces the W2 lines once: 100-byte values of about ten words
// drawn from a vocabulary of 1000, padded with spaces.
func (b *bench) w2Input(ctx context.Context) error {
	if b.w2Ready {
		return nil
	}
	if err := b.createTopics(ctx, b.cfg.partitions, nil, w2In); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(2, 2))
	vocab := make([]string, 1000)
	for i := range vocab {
		w := make([]byte, 6+rng.IntN(6))
		for j := range w {
			w[j] = byte('a' + rng.IntN(26))
		}
		vocab[i] = string(w)
	}
	var words int64
	err := b.produceAll(ctx, w2In, b.cfg.records, func(i int) ([]byte, []byte) {
		v := make([]byte, 0, valueSize)
		for {
			w := vocab[rng.IntN(len(vocab))]
			extra := len(w)
			if len(v) > 0 {
				extra++
			}
			if len(v)+extra > valueSize {
				break
			}
			if len(v) > 0 {
				v = append(v, ' ')
			}
			v = append(v, w...)
			words++
		}
		for len(v) < valueSize {
			v = append(v, ' ')
		}
		return key(i), v
	})
	if err != nil {
		return err
	}
	b.w2Ready, b.w2Words = true, words
	return nil
}

func (b *bench) w2(ctx context.Context) error {
	const outBase, outSamsa = "w2-out-base", "w2-out-samsa"
	n := b.cfg.records
	if err := b.w2Input(ctx); err != nil {
		return err
	}
	if err := b.createTopics(ctx, b.cfg.partitions, nil, outBase, outSamsa); err != nil {
		return err
	}
	topo, err := w2Topology(w2In, outSamsa)
	if err != nil {
		return fmt.Errorf("w2 topology: %w", err)
	}
	words := b.w2Words

	b.tableHead(fmt.Sprintf("W2 word count: FlatMapValues → GroupBy → Count (Pebble + changelog) → To; %d lines, %d words = outputs", n, words))
	base, err := b.measure(ctx, "w2", "baseline", int64(n), func(ctx context.Context) (outcome, error) {
		counts := map[string]int64{}
		p, stop, err := b.startLoop("w2-base", w2In, func(r *kgo.Record, produce func(*kgo.Record)) {
			for _, w := range splitLine(string(r.Value)) {
				c := counts[w] + 1
				counts[w] = c
				v := make([]byte, 8)
				binary.BigEndian.PutUint64(v, uint64(c))
				produce(&kgo.Record{Topic: outBase, Key: []byte(w), Value: v, Timestamp: r.Timestamp})
			}
		})
		if err != nil {
			return outcome{}, err
		}
		last, first, err := b.waitEndOffsets(ctx, outBase, words, p)
		return outcome{end: last, first: first, words: words, stop: stop}, err
	})
	if err != nil {
		return err
	}
	b.row(base)
	logs := newLogSink(slog.LevelWarn)
	samsa, err := b.measure(ctx, "w2", "samsa", int64(n), func(ctx context.Context) (outcome, error) {
		p, stop, err := b.startApp(topo, "w2-samsa", logs)
		if err != nil {
			return outcome{}, err
		}
		last, first, err := b.waitEndOffsets(ctx, outSamsa, words, p)
		return outcome{end: last, first: first, words: words, stop: stop}, err
	})
	if err != nil {
		return err
	}
	samsa.note = logs.report()
	b.row(samsa)
	ratio := samsa.rate() / base.rate()
	fmt.Fprintf(b.out, "  ratio samsa/baseline %.2f (target ≥ 0.6); Samsa also writes a repartition and a changelog record per word\n", ratio)
	b.summary = append(b.summary, fmt.Sprintf("W2 wordcount   samsa %.0f rec/s (%.0f words/s)  baseline %.0f rec/s (%.0f words/s)  ratio %.2f (target ≥ 0.6) %s",
		samsa.rate(), samsa.wordRate(), base.rate(), base.wordRate(), ratio, verdict(ratio, 0.6)))
	return nil
}

// --- W6: restore ---

func (b *bench) w6(ctx context.Context) error {
	const appID, src, changelog = "w6", "w6-src", "w6-counts-changelog"
	n := b.cfg.records
	compact := "compact"
	if err := b.createTopics(ctx, 1, map[string]*string{"cleanup.policy": &compact}, changelog); err != nil {
		return err
	}
	if err := b.createTopics(ctx, 1, nil, src); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(6, 6))
	err := b.produceAll(ctx, changelog, n, func(i int) ([]byte, []byte) {
		v := randomValue(rng)
		return key(i), v
	})
	if err != nil {
		return err
	}
	tb := dsl.NewBuilder()
	dsl.Table(tb, src, serde.Bytes, serde.Bytes, dsl.Materialized("counts"))
	topo, err := tb.Build()
	if err != nil {
		return fmt.Errorf("w6 topology: %w", err)
	}

	b.tableHead(fmt.Sprintf("W6 restore: %d records (1 partition of %q) into an empty Pebble store", n, changelog))
	raw, err := b.measure(ctx, "w6", "raw consume", int64(n), func(ctx context.Context) (outcome, error) {
		cl, err := kgo.NewClient(
			kgo.SeedBrokers(b.addrs...),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{changelog: {0: kgo.NewOffset().AtStart()}}),
		)
		if err != nil {
			return outcome{}, err
		}
		stop := func() error { cl.Close(); return nil }
		var got int64
		var first time.Time
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				return outcome{stop: stop}, fmt.Errorf("read %d of %d records: %w", got, n, context.Cause(ctx))
			}
			var ferr error
			fs.EachError(func(t string, p int32, err error) {
				if ferr == nil {
					ferr = fmt.Errorf("consume %q partition %d: %w", t, p, err)
				}
			})
			if ferr != nil {
				return outcome{stop: stop}, ferr
			}
			done := false
			fs.EachRecord(func(r *kgo.Record) {
				got++
				if r.Offset >= int64(n)-1 {
					done = true
				}
			})
			if got > 0 && first.IsZero() {
				first = time.Now()
			}
			if done {
				return outcome{end: time.Now(), first: first, stop: stop}, nil
			}
		}
	})
	if err != nil {
		return err
	}
	b.row(raw)

	logs := newLogSink(slog.LevelInfo)
	var took time.Duration
	restore, err := b.measure(ctx, "w6", "samsa restore", int64(n), func(ctx context.Context) (outcome, error) {
		p, stop, err := b.startApp(topo, appID, logs)
		if err != nil {
			return outcome{}, err
		}
		select {
		case d := <-logs.restore:
			if d.records != int64(n) {
				return outcome{stop: stop}, fmt.Errorf("restore done with %d records, want %d", d.records, n)
			}
			took = d.took
			return outcome{end: d.at, stop: stop}, nil
		case <-p.done:
			return outcome{stop: stop}, fmt.Errorf("app stopped before restore was done: %v", p.err)
		case <-ctx.Done():
			return outcome{stop: stop}, fmt.Errorf("no \"restore done\" log: %w", context.Cause(ctx))
		}
	})
	if err != nil {
		return err
	}
	restore.note = fmt.Sprintf("elapsed = app start → \"restore done\"; its took=%s → %.0f rec/s", fmtDur(took), float64(n)/took.Seconds())
	if r := logs.report(); r != "" {
		restore.note += "; " + r
	}
	b.row(restore)
	restoreRate := float64(n) / took.Seconds()
	ratio := restoreRate / raw.rate()
	fmt.Fprintf(b.out, "  ratio restore (took)/raw %.2f (target ≥ 0.5); end-to-end (with app start and group join) %.2f\n", ratio, restore.rate()/raw.rate())
	b.summary = append(b.summary, fmt.Sprintf("W6 restore     samsa %.0f rec/s (took %s)  raw consume %.0f rec/s  ratio %.2f (target ≥ 0.5) %s",
		restoreRate, fmtDur(took), raw.rate(), ratio, verdict(ratio, 0.5)))
	return nil
}

// --- exactly-once against at-least-once ---

func (b *bench) eosCompare(ctx context.Context) error {
	probe, err := w2Topology(w2In, "w2-out-probe")
	if err != nil {
		return err
	}
	targets := map[time.Duration]float64{100 * time.Millisecond: 0.7, time.Second: 0.9}
	intervals := []time.Duration{100 * time.Millisecond, time.Second}
	if _, err := runtime.New(probe, runtime.ApplicationID("w2-eos-probe"), runtime.Brokers(b.addrs...), runtime.ExactlyOnce()); err != nil {
		fmt.Fprintf(b.out, "\nW2 exactly-once ÷ at-least-once: not available (runtime.New: %v)\n", err)
		for _, iv := range intervals {
			b.summary = append(b.summary, fmt.Sprintf("W2 EOS/ALOS %-6v not available (runtime.New refuses ExactlyOnce: %v) (target ≥ %.1f)", iv, err, targets[iv]))
		}
		return nil
	}
	if err := b.w2Input(ctx); err != nil {
		return err
	}
	n, words := b.cfg.records, b.w2Words
	b.tableHead(fmt.Sprintf("W2 exactly-once vs at-least-once; %d lines, %d words; outputs counted by a read_committed consumer", n, words))
	for _, iv := range intervals {
		var rates [2]float64
		for i, g := range []runtime.Guarantee{runtime.AtLeastOnce, runtime.ExactlyOnceV2} {
			tag := fmt.Sprintf("%s-%v", map[runtime.Guarantee]string{runtime.AtLeastOnce: "alos", runtime.ExactlyOnceV2: "eos"}[g], iv)
			out := "w2-out-" + tag
			if err := b.createTopics(ctx, b.cfg.partitions, nil, out); err != nil {
				return err
			}
			topo, err := w2Topology(w2In, out)
			if err != nil {
				return err
			}
			logs := newLogSink(slog.LevelWarn)
			r, err := b.measure(ctx, "w2", tag, int64(n), func(ctx context.Context) (outcome, error) {
				p, stop, err := b.startApp(topo, "w2-"+tag, logs, runtime.ProcessingGuarantee(g), runtime.CommitInterval(iv))
				if err != nil {
					return outcome{}, err
				}
				last, first, err := b.waitCommitted(ctx, out, words, p)
				return outcome{end: last, first: first, words: words, stop: stop}, err
			})
			if err != nil {
				return err
			}
			r.note = logs.report()
			b.row(r)
			rates[i] = r.rate()
		}
		ratio := rates[1] / rates[0]
		fmt.Fprintf(b.out, "  ratio EOS/ALOS at %v: %.2f (target ≥ %.1f)\n", iv, ratio, targets[iv])
		b.summary = append(b.summary, fmt.Sprintf("W2 EOS/ALOS %-6v eos %.0f rec/s  alos %.0f rec/s  ratio %.2f (target ≥ %.1f) %s",
			iv, rates[1], rates[0], ratio, targets[iv], verdict(ratio, targets[iv])))
	}
	return nil
}
