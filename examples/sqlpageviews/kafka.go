package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/serde"
)

// windowKey is an output record's key: a region and its window's start
// (ms).
type windowKey struct {
	Region string
	Start  int64
}

func createTopics(ctx context.Context, addrs []string, partitions int32) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, -1, nil, PageViewsTopic, UsersTopic, OutputTopic)
	if err != nil {
		return fmt.Errorf("create topics on %s: %w", strings.Join(addrs, ","), err)
	}
	for _, r := range resp {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %q: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// produce writes the records and waits until all are acknowledged.
func produce(ctx context.Context, addrs []string, recs []record) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return err
	}
	defer cl.Close()
	krs := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		krs[i] = &kgo.Record{Topic: r.topic, Key: []byte(r.key), Value: []byte(r.value), Timestamp: time.UnixMilli(r.ts)}
	}
	if err := cl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
		return fmt.Errorf("produce the input: %w", err)
	}
	return nil
}

// follow prints each output record as it is committed and returns the
// latest count of every window once ctx ends, the application stops, or
// nothing has arrived for idle (0: never).
func follow(ctx context.Context, addrs []string, idle time.Duration, stdout io.Writer, appErr <-chan error) (map[windowKey]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(OutputTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	keys := serde.TimeWindowed(serde.String, WindowSize)
	counts := map[windowKey]int64{}
	last := time.Now()
	for {
		select {
		case err := <-appErr:
			return counts, errors.Join(err, errors.New("the application stopped"))
		default:
		}
		if ctx.Err() != nil || idle > 0 && time.Since(last) >= idle {
			return counts, nil
		}
		pollCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fs := cl.PollFetches(pollCtx)
		cancel()
		var bad error
		fs.EachRecord(func(r *kgo.Record) {
			last = time.Now()
			k, err := keys.Deserialize(r.Topic, r.Key)
			var v ViewCount
			if err == nil {
				err = json.Unmarshal(r.Value, &v)
			}
			if err != nil {
				bad = cmp.Or(bad, fmt.Errorf("output record at offset %d: %w", r.Offset, err))
				return
			}
			counts[windowKey{k.Key, k.Start}] = v.Views
			fmt.Fprintf(stdout, "%-9s %s  %d\n", k.Key, window(k.Start), v.Views)
		})
		if bad != nil {
			return counts, bad
		}
	}
}

func window(start int64) string {
	s := time.UnixMilli(start).UTC()
	return s.Format("15:04") + "-" + s.Add(WindowSize).Format("15:04")
}

// printTable prints the final counts by region, then window.
func printTable(w io.Writer, counts map[windowKey]int64) {
	fmt.Fprintln(w, "final counts:")
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b windowKey) int {
		return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.Start, b.Start))
	})
	for _, k := range keys {
		fmt.Fprintf(w, "  %-9s %s  %d\n", k.Region, window(k.Start), counts[k])
	}
}
