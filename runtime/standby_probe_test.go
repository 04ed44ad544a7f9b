package runtime_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestScaleOutShortChangelogsNeedNoWarmups scales a count whose
// changelogs hold fewer records than the acceptable recovery lag from one
// instance to two. The newcomer restores at most that much, so it takes
// its share in the rebalance of its join, with no warm-up and no probing
// rebalance after: warm-ups handed out for such tasks caught up at once
// and asked for a rebalance each, about one a second while instances came
// and went.
func TestScaleOutShortChangelogsNeedNoWarmups(t *testing.T) {
	const parts, keys = 6, 600
	c := kafkatest.NewBroker(t, kafkatest.Topics(parts, "failover-in", "failover-out"), kafkatest.Partitions(parts))
	root := t.TempDir()
	topo := failoverTopology(t)
	opts := []runtime.Option{runtime.ApplicationID("short"), runtime.ExactlyOnce()}
	a, aDone := runApp(t, c, topo, root+"/a", opts...)
	waitState(t, a, runtime.Running)
	cl, err := c.Client(kgo.DefaultProduceTopic("failover-in"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range keys {
		cl.Produce(context.Background(), &kgo.Record{Key: fmt.Appendf(nil, "key-%05d", i), Value: []byte("x")}, nil)
	}
	if err := cl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	for deadline := time.Now().Add(60 * time.Second); ; {
		listed, err := adm.ListEndOffsets(context.Background(), "failover-out")
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		listed.Each(func(o kadm.ListedOffset) { n += o.Offset })
		if n >= keys {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d keys counted", n, keys)
		}
		time.Sleep(50 * time.Millisecond)
	}

	var rebalances atomic.Int32
	a.SetStateListener(func(_, s runtime.State) {
		if s == runtime.Rebalancing {
			rebalances.Add(1)
		}
	})
	b, bDone := runApp(t, c, topo, root+"/b", opts...)
	deadline := time.Now().Add(60 * time.Second)
	for len(a.ActiveTasks()) != parts/2 || len(b.ActiveTasks()) != parts/2 || a.State() != runtime.Running || b.State() != runtime.Running {
		if n := b.StandbyTasks(); len(n) > 0 {
			t.Fatalf("the newcomer warms up %v, whose changelogs hold less than the acceptable lag", n)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not balanced: a runs %v, b %v", a.ActiveTasks(), b.ActiveTasks())
		}
		time.Sleep(2 * time.Millisecond)
	}
	// A probing rebalance would follow within the lag check's half
	// second; give it two.
	settled := rebalances.Load()
	time.Sleep(2 * time.Second)
	if n := rebalances.Load(); n != settled {
		t.Errorf("%d more rebalances after the group balanced", n-settled)
	}
	if n := b.StandbyTasks(); len(n) > 0 {
		t.Errorf("the newcomer keeps warm-ups %v", n)
	}
	t.Logf("balanced after %d rebalances of the first instance", settled)
	closeApp(t, b, bDone)
	closeApp(t, a, aDone)
}
