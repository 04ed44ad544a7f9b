package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// createTopics creates topics with partitions each and the given configs
// (nil for none).
func (b *bench) createTopics(ctx context.Context, partitions int32, configs map[string]*string, topics ...string) error {
	resp, err := b.adm.CreateTopics(ctx, partitions, 1, configs, topics...)
	if err != nil {
		return fmt.Errorf("create topics %v: %w", topics, err)
	}
	for _, r := range resp {
		if r.Err != nil {
			return fmt.Errorf("create topic %q: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// produceAll writes n records made by gen to topic, keyed so that the
// default partitioner spreads them, and waits until all are acknowledged.
func (b *bench) produceAll(ctx context.Context, topic string, n int, gen func(i int) (key, value []byte)) error {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(b.addrs...),
		kgo.DefaultProduceTopic(topic),
		kgo.MaxBufferedRecords(50000),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	var mu sync.Mutex
	var first error
	for i := range n {
		k, v := gen(i)
		cl.Produce(ctx, &kgo.Record{Key: k, Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("produce to %q: %w", topic, err)
	}
	if first != nil {
		return fmt.Errorf("produce to %q: %w", topic, first)
	}
	return nil
}

// proc is something running in the background for a side: a Samsa app or
// a baseline loop. done is closed when it has returned, with err set.
type proc struct {
	done chan struct{}
	err  error
}

func (p *proc) failed() error {
	select {
	case <-p.done:
		if p.err != nil {
			return p.err
		}
		return errors.New("stopped before all outputs were visible")
	default:
		return nil
	}
}

// waitEndOffsets polls the end offsets of topic every 20ms until they add up
// to want (every partition's log holds only data records: no transactions).
// It returns when the last output became visible and when the first did.
func (b *bench) waitEndOffsets(ctx context.Context, topic string, want int64, p *proc) (last, first time.Time, err error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var seen int64
	for {
		ends, lerr := b.adm.ListEndOffsets(ctx, topic)
		if lerr == nil {
			lerr = ends.Error()
		}
		now := time.Now()
		if lerr == nil {
			seen = 0
			ends.Each(func(o kadm.ListedOffset) { seen += o.Offset })
			if seen > 0 && first.IsZero() {
				first = now
			}
			if seen >= want {
				return now, first, nil
			}
		}
		if err := p.failed(); err != nil {
			return now, first, fmt.Errorf("%d of %d outputs visible on %q: %w", seen, want, topic, err)
		}
		select {
		case <-ctx.Done():
			if lerr != nil {
				return now, first, fmt.Errorf("%d of %d outputs visible on %q: timed out: %w (last listing error: %v)", seen, want, topic, context.Cause(ctx), lerr)
			}
			return now, first, fmt.Errorf("%d of %d outputs visible on %q: timed out: %w", seen, want, topic, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// waitCommitted counts the committed records of topic with a read_committed
// consumer until there are want of them: under exactly-once the end offsets
// count transaction markers too.
func (b *bench) waitCommitted(ctx context.Context, topic string, want int64, p *proc) (last, first time.Time, err error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(b.addrs...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(20*time.Millisecond),
	)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	defer cl.Close()
	var seen int64
	for {
		pctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		now := time.Now()
		var ferr error
		fs.EachError(func(t string, part int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && ferr == nil {
				ferr = fmt.Errorf("consume %q partition %d: %w", t, part, err)
			}
		})
		if ferr != nil {
			return now, first, ferr
		}
		seen += int64(fs.NumRecords())
		if seen > 0 && first.IsZero() {
			first = now
		}
		if seen >= want {
			return now, first, nil
		}
		if err := p.failed(); err != nil {
			return now, first, fmt.Errorf("%d of %d committed outputs on %q: %w", seen, want, topic, err)
		}
		if ctx.Err() != nil {
			return now, first, fmt.Errorf("%d of %d committed outputs on %q: timed out: %w", seen, want, topic, context.Cause(ctx))
		}
	}
}
