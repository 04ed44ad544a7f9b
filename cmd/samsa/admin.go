package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/topology"
)

// cluster holds the flags every command that talks to Kafka shares: where
// the brokers are, which application, and how long to wait.
type cluster struct {
	brokers brokerList
	appID   string
	timeout time.Duration
}

// brokerList is a comma-separated host:port list.
type brokerList []string

func (b *brokerList) String() string { return strings.Join(*b, ",") }

func (b *brokerList) Set(v string) error {
	*b = nil
	for a := range strings.SplitSeq(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			*b = append(*b, a)
		}
	}
	if len(*b) == 0 {
		return errors.New("lists no brokers")
	}
	return nil
}

// register adds -brokers, the application id flag under appFlag, and
// -timeout to fs. The first two default to the variables the runtime reads,
// so that the tools run inside an application's pod need no flags.
func (c *cluster) register(fs *flag.FlagSet, appFlag string) {
	if v := os.Getenv(runtime.EnvBrokers); v != "" {
		c.brokers.Set(v) // a bad value shows as "no brokers" below
	}
	c.appID = os.Getenv(runtime.EnvApplicationID)
	c.timeout = 30 * time.Second
	fs.Var(&c.brokers, "brokers", "comma-separated `host:port` list of Kafka brokers (default $"+runtime.EnvBrokers+")")
	fs.StringVar(&c.appID, appFlag, c.appID, "application `id`: the consumer group and the prefix of internal topics (default $"+runtime.EnvApplicationID+")")
	fs.DurationVar(&c.timeout, "timeout", c.timeout, "how long to wait for the brokers")
}

// check reports a missing flag as a usage error.
func (c *cluster) check(fs *flag.FlagSet, appFlag string) (int, bool) {
	switch {
	case len(c.brokers) == 0:
		return usageError(fs, "no brokers: pass -brokers or set %s", runtime.EnvBrokers), false
	case c.appID == "":
		return usageError(fs, "no application id: pass -%s or set %s", appFlag, runtime.EnvApplicationID), false
	case c.timeout <= 0:
		return usageError(fs, "-timeout must be positive"), false
	}
	return 0, true
}

// admin returns an admin client for the brokers and a context bounded by
// -timeout. The caller closes the client and cancels the context.
func (c *cluster) admin(ctx context.Context) (*kadm.Client, context.Context, context.CancelFunc, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...))
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	return kadm.NewClient(cl), ctx, func() { cancel(); cl.Close() }, nil
}

// describeGroup describes the application's consumer group, with an error
// naming it when the broker could not.
func describeGroup(ctx context.Context, adm *kadm.Client, group string) (kadm.DescribedGroup, error) {
	gs, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return kadm.DescribedGroup{}, fmt.Errorf("describe group %q: %w", group, err)
	}
	g, ok := gs[group]
	if !ok {
		return kadm.DescribedGroup{}, fmt.Errorf("describe group %q: no answer for it", group)
	}
	if g.Err != nil {
		return g, fmt.Errorf("describe group %q: %w", group, g.Err)
	}
	return g, nil
}

// readDescription reads a topology description that an application wrote
// with topology.Topology.DescribeJSON; "-" is standard input.
func readDescription(path string, stdin io.Reader) (topology.Description, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
		path = "standard input"
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return topology.Description{}, err
	}
	var d topology.Description
	if err := json.Unmarshal(data, &d); err != nil {
		return topology.Description{}, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// internalSuffixes end the names of the topics Samsa creates for an
// application, after its id and a dash: Kafka Streams' names, which its
// reset tool recognises the same way.
var internalSuffixes = []string{"-repartition", "-changelog", "-subscription-registration-topic", "-subscription-response-topic"}

// isInternalTopic reports whether topic is one the application owns: a
// repartition or changelog topic (or a foreign-key join's) named after it.
func isInternalTopic(appID, topic string) bool {
	rest, ok := strings.CutPrefix(topic, appID+"-")
	if !ok {
		return false
	}
	for _, s := range internalSuffixes {
		if strings.HasSuffix(rest, s) && len(rest) > len(s) {
			return true
		}
	}
	return false
}

// subtopologyOf maps the broker name of every topic the described
// topology reads to the sub-topology that reads it. Topics the topology
// both writes and reads are repartition topics, which the runtime names
// "<application id>-<name>".
func subtopologyOf(d topology.Description, appID string) map[string]int {
	written := map[string]bool{}
	for _, st := range d.Subtopologies {
		for _, n := range st.Nodes {
			if n.Kind == topology.SinkNode && n.Topic != "" {
				written[n.Topic] = true
			}
		}
	}
	m := map[string]int{}
	for _, st := range d.Subtopologies {
		for _, n := range st.Nodes {
			for _, t := range n.Topics {
				if written[t] {
					t = appID + "-" + t
				}
				m[t] = st.ID
			}
		}
	}
	return m
}
