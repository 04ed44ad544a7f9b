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

// TestWarmupScaleOut scales a count of 8,000 keys from one instance to two
// under load: the new instance first warms copies up while the first keeps
// running every task, and takes its share only once caught up, so it never
// restores a task's whole changelog.
func TestWarmupScaleOut(t *testing.T) {
	const parts, keys, acceptable = 4, 8000, 100
	c := kafkatest.NewBroker(t, kafkatest.Topics(parts, "failover-in", "failover-out"), kafkatest.Partitions(parts))
	root := t.TempDir()
	topo := failoverTopology(t)
	opts := func(l runtime.StateRestoreListener) []runtime.Option {
		return []runtime.Option{runtime.ApplicationID("warm"), runtime.AcceptableRecoveryLag(acceptable), runtime.RestoreListener(l)}
	}
	var ra, rb restoreCounter
	a, aDone := runApp(t, c, topo, root+"/a", opts(&ra)...)
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
	ends := func(topic string) map[int32]int64 {
		listed, err := adm.ListEndOffsets(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		m := map[int32]int64{}
		listed.Each(func(o kadm.ListedOffset) { m[o.Partition] = o.Offset })
		return m
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int64
		for _, o := range ends("failover-out") {
			n += o
		}
		if n >= keys {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d keys counted", n, keys)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Under load: a key a millisecond while the second instance joins.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			cl.Produce(context.Background(), &kgo.Record{Key: fmt.Appendf(nil, "load-%d", i), Value: []byte("x")}, nil)
		}
	}()
	b, bDone := runApp(t, c, topo, root+"/b", opts(&rb)...)
	var warmedUp atomic.Bool
	deadline = time.Now().Add(90 * time.Second)
	for len(a.ActiveTasks()) != parts/2 || len(b.ActiveTasks()) != parts/2 || a.State() != runtime.Running || b.State() != runtime.Running {
		if len(b.ActiveTasks()) == 0 && len(b.StandbyTasks()) > 0 {
			warmedUp.Store(true)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not balanced: a runs %v, b runs %v and keeps %v", a.ActiveTasks(), b.ActiveTasks(), b.StandbyTasks())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !warmedUp.Load() {
		t.Error("b took tasks without warming them up first")
	}
	var full int64
	changelog := ends("warm-" + failoverStore + "-changelog")
	for _, id := range b.ActiveTasks() {
		full += changelog[id.Partition]
	}
	t.Logf("b restored %d records taking over tasks whose changelogs hold %d", rb.n.Load(), full)
	if got := rb.n.Load(); got*4 > full {
		t.Errorf("b restored %d records of its tasks' %d: more than a tail", got, full)
	}
	closeApp(t, b, bDone)
	closeApp(t, a, aDone)
}
