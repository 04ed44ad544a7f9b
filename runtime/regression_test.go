package runtime_test

// Regression tests for failure modes Kafka Streams has had.

import (
	"context"
	"encoding/binary"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/runtime"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func int64Bytes(n int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	return b[:]
}

// KAFKA-7192: a store restored from its changelog must not pick up the
// records of an aborted transaction.
func TestRestoreSkipsAbortedTransactions(t *testing.T) {
	for _, eos := range []bool{false, true} {
		t.Run(map[bool]string{false: "at-least-once", true: "exactly-once"}[eos], func(t *testing.T) {
			c := testfix.WordCountBroker(t, 1)
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID("writer"), kgo.DefaultProduceTopic("wordcount-counts-changelog"))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			adm := kadm.NewClient(cl)
			ctx := context.Background()
			if _, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": ptr("compact")}, "wordcount-counts-changelog"); err != nil {
				t.Fatal(err)
			}
			txn := func(commit bool, key string, n int64) {
				if err := cl.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(key), Value: int64Bytes(n)}).FirstErr(); err != nil {
					t.Fatal(err)
				}
				if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
					t.Fatal(err)
				}
			}
			txn(true, "yyy", 5)
			txn(false, "zzz", 100)

			var opts []runtime.Option
			if eos {
				opts = append(opts, runtime.ExactlyOnce())
			}
			app, done := startApp(t, c, t.TempDir(), opts...)
			testfix.ProduceLines(t, c, "zzz yyy")
			testfix.ReadCounts(t, c, map[string]int64{"zzz": 1, "yyy": 6}, 30*time.Second)
			closeApp(t, app, done)
		})
	}
}

func ptr[T any](v T) *T { return &v }

// KAFKA-16017: a task closed while it restores, then opened again, must
// end with the right state: records restored before the close are not
// counted twice, and none are skipped.
func TestTaskClosedWhileRestoringThenReopened(t *testing.T) {
	c := testfix.WordCountBroker(t, 1)
	dir := t.TempDir()
	app, done := startApp(t, c, dir)
	lines, want := testfix.Corpus(0, 1500)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 60*time.Second)
	closeApp(t, app, done)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	// Close the app after its first batch of restored records.
	appCh := make(chan *runtime.App, 1)
	l := &closeOnBatch{app: appCh}
	app2, done2 := startApp(t, c, dir, runtime.RestoreListener(l))
	appCh <- app2
	if err := <-done2; err != nil {
		t.Fatalf("Run interrupted during restore: %v", err)
	}
	if !l.hooked.Load() {
		t.Fatal("no batch was restored")
	}

	app3, done3 := startApp(t, c, dir)
	more, want2 := testfix.Corpus(1500, 20)
	testfix.ProduceLines(t, c, more...)
	testfix.ReadCounts(t, c, testfix.Add(want, want2), 60*time.Second)
	closeApp(t, app3, done3)
}

// closeOnBatch closes the app it gets from app once the first batch of
// restored records was applied, from another goroutine: the listener runs
// on the restoring thread.
type closeOnBatch struct {
	app    chan *runtime.App
	once   sync.Once
	hooked atomic.Bool
}

func (l *closeOnBatch) OnRestoreStart(runtime.RestoreProgress) {}
func (l *closeOnBatch) OnRestoreEnd(runtime.RestoreProgress)   {}

func (l *closeOnBatch) OnBatchRestored(runtime.RestoreProgress) {
	l.hooked.Store(true)
	l.once.Do(func() {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			(<-l.app).Close(ctx)
		}()
	})
}

// KAFKA-9274: a transaction commit that times out must not be followed by
// an abort of that transaction; the results stay exactly once.
func TestCommitTimeoutIsNotAborted(t *testing.T) {
	c := testfix.WordCountBroker(t, 1)
	var mu sync.Mutex
	var ends []bool // Commit flag of each EndTxn, in order
	swallowed := false
	c.Cluster().ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.Cluster().KeepControl()
		r := req.(*kmsg.EndTxnRequest)
		mu.Lock()
		defer mu.Unlock()
		ends = append(ends, r.Commit)
		if r.Commit && !swallowed {
			// No response: the client's request times out.
			swallowed = true
			return nil, nil, true
		}
		return nil, nil, false
	})
	app, done := startApp(t, c, t.TempDir(), runtime.ExactlyOnce(),
		runtime.KgoOpts(kgo.RequestTimeoutOverhead(time.Second), kgo.RetryTimeout(5*time.Second)))
	lines, want := testfix.Corpus(0, 50)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 60*time.Second)
	more, want2 := testfix.Corpus(50, 50)
	testfix.ProduceLines(t, c, more...)
	testfix.ReadCounts(t, c, testfix.Add(want, want2), 60*time.Second)
	closeApp(t, app, done)

	mu.Lock()
	defer mu.Unlock()
	if !swallowed {
		t.Fatal("no EndTxn commit was intercepted")
	}
	for i, commit := range ends {
		if i > 0 && ends[i-1] && !commit && i == firstSwallowed(ends)+1 {
			t.Fatalf("EndTxn sequence %v: the timed-out commit was followed by an abort", ends)
		}
	}
}

func firstSwallowed(ends []bool) int {
	for i, c := range ends {
		if c {
			return i
		}
	}
	return -1
}

// A previous owner of a task can leave a transaction open on the changelog
// (a crash with records in flight). The last stable offset then stops
// before records other producers committed after it; a restore that ends
// there loses them while the group's committed offsets include their
// input. The restore must wait until no transaction is open.
func TestRestoreWaitsForOpenTransaction(t *testing.T) {
	c := testfix.WordCountBroker(t, 1)
	ctx := context.Background()
	admCl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer admCl.Close()
	if _, err := kadm.NewClient(admCl).CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": ptr("compact")}, "wordcount-counts-changelog"); err != nil {
		t.Fatal(err)
	}
	zombie, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID("zombie"),
		kgo.TransactionTimeout(2*time.Second), kgo.DefaultProduceTopic("wordcount-counts-changelog"))
	if err != nil {
		t.Fatal(err)
	}
	defer zombie.Close()
	if err := zombie.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := zombie.ProduceSync(ctx, &kgo.Record{Key: []byte("aaa"), Value: int64Bytes(999)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// Left open: the broker aborts it after its timeout.
	writer, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID("writer"), kgo.DefaultProduceTopic("wordcount-counts-changelog"))
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if err := writer.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := writer.ProduceSync(ctx, &kgo.Record{Key: []byte("yyy"), Value: int64Bytes(5)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := writer.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}

	app, done := startApp(t, c, t.TempDir(), runtime.ExactlyOnce())
	testfix.ProduceLines(t, c, "yyy aaa")
	testfix.ReadCounts(t, c, map[string]int64{"yyy": 6, "aaa": 1}, 30*time.Second)
	closeApp(t, app, done)
}
