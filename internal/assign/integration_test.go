package assign

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samsa-go/samsa/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGroupKfake runs two stream-thread clients of one group against an
// in-process broker and checks what each is assigned.
func TestGroupKfake(t *testing.T) {
	const parts = 4
	subs := []Subtopology{
		{ID: 0, SourceTopics: []string{"orders", "customers"}},
		{ID: 1, SourceTopics: []string{"app-agg-repartition"}},
	}
	topics := []string{"orders", "customers", "app-agg-repartition"}

	c := kafkatest.NewBroker(t, kafkatest.Topics(parts, topics...))

	var mu sync.Mutex
	assigned := map[string]map[string][]int32{} // client => topic => partitions
	changed := make(chan struct{}, 16)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}

	newClient := func(name string) *kgo.Client {
		bal, err := NewBalancer(Config{Subtopologies: subs, ProcessID: "proc-" + name})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := kgo.NewClient(
			kgo.SeedBrokers(c.Addrs()...),
			kgo.ConsumerGroup("app"),
			kgo.ConsumeTopics(topics...),
			kgo.Balancers(bal),
			kgo.HeartbeatInterval(100*time.Millisecond),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
				mu.Lock()
				assigned[name] = maps.Clone(m)
				mu.Unlock()
				notify()
			}),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, _ map[string][]int32) {
				mu.Lock()
				delete(assigned, name)
				mu.Unlock()
				notify()
			}),
		)
		if err != nil {
			t.Fatal(err)
		}
		// Polling keeps the client's group loop and callbacks running.
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ctx.Err() == nil {
				cl.PollFetches(ctx)
			}
		}()
		t.Cleanup(func() { cancel(); <-done; cl.Close() })
		return cl
	}
	newClient("t1")
	newClient("t2")

	// settled reports whether both clients hold a disjoint, complete and
	// balanced share of the partitions.
	settled := func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		if len(assigned) != 2 {
			return false, fmt.Sprintf("%d clients assigned: %v", len(assigned), assigned)
		}
		owner := map[string]string{}
		for name, m := range assigned {
			for topic, ps := range m {
				for _, p := range ps {
					key := fmt.Sprintf("%s/%d", topic, p)
					if o, ok := owner[key]; ok {
						return false, fmt.Sprintf("%s on %s and %s", key, o, name)
					}
					owner[key] = name
				}
			}
		}
		if len(owner) != parts*len(topics) {
			return false, fmt.Sprintf("%d of %d partitions assigned: %v", len(owner), parts*len(topics), assigned)
		}
		return true, ""
	}

	deadline := time.After(20 * time.Second)
	for {
		ok, why := settled()
		if ok {
			break
		}
		select {
		case <-changed:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("group did not settle: %s", why)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	for name, m := range assigned {
		orders, customers := slices.Sorted(slices.Values(m["orders"])), slices.Sorted(slices.Values(m["customers"]))
		if !slices.Equal(orders, customers) {
			t.Errorf("%s: orders %v, customers %v: co-partitioned topics split", name, orders, customers)
		}
		if tasks := TasksOf(m, subs); len(tasks) != parts {
			t.Errorf("%s runs %d tasks %v, want %d", name, len(tasks), tasks, parts)
		}
	}
}
