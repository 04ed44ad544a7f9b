package kafkatest

import (
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultPartitions is the partition count of a topic created on first use
// or by a CreateTopics request that leaves the count to the broker, unless
// Partitions says otherwise. It is Kafka's num.partitions default.
const DefaultPartitions int32 = 1

// An Option configures a Broker.
type Option func(*config)

type config struct {
	port       int
	nodes      int
	partitions int32
	seeds      []seed
	dataDir    string
	logger     *slog.Logger
	minSession time.Duration
	kfakeOpts  []kfake.Opt
}

type seed struct {
	partitions int32
	topics     []string
}

// Topics creates the named topics, with partitions partitions each, before
// the broker takes its first request. A partition count below one means
// the broker's default (Partitions). Topics may be given several times; a
// topic named twice gets the last count.
func Topics(partitions int32, names ...string) Option {
	return func(c *config) { c.seeds = append(c.seeds, seed{partitions, names}) }
}

// Partitions is the partition count of topics created on first use or by a
// CreateTopics request with no count (Kafka's num.partitions). Default
// DefaultPartitions.
func Partitions(n int32) Option { return func(c *config) { c.partitions = n } }

// Port is the TCP port to listen on, on 127.0.0.1. Default 0: a free port,
// which Addrs reports. A broker with a fixed port has one node.
func Port(p int) Option { return func(c *config) { c.port = p } }

// Nodes is the number of broker nodes, each listening on its own free port
// of 127.0.0.1; partition leaders and group coordinators are spread over
// them. Default 1.
func Nodes(n int) Option { return func(c *config) { c.nodes = n } }

// DataDir makes the broker keep its topics, records, group offsets and
// transactions in dir, created if needed, and reload them when a broker is
// started again on the same dir, offsets included: a partition whose
// records were all deleted starts again where it ended, as on Kafka. One
// broker at a time may use a directory. Default: everything is kept in
// memory and forgotten on Close.
func DataDir(dir string) Option { return func(c *config) { c.dataDir = dir } }

// Logger receives the broker's own log lines, at the levels kfake gives
// them. Default: they are discarded.
func Logger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// GroupMinSessionTimeout is the shortest session timeout the broker accepts
// from a group member (group.min.session.timeout.ms). Default 6s, as
// Kafka's; tests that shorten runtime.SessionTimeout below it lower it.
func GroupMinSessionTimeout(d time.Duration) Option {
	return func(c *config) { c.minSession = d }
}

// KfakeOpts are passed to kfake.NewCluster after the broker's own options,
// for what this package does not name: fault injection, SASL, TLS, ACLs.
func KfakeOpts(opts ...kfake.Opt) Option {
	return func(c *config) { c.kfakeOpts = append(c.kfakeOpts, opts...) }
}
