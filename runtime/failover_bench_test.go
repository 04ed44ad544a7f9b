package runtime_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The failover benchmark runs three instances of a count of keys into a
// store of failoverKeys keys, kills one (SIGKILL: it lives in a process of
// its own), and measures, on the two left, the time from the group noticing
// the loss (a survivor's move to REBALANCING) to the killed instance's
// tasks processing again (for each of them, a count of a key of theirs
// produced after the kill reaching the output), with 0 and 1 standby. Next to it: the
// records the survivors restored, and the time a raw consume of the killed
// instance's changelog partitions takes.
//
//	GOTOOLCHAIN=auto go test ./runtime/ -run '^$' -bench BenchmarkFailover -benchtime 1x
const (
	failoverKeys  = 1_000_000
	failoverParts = 6
	failoverApp   = "failover"
	failoverStore = "big"
)

// Environment of TestFailoverInstance.
const (
	failoverBrokers  = "SAMSA_TEST_FAILOVER_BROKERS"
	failoverDir      = "SAMSA_TEST_FAILOVER_DIR"
	failoverStandbys = "SAMSA_TEST_FAILOVER_STANDBYS"
)

func failoverTopology(tb testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	dsl.Stream(b, "failover-in", serde.String, serde.String).
		GroupByKey().
		Count(dsl.MaterializedAs[string, int64](failoverStore)).
		ToStream().
		To("failover-out", dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	return topo
}

func failoverOptions(brokers []string, dir string, standbys int) []runtime.Option {
	return []runtime.Option{
		runtime.ApplicationID(failoverApp),
		runtime.Brokers(brokers...),
		runtime.StateDir(dir),
		runtime.CommitInterval(100 * time.Millisecond),
		runtime.SessionTimeout(6 * time.Second),
		runtime.Standbys(standbys),
	}
}

// TestFailoverInstance is not a test: BenchmarkFailover runs the test
// binary again to execute it as the instance it kills.
func TestFailoverInstance(t *testing.T) {
	brokers := os.Getenv(failoverBrokers)
	if brokers == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv(failoverStandbys))
	opts := append(failoverOptions(strings.Split(brokers, ","), os.Getenv(failoverDir), n), runtime.Logger(testLogger(t)))
	app, err := runtime.New(failoverTopology(t), opts...)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	app.SetStateListener(func(_, s runtime.State) {
		if s == runtime.Running {
			fmt.Println("RUNNING")
		}
	})
	err = app.Run(context.Background())
	fmt.Println("error: Run returned:", err)
	os.Exit(1)
}

func BenchmarkFailover(b *testing.B) {
	for _, n := range []int{0, 1} {
		b.Run(fmt.Sprintf("standbys=%d", n), func(b *testing.B) {
			for range b.N {
				failoverOnce(b, n)
			}
		})
	}
}

func failoverOnce(b *testing.B, standbys int) {
	c := kafkatest.NewBroker(b, kafkatest.Topics(failoverParts, "failover-in", "failover-out"), kafkatest.Partitions(failoverParts))
	root := b.TempDir()

	cmd := exec.Command(os.Args[0], "-test.run=^TestFailoverInstance$")
	cmd.Env = append(os.Environ(), failoverBrokers+"="+strings.Join(c.Addrs(), ","), failoverDir+"="+root+"/victim", failoverStandbys+"="+strconv.Itoa(standbys))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	running := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			if sc.Text() == "RUNNING" {
				once.Do(func() { close(running) })
			}
		}
	}()
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	select {
	case <-running:
	case <-time.After(60 * time.Second):
		b.Fatal("the instance to kill did not start")
	}

	var rebalancedAt atomic.Int64 // unix nanos of a survivor's first REBALANCING after the kill
	var killed atomic.Bool
	var restored atomic.Int64
	var survivors []*runtime.App
	for _, name := range []string{"s1", "s2"} {
		app, err := runtime.New(failoverTopology(b), append(failoverOptions(c.Addrs(), root+"/"+name, standbys),
			runtime.Logger(testLogger(b)), runtime.RestoreListener(&restoreCounterOf{n: &restored}))...)
		if err != nil {
			b.Fatal(err)
		}
		app.SetStateListener(func(_, s runtime.State) {
			if s == runtime.Rebalancing && killed.Load() {
				rebalancedAt.CompareAndSwap(0, time.Now().UnixNano())
			}
		})
		launch(b, app)
		survivors = append(survivors, app)
	}
	// The victim's tasks are those the survivors do not run; with a
	// standby, each of them has its standby on a survivor.
	var victimTasks []processor.TaskID
	deadline := time.Now().Add(120 * time.Second)
	for {
		victimTasks = victimTasks[:0]
		held := map[processor.TaskID]bool{}
		standby := map[processor.TaskID]bool{}
		for _, s := range survivors {
			for _, id := range s.ActiveTasks() {
				held[id] = true
			}
			for _, id := range s.StandbyTasks() {
				standby[id] = true
			}
		}
		ok := len(held) == failoverParts-failoverParts/3
		for p := range int32(failoverParts) {
			id := processor.TaskID{Partition: p}
			if !held[id] {
				victimTasks = append(victimTasks, id)
				ok = ok && (standbys == 0 || standby[id])
			}
		}
		if ok && survivors[0].State() == runtime.Running && survivors[1].State() == runtime.Running {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the group did not settle: survivors run %v and %v, keep %v and %v", survivors[0].ActiveTasks(), survivors[1].ActiveTasks(), survivors[0].StandbyTasks(), survivors[1].StandbyTasks())
		}
		time.Sleep(50 * time.Millisecond)
	}

	cl, err := c.Client(kgo.DefaultProduceTopic("failover-in"), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	began := time.Now()
	var wg sync.WaitGroup
	var perr atomic.Pointer[error]
	for i := range failoverKeys {
		wg.Add(1)
		cl.Produce(context.Background(), &kgo.Record{Key: fmt.Appendf(nil, "key-%07d", i), Value: []byte("x")}, func(_ *kgo.Record, err error) {
			if err != nil {
				perr.CompareAndSwap(nil, &err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if err := perr.Load(); err != nil {
		b.Fatal(*err)
	}
	adm := kadm.NewClient(cl)
	changelog := failoverApp + "-" + failoverStore + "-changelog"
	sumEnds := func(topic string) int64 {
		ends, err := adm.ListEndOffsets(context.Background(), topic)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n
	}
	for sumEnds("failover-out") < failoverKeys {
		if time.Since(began) > 10*time.Minute {
			b.Fatalf("only %d of %d keys counted after 10 minutes", sumEnds("failover-out"), failoverKeys)
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.Logf("%d keys produced and counted in %v", failoverKeys, time.Since(began).Round(time.Millisecond))
	if standbys > 0 {
		for {
			var behind int64
			for _, s := range survivors {
				lags, err := s.StandbyLags(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				for _, l := range lags {
					behind += l.Lag
				}
			}
			if behind == 0 {
				break
			}
			if time.Since(began) > 10*time.Minute {
				b.Fatalf("the standbys are still %d records behind", behind)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Kill, and keep producing keys of every partition: the first count
	// of one of the victim's partitions after the rebalance is the moved
	// tasks processing again.
	out, err := c.Client(kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.ConsumeTopics("failover-out"))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	out.PollFetches(contextTimeout(time.Second)) // joins the end of the output
	restored.Store(0)
	killed.Store(true)
	killedAt := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		b.Fatal(err)
	}
	stopProbe := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stopProbe:
				return
			case <-time.After(5 * time.Millisecond):
			}
			cl.Produce(context.Background(), &kgo.Record{Key: fmt.Appendf(nil, "probe-%d", i), Value: []byte("x")}, nil)
		}
	}()
	defer close(stopProbe)
	var processedAt time.Time
	resumed := map[int32]bool{}
	for processedAt.IsZero() {
		fs := out.PollFetches(contextTimeout(time.Second))
		now := time.Now()
		fs.EachRecord(func(r *kgo.Record) {
			if rebalancedAt.Load() != 0 && strings.HasPrefix(string(r.Key), "probe-") &&
				slices.Contains(victimTasks, processor.TaskID{Partition: r.Partition}) {
				resumed[r.Partition] = true
			}
		})
		if len(resumed) == len(victimTasks) {
			processedAt = now
		}
		if time.Since(killedAt) > 5*time.Minute {
			b.Fatal("the victim's tasks did not process again within 5 minutes")
		}
	}
	rebalanced := time.Unix(0, rebalancedAt.Load())
	took := processedAt.Sub(rebalanced)

	// A raw consume of the victim's changelog partitions, for comparison.
	parts := map[string]map[int32]kgo.Offset{changelog: {}}
	ends, err := adm.ListEndOffsets(context.Background(), changelog)
	if err != nil {
		b.Fatal(err)
	}
	var want int64
	for _, id := range victimTasks {
		parts[changelog][id.Partition] = kgo.NewOffset().AtStart()
		o, _ := ends.Lookup(changelog, id.Partition)
		want += o.Offset
	}
	raw, err := c.Client(kgo.ConsumePartitions(parts), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		b.Fatal(err)
	}
	rawBegan := time.Now()
	var got int64
	for got < want {
		fs := raw.PollFetches(contextTimeout(10 * time.Second))
		got += int64(fs.NumRecords())
		if time.Since(rawBegan) > 5*time.Minute {
			b.Fatal("raw consume did not finish")
		}
	}
	rawTook := time.Since(rawBegan)
	raw.Close()

	b.ReportMetric(float64(took.Milliseconds()), "ms-rebalance-to-processing")
	b.ReportMetric(float64(rebalanced.Sub(killedAt).Milliseconds()), "ms-kill-to-rebalance")
	b.ReportMetric(float64(restored.Load()), "records-restored")
	b.ReportMetric(float64(rawTook.Milliseconds()), "ms-raw-consume-of-changelog")
	b.Logf("standbys=%d: killed; rebalance began after %v; the moved tasks processed %v later, restoring %d records; a raw consume of their %d changelog records takes %v",
		standbys, rebalanced.Sub(killedAt).Round(time.Millisecond), took.Round(time.Millisecond), restored.Load(), want, rawTook.Round(time.Millisecond))
	for _, s := range survivors {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s.Close(ctx)
		cancel()
	}
}

// restoreCounterOf counts restored records into n, shared by instances.
type restoreCounterOf struct{ n *atomic.Int64 }

func (c *restoreCounterOf) OnRestoreStart(runtime.RestoreProgress)    {}
func (c *restoreCounterOf) OnRestoreEnd(runtime.RestoreProgress)      {}
func (c *restoreCounterOf) OnBatchRestored(p runtime.RestoreProgress) { c.n.Add(p.Batch) }

func contextTimeout(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	go func() { <-ctx.Done(); cancel() }()
	return ctx
}
