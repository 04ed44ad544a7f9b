package kafkatest_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-go/samsa/kafkatest"
)

// client returns a client of b, closed when the test ends and so before b
// when b was made first.
func client(t *testing.T, b *kafkatest.Broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := b.Client(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func produce(t *testing.T, b *kafkatest.Broker, topic, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cl, err := b.Client(kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r := &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value)}
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// consumeOne reads topic from the start until one record arrives.
func consumeOne(t *testing.T, b *kafkatest.Broker, topic string) *kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cl, err := b.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume %s: %v", topic, err)
		}
		if recs := fs.Records(); len(recs) > 0 {
			return recs[0]
		}
	}
}

func partitions(t *testing.T, b *kafkatest.Broker, topic string) int {
	t.Helper()
	td, err := kadm.NewClient(client(t, b)).ListTopics(t.Context(), topic)
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	if err := td[topic].Err; err != nil {
		t.Fatalf("topic %s: %v", topic, err)
	}
	return len(td[topic].Partitions)
}

func TestProduceConsumeAutoCreated(t *testing.T) {
	b := kafkatest.NewBroker(t, kafkatest.Partitions(2))
	addrs := b.Addrs()
	if len(addrs) != 1 || !strings.HasPrefix(addrs[0], "127.0.0.1:") {
		t.Fatalf("Addrs() = %v, want one 127.0.0.1 address", addrs)
	}
	produce(t, b, "greetings", "k", "hello")
	r := consumeOne(t, b, "greetings")
	if string(r.Key) != "k" || string(r.Value) != "hello" {
		t.Fatalf("consumed %q=%q, want k=hello", r.Key, r.Value)
	}
	if n := partitions(t, b, "greetings"); n != 2 {
		t.Fatalf("auto-created greetings has %d partitions, want 2", n)
	}
}

func TestTopicsSeeded(t *testing.T) {
	b := kafkatest.NewBroker(t, kafkatest.Topics(4, "in", "out"), kafkatest.Topics(2, "side"), kafkatest.Topics(0, "dflt"))
	for topic, want := range map[string]int{"in": 4, "out": 4, "side": 2, "dflt": int(kafkatest.DefaultPartitions)} {
		if n := partitions(t, b, topic); n != want {
			t.Errorf("seeded %s has %d partitions, want %d", topic, n, want)
		}
	}
}

func TestCreateTopic(t *testing.T) {
	b := kafkatest.NewBroker(t, kafkatest.Partitions(5))
	if err := b.CreateTopic("three", 3); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic("default", -1); err != nil {
		t.Fatal(err)
	}
	if n := partitions(t, b, "three"); n != 3 {
		t.Errorf("three has %d partitions", n)
	}
	if n := partitions(t, b, "default"); n != 5 {
		t.Errorf("default has %d partitions, want the broker's 5", n)
	}
	err := b.CreateTopic("three", 3)
	if !errors.Is(err, kerr.TopicAlreadyExists) || !strings.Contains(err.Error(), `"three"`) {
		t.Fatalf("second CreateTopic = %v, want TopicAlreadyExists naming the topic", err)
	}
}

func TestDefaultPartitions(t *testing.T) {
	b := kafkatest.NewBroker(t)
	if _, err := kadm.NewClient(client(t, b)).CreateTopic(t.Context(), -1, -1, nil, "t"); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	if n := partitions(t, b, "t"); n != int(kafkatest.DefaultPartitions) {
		t.Fatalf("t has %d partitions, want %d", n, kafkatest.DefaultPartitions)
	}
}

func TestNodes(t *testing.T) {
	b := kafkatest.NewBroker(t, kafkatest.Nodes(3), kafkatest.Topics(6, "spread"))
	if n := len(b.Addrs()); n != 3 {
		t.Fatalf("Addrs() = %v, want three", b.Addrs())
	}
	md, err := kadm.NewClient(client(t, b)).Metadata(t.Context(), "spread")
	if err != nil {
		t.Fatal(err)
	}
	leaders := map[int32]bool{}
	for _, p := range md.Topics["spread"].Partitions {
		leaders[p.Leader] = true
	}
	if len(md.Brokers) != 3 || len(leaders) < 2 {
		t.Fatalf("%d brokers, partition leaders %v: want three brokers leading", len(md.Brokers), leaders)
	}
}

func TestClosedOnCleanup(t *testing.T) {
	var addr string
	t.Run("test", func(t *testing.T) {
		addr = kafkatest.NewBroker(t).Addrs()[0]
		if c, err := net.Dial("tcp", addr); err != nil {
			t.Fatalf("broker not listening during the test: %v", err)
		} else {
			c.Close()
		}
	})
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("broker still listening on %s after its test ended", addr)
	}
}

func TestDataDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b, err := kafkatest.Start(kafkatest.DataDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	produce(t, b, "durable", "k", "kept")
	b.Close()
	b.Close() // idempotent

	b = kafkatest.NewBroker(t, kafkatest.DataDir(dir))
	r := consumeOne(t, b, "durable")
	if string(r.Key) != "k" || string(r.Value) != "kept" {
		t.Fatalf("after restart consumed %q=%q, want k=kept", r.Key, r.Value)
	}
}

// A partition whose records were all deleted (a repartition topic its
// application purged to the end) keeps its offsets across restarts, as a
// Kafka broker's does: the next record gets the next offset, and a
// consumer's committed offset stays in range. Two restarts, then a record
// and a third.
func TestDataDirKeepsOffsetsOfAPurgedPartition(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	client := func(b *kafkatest.Broker) *kgo.Client {
		cl, err := b.Client()
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	restart := func(b *kafkatest.Broker) *kafkatest.Broker {
		b.Close()
		b, err := kafkatest.Start(kafkatest.DataDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	wantSpan := func(b *kafkatest.Broker, when string, start, end int64) {
		t.Helper()
		cl := client(b)
		defer cl.Close()
		adm := kadm.NewClient(cl)
		starts, err := adm.ListStartOffsets(ctx, "purged")
		if err != nil {
			t.Fatal(err)
		}
		ends, err := adm.ListEndOffsets(ctx, "purged")
		if err != nil {
			t.Fatal(err)
		}
		s, _ := starts.Lookup("purged", 0)
		e, _ := ends.Lookup("purged", 0)
		if s.Offset != start || e.Offset != end {
			t.Fatalf("%s the purged partition spans offsets %d to %d, want %d to %d", when, s.Offset, e.Offset, start, end)
		}
	}
	b, err := kafkatest.Start(kafkatest.DataDir(dir), kafkatest.Partitions(1))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		produce(t, b, "purged", "k", "v")
	}
	cl := client(b)
	var to kadm.Offsets
	to.Add(kadm.Offset{Topic: "purged", Partition: 0, At: 3})
	res, err := kadm.NewClient(cl).DeleteRecords(ctx, to)
	if err == nil {
		err = res.Error()
	}
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	b = restart(b)
	wantSpan(b, "after a restart", 3, 3)
	b = restart(b)
	wantSpan(b, "after two restarts", 3, 3)
	cl = client(b)
	r, err := cl.ProduceSync(ctx, &kgo.Record{Topic: "purged", Value: []byte("after")}).First()
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	if r.Offset != 3 {
		t.Fatalf("the record produced after two restarts got offset %d, want 3", r.Offset)
	}
	b = restart(b)
	defer b.Close()
	wantSpan(b, "after a record and a third restart", 3, 4)
	if r := consumeOne(t, b, "purged"); string(r.Value) != "after" || r.Offset != 3 {
		t.Fatalf("consumed %q at offset %d, want \"after\" at 3", r.Value, r.Offset)
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	b, err := kafkatest.Start(kafkatest.Port(port))
	if err == nil {
		b.Close()
		t.Fatalf("Start on taken port %d succeeded", port)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(port)) || !strings.HasPrefix(err.Error(), "kafkatest: ") {
		t.Errorf("error %q does not name port %d", err, port)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("error %q does not match EADDRINUSE", err)
	}
}

func TestFixedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	b := kafkatest.NewBroker(t, kafkatest.Port(port))
	if want := []string{"127.0.0.1:" + strconv.Itoa(port)}; !slices.Equal(b.Addrs(), want) {
		t.Fatalf("Addrs() = %v, want %v", b.Addrs(), want)
	}
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opts []kafkatest.Option
		want string
	}{
		{[]kafkatest.Option{kafkatest.Port(70000)}, "port 70000 out of range"},
		{[]kafkatest.Option{kafkatest.Port(-1)}, "port -1 out of range"},
		{[]kafkatest.Option{kafkatest.Nodes(0)}, "0 nodes"},
		{[]kafkatest.Option{kafkatest.Port(9), kafkatest.Nodes(2)}, "one node"},
		{[]kafkatest.Option{kafkatest.Partitions(0)}, "partition count 0"},
	} {
		b, err := kafkatest.Start(tc.opts...)
		if err == nil {
			b.Close()
			t.Errorf("Start succeeded, want an error about %q", tc.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), "kafkatest: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Start = %q, want a kafkatest error about %q", err, tc.want)
		}
	}
}

func TestGroupMinSessionTimeout(t *testing.T) {
	// A member asking for a 2s session is refused by Kafka's default
	// minimum of 6s, and accepted once the minimum is lowered.
	for _, tc := range []struct {
		opts []kafkatest.Option
		want error
	}{
		{nil, kerr.InvalidSessionTimeout},
		{[]kafkatest.Option{kafkatest.GroupMinSessionTimeout(time.Second)}, kerr.MemberIDRequired},
	} {
		b := kafkatest.NewBroker(t, tc.opts...)
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group = "g"
		req.SessionTimeoutMillis = 2000
		req.RebalanceTimeoutMillis = 2000
		req.ProtocolType = "consumer"
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name = "range"
		req.Protocols = append(req.Protocols, p)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		resp, err := req.RequestWith(ctx, client(t, b))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		// A first join without a member id is answered MemberIDRequired
		// once the session timeout has passed the check.
		if got := kerr.ErrorForCode(resp.ErrorCode); !errors.Is(got, tc.want) {
			t.Errorf("join with a 2s session, options %d: %v, want %v", len(tc.opts), got, tc.want)
		}
	}
}
