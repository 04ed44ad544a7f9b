package main

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
)

// endOffsets returns the number of records in each topic, by topic; a
// topic that does not exist is missing from the map.
func endOffsets(t *testing.T, b *kafkatest.Broker, topics ...string) map[string]int64 {
	t.Helper()
	cl, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
			return
		}
		if o.Err != nil {
			t.Fatalf("end offset of %s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		out[o.Topic] += o.Offset
	})
	return out
}

// restartRun runs Topology on a broker, an app at a time.
type restartRun struct {
	t      *testing.T
	b      *kafkatest.Broker
	cl     *kgo.Client
	adm    *kadm.Client
	ends   map[string]map[int32]int64
	alerts []Alert
	read   *kgo.Client
}

const restartApp = "tradeflags-restart"

func newRestartRun(t *testing.T) *restartRun {
	b := kafkatest.NewBroker(t, kafkatest.Topics(3, EventsTopic, AlertsTopic))
	cl, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	read, err := b.Client(kgo.ConsumeTopics(AlertsTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(read.Close)
	return &restartRun{t: t, b: b, cl: cl, adm: kadm.NewClient(cl), ends: map[string]map[int32]int64{EventsTopic: {}}, read: read}
}

// start runs an app on stateDir and returns what stops it, cleanly.
func (r *restartRun) start(stateDir string) (stop func()) {
	r.t.Helper()
	topo, err := Topology(EventsTopic, AlertsTopic)
	if err != nil {
		r.t.Fatal(err)
	}
	app, err := runtime.New(topo, runtime.ApplicationID(restartApp), runtime.Brokers(r.b.Addrs()...), runtime.StateDir(stateDir),
		runtime.ExactlyOnce(), runtime.CommitInterval(100*time.Millisecond),
		runtime.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			r.t.Errorf("app: %v", err)
		}
	}
	r.t.Cleanup(stop)
	return stop
}

// play writes the events of player, in order, and waits until the app
// has committed them; then it returns the alerts that came of them.
func (r *restartRun) play(player string, evs ...Event) []Alert {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.t.Context(), 60*time.Second)
	defer cancel()
	for _, ev := range evs {
		v, _ := eventSerde.Serialize(nil, EventsTopic, ev)
		res := r.cl.ProduceSync(ctx, &kgo.Record{Topic: EventsTopic, Key: []byte(player), Value: v})
		rec, err := res.First()
		if err != nil {
			r.t.Fatal(err)
		}
		r.ends[EventsTopic][rec.Partition] = rec.Offset + 1
	}
	for {
		done, err := caughtUp(ctx, r.adm, restartApp, r.ends)
		if err != nil {
			r.t.Fatal(err)
		}
		if done {
			break
		}
		if ctx.Err() != nil {
			r.t.Fatalf("the app did not commit %v", r.ends)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The transaction that committed the offsets committed the alerts
	// too: they are readable now.
	var got []Alert
	poll, cancelPoll := context.WithTimeout(ctx, time.Second)
	defer cancelPoll()
	for poll.Err() == nil {
		r.read.PollFetches(poll).EachRecord(func(rec *kgo.Record) {
			a, err := alertSerde.Deserialize(rec.Topic, rec.Value)
			if err != nil {
				r.t.Fatal(err)
			}
			got = append(got, a)
		})
	}
	return got
}

// The history lives in a logged store: an app that starts on an empty
// state directory, as on another machine, restores it from the
// changelog, and goes on from where the last one left off.
func TestRestartKeepsHistory(t *testing.T) {
	r := newRestartRun(t)
	stop := r.start(t.TempDir())
	r.play("honest", append([]Event{login("10.0.0.1")}, usual(6, "10.0.0.1", 100)...)...)
	if got := r.play("cheater", append([]Event{login("10.1.0.1")}, usual(6, "10.1.0.1", 100)...)...); len(got) != 0 {
		t.Fatalf("alerts before any heist: %v", got)
	}
	if got := r.play("cheater", trade("203.0.113.7", 900)); len(got) != 1 || got[0].Player != "cheater" {
		t.Fatalf("first heist: alerts %v, want one for cheater", got)
	}
	stop()

	r.start(t.TempDir())
	// Without the history, neither a big trade from a known address nor
	// one from a new address would be flagged: too few trades.
	if got := r.play("honest", trade("10.0.0.1", 5000), trade("100.64.0.1", 120)); len(got) != 0 {
		t.Errorf("after the restart, honest player flagged: %v", got)
	}
	if got := r.play("cheater", trade("10.1.0.1", 5000)); len(got) != 0 {
		t.Errorf("after the restart, big trade from a known address flagged: %v", got)
	}
	got := r.play("cheater", trade("203.0.113.9", 20000))
	if len(got) != 1 || got[0].Player != "cheater" || got[0].Mean != float64(600+900+5000)/8 {
		t.Errorf("after the restart, second heist: alerts %+v, want one for cheater over a mean of %.1f", got, float64(600+900+5000)/8)
	}
}
