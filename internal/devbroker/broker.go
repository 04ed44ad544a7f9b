package devbroker

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultPartitions is the number of partitions a topic gets when a client
// creates it implicitly, by producing to it or asking for its metadata.
const DefaultPartitions int32 = 3

// Options configures Start. The zero value starts a broker on a free port
// that forgets everything when it closes.
type Options struct {
	// Port is the TCP port to listen on, on 127.0.0.1. Zero picks a free
	// port; Addrs reports which.
	Port int

	// Partitions is the number of partitions of auto-created topics and of
	// CreateTopics requests that leave the count to the broker (Kafka's
	// num.partitions). Zero or less means DefaultPartitions.
	Partitions int32

	// DataDir, if set, makes the broker keep its topics, records, group
	// offsets and transactions in this directory, created if needed, and
	// reload them on the next Start with the same DataDir. Only one broker
	// may use a directory at a time. Empty keeps everything in memory.
	DataDir string

	// Logger receives the broker's own log lines, at the levels kfake
	// assigns them. Nil discards them.
	Logger *slog.Logger
}

// Broker is a running in-process Kafka broker, for development only.
//
// Its methods are safe for concurrent use. The broker runs until Close;
// Close saves its state first when Options.DataDir is set.
type Broker struct {
	cluster *kfake.Cluster
	addrs   []string
}

// Start starts a broker and returns once it accepts connections.
//
// Topics are created on first use (Kafka's auto.create.topics.enable), so
// producing to a new topic works. If Options.Port is taken, the error names
// the port and matches syscall.EADDRINUSE with errors.Is.
func Start(opts Options) (*Broker, error) {
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("devbroker: port %d out of range", opts.Port)
	}
	parts := opts.Partitions
	if parts <= 0 {
		parts = DefaultPartitions
	}
	kopts := []kfake.Opt{
		kfake.Ports(opts.Port), // one port, so one node
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(int(parts)),
		kfake.ClusterID("samsa-dev"),
	}
	if opts.DataDir != "" {
		kopts = append(kopts, kfake.DataDir(opts.DataDir))
	}
	if opts.Logger != nil {
		kopts = append(kopts, kfake.WithLogger(slogLogger{opts.Logger}))
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("devbroker: port %d is already in use: %w", opts.Port, err)
		}
		return nil, fmt.Errorf("devbroker: start broker: %w", err)
	}
	return &Broker{cluster: c, addrs: c.ListenAddrs()}, nil
}

// Addrs returns the host:port the broker listens on, as a seed broker list
// for a client.
func (b *Broker) Addrs() []string { return slices.Clone(b.addrs) }

// Close stops the broker, saving its state to Options.DataDir if set. Open
// client connections are dropped; a client closed after its broker spends
// seconds retrying it, so close clients first. Close is idempotent.
func (b *Broker) Close() { b.cluster.Close() }
