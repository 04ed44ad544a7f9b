package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
		kgo.ProducerBatchCompression(b.cfg.codec),
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

// readTopic reads topic from the start to the end offsets it has now,
// read_committed, and calls fn with each data record (transaction markers
// are skipped, not handed out). It returns how many records fn was given;
// an error from fn stops the read.
func (b *bench) readTopic(ctx context.Context, topic string, fn func(r *kgo.Record) error) (int64, error) {
	ends, err := b.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("end offsets of %q: %w", topic, err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addrs...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	var n int64
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return n, fmt.Errorf("read %q: %d records, partitions %v not read to their end: %w", topic, n, left, context.Cause(ctx))
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if ferr == nil {
				ferr = fmt.Errorf("read %q partition %d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return n, ferr
		}
		for it := fs.RecordIter(); !it.Done(); {
			r := it.Next()
			if !r.Attrs.IsControl() {
				n++
				if err := fn(r); err != nil {
					return n, err
				}
			}
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		}
	}
	return n, nil
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
