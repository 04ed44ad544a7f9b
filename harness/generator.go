package harness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/samsa-go/samsa/serde"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Generator writes keyed integers to the input topic, and updates of the
// same keys to the table topic, and records exactly what it wrote.
//
// It produces with kgo's defaults, which are what the test needs: the
// default (murmur2, Java-compatible) partitioner, acks from all in-sync
// replicas and the idempotent producer, so a retried batch is written once.
// Each batch is written with ProduceSync and recorded only once every
// record of it is acknowledged; a batch that fails leaves the input
// unknown, so Run returns an error instead of guessing.
type Generator struct {
	Brokers []string
	// Keys is the number of keys, "k0".."k<Keys-1>". Default 20; keep it
	// prime to 7, or every input key maps to one key of agg-rekeyed.
	Keys int
	// Batch is the number of records per ProduceSync. Default 10.
	Batch int
	// Interval is the pause between batches. Default 50ms.
	Interval time.Duration
	// Max stops the generator after this many records; 0 means no limit.
	Max int
	// Seed chooses the key and the timestamp of each record.
	Seed uint64

	// Records carry event times from a clock that starts at Start (default
	// now) and advances by Step per batch (default 250ms, five times the
	// default pace of the wall clock, so that a short run spans many
	// windows of the windowed outputs). Each record's timestamp lags the
	// clock by a seeded amount below Jitter (default 3s), so a partition's
	// records are out of order by less than Jitter: keep it below the
	// grace of the windowed outputs (WindowGrace), whose checks count on
	// no record being late. The clock runs ahead of the wall clock, by 50
	// minutes after a 10-minute soak: against a real broker, keep it within
	// message.timestamp.after.max.ms (an hour by default in recent Kafka).
	Start  time.Time
	Step   time.Duration
	Jitter time.Duration

	// TableUpdates is the largest number of updates of TableTopic written
	// with each batch, for seeded keys; each batch writes between none and
	// that many. Default 2. The n-th update of the key with index i has
	// the value n*Keys+i, a pure function of key and version.
	TableUpdates int
}

// Run writes batches until ctx is done or Max records were written, and
// returns what it wrote. The input is valid up to the last acknowledged
// batch even when Run returns an error.
func (g Generator) Run(ctx context.Context) (*Input, error) {
	keys, batch, interval := g.Keys, g.Batch, g.Interval
	if keys <= 0 {
		keys = 20
	}
	if batch <= 0 {
		batch = 10
	}
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	tableUpdates := g.TableUpdates
	if tableUpdates <= 0 {
		tableUpdates = 2
	}
	step, jitter := g.Step, g.Jitter
	if step <= 0 {
		step = 250 * time.Millisecond
	}
	if jitter <= 0 {
		jitter = 3 * time.Second
	}
	if jitter >= WindowGrace {
		return nil, fmt.Errorf("harness: generator: jitter %v must stay below the windows' grace %v", jitter, WindowGrace)
	}
	clock := g.Start.UnixMilli()
	if g.Start.IsZero() {
		clock = time.Now().UnixMilli()
	}
	in := newInput(keys)
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(g.Brokers...),
		kgo.DefaultProduceTopic(InputTopic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	)
	if err != nil {
		return in, fmt.Errorf("harness: generator: %w", err)
	}
	defer cl.Close()
	rng := rand.New(rand.NewPCG(g.Seed, 0x5a45a))
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for g.Max <= 0 || in.Records() < g.Max {
		select {
		case <-ctx.Done():
			return in, nil
		case <-tick.C:
		}
		n := batch
		if g.Max > 0 {
			n = min(n, g.Max-in.Records())
		}
		recs := make([]*kgo.Record, n, n+tableUpdates)
		next := map[string]int{}
		for i := range recs {
			ki := rng.IntN(keys)
			k := in.Keys[ki]
			seq := len(in.Values[k]) + next[k] + 1
			next[k]++
			v, _ := serde.Int64.Serialize(nil, InputTopic, int64(seq*keys+ki))
			ts := clock - rng.Int64N(jitter.Milliseconds())
			recs[i] = &kgo.Record{Key: []byte(k), Value: v, Timestamp: time.UnixMilli(ts)}
		}
		nextVer := map[string]int{}
		for range rng.IntN(tableUpdates + 1) {
			ki := rng.IntN(keys)
			k := in.Keys[ki]
			ver := len(in.TableOffsets[k]) + nextVer[k] + 1
			nextVer[k]++
			v, _ := serde.Int64.Serialize(nil, TableTopic, int64(ver*keys+ki))
			recs = append(recs, &kgo.Record{Topic: TableTopic, Key: []byte(k), Value: v, Timestamp: time.UnixMilli(clock - rng.Int64N(jitter.Milliseconds()))})
		}
		clock += step.Milliseconds()
		// Not ctx: a batch cut off halfway would leave the input unknown.
		wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := cl.ProduceSync(wctx, recs...).FirstErr()
		cancel()
		if err != nil {
			return in, fmt.Errorf("harness: generator: batch after %d records failed, so the input is unknown: %w", in.Records(), err)
		}
		for _, r := range recs {
			k := string(r.Key)
			if r.Topic == TableTopic {
				if err := in.addTableUpdate(k, r.Partition, r.Offset); err != nil {
					return in, err
				}
				continue
			}
			v, _ := serde.Int64.Deserialize(InputTopic, r.Value)
			in.Values[k] = append(in.Values[k], v)
			in.Times[k] = append(in.Times[k], r.Timestamp.UnixMilli())
			if p, ok := in.Partition[k]; ok && p != r.Partition {
				return in, fmt.Errorf("harness: generator: key %q was written to partitions %d and %d of %s", k, p, r.Partition, InputTopic)
			}
			if p, ok := in.TablePartition[k]; ok && p != r.Partition {
				return in, fmt.Errorf("harness: generator: key %q is in partition %d of %s but %d of %s: the topics are not co-partitioned", k, r.Partition, InputTopic, p, TableTopic)
			}
			in.Partition[k] = r.Partition
		}
	}
	return in, nil
}
