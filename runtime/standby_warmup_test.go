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

// TestWarmupScaleOut scales a count of 12,000 keys from one instance to
// three under load: the new instances first warm copies up while the first
// keeps running every task, and take their share only once caught up, so
// that neither restores a task's whole changelog.
func TestWarmupScaleOut(t *testing.T) {
	const parts, keys, acceptable = 6, 12000, 100
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
	var rc restoreCounter
	joinedAt := time.Now()
	b, bDone := runApp(t, c, topo, root+"/b", opts(&rb)...)
	cApp, cDone := runApp(t, c, topo, root+"/c", opts(&rc)...)
	var warmedUp atomic.Int32 // bit i: instance i kept warm-ups while it ran nothing
	joined := []*runtime.App{b, cApp}
	deadline = time.Now().Add(120 * time.Second)
	for {
		balanced := len(a.ActiveTasks()) == parts/3 && a.State() == runtime.Running
		for i, app := range joined {
			if len(app.ActiveTasks()) == 0 && len(app.StandbyTasks()) > 0 {
				warmedUp.Or(1 << i)
			}
			balanced = balanced && len(app.ActiveTasks()) == parts/3 && app.State() == runtime.Running
		}
		if balanced {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not balanced: a runs %v, b %v (keeps %v), c %v (keeps %v)", a.ActiveTasks(), b.ActiveTasks(), b.StandbyTasks(), cApp.ActiveTasks(), cApp.StandbyTasks())
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("two instances joined and took their share, warmed up, %v after they started", time.Since(joinedAt).Round(time.Millisecond))
	if w := warmedUp.Load(); w != 3 {
		t.Errorf("warm-ups seen before tasks on b: %v, on c: %v; want both", w&1 != 0, w&2 != 0)
	}
	changelog := ends("warm-" + failoverStore + "-changelog")
	for i, app := range joined {
		var full int64
		for _, id := range app.ActiveTasks() {
			full += changelog[id.Partition]
		}
		restored := []*restoreCounter{&rb, &rc}[i].n.Load()
		t.Logf("instance %d restored %d records taking over tasks whose changelogs hold %d", i+1, restored, full)
		if restored*4 > full {
			t.Errorf("instance %d restored %d records of its tasks' %d: more than a tail", i+1, restored, full)
		}
	}
	closeApp(t, cApp, cDone)
	closeApp(t, b, bDone)
	closeApp(t, a, aDone)
}
