package runtime_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkQueryLocal reads keys of a 100,000-key count through
// QueryKeyValue from parallel goroutines while the app counts as fast as a
// producer feeds it, and reports queries/s, the p99 latency of a Get and the
// records the app processed per second meanwhile.
//
//	GOTOOLCHAIN=auto go test ./runtime/ -run '^$' -bench BenchmarkQueryLocal -benchtime 200000x
func BenchmarkQueryLocal(b *testing.B) {
	const parts, keys = 4, 100_000
	c := kafkatest.NewBroker(b, kafkatest.Topics(parts, "failover-in", "failover-out"), kafkatest.Partitions(parts))
	app, _ := runApp(b, c, failoverTopology(b), b.TempDir(), runtime.ApplicationID("qbench"))
	waitState(b, app, runtime.Running)
	cl, err := c.Client(kgo.DefaultProduceTopic("failover-in"), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	key := func(i int) []byte { return fmt.Appendf(nil, "key-%06d", i) }
	for i := range keys {
		cl.Produce(context.Background(), &kgo.Record{Key: key(i), Value: []byte("x")}, nil)
	}
	if err := cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	counted := func() int64 {
		listed, err := adm.ListEndOffsets(context.Background(), "failover-out")
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		listed.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n
	}
	for counted() < keys {
		time.Sleep(50 * time.Millisecond)
	}
	q, err := runtime.QueryKeyValue[string, int64](app, "big")
	if err != nil {
		b.Fatal(err)
	}

	// Load: the producer keeps the app busy for the whole run.
	stop := make(chan struct{})
	var loadWG sync.WaitGroup
	loadWG.Add(1)
	go func() {
		defer loadWG.Done()
		r := rand.New(rand.NewPCG(1, 1))
		for {
			select {
			case <-stop:
				return
			default:
			}
			cl.Produce(context.Background(), &kgo.Record{Key: key(r.IntN(keys)), Value: []byte("x")}, nil)
		}
	}()
	time.Sleep(500 * time.Millisecond)

	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Int64
	before := counted()
	b.ResetTimer()
	began := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 2))
		var mine []time.Duration
		for pb.Next() {
			k := string(key(r.IntN(keys)))
			t0 := time.Now()
			_, found, err := q.Get(k)
			mine = append(mine, time.Since(t0))
			if err != nil || !found {
				failed.Add(1)
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(began)
	b.StopTimer()
	processed := counted() - before
	close(stop)
	loadWG.Wait()
	if n := failed.Load(); n > 0 {
		b.Errorf("%d of %d queries failed or found nothing", n, len(lat))
	}
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100]
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "queries/s")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(processed)/elapsed.Seconds(), "records-processed/s")
}
