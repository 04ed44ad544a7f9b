package harness

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/samsa-go/samsa/kafkatest"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a single-node kfake broker in the harness's process that can be
// restarted: it keeps its state in a data directory and listens on the same
// port after a restart, so the application's clients find it again as they
// would find a restarted Kafka broker. The chaos injects broker faults
// through it (see ChaosConfig.Broker).
//
// Its methods are safe for concurrent use. Close it after every client of
// it, the application's processes included.
type Broker struct {
	opts []kafkatest.Option
	port int

	mu     sync.Mutex
	cur    *kafkatest.Broker
	closed bool
}

// StartBroker starts a broker that keeps its state under dataDir, with the
// harness's topics (Topics) of partitions partitions each. opts come after
// the harness's own; a Port among them is overridden.
func StartBroker(dataDir string, partitions int32, opts ...kafkatest.Option) (*Broker, error) {
	base := append([]kafkatest.Option{
		kafkatest.Topics(partitions, Topics()...),
		kafkatest.Partitions(partitions),
		kafkatest.DataDir(dataDir),
	}, opts...)
	cur, err := kafkatest.Start(base...)
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	_, p, err := net.SplitHostPort(cur.Addrs()[0])
	if err == nil {
		var port int
		port, err = strconv.Atoi(p)
		if err == nil {
			return &Broker{opts: base, port: port, cur: cur}, nil
		}
	}
	cur.Close()
	return nil, fmt.Errorf("harness: broker address %q: %v", cur.Addrs()[0], err)
}

// Addrs is the seed broker list; it does not change across restarts.
func (b *Broker) Addrs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur.Addrs()
}

// cluster returns the kfake cluster running now, or nil once closed. A
// fault installed on it ends with it at the next restart.
func (b *Broker) cluster() *kfake.Cluster {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	return b.cur.Cluster()
}

// Restart stops the broker, which saves its state and drops every
// connection, waits down, and starts it again on the same port from the
// saved state: topics, records, committed offsets, producer ids and their
// sequence windows, groups and open transactions survive, as they do a
// Kafka broker's restart.
func (b *Broker) Restart(down time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("harness: restart of a closed broker")
	}
	b.cur.Close()
	time.Sleep(down)
	opts := append(append([]kafkatest.Option(nil), b.opts...), kafkatest.Port(b.port))
	var err error
	// The port was ours a moment ago; another process may take it in
	// between, which leaves nothing to do but fail the run.
	for range 50 {
		var cur *kafkatest.Broker
		if cur, err = kafkatest.Start(opts...); err == nil {
			b.cur = cur
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.closed = true
	return fmt.Errorf("harness: restart the broker on port %d: %w", b.port, err)
}

// Close stops the broker for good.
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		b.cur.Close()
	}
}
