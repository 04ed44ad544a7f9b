package devbroker

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
	"github.com/twmb/franz-go/pkg/kgo"
)

func start(t *testing.T, opts Options) *Broker {
	t.Helper()
	b, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return b
}

// client returns a client of addrs. Close it before the broker: a client
// closing after its broker spends seconds trying to reach it.
func client(t *testing.T, addrs []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...)}, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return cl
}

func produce(t *testing.T, addrs []string, topic, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cl := client(t, addrs, kgo.AllowAutoTopicCreation())
	defer cl.Close()
	r := &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value)}
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// consumeOne reads topic from the start until one record arrives.
func consumeOne(t *testing.T, addrs []string, topic string) *kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cl := client(t, addrs,
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume %s: %v", topic, err)
		}
		for _, e := range fs.Errors() {
			t.Logf("fetch %s/%d: %v", e.Topic, e.Partition, e.Err)
		}
		if recs := fs.Records(); len(recs) > 0 {
			return recs[0]
		}
	}
}

func TestStartProduceConsume(t *testing.T) {
	b := start(t, Options{Partitions: 2})
	defer b.Close()

	addrs := b.Addrs()
	if len(addrs) != 1 || !strings.HasPrefix(addrs[0], "127.0.0.1:") {
		t.Fatalf("Addrs() = %v, want one 127.0.0.1 address", addrs)
	}
	produce(t, addrs, "greetings", "k", "hello")
	r := consumeOne(t, addrs, "greetings")
	if string(r.Key) != "k" || string(r.Value) != "hello" {
		t.Fatalf("consumed %q=%q, want k=hello", r.Key, r.Value)
	}

	// The auto-created topic has Options.Partitions partitions.
	adm := kadm.NewClient(client(t, addrs))
	defer adm.Close()
	td, err := adm.ListTopics(t.Context(), "greetings")
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	if n := len(td["greetings"].Partitions); n != 2 {
		t.Fatalf("greetings has %d partitions, want 2", n)
	}
}

func TestDefaultPartitions(t *testing.T) {
	b := start(t, Options{})
	defer b.Close()
	adm := kadm.NewClient(client(t, b.Addrs()))
	defer adm.Close()
	if _, err := adm.CreateTopic(t.Context(), -1, -1, nil, "t"); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	td, err := adm.ListTopics(t.Context(), "t")
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	if n := len(td["t"].Partitions); n != int(DefaultPartitions) {
		t.Fatalf("t has %d partitions, want %d", n, DefaultPartitions)
	}
}

func TestDataDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()

	b := start(t, Options{DataDir: dir})
	produce(t, b.Addrs(), "durable", "k", "kept")
	b.Close()

	b = start(t, Options{DataDir: dir})
	defer b.Close()
	r := consumeOne(t, b.Addrs(), "durable")
	if string(r.Key) != "k" || string(r.Value) != "kept" {
		t.Fatalf("after restart consumed %q=%q, want k=kept", r.Key, r.Value)
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	b, err := Start(Options{Port: port})
	if err == nil {
		b.Close()
		t.Fatalf("Start on taken port %d succeeded", port)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("error %q does not name port %d", err, port)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("error %q does not match EADDRINUSE", err)
	}
}

func TestStartFixedPort(t *testing.T) {
	// Find a free port, release it, and ask for it explicitly.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	b := start(t, Options{Port: port})
	defer b.Close()
	if want := []string{"127.0.0.1:" + strconv.Itoa(port)}; !slices.Equal(b.Addrs(), want) {
		t.Fatalf("Addrs() = %v, want %v", b.Addrs(), want)
	}
}

func TestBrokersFromEnv(t *testing.T) {
	t.Setenv(EnvBrokers, " kafka-1:9092, ,kafka-2:9092,")
	addrs, stop, err := Brokers()
	if err != nil {
		t.Fatalf("Brokers: %v", err)
	}
	stop()
	if want := []string{"kafka-1:9092", "kafka-2:9092"}; !slices.Equal(addrs, want) {
		t.Fatalf("Brokers() = %v, want %v", addrs, want)
	}
}

func TestBrokersEnvWithoutBrokers(t *testing.T) {
	t.Setenv(EnvBrokers, "  ")
	_, stop, err := Brokers()
	if err != nil {
		t.Fatalf("Brokers with blank %s: %v, want an in-process broker", EnvBrokers, err)
	}
	stop()
	t.Setenv(EnvBrokers, ",,")
	if _, _, err := Brokers(); err == nil {
		t.Fatalf("Brokers with %s=%q succeeded, want an error", EnvBrokers, ",,")
	}
}

func TestBrokersInProcess(t *testing.T) {
	t.Setenv(EnvBrokers, "")
	addrs, stop, err := Brokers()
	if err != nil {
		t.Fatalf("Brokers: %v", err)
	}
	defer stop()
	if len(addrs) != 1 {
		t.Fatalf("Brokers() = %v, want one address", addrs)
	}
	produce(t, addrs, "examples", "k", "v")
	if r := consumeOne(t, addrs, "examples"); string(r.Value) != "v" {
		t.Fatalf("consumed %q, want v", r.Value)
	}
}
