package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kadm"
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
	const in = "w1-in"
	n := b.cfg.records
	if err := b.createTopics(ctx, b.cfg.partitions, nil, in); err != nil {
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
	out := func(s string, round int) string { return fmt.Sprintf("w1-out-%s-%d", s, round) }

	b.tableHead(fmt.Sprintf("W1 stateless: Filter → MapValues → To; %d records in, %d out", n, want))
	logs := newLogSink(slog.LevelWarn)
	med, err := b.compare(ctx, "w1", int64(n), []side{
		{
			label: "baseline",
			prepare: func(ctx context.Context, round int) error {
				return b.createTopics(ctx, b.cfg.partitions, nil, out("base", round))
			},
			run: func(ctx context.Context, round int) (outcome, error) {
				topic := out("base", round)
				p, stop, err := b.startLoop(fmt.Sprintf("w1-base-%d", round), in, func(r *kgo.Record, produce func(*kgo.Record)) {
					if keep(r.Value) {
						produce(&kgo.Record{Topic: topic, Key: r.Key, Value: transform(r.Value), Timestamp: r.Timestamp})
					}
				})
				if err != nil {
					return outcome{}, err
				}
				last, first, err := b.waitEndOffsets(ctx, topic, want, p)
				return outcome{end: last, first: first, stop: stop}, err
			},
			cleanup: func(ctx context.Context, round int) error {
				return b.dropTopics(ctx, []string{out("base", round)})
			},
		},
		{
			label: "samsa",
			prepare: func(ctx context.Context, round int) error {
				return b.createTopics(ctx, b.cfg.partitions, nil, out("samsa", round))
			},
			run: func(ctx context.Context, round int) (outcome, error) {
				topic := out("samsa", round)
				topo, err := w1Topology(in, topic)
				if err != nil {
					return outcome{}, fmt.Errorf("topology: %w", err)
				}
				p, stop, err := b.startApp(topo, fmt.Sprintf("w1-samsa-%d", round), logs)
				if err != nil {
					return outcome{}, err
				}
				last, first, err := b.waitEndOffsets(ctx, topic, want, p)
				return outcome{end: last, first: first, stop: stop, note: logs.report()}, err
			},
			cleanup: func(ctx context.Context, round int) error {
				return b.dropTopics(ctx, []string{out("samsa", round)}, fmt.Sprintf("w1-samsa-%d-", round))
			},
		},
	})
	if err != nil {
		return err
	}
	base, samsa := med[0], med[1]
	ratio := samsa.rate() / base.rate()
	fmt.Fprintf(b.out, "  ratio samsa/baseline %.2f (target ≥ 0.8)\n", ratio)
	b.summary = append(b.summary, fmt.Sprintf("W1 stateless   samsa %.0f rec/s  baseline %.0f rec/s  ratio %.2f (target ≥ 0.8) %s",
		samsa.rate(), base.rate(), ratio, verdict(ratio, 0.8)))
	return nil
}

// --- W2: word count ---

// splitLine is the FlatMapValues of W2, the same on both sides.
func splitLine(line string) []string { return strings.Fields(strings.ToLower(line)) }

// w2CacheBytes is the cache of the cached W2 side: Kafka Streams' default
// cache size (statestore.cache.max.bytes), which it turns on by default.
const w2CacheBytes = 10 << 20

// w2Topology is word count; cacheBytes > 0 puts a cache of that size in
// front of the counts store.
func w2Topology(in, out string, cacheBytes int) (*topology.Topology, error) {
	b := dsl.NewBuilder()
	m := dsl.MaterializedAs[string, int64]("counts")
	if cacheBytes > 0 {
		m = m.WithCachingEnabled(cacheBytes)
	}
	dsl.Stream(b, in, serde.Bytes, serde.String).
		FlatMapValues(splitLine).
		GroupBy(func(_ []byte, word string) string { return word }, dsl.GroupedWith(serde.String, serde.String)).
		Count(m).
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
	counts := map[string]int64{}
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
			counts[w]++
		}
		for len(v) < valueSize {
			v = append(v, ' ')
		}
		return key(i), v
	})
	if err != nil {
		return err
	}
	b.w2Ready, b.w2Words, b.w2Counts = true, words, counts
	return nil
}

// w2Baseline is the hand-written word count: it counts in a Go map and
// produces each new count, as Java's Long serde encodes it, keyed by word.
func (b *bench) w2Baseline(group, topic string, want int64) func(ctx context.Context) (outcome, error) {
	return func(ctx context.Context) (outcome, error) {
		counts := map[string]int64{}
		p, stop, err := b.startLoop(group, w2In, func(r *kgo.Record, produce func(*kgo.Record)) {
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
		last, first, err := b.waitEndOffsets(ctx, topic, want, p)
		return outcome{end: last, first: first, words: want, stop: stop}, err
	}
}

// w2Samsa runs the word-count topology as app appID writing to topic, and
// waits for want outputs (committed ones, if committed).
func (b *bench) w2Samsa(appID, topic string, want int64, committed bool, logs *logSink, opts ...runtime.Option) func(ctx context.Context) (outcome, error) {
	return func(ctx context.Context) (outcome, error) {
		topo, err := w2Topology(w2In, topic, 0)
		if err != nil {
			return outcome{}, fmt.Errorf("topology: %w", err)
		}
		p, stop, err := b.startApp(topo, appID, logs, opts...)
		if err != nil {
			return outcome{}, err
		}
		wait := b.waitEndOffsets
		if committed {
			wait = b.waitCommitted
		}
		last, first, err := wait(ctx, topic, want, p)
		return outcome{end: last, first: first, words: want, stop: stop, note: logs.report()}, err
	}
}

// w2SamsaCached runs word count with a cache in front of the store, as
// Kafka Streams runs it by default: the outputs are the counts as of each
// commit, not every update, so it waits until the app has committed its
// input and repartition topics to their ends, then checks, unmeasured, that
// the last output per word is its full count.
func (b *bench) w2SamsaCached(appID, topic string, logs *logSink) func(ctx context.Context) (outcome, error) {
	return func(ctx context.Context) (outcome, error) {
		topo, err := w2Topology(w2In, topic, w2CacheBytes)
		if err != nil {
			return outcome{}, fmt.Errorf("topology: %w", err)
		}
		p, stop, err := b.startApp(topo, appID, logs)
		if err != nil {
			return outcome{}, err
		}
		last, first, err := b.waitProcessed(ctx, appID, []string{w2In}, []string{appID + "-counts-repartition"}, topic, p)
		verify := func(ctx context.Context) (string, error) {
			n, err := b.verifyCounts(ctx, topic, b.w2Counts)
			return fmt.Sprintf("%d outputs for %d updates", n, b.w2Words), err
		}
		return outcome{end: last, first: first, words: b.w2Words, stop: stop, note: logs.report(), verify: verify}, err
	}
}

func (b *bench) w2(ctx context.Context) error {
	n := b.cfg.records
	if err := b.w2Input(ctx); err != nil {
		return err
	}
	words := b.w2Words
	out := func(s string, round int) string { return fmt.Sprintf("w2-out-%s-%d", s, round) }
	create := func(s string) func(context.Context, int) error {
		return func(ctx context.Context, round int) error {
			return b.createTopics(ctx, b.cfg.partitions, nil, out(s, round))
		}
	}

	b.tableHead(fmt.Sprintf("W2 word count: FlatMapValues → GroupBy → Count (Pebble + changelog) → To; %d lines, %d words = outputs", n, words))
	logs := newLogSink(slog.LevelWarn)
	med, err := b.compare(ctx, "w2", int64(n), []side{
		{
			label:   "baseline",
			prepare: create("base"),
			run: func(ctx context.Context, round int) (outcome, error) {
				return b.w2Baseline(fmt.Sprintf("w2-base-%d", round), out("base", round), words)(ctx)
			},
			cleanup: func(ctx context.Context, round int) error {
				return b.dropTopics(ctx, []string{out("base", round)})
			},
		},
		{
			label:   "samsa-cached",
			prepare: create("cached"),
			run: func(ctx context.Context, round int) (outcome, error) {
				return b.w2SamsaCached(fmt.Sprintf("w2-cached-%d", round), out("cached", round), logs)(ctx)
			},
			cleanup: func(ctx context.Context, round int) error {
				return b.dropTopics(ctx, []string{out("cached", round)}, fmt.Sprintf("w2-cached-%d-", round))
			},
		},
		{
			label:   "samsa-uncached",
			prepare: create("samsa"),
			run: func(ctx context.Context, round int) (outcome, error) {
				return b.w2Samsa(fmt.Sprintf("w2-samsa-%d", round), out("samsa", round), words, false, logs)(ctx)
			},
			cleanup: func(ctx context.Context, round int) error {
				return b.dropTopics(ctx, []string{out("samsa", round)}, fmt.Sprintf("w2-samsa-%d-", round))
			},
		},
	})
	if err != nil {
		return err
	}
	base, cached, uncached := med[0], med[1], med[2]
	ratio := cached.rate() / base.rate()
	fmt.Fprintf(b.out, "  ratio samsa-cached/baseline %.2f (target ≥ 0.6): a %d MiB cache in front of the store, Kafka Streams' default;\n", ratio, w2CacheBytes>>20)
	fmt.Fprintf(b.out, "    the outputs are the counts as of each commit (the baseline produces every update); the run waits until the app\n")
	fmt.Fprintf(b.out, "    committed its input and repartition topics to their ends, then checks the last output of every word, unmeasured\n")
	fmt.Fprintf(b.out, "  ratio samsa-uncached/baseline %.2f: every update produced, as the baseline does, plus a repartition and a changelog record per word\n", uncached.rate()/base.rate())
	b.summary = append(b.summary, fmt.Sprintf("W2 wordcount   samsa-cached %.0f rec/s (%.0f words/s)  baseline %.0f rec/s (%.0f words/s)  ratio %.2f (target ≥ 0.6) %s",
		cached.rate(), cached.wordRate(), base.rate(), base.wordRate(), ratio, verdict(ratio, 0.6)))
	b.summary = append(b.summary, fmt.Sprintf("W2 uncached    samsa %.0f rec/s (%.0f words/s)  ratio %.2f (no target: every update, as the baseline)",
		uncached.rate(), uncached.wordRate(), uncached.rate()/base.rate()))
	return nil
}

// waitProcessed polls every 20ms until group has committed offsets at the
// end of every partition of the inputs and then of the internal topics; a
// commit comes after the producer flush, so by then every output is
// visible. The internal topics are final once the inputs are committed:
// the committed offsets are fetched before the end offsets are listed. It
// returns when that was seen, and when the first output on out was.
func (b *bench) waitProcessed(ctx context.Context, group string, inputs, internal []string, out string, p *proc) (last, first time.Time, err error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	topics := append(append(slices.Clone(inputs), internal...), out)
	status := "nothing fetched yet"
	for {
		committed, cerr := b.adm.FetchOffsets(ctx, group)
		if cerr == nil {
			cerr = committed.Error()
		}
		ends, lerr := b.adm.ListEndOffsets(ctx, topics...)
		if lerr == nil {
			lerr = ends.Error()
		}
		now := time.Now()
		if cerr == nil && lerr == nil {
			var outs int64
			ends.Each(func(o kadm.ListedOffset) {
				if o.Topic == out {
					outs += o.Offset
				}
			})
			if outs > 0 && first.IsZero() {
				first = now
			}
			behind := func(ts []string) string {
				for _, t := range ts {
					for part, o := range ends[t] {
						c, ok := committed.Lookup(t, part)
						if o.Offset > 0 && (!ok || c.At < o.Offset) {
							return fmt.Sprintf("%s[%d] committed %d of %d", t, part, c.At, o.Offset)
						}
					}
				}
				return ""
			}
			if status = behind(inputs); status == "" {
				if status = behind(internal); status == "" {
					return now, first, nil
				}
			}
		} else {
			status = fmt.Sprintf("offsets: %v", errors.Join(cerr, lerr))
		}
		if err := p.failed(); err != nil {
			return now, first, fmt.Errorf("%s: %w", status, err)
		}
		select {
		case <-ctx.Done():
			return now, first, fmt.Errorf("%s: timed out: %w", status, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// verifyCounts reads topic to its end and checks that the last count of
// every word is want's; it returns how many records the topic holds.
func (b *bench) verifyCounts(ctx context.Context, topic string, want map[string]int64) (int64, error) {
	ends, err := b.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("verify %q: %w", topic, err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addrs...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	got := map[string]int64{}
	var n int64
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return n, fmt.Errorf("verify %q: read %d records: %w", topic, n, context.Cause(ctx))
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			if len(r.Value) == 8 {
				got[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
			}
			if r.Offset+1 >= left[r.Partition] {
				delete(left, r.Partition)
			}
		})
	}
	if len(got) != len(want) {
		return n, fmt.Errorf("verify %q: %d words have counts, want %d", topic, len(got), len(want))
	}
	for w, c := range want {
		if got[w] != c {
			return n, fmt.Errorf("verify %q: last count of %q is %d, want %d", topic, w, got[w], c)
		}
	}
	return n, nil
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
		return key(i), randomValue(rng)
	})
	if err != nil {
		return err
	}
	tb := dsl.NewBuilder()
	dsl.Table(tb, src, serde.Bytes, serde.Bytes, dsl.MaterializedAs[[]byte, []byte]("counts"))
	topo, err := tb.Build()
	if err != nil {
		return fmt.Errorf("w6 topology: %w", err)
	}

	b.tableHead(fmt.Sprintf("W6 restore: %d records (1 partition of %q) into an empty Pebble store\n"+
		"  (samsa-restore: elapsed = app start → the \"restore done\" log; took = the restore's own duration as the runtime logs it)", n, changelog))
	med, err := b.compare(ctx, "w6", int64(n), []side{
		{label: "raw-consume", run: func(ctx context.Context, _ int) (outcome, error) { return b.rawConsume(ctx, changelog, int64(n)) }},
		{label: "samsa-restore", run: func(ctx context.Context, _ int) (outcome, error) {
			// A new state directory each time: the restore starts from
			// an empty store.
			logs := newLogSink(slog.LevelInfo)
			p, stop, err := b.startApp(topo, appID, logs)
			if err != nil {
				return outcome{}, err
			}
			select {
			case d := <-logs.restore:
				if d.records != int64(n) {
					return outcome{stop: stop}, fmt.Errorf("restore done with %d records, want %d", d.records, n)
				}
				note := fmt.Sprintf("took %s → %.0f rec/s", fmtDur(d.took), float64(n)/d.took.Seconds())
				if r := logs.report(); r != "" {
					note += "; " + r
				}
				return outcome{end: d.at, took: d.took, note: note, stop: stop}, nil
			case <-p.done:
				return outcome{stop: stop}, fmt.Errorf("app stopped before restore was done: %v", p.err)
			case <-ctx.Done():
				return outcome{stop: stop}, fmt.Errorf("no \"restore done\" log: %w", context.Cause(ctx))
			}
		}},
	})
	if err != nil {
		return err
	}
	raw, restore := med[0], med[1]
	ratio := restore.primaryRate() / raw.rate()
	fmt.Fprintf(b.out, "  ratio restore (records/took) ÷ raw %.2f (target ≥ 0.5); end to end, with app start and group join: %.2f\n", ratio, restore.rate()/raw.rate())
	b.summary = append(b.summary, fmt.Sprintf("W6 restore     samsa %.0f rec/s (took %s)  raw consume %.0f rec/s  ratio %.2f (target ≥ 0.5) %s",
		restore.primaryRate(), fmtDur(restore.took), raw.rate(), ratio, verdict(ratio, 0.5)))
	return nil
}

// rawConsume reads partition 0 of topic from the start until it has seen
// offset n-1, doing nothing with the records.
func (b *bench) rawConsume(ctx context.Context, topic string, n int64) (outcome, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(b.addrs...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
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
			if r.Offset >= n-1 {
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
}

// --- exactly-once against at-least-once ---

func (b *bench) eosCompare(ctx context.Context) error {
	probe, err := w2Topology(w2In, "w2-out-probe", 0)
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
		mk := func(name string, g runtime.Guarantee) side {
			tag := func(round int) string { return fmt.Sprintf("%s-%v-%d", name, iv, round) }
			return side{
				label: fmt.Sprintf("%s-%v", name, iv),
				prepare: func(ctx context.Context, round int) error {
					return b.createTopics(ctx, b.cfg.partitions, nil, "w2-out-"+tag(round))
				},
				run: func(ctx context.Context, round int) (outcome, error) {
					logs := newLogSink(slog.LevelWarn)
					return b.w2Samsa("w2-"+tag(round), "w2-out-"+tag(round), words, true, logs,
						runtime.ProcessingGuarantee(g), runtime.CommitInterval(iv))(ctx)
				},
				cleanup: func(ctx context.Context, round int) error {
					return b.dropTopics(ctx, []string{"w2-out-" + tag(round)}, "w2-"+tag(round)+"-")
				},
			}
		}
		med, err := b.compare(ctx, "w2", int64(n), []side{mk("alos", runtime.AtLeastOnce), mk("eos", runtime.ExactlyOnceV2)})
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
