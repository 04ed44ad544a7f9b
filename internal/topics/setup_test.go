package topics

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// newBroker starts a broker for t and returns an admin client of it.
func newBroker(t *testing.T, opts ...kafkatest.Option) (*kafkatest.Broker, *kadm.Client) {
	t.Helper()
	b := kafkatest.NewBroker(t, opts...)
	cl, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return b, kadm.NewClient(cl)
}

func graphOf(t *testing.T, build func(b *dsl.Builder)) *engine.Graph {
	t.Helper()
	b := dsl.NewBuilder()
	build(b)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return engine.GraphOf(topo)
}

var opts = Options{Timeout: 5 * time.Second}

func TestSetupCreatesInternalTopics(t *testing.T) {
	_, adm := newBroker(t, kafkatest.Topics(3, testfix.InputTopic))
	g := graphOf(t, testfix.AddWordCount)
	ctx := context.Background()

	layout, err := Setup(ctx, adm, g, "app", opts)
	if err != nil {
		t.Fatal(err)
	}
	want := &Layout{
		TaskCounts: []int32{3, 3},
		Partitions: map[string]int32{testfix.InputTopic: 3, "app-counts-repartition": 3, "app-counts-changelog": 3},
		Changelogs: map[string]string{"counts": "app-counts-changelog"},
	}
	if !reflect.DeepEqual(layout, want) {
		t.Fatalf("layout = %+v, want %+v", layout, want)
	}

	details, err := adm.ListTopics(ctx, "app-counts-repartition", "app-counts-changelog")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range details {
		if d.Err != nil || len(d.Partitions) != 3 {
			t.Errorf("topic %q: %d partitions, err %v", d.Topic, len(d.Partitions), d.Err)
		}
	}
	configs, err := adm.DescribeTopicConfigs(ctx, "app-counts-repartition", "app-counts-changelog")
	if err != nil {
		t.Fatal(err)
	}
	for topic, policy := range map[string]string{"app-counts-repartition": "delete", "app-counts-changelog": "compact"} {
		rc, err := configs.On(topic, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, c := range rc.Configs {
			if c.Key == "cleanup.policy" && c.Value != nil {
				got = *c.Value
			}
		}
		if got != policy {
			t.Errorf("%s: cleanup.policy = %q, want %q", topic, got, policy)
		}
	}

	again, err := Setup(ctx, adm, g, "app", opts)
	if err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	if !reflect.DeepEqual(again, want) {
		t.Fatalf("second layout = %+v, want %+v", again, want)
	}
}

func TestSetupConcurrentInstances(t *testing.T) {
	_, adm := newBroker(t, kafkatest.Topics(2, testfix.InputTopic))
	g := graphOf(t, testfix.AddWordCount)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = Setup(context.Background(), adm, g, "app", opts) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
}

// TestSetupLosesCreationRace has another instance create each internal
// topic, a moment after answering Setup's creation with
// TOPIC_ALREADY_EXISTS; Setup then checks the topic the other one made.
func TestSetupLosesCreationRace(t *testing.T) {
	for _, partitions := range []int32{3, 2} {
		c, adm := newBroker(t, kafkatest.Topics(3, testfix.InputTopic))
		var other sync.WaitGroup
		c.Cluster().ControlKey(int16(kmsg.CreateTopics), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
			c.Cluster().KeepControl()
			req := kreq.(*kmsg.CreateTopicsRequest)
			resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
			for _, rt := range req.Topics {
				st := kmsg.NewCreateTopicsResponseTopic()
				st.Topic = rt.Topic
				st.ErrorCode = kerr.TopicAlreadyExists.Code
				resp.Topics = append(resp.Topics, st)
				other.Go(func() { c.Cluster().CreateTopic(rt.Topic, partitions, nil) })
			}
			return resp, nil, true
		})
		_, err := Setup(context.Background(), adm, graphOf(t, testfix.AddWordCount), "app", opts)
		other.Wait()
		if partitions == 3 && err != nil {
			t.Fatal(err)
		}
		if partitions == 2 && !errors.Is(err, ErrPartitionMismatch) {
			t.Fatalf("err = %v, want ErrPartitionMismatch", err)
		}
	}
}

func TestSetupMissingSource(t *testing.T) {
	_, adm := newBroker(t, kafkatest.Topics(1, "other"))
	g := graphOf(t, testfix.AddWordCount)
	_, err := Setup(context.Background(), adm, g, "app", opts)
	if !errors.Is(err, ErrMissingSource) {
		t.Fatalf("err = %v, want ErrMissingSource", err)
	}
	if want := `source topic "text-lines" (read by sub-topology 0) does not exist`; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
}

func TestSetupNotCopartitioned(t *testing.T) {
	_, adm := newBroker(t, kafkatest.Topics(3, "a"), kafkatest.Topics(4, "b"))
	g := graphOf(t, func(b *dsl.Builder) {
		dsl.Streams(b, []string{"a", "b"}, serde.String, serde.String).To("out")
	})
	_, err := Setup(context.Background(), adm, g, "app", opts)
	if !errors.Is(err, ErrNotCopartitioned) {
		t.Fatalf("err = %v, want ErrNotCopartitioned", err)
	}
	if want := `sub-topology 0 reads topics not co-partitioned: "a" (3 partitions), "b" (4 partitions)`; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
}

func TestSetupExplicitPartitions(t *testing.T) {
	_, adm := newBroker(t, kafkatest.Topics(3, "in"))
	// in (3) → r-repartition (5, explicit) → c-repartition (derived: 5).
	g := graphOf(t, func(b *dsl.Builder) {
		dsl.Stream(b, "in", serde.String, serde.String).
			Repartition(dsl.RepartitionedWith(serde.String, serde.String).WithName("r").WithNumberOfPartitions(5)).
			GroupBy(func(_, v string) string { return v }, dsl.GroupedWith(serde.String, serde.String).WithName("c")).
			Count(dsl.MaterializedAs[string, int64]("c")).
			ToStream().
			To("out", dsl.ProducedWith(serde.String, serde.Int64))
	})
	layout, err := Setup(context.Background(), adm, g, "app", opts)
	if err != nil {
		t.Fatal(err)
	}
	want := &Layout{
		TaskCounts: []int32{3, 5, 5},
		Partitions: map[string]int32{"in": 3, "app-r-repartition": 5, "app-c-repartition": 5, "app-c-changelog": 5},
		Changelogs: map[string]string{"c": "app-c-changelog"},
	}
	if !reflect.DeepEqual(layout, want) {
		t.Fatalf("layout = %+v, want %+v", layout, want)
	}
}

func TestSetupWrongPartitionCount(t *testing.T) {
	c, adm := newBroker(t, kafkatest.Topics(3, testfix.InputTopic))
	if err := c.CreateTopic("app-counts-repartition", 2); err != nil {
		t.Fatal(err)
	}
	_, err := Setup(context.Background(), adm, graphOf(t, testfix.AddWordCount), "app", opts)
	if !errors.Is(err, ErrPartitionMismatch) {
		t.Fatalf("err = %v, want ErrPartitionMismatch", err)
	}
	if want := `internal topic "app-counts-repartition" has 2 partitions, expected 3`; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
}

func TestSetupUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DialTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	start := time.Now()
	_, err = Setup(context.Background(), kadm.NewClient(cl), graphOf(t, testfix.AddWordCount), "app", Options{Timeout: 2 * time.Second})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if ne := net.Error(nil); !errors.As(err, &ne) {
		t.Errorf("err = %v does not wrap the dial error", err)
	}
	if !strings.Contains(err.Error(), "brokers could not be reached within 2s") {
		t.Errorf("err = %q, does not give the timeout", err)
	}
	// A refused connection is tried again until the timeout: brokers may be
	// starting along with the application.
	if d := time.Since(start); d < 1500*time.Millisecond || d > 4*time.Second {
		t.Errorf("Setup took %v with a 2s timeout", d)
	}
}

// TestSetupChangelogConfigs checks that each changelog topic is created with
// the configs its store's builder asks for: compacted by default,
// compact+delete with a retention on request.
func TestSetupChangelogConfigs(t *testing.T) {
	_, adm := newBroker(t, kafkatest.Topics(2, "in"))
	topo := topology.New().
		AddSource("src", serde.String, serde.String, "in").
		AddProcessor("proc", processor.Func[string, string, string, string](func(processor.Context[string, string], processor.Record[string, string]) error {
			return nil
		}), "src").
		AddStateStore(state.KeyValueStoreBuilder("plain", serde.String, serde.String), "proc").
		AddStateStore(state.KeyValueStoreBuilder("expiring", serde.String, serde.String).
			WithLoggingEnabled(state.CompactDeleteChangelogConfigs(36*time.Hour)), "proc").
		AddStateStore(state.KeyValueStoreBuilder("tuned", serde.String, serde.String).
			WithLoggingEnabled(map[string]string{"segment.bytes": "1048576"}), "proc")
	if err := topo.Build(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := Setup(ctx, adm, engine.GraphOf(topo), "app", opts); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"app-plain-changelog":    {"cleanup.policy": "compact", "retention.ms": ""},
		"app-expiring-changelog": {"cleanup.policy": "compact,delete", "retention.ms": "129600000"},
		"app-tuned-changelog":    {"cleanup.policy": "compact", "segment.bytes": "1048576"},
	}
	var topics []string
	for topic := range want {
		topics = append(topics, topic)
	}
	configs, err := adm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	for topic, keys := range want {
		rc, err := configs.On(topic, nil)
		if err != nil {
			t.Fatal(err)
		}
		for key, value := range keys {
			got := ""
			for _, c := range rc.Configs {
				// Only configs set on the topic count: a broker default is
				// not what the store asked for.
				if c.Key == key && c.Value != nil && c.Source == kmsg.ConfigSourceDynamicTopicConfig {
					got = *c.Value
				}
			}
			if got != value {
				t.Errorf("%s: %s = %q, want %q", topic, key, got, value)
			}
		}
	}
}

// A broker that closes connections before answering, as one shutting down
// for a restart does, is asked again until the timeout: franz-go reports
// the first such close as a possible TLS mismatch, which is no reason to
// fail at once.
func TestSetupBrokerClosingConnections(t *testing.T) {
	c, adm := newBroker(t, kafkatest.Topics(3, testfix.InputTopic))
	var dropped atomic.Int32
	c.Cluster().ControlKey(int16(kmsg.ApiVersions), func(kmsg.Request) (kmsg.Response, error, bool) {
		if dropped.Load() == 2 {
			c.Cluster().DropControl()
			return nil, nil, false
		}
		dropped.Add(1)
		c.Cluster().KeepControl()
		return nil, errors.New("closing for a restart"), true
	})
	if _, err := Setup(context.Background(), adm, graphOf(t, testfix.AddWordCount), "app", opts); err != nil {
		t.Fatal(err)
	}
	if n := dropped.Load(); n != 2 {
		t.Fatalf("%d connections dropped, want 2", n)
	}
}
