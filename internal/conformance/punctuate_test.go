package conformance_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Punctuators fire by Kafka Streams' rules (PunctuationQueue and
// PunctuationSchedule.next): a stream-time schedule starts at 0, so the
// first record fires it; a jump of stream time fires each due schedule
// once, the earliest due first, and moves it to the first of its interval
// boundaries after the new stream time; a record behind stream time fires
// nothing; a schedule made by a punctuator that is due fires at once. A
// wall-clock schedule starts an interval after it was made and follows the
// wall clock alone.

// clocks reports its punctuations: each fire forwards the schedule's name
// and how many times it fired, stamped with the punctuation's time. It
// schedules a (10ms) and b (3ms) on stream time, c (50ms) from a's first
// fire, which c cancels at its second; with wall set, w on the wall clock.
type clocks struct {
	ctx   processor.Context[string, string]
	wall  time.Duration
	fired map[string]int
}

func (p *clocks) Init(ctx processor.Context[string, string]) error {
	p.ctx, p.fired = ctx, map[string]int{}
	if err := p.schedule("a", 10*time.Millisecond, processor.StreamTime); err != nil {
		return err
	}
	if err := p.schedule("b", 3*time.Millisecond, processor.StreamTime); err != nil {
		return err
	}
	if p.wall > 0 {
		return p.schedule("w", p.wall, processor.WallClockTime)
	}
	return nil
}

func (p *clocks) schedule(name string, every time.Duration, typ processor.PunctuationType) error {
	var c processor.Cancellable
	c, err := p.ctx.Schedule(every, typ, func(ts int64) error {
		p.fired[name]++
		n := p.fired[name]
		switch {
		case name == "a" && n == 1:
			if err := p.schedule("c", 50*time.Millisecond, processor.StreamTime); err != nil {
				return err
			}
		case name == "c" && n == 2:
			c.Cancel()
		}
		return p.ctx.Forward(processor.NewRecord(name, strconv.Itoa(n), ts))
	})
	return err
}

func (p *clocks) Process(processor.Record[string, string]) error { return nil }
func (p *clocks) Close() error                                   { return nil }

func clocksTopology(wall time.Duration) func(testing.TB) *topology.Topology {
	return func(t testing.TB) *topology.Topology {
		b := dsl.NewBuilder()
		dsl.Stream(b, "ticks-in", serde.String, serde.String).
			Process(processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] {
				return &clocks{wall: wall}
			})).
			To("ticks", dsl.ProducedWith(serde.String, serde.String))
		return build(t, b)
	}
}

var punctuationCases = []testCase{
	{
		name:     "stream-time punctuation by Kafka's rules",
		topology: clocksTopology(0),
		sources:  []string{"ticks-in"},
		inputs: []input{
			{"ticks-in", "k", "x", 0}, {"ticks-in", "k", "x", 5}, {"ticks-in", "k", "x", 12},
			{"ticks-in", "k", "x", 100}, {"ticks-in", "k", "x", 101}, {"ticks-in", "k", "x", 99},
			{"ticks-in", "k", "x", 110},
		},
		read: []topicSpec{{"ticks", text}},
		want: map[string][]string{
			"ticks": {
				// The first record: a and b (scheduled in that order) are
				// due at 0; a schedules c, due at 0 too, which fires after
				// b, scheduled before it. a is next due at 10, b at 3, c
				// at 50.
				"a:1@0", "b:1@0", "c:1@0",
				// b is due at 3: next at 6.
				"b:2@5",
				// b (due at 6) before a (due at 10); next b at 15, a at 20.
				"b:3@12", "a:2@12",
				// A jump over many intervals fires each once, the earliest
				// due first: b at 15, a at 20, c at 50 (cancelled). Next b
				// at 102, a at 110.
				"b:4@100", "a:3@100", "c:2@100",
				// 101 is before b's 102, and 99 behind stream time: neither
				// fires. At 110 b (due at 102) fires before a (due at 110).
				"b:5@110", "a:4@110",
			},
		},
	},
}

func TestPunctuationConformance(t *testing.T) {
	for _, tc := range punctuationCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("testdriver", func(t *testing.T) {
				t.Parallel()
				check(t, tc, runDriver(t, tc))
			})
			t.Run("runtime", func(t *testing.T) {
				t.Parallel()
				check(t, tc, runRuntime(t, tc))
			})
		})
	}
}

// TestWallClockPunctuationDriver moves the driver's wall clock: w fires
// an interval after the task started, once however far the clock jumps,
// then at the next of its interval boundaries; stream time does not fire
// it, and the wall clock does not fire stream-time schedules.
func TestWallClockPunctuationDriver(t *testing.T) {
	td := testdriver.New(t, clocksTopology(time.Second)(t), testdriver.WithWallClock(time.UnixMilli(0)))
	in := testdriver.InputTopic(td, "ticks-in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "ticks", serde.String, serde.String)
	var got []string
	read := func() {
		for _, r := range out.ReadRecordsToList() {
			got = append(got, fmt.Sprintf("%s:%s@%d", r.Key, r.Value, r.Timestamp))
		}
	}
	in.PipeInputAt("k", "x", time.UnixMilli(1_000_000))
	read()
	if want := []string{"a:1@1000000", "b:1@1000000", "c:1@1000000"}; !slices.Equal(got, want) {
		t.Fatalf("a record far ahead of the wall clock fired %q, want %q", got, want)
	}
	got = nil
	for _, step := range []time.Duration{999, 1, 5500, 499, 1, 1000} {
		td.AdvanceWallClockTime(step * time.Millisecond)
		read()
	}
	if want := []string{"w:1@1000", "w:2@6500", "w:3@7000", "w:4@8000"}; !slices.Equal(got, want) {
		t.Fatalf("wall-clock punctuations %q, want %q", got, want)
	}
}

// TestWallClockPunctuationRuntime runs w (every 200ms) on kfake: it fires
// on the real clock, stamped with it, at most once per interval, the k-th
// fire no earlier than k+1 intervals after the app started; stream time
// stands still, so the stream-time schedules fire for the one record only.
func TestWallClockPunctuationRuntime(t *testing.T) {
	const every = 200 * time.Millisecond
	const fires = 5
	c := kafkatest.NewBroker(t, kafkatest.Topics(1, "ticks-in", "ticks"), kafkatest.Partitions(1))
	cl, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "ticks-in", Key: []byte("k"), Value: []byte("x"), Timestamp: time.UnixMilli(5)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	start := time.Now().UnixMilli()
	app, err := runtime.New(clocksTopology(every)(t), runtime.ApplicationID(appID), runtime.Brokers(c.Addrs()...),
		runtime.StateDir(t.TempDir()), runtime.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(context.Background()) }()

	rc, err := c.Client(kgo.ConsumeTopics("ticks"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var wall []int64
	var stream []string
	for len(wall) < fires {
		fs := rc.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("after the deadline: wall-clock fires %v, stream-time %q", wall, stream)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Key) == "w" {
				if n, _ := strconv.Atoi(string(r.Value)); n != len(wall)+1 {
					t.Errorf("fire %d counted %s", len(wall)+1, r.Value)
				}
				wall = append(wall, r.Timestamp.UnixMilli())
				return
			}
			stream = append(stream, fmt.Sprintf("%s:%s@%d", r.Key, r.Value, r.Timestamp.UnixMilli()))
		})
	}
	end := time.Now().UnixMilli()
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelClose()
	if err := app.Close(closeCtx); err != nil {
		t.Error(err)
	}
	if err := <-done; err != nil {
		t.Error(err)
	}

	for k, ts := range wall {
		if earliest := start + int64(k+1)*every.Milliseconds(); ts < earliest || ts > end {
			t.Errorf("fire %d at %d: want it in [%d, %d] (start %d): %v", k, ts, earliest, end, start, wall)
		}
		if k > 0 && ts <= wall[k-1] {
			t.Errorf("fire %d at %d, not after fire %d at %d", k, ts, k-1, wall[k-1])
		}
	}
	if want := []string{"a:1@5", "b:1@5", "c:1@5"}; !slices.Equal(stream, want) {
		t.Errorf("stream-time fires %q, want %q", stream, want)
	}
}
