package kafkatest

import (
	"errors"
	"fmt"
	"slices"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Broker is a running in-process Kafka broker.
//
// Its methods are safe for concurrent use. It runs until Close, which saves
// its state first when it was started with DataDir. Close the clients of a
// broker before the broker: a client whose broker has gone spends seconds
// retrying it when it closes. In a test that is the natural order: cleanups
// run last registered first, so a client closed by t.Cleanup after
// NewBroker, or by a defer, closes before the broker.
type Broker struct {
	cluster *kfake.Cluster
	addrs   []string
}

// NewBroker starts a broker for the test tb and closes it when the test and
// its subtests have finished. A broker that fails to start fails the test.
func NewBroker(tb testing.TB, opts ...Option) *Broker {
	tb.Helper()
	b, err := Start(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	return b
}

// Start starts a broker and returns once it accepts connections; the
// caller closes it. If a fixed Port is taken, the error names the port and
// matches syscall.EADDRINUSE with errors.Is.
func Start(opts ...Option) (*Broker, error) {
	c := config{nodes: 1, partitions: DefaultPartitions}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.port < 0 || c.port > 65535:
		return nil, fmt.Errorf("kafkatest: port %d out of range", c.port)
	case c.nodes < 1:
		return nil, fmt.Errorf("kafkatest: %d nodes: need at least one", c.nodes)
	case c.port != 0 && c.nodes > 1:
		return nil, fmt.Errorf("kafkatest: a fixed port (%d) allows one node, not %d", c.port, c.nodes)
	case c.partitions < 1:
		return nil, fmt.Errorf("kafkatest: default partition count %d: need at least one", c.partitions)
	}
	kopts := []kfake.Opt{
		kfake.ClusterID("kafkatest"),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(int(c.partitions)),
	}
	if c.port != 0 {
		kopts = append(kopts, kfake.Ports(c.port))
	} else {
		kopts = append(kopts, kfake.NumBrokers(c.nodes))
	}
	for _, s := range c.seeds {
		kopts = append(kopts, kfake.SeedTopics(s.partitions, s.topics...))
	}
	if c.dataDir != "" {
		if err := keepPurgedOffsets(c.dataDir); err != nil {
			return nil, fmt.Errorf("kafkatest: load the state in %q: %w", c.dataDir, err)
		}
		kopts = append(kopts, kfake.DataDir(c.dataDir))
	}
	if c.logger != nil {
		kopts = append(kopts, kfake.WithLogger(slogLogger{c.logger}))
	}
	if c.minSession > 0 {
		kopts = append(kopts, kfake.GroupMinSessionTimeout(c.minSession))
	}
	kopts = append(kopts, c.kfakeOpts...)
	cluster, err := kfake.NewCluster(kopts...)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("kafkatest: port %d is already in use: %w", c.port, err)
		}
		return nil, fmt.Errorf("kafkatest: start broker: %w", err)
	}
	return &Broker{cluster: cluster, addrs: cluster.ListenAddrs()}, nil
}

// Addrs returns the host:port of every node, a seed broker list for
// runtime.Brokers or kgo.SeedBrokers.
func (b *Broker) Addrs() []string { return slices.Clone(b.addrs) }

// CreateTopic creates topic with partitions partitions, or the broker's
// default (Partitions) when partitions is below one. It fails with
// kerr.TopicAlreadyExists, matched by errors.Is, if the topic exists.
func (b *Broker) CreateTopic(topic string, partitions int32) error {
	if err := b.cluster.CreateTopic(topic, partitions, nil); err != nil {
		return fmt.Errorf("kafkatest: create topic %q: %w", topic, err)
	}
	return nil
}

// Client returns a new client of the broker: opts come after the seed
// brokers. The caller closes it, before the broker.
func (b *Broker) Client(opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.addrs...)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: %w", err)
	}
	return cl, nil
}

// Cluster returns the kfake cluster underneath, for tests that control
// requests (ControlKey), inject faults or move partitions. What it does to
// the cluster is kfake's contract, not this package's.
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// Close stops the broker, saving its state to DataDir if one was given, and
// drops open connections. Close is idempotent.
func (b *Broker) Close() { b.cluster.Close() }
