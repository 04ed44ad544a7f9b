package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
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

// recordSum is an order-free digest of a set of records: the sum of a hash
// of each key and value. Two topics holding the same records, in any
// order and over any partitions, have the same count and sum.
type recordSum struct {
	n   int64
	sum uint64
}

var sumSeed = maphash.MakeSeed()

func (s *recordSum) add(k, v []byte) {
	var h maphash.Hash
	h.SetSeed(sumSeed)
	h.Write(k)
	h.WriteByte(0)
	h.Write(v)
	s.n++
	s.sum += h.Sum64()
}

func (b *bench) w1(ctx context.Context) error {
	const in = "w1-in"
	n := b.cfg.records
	if err := b.createTopics(ctx, b.cfg.partitions, nil, in); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var want recordSum
	err := b.produceAll(ctx, in, n, func(i int) ([]byte, []byte) {
		v := randomValue(rng)
		if i%1000 == 999 {
			v[0] = 0xFF
		} else if v[0] == 0xFF {
			v[0] = 0xFE
		}
		if keep(v) {
			want.add(key(i), transform(v))
		}
		return key(i), v
	})
	if err != nil {
		return err
	}
	out := func(s string, round int) string { return fmt.Sprintf("w1-out-%s-%d", s, round) }
	verify := func(topic string) func(ctx context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			var got recordSum
			if _, err := b.readTopic(ctx, topic, func(r *kgo.Record) error {
				got.add(r.Key, r.Value)
				return nil
			}); err != nil {
				return "", err
			}
			if got != want {
				return "", fmt.Errorf("verify %q: %d records, digest %x; want %d records, digest %x", topic, got.n, got.sum, want.n, want.sum)
			}
			return "", nil
		}
	}

	b.tableHead(fmt.Sprintf("W1 stateless: Filter → MapValues → To; %d records in, %d out", n, want.n))
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
				last, first, err := b.waitEndOffsets(ctx, topic, want.n, p)
				return outcome{end: last, first: first, stop: stop, verify: verify(topic)}, err
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
				p, stop, err := b.startApp(topo, fmt.Sprintf("w1-samsa-%d", round), logs, nil)
				if err != nil {
					return outcome{}, err
				}
				last, first, err := b.waitEndOffsets(ctx, topic, want.n, p)
				return outcome{end: last, first: first, stop: stop, note: logs.report(), verify: verify(topic)}, err
			},
			cleanup: func(ctx context.Context, round int) error {
				return b.dropTopics(ctx, []string{out("samsa", round)}, fmt.Sprintf("w1-samsa-%d-", round))
			},
		},
		{
			label: "samsa-metrics",
			prepare: func(ctx context.Context, round int) error {
				return b.createTopics(ctx, b.cfg.partitions, nil, out("metrics", round))
			},
			run: func(ctx context.Context, round int) (outcome, error) {
				topic := out("metrics", round)
				metrics := newMetricsOn()
				topo, err := w1Topology(in, topic)
				if err != nil {
					return outcome{}, fmt.Errorf("topology: %w", err)
				}
				p, stop, err := b.startApp(topo, fmt.Sprintf("w1-metrics-%d", round), logs, nil, metrics.option())
				if err != nil {
					return outcome{}, err
				}
				last, first, err := b.waitEndOffsets(ctx, topic, want.n, p)
				return outcome{end: last, first: first, stop: stop, note: logs.report(), verify: metrics.check(int64(n), verify(topic))}, err
			},
			cleanup: func(ctx context.Context, round int) error {
				return b.dropTopics(ctx, []string{out("metrics", round)}, fmt.Sprintf("w1-metrics-%d-", round))
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
	b.metricsRatio("W1", med[2], samsa)
	return nil
}
