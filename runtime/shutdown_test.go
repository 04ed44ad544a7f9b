package runtime_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// freezeMembers makes the broker ignore, once frozen is set, the group
// requests of members whose client id starts with prefix: such a member
// stays in the group, neither heartbeating nor rejoining, until its session
// times out, and a rebalance waits for it meanwhile, as for a process
// paused or cut off.
func freezeMembers(c *kafkatest.Broker, prefix string, frozen *atomic.Bool) {
	cluster := c.Cluster()
	cluster.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if !frozen.Load() {
			return nil, nil, false
		}
		var member string
		switch r := req.(type) {
		case *kmsg.HeartbeatRequest:
			member = r.MemberID
		case *kmsg.JoinGroupRequest:
			member = r.MemberID
		case *kmsg.SyncGroupRequest:
			member = r.MemberID
		case *kmsg.OffsetCommitRequest:
			member = r.MemberID
		case *kmsg.LeaveGroupRequest:
			for _, m := range r.Members {
				member = m.MemberID
			}
		}
		if strings.HasPrefix(member, prefix) {
			return nil, nil, true // no answer
		}
		return nil, nil, false
	})
}

// rebalancingOnDeadMember runs app A, started by start, with a member B
// that froze in its group, and a member C whose join started a rebalance
// that waits for B: A is in the join, which the broker answers only once
// B's 30-second session timed out.
func rebalancingOnDeadMember(t *testing.T, start func(c *kafkatest.Broker) (*runtime.App, chan error)) (*runtime.App, chan error) {
	c := kafkatest.NewBroker(t, kafkatest.Topics(3, "in", "out"))
	var frozen atomic.Bool
	freezeMembers(c, "dead-member", &frozen)
	a, aDone := start(c)
	waitState(t, a, runtime.Running)
	b, _ := runApp(t, c, copyStrings(t), t.TempDir(), runtime.ApplicationID("shutdown"),
		runtime.SessionTimeout(30*time.Second), runtime.ShutdownTimeout(time.Second),
		runtime.KgoOpts(kgo.ClientID("dead-member"), kgo.RebalanceTimeout(40*time.Second)))
	waitState(t, b, runtime.Running)
	waitState(t, a, runtime.Running)
	frozen.Store(true)
	t.Cleanup(func() { frozen.Store(false) })
	cApp, _ := runApp(t, c, copyStrings(t), t.TempDir(), runtime.ApplicationID("shutdown"))
	// A's join is in flight once its heartbeat found the rebalance, which
	// takes up to a heartbeat interval (3s): the broker holds the join
	// for the dead member.
	eventually(t, 20*time.Second, "the group rebalances, waiting for the dead member", func() (bool, string) {
		info := c.Cluster().GroupInfo("shutdown")
		return info != nil && info.State == "PreparingRebalance" && cApp.State() == runtime.Rebalancing, ""
	})
	time.Sleep(4 * time.Second)
	if info := c.Cluster().GroupInfo("shutdown"); info == nil || info.State != "PreparingRebalance" {
		t.Fatalf("the group is not waiting for the dead member: %+v", info)
	}
	return a, aDone
}

// waitRun waits for Run to return nil within d of start.
func waitRun(t *testing.T, done chan error, start time.Time, d time.Duration) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(time.Until(start.Add(d))):
		t.Fatalf("Run has not returned %v after the shutdown began", time.Since(start))
	}
	t.Logf("Run returned %v after the shutdown began", time.Since(start).Round(time.Millisecond))
}

// Close with a dead member in the group returns within its 5-second
// deadline: the app abandons the join, leaves the group, and Run returns
// too.
func TestCloseWithDeadMember(t *testing.T) {
	a, aDone := rebalancingOnDeadMember(t, func(c *kafkatest.Broker) (*runtime.App, chan error) {
		return runApp(t, c, copyStrings(t), t.TempDir(), runtime.ApplicationID("shutdown"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := a.Close(ctx); err != nil {
		t.Fatalf("Close after %v: %v", time.Since(start), err)
	}
	waitRun(t, aDone, start, 5*time.Second)
	if s := a.State(); s != runtime.NotRunning {
		t.Fatalf("state %v, want NOT_RUNNING", s)
	}
}

// Cancelling Run's context in the same spot returns as promptly, and at
// the latest after ShutdownTimeout; so does a close under exactly-once.
func TestCancelWithDeadMember(t *testing.T) {
	for _, eos := range []bool{false, true} {
		t.Run(map[bool]string{false: "at-least-once", true: "exactly-once"}[eos], func(t *testing.T) {
			var cancel context.CancelFunc
			a, aDone := rebalancingOnDeadMember(t, func(c *kafkatest.Broker) (*runtime.App, chan error) {
				opts := []runtime.Option{
					runtime.ApplicationID("shutdown"), runtime.Brokers(c.Addrs()...), runtime.StateDir(t.TempDir()),
					runtime.CommitInterval(100 * time.Millisecond), runtime.SessionTimeout(6 * time.Second),
					runtime.ShutdownTimeout(5 * time.Second), runtime.Logger(testLogger(t)),
				}
				if eos {
					opts = append(opts, runtime.ExactlyOnce())
				}
				app, err := runtime.New(copyStrings(t), opts...)
				if err != nil {
					t.Fatal(err)
				}
				var ctx context.Context
				ctx, cancel = context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- app.Run(ctx) }()
				t.Cleanup(cancel)
				return app, done
			})
			start := time.Now()
			cancel()
			waitRun(t, aDone, start, 5*time.Second)
			if s := a.State(); s != runtime.NotRunning {
				t.Fatalf("state %v, want NOT_RUNNING", s)
			}
		})
	}
}

// With the brokers gone, the app logs a bounded number of lines however
// it fares, and a Close while its last commit cannot reach them returns by
// its deadline.
func TestBrokersGone(t *testing.T) {
	start := func(t *testing.T) (*kafkatest.Broker, *logBuffer, *runtime.App, chan error) {
		c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out"))
		logs := &logBuffer{}
		app, done := runApp(t, c, copyStrings(t), t.TempDir(), runtime.ApplicationID("gone"), runtime.Logger(logs.logger()),
			runtime.CommitInterval(time.Hour))
		produceValues(t, c, "in", strs("a")...)
		if got := readRecords(t, c, "out", 1, 30*time.Second, false); len(got) != 1 {
			t.Fatalf("out has %d records", len(got))
		}
		return c, logs, app, done
	}
	t.Run("logs", func(t *testing.T) {
		c, logs, _, _ := start(t)
		before := strings.Count(logs.String(), "\n")
		c.Close()
		time.Sleep(5 * time.Second)
		lines := strings.Count(logs.String(), "\n") - before
		if lines > 200 {
			t.Errorf("%d log lines in 5s without brokers: a flood", lines)
		}
		t.Logf("%d log lines in 5s without brokers", lines)
	})
	t.Run("close", func(t *testing.T) {
		c, _, app, done := start(t)
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		begin := time.Now()
		app.Close(ctx)
		select {
		case <-done:
		case <-time.After(time.Until(begin.Add(3 * time.Second))):
			t.Fatalf("Run has not returned %v after Close, with the brokers gone", time.Since(begin))
		}
		t.Logf("closed in %v with the brokers gone", time.Since(begin).Round(time.Millisecond))
	})
}

// A group error during the last commit of a clean close under exactly-once
// sends the partitions to the lost callback, which franz-go calls holding
// the transactional session's lock, the lock the commit takes next: the
// close must hold the callback off until the commit is done, or each waits
// for the other for good.
func TestCloseWhileGroupLost(t *testing.T) {
	c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out"))
	cluster := c.Cluster()
	// Once hold is set, the app's transactional produce requests wait 3s
	// before the broker answers them, so that the last commit's flush is
	// still waiting when the group fails.
	var hold atomic.Bool
	var held atomic.Int32
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if r := req.(*kmsg.ProduceRequest); hold.Load() && r.TransactionID != nil {
			held.Add(1)
			cluster.SleepControl(func() { time.Sleep(3 * time.Second) })
		}
		return nil, nil, false
	})
	app, err := runtime.New(copyStrings(t), runtime.ApplicationID("lost"), runtime.Brokers(c.Addrs()...),
		runtime.StateDir(t.TempDir()), runtime.Logger(testLogger(t)), runtime.ExactlyOnce(),
		runtime.CommitInterval(time.Hour), runtime.ShutdownTimeout(20*time.Second), runtime.TransactionTimeout(5*time.Second),
		runtime.KgoOpts(kgo.HeartbeatInterval(100*time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	waitState(t, app, runtime.Running)
	hold.Store(true)
	produceValues(t, c, "in", strs("a")...)
	eventually(t, 20*time.Second, "the app produces into its transaction", func() (bool, string) { return held.Load() > 0, "" })
	start := time.Now()
	cancel()
	cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Heartbeat}, Err: kerr.UnknownMemberID, Count: -1})
	waitRun(t, done, start, 15*time.Second)
}

// A shutdown that interrupts the end of a transaction leaves its outcome
// unknown, here an abort (the broker holds the commit past the transaction
// timeout): the stores must not apply its writes, or the next start, which
// processes the records again, counts them twice.
func TestShutdownDuringCommit(t *testing.T) {
	c := testfix.WordCountBroker(t, 1)
	cluster := c.Cluster()
	var hold atomic.Bool
	var held atomic.Int32
	cluster.ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if r := req.(*kmsg.EndTxnRequest); hold.Load() && r.Commit {
			held.Add(1)
			cluster.SleepControl(func() { time.Sleep(3 * time.Second) })
		}
		return nil, nil, false
	})
	// Words keyed by themselves, counted in one subtopology: the
	// transaction that writes a count also holds the store's write.
	b := dsl.NewBuilder()
	dsl.Stream(b, testfix.InputTopic, serde.String, serde.String).GroupByKey().
		Count(dsl.MaterializedAs[string, int64]("counts")).ToStream().
		To(testfix.OutputTopic, dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	produceWords := func(lines []string) {
		var words [][]byte
		for _, l := range lines {
			for _, w := range strings.Fields(l) {
				words = append(words, []byte(w))
			}
		}
		cl, err := c.Client()
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		for _, w := range words {
			if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: testfix.InputTopic, Key: w, Value: w}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	start := func() (context.CancelFunc, chan error) {
		app, err := runtime.New(topo, runtime.ApplicationID("counts"), runtime.Brokers(c.Addrs()...),
			runtime.StateDir(dir), runtime.Logger(testLogger(t)), runtime.ExactlyOnce(),
			runtime.TransactionTimeout(2*time.Second), runtime.ShutdownTimeout(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- app.Run(ctx) }()
		t.Cleanup(cancel)
		return cancel, done
	}
	cancel, done := start()
	lines1, want1 := testfix.Corpus(0, 30)
	produceWords(lines1)
	testfix.ReadCounts(t, c, want1, 30*time.Second)
	hold.Store(true)
	lines2, want2 := testfix.Corpus(30, 30)
	produceWords(lines2)
	eventually(t, 20*time.Second, "the app commits a transaction", func() (bool, string) { return held.Load() > 0, "" })
	stop := time.Now()
	cancel()
	waitRun(t, done, stop, 15*time.Second)
	hold.Store(false)
	start()
	testfix.ReadCounts(t, c, testfix.Add(want1, want2), 30*time.Second)
}
