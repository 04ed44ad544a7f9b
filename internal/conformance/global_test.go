package conformance_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// globalRates are fed to the rates topic, on three partitions, before any
// order: the driver applies each as it is piped, the runtime bootstraps the
// global store with all of them before its task processes an order. A
// value tombstone deletes.
var globalRates = []stepInput{
	{testfix.RatesTopic, "EUR", "1.1", 1},
	{testfix.RatesTopic, "GBP", "1.3", 2},
	{testfix.RatesTopic, "JPY", "0.007", 3},
	{testfix.RatesTopic, "EUR", "1.2", 4},
	{testfix.RatesTopic, "SEK", "0.09", 5},
	{testfix.RatesTopic, "SEK", tombstone, 6},
}

var globalOrders = []stepInput{
	{testfix.OrdersTopic, "o1", "EUR", 10},
	{testfix.OrdersTopic, "o2", "GBP", 11},
	{testfix.OrdersTopic, "o3", "CHF", 12},
	{testfix.OrdersTopic, "o4", "JPY", 13},
	{testfix.OrdersTopic, "o5", "SEK", 9},
}

var globalWant = []string{"o1:EUR@1.2@10", "o2:GBP@1.3@11", "o3:CHF@?@12", "o4:JPY@0.007@13", "o5:SEK@?@9"}

// TestGlobalStore runs the rates topology, whose orders read a global store
// filled from every partition of its topic, through the driver and the
// runtime: both price every order with the rates fed before it.
func TestGlobalStore(t *testing.T) {
	spec := topicSpec{testfix.PricedTopic, text}
	t.Run("testdriver", func(t *testing.T) {
		t.Parallel()
		td := testdriver.New(t, testfix.Rates(t, testfix.RatesStoreBuilder()),
			testdriver.WithApplicationID(appID),
			testdriver.WithWallClock(time.UnixMilli(0)),
			testdriver.WithPartitions(3, testfix.RatesTopic),
			testdriver.WithCommitEvery(0))
		ins := map[string]*testdriver.TestInputTopic[[]byte, []byte]{}
		for _, in := range slices.Concat(globalRates, globalOrders) {
			it := ins[in.topic]
			if it == nil {
				it = testdriver.InputTopic(td, in.topic, serde.Bytes, serde.Bytes)
				ins[in.topic] = it
			}
			k, v := in.bytes()
			if err := it.TryPipeBytes(k, v, time.UnixMilli(in.ts)); err != nil {
				t.Fatal(err)
			}
		}
		td.Commit()
		var got []string
		for _, r := range testdriver.OutputTopic(td, spec.name, serde.Bytes, serde.Bytes).ReadOutputRecordsToList() {
			got = append(got, show(spec, r.Key, r.Value, r.Timestamp))
		}
		if !slices.Equal(got, globalWant) {
			t.Errorf("%s:\n got %q\nwant %q", spec.name, got, globalWant)
		}
	})
	t.Run("runtime", func(t *testing.T) {
		t.Parallel()
		c := kafkatest.NewBroker(t,
			kafkatest.Topics(3, testfix.RatesTopic),
			kafkatest.Topics(1, testfix.OrdersTopic, testfix.PricedTopic))
		cl, err := c.Client(kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		parts := map[int32]bool{}
		for _, in := range slices.Concat(globalRates, globalOrders) {
			k, v := in.bytes()
			r := &kgo.Record{Topic: in.topic, Key: k, Value: v, Timestamp: time.UnixMilli(in.ts)}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if in.topic == testfix.RatesTopic {
				parts[r.Partition] = true
			}
		}
		if len(parts) < 2 {
			t.Fatalf("the rates went to partitions %v: the case needs several", parts)
		}
		app, err := runtime.New(testfix.Rates(t, testfix.RatesStoreBuilder()),
			runtime.ApplicationID(appID),
			runtime.Brokers(c.Addrs()...),
			runtime.StateDir(t.TempDir()),
			runtime.Logger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- app.Run(context.Background()) }()
		defer func() {
			closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := app.Close(closeCtx); err != nil {
				t.Error(err)
			}
			if err := <-done; err != nil {
				t.Error(err)
			}
		}()
		if got := consume(ctx, t, c, spec, globalWant); !slices.Equal(got, globalWant) {
			t.Errorf("%s:\n got %q\nwant %q", spec.name, got, globalWant)
		}
	})
}
