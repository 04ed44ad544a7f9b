package testfix

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/kafkatest"
)

// ProduceLines writes lines to InputTopic, failing tb on an error.
func ProduceLines(tb testing.TB, b *kafkatest.Broker, lines ...string) {
	tb.Helper()
	if err := ProduceLinesErr(b, lines...); err != nil {
		tb.Fatal(err)
	}
}

// ProduceLinesErr writes lines to InputTopic one at a time, each keyed by
// its index so that they spread over the partitions. Unlike ProduceLines
// it may run on any goroutine.
func ProduceLinesErr(b *kafkatest.Broker, lines ...string) error {
	cl, err := b.Client(kgo.DefaultProduceTopic(InputTopic))
	if err != nil {
		return err
	}
	defer cl.Close()
	for i, l := range lines {
		r := &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(l)}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			return fmt.Errorf("testfix: produce line %d: %w", i, err)
		}
	}
	return nil
}

// countsClient consumes OutputTopic from the start.
func countsClient(tb testing.TB, b *kafkatest.Broker, opts ...kgo.Opt) *kgo.Client {
	tb.Helper()
	cl, err := b.Client(append([]kgo.Opt{kgo.ConsumeTopics(OutputTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return cl
}

// decodeCount decodes a count as Java's LongDeserializer does.
func decodeCount(tb testing.TB, r *kgo.Record) int64 {
	if len(r.Value) != 8 {
		tb.Errorf("value of %q is %d bytes, want 8 (a Java long)", r.Key, len(r.Value))
		return 0
	}
	return int64(binary.BigEndian.Uint64(r.Value))
}

// ReadCounts reads OutputTopic from the start, read_committed, until the
// latest count of every word is want (no word more, none less) or timeout
// passes, which fails tb. It returns the counts read.
func ReadCounts(tb testing.TB, b *kafkatest.Broker, want map[string]int64, timeout time.Duration) map[string]int64 {
	tb.Helper()
	cl := countsClient(tb, b, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	defer cl.Close()
	got := map[string]int64{}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !maps.Equal(got, want) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			tb.Fatalf("after %v: counts = %v, want %v", timeout, got, want)
		}
		fs.EachRecord(func(r *kgo.Record) { got[string(r.Key)] = decodeCount(tb, r) })
	}
	return got
}

// ReadCountsAtLeast reads OutputTopic from the start, read_uncommitted,
// until every word of want has at least its count, no other word has one,
// and nothing has changed for a second; after timeout it fails tb. Runs
// that may process records twice (at-least-once after a crash) check with
// it.
func ReadCountsAtLeast(tb testing.TB, b *kafkatest.Broker, want map[string]int64, timeout time.Duration) map[string]int64 {
	tb.Helper()
	cl := countsClient(tb, b)
	defer cl.Close()
	got := map[string]int64{}
	deadline := time.Now().Add(timeout)
	last := time.Now()
	for {
		enough := len(got) == len(want)
		for w, n := range want {
			if got[w] < n {
				enough = false
			}
		}
		if enough && time.Since(last) > time.Second {
			return got
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %v: counts = %v, want at least %v", timeout, got, want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			got[string(r.Key)] = decodeCount(tb, r)
			last = time.Now()
		})
	}
}
