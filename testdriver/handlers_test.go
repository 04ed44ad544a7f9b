package testdriver_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
)

func build(t testing.TB, b *dsl.Builder) *topology.Topology {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// header returns the value of header key of r, failing the test if it has
// none.
func header[K, V any](t testing.TB, r processor.Record[K, V], key string) string {
	t.Helper()
	v, ok := r.Header(key)
	if !ok {
		t.Fatalf("dead-letter record has no header %q; headers %v", key, r.HeaderList())
	}
	return string(v)
}

// longsToText copies "longs" to "out" as text, reading values as Java
// longs.
func longsToText(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	dsl.Stream(b, "longs", serde.String, serde.Int64, dsl.Named("longs-source")).
		MapValues(func(v int64) string { return fmt.Sprint(v) }).
		To("out")
	return build(t, b)
}

// A poison record (3 bytes for an Int64) fails the pipe by default, with an
// error naming the record; LogAndContinue drops it, counts it, and sends
// it as it was read to the dead-letter topic.
func TestDeserializationHandler(t *testing.T) {
	poison := []byte{1, 2, 3}
	t.Run("fail", func(t *testing.T) {
		td := testdriver.New(t, longsToText(t))
		in := testdriver.InputTopic(td, "longs", serde.String, serde.Int64)
		in.PipeInput("a", 1)
		err := in.TryPipeBytes([]byte("k"), poison, time.UnixMilli(5))
		var pe *processor.Error
		if !errors.As(err, &pe) || !errors.Is(err, serde.ErrDeserialize) {
			t.Fatalf("pipe = %v, want a *processor.Error matching serde.ErrDeserialize", err)
		}
		if pe.Node != "longs-source" || pe.Topic != "longs" || pe.Partition != 0 || pe.Offset != 1 {
			t.Fatalf("error locates node %q topic %q partition %d offset %d; want longs-source, longs, 0, 1", pe.Node, pe.Topic, pe.Partition, pe.Offset)
		}
		if got := td.DroppedRecords(); len(got) != 0 {
			t.Fatalf("dropped %v under LogAndFail", got)
		}
	})
	t.Run("continue", func(t *testing.T) {
		var seen []processor.ErrorContext
		handler := func(ctx processor.ErrorContext, err error) processor.HandlerResponse {
			if !errors.Is(err, serde.ErrDeserialize) {
				t.Errorf("handler got %v, want an error matching serde.ErrDeserialize", err)
			}
			ctx.Key, ctx.Value = bytes.Clone(ctx.Key), bytes.Clone(ctx.Value)
			seen = append(seen, ctx)
			return processor.Continue
		}
		td := testdriver.New(t, longsToText(t), testdriver.WithDeserializationHandler(handler), testdriver.WithDeadLetterQueue("dlq"))
		in := testdriver.InputTopic(td, "longs", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "out", serde.String, serde.String)
		dlq := testdriver.OutputTopic(td, "dlq", serde.Bytes, serde.Bytes)
		in.PipeInput("a", 1)
		hdr := processor.NewHeaders(processor.Header{Key: "trace", Value: []byte("t-1")})
		if err := in.TryPipeRecord(processor.Record[string, int64]{Key: "b", Value: 2, Timestamp: 7, Headers: hdr}); err != nil {
			t.Fatal(err)
		}
		raw := testdriver.InputTopic(td, "longs", serde.String, serde.Bytes)
		if err := raw.TryPipeRecord(processor.Record[string, []byte]{Key: "k", Value: poison, Timestamp: 9, Headers: hdr}); err != nil {
			t.Fatalf("pipe under LogAndContinue = %v", err)
		}
		in.PipeInput("c", 3)
		if got := out.ReadValuesToList(); !slices.Equal(got, []string{"1", "2", "3"}) {
			t.Fatalf("out = %q, want 1 2 3", got)
		}
		if got := td.DroppedRecords()[processor.DropDeserializationError]; got != 1 {
			t.Fatalf("dropped %v, want one deserialization error", td.DroppedRecords())
		}
		if len(seen) != 1 {
			t.Fatalf("handler called %d times, want 1", len(seen))
		}
		want := processor.ErrorContext{Task: processor.TaskID{}, Node: "longs-source", Topic: "longs", Offset: 2, Timestamp: 9, Key: []byte("k"), Value: poison}
		got := seen[0]
		got.Headers = nil
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("handler context %+v, want %+v", got, want)
		}
		if dlq.QueueSize() != 1 {
			t.Fatalf("%d dead-letter records, want 1", dlq.QueueSize())
		}
		d := dlq.ReadRecord()
		if string(d.Key) != "k" || !bytes.Equal(d.Value, poison) || d.Timestamp != 9 {
			t.Fatalf("dead-letter record %q:%v@%d, want the original k:%v@9", d.Key, d.Value, d.Timestamp, poison)
		}
		if v := header(t, d, "trace"); v != "t-1" {
			t.Fatalf("original header trace = %q, want t-1", v)
		}
		for k, want := range map[string]string{
			processor.DeadLetterTopic:     "longs",
			processor.DeadLetterPartition: "0",
			processor.DeadLetterOffset:    "2",
			processor.DeadLetterNode:      "longs-source",
			processor.DeadLetterTask:      "0_0",
		} {
			if got := header(t, d, k); got != want {
				t.Errorf("header %s = %q, want %q", k, got, want)
			}
		}
		if msg := header(t, d, processor.DeadLetterMessage); !strings.Contains(msg, "deserialize value") {
			t.Errorf("message header %q does not say what failed", msg)
		}
		if exc := header(t, d, processor.DeadLetterException); exc == "" {
			t.Errorf("empty exception header")
		}
		if _, ok := d.Header(processor.DeadLetterStacktrace); ok {
			t.Errorf("a stack trace header on an error that has no stack")
		}
	})
}

// panicky builds a topology whose MapValues panics on value "boom".
func panicky(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		Filter(func(_, v string) bool { return v != "" }, dsl.Named("non-empty")).
		MapValues(func(v string) string {
			if v == "boom" {
				panic("cannot map " + v)
			}
			return strings.ToUpper(v)
		}, dsl.Named("upper")).
		Peek(func(_, _ string) {}, dsl.Named("peek")).
		To("out")
	return build(t, b)
}

// A panic in a function given to MapValues, fused with the steps around
// it, fails the pipe with an error that names the node, the task and the
// record, and carries the panic's value and stack; under LogAndContinue
// the record is dropped and the stream goes on, with the dead-letter record
// carrying the stack.
func TestPanickingMapValues(t *testing.T) {
	t.Run("fail", func(t *testing.T) {
		td := testdriver.New(t, panicky(t))
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.String, serde.String)
		in.PipeInput("a", "x")
		err := in.TryPipeRecord(processor.NewRecord("b", "boom", 3))
		var pe *processor.Error
		var pv *processor.PanicError
		if !errors.As(err, &pe) || !errors.As(err, &pv) || !errors.Is(err, processor.ErrPanic) {
			t.Fatalf("pipe = %v, want a *processor.Error holding a *processor.PanicError", err)
		}
		if pe.Node != "upper" || pe.Task.String() != "0_0" || pe.Topic != "in" || pe.Offset != 1 {
			t.Fatalf("error locates node %q task %s topic %q offset %d; want upper, 0_0, in, 1", pe.Node, pe.Task, pe.Topic, pe.Offset)
		}
		for _, want := range []string{`node "upper"`, "task 0_0", `topic "in"`, "offset 1", "cannot map boom"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q does not say %s", err, want)
			}
		}
		if pv.Value != "cannot map boom" || !bytes.Contains(pv.Stack, []byte("TestPanickingMapValues")) {
			t.Fatalf("panic value %v; stack:\n%s", pv.Value, pv.Stack)
		}
		// The driver goes on after a failure, as Kafka's does.
		in.PipeInput("c", "y")
		if got := out.ReadValuesToList(); !slices.Equal(got, []string{"X", "Y"}) {
			t.Fatalf("out = %q, want X Y", got)
		}
	})
	t.Run("continue", func(t *testing.T) {
		td := testdriver.New(t, panicky(t), testdriver.WithProcessingHandler(processor.LogAndContinue), testdriver.WithDeadLetterQueue("dlq"))
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.String, serde.String)
		dlq := testdriver.OutputTopic(td, "dlq", serde.String, serde.String)
		in.PipeInput("a", "x")
		in.PipeInput("b", "boom")
		in.PipeInput("c", "y")
		if got := out.ReadValuesToList(); !slices.Equal(got, []string{"X", "Y"}) {
			t.Fatalf("out = %q, want X Y", got)
		}
		if got := td.DroppedRecordsByTask()[processor.TaskID{}][processor.DropProcessingError]; got != 1 {
			t.Fatalf("dropped %v, want one processing error in task 0_0", td.DroppedRecordsByTask())
		}
		d := dlq.ReadRecord()
		if d.Key != "b" || d.Value != "boom" {
			t.Fatalf("dead-letter record %s:%s, want b:boom", d.Key, d.Value)
		}
		if got := header(t, d, processor.DeadLetterNode); got != "upper" {
			t.Errorf("node header %q, want upper", got)
		}
		if got := header(t, d, processor.DeadLetterException); got != "panic(string)" {
			t.Errorf("exception header %q, want panic(string)", got)
		}
		if got := header(t, d, processor.DeadLetterStacktrace); !strings.Contains(got, "TestPanickingMapValues") {
			t.Errorf("stack trace header does not reach the panicking function:\n%s", got)
		}
	})
}

// A panic deep in a chain of fused functions (MapValues changing the type,
// then FlatMapValues) is blamed on the node that panicked, not the first
// of the chain.
func TestPanicInFusedFunctionNamesItsNode(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		MapValues(func(v string) int { return len(v) }, dsl.Named("length")).
		FlatMapValues(func(n int) []int {
			if n == 4 {
				var m map[string]int
				m["x"] = n // a runtime error: assignment to a nil map
			}
			return []int{n, n}
		}, dsl.Named("twice")).
		MapValues(func(n int) string { return fmt.Sprint(n) }, dsl.Named("text")).
		To("out")
	td := testdriver.New(t, build(t, b))
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	in.PipeInput("k", "abc")
	err := in.TryPipeRecord(processor.NewRecord("k", "four", 1))
	var pe *processor.Error
	var re interface{ RuntimeError() }
	if !errors.As(err, &pe) || !errors.As(err, &re) {
		t.Fatalf("pipe = %v, want a *processor.Error holding the runtime error", err)
	}
	if pe.Node != "twice" {
		t.Fatalf("blamed on %q, want twice", pe.Node)
	}
	if got := testdriver.OutputTopic(td, "out", serde.String, serde.String).ReadValuesToList(); !slices.Equal(got, []string{"3", "3"}) {
		t.Fatalf("out = %q", got)
	}
}

// sumEvens sums the even values per key; the aggregator panics on 13 and
// returns an error on 7.
func sumEvens(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	dsl.Stream(b, "nums", serde.String, serde.Int64).
		GroupByKey().
		Aggregate(func() int64 { return 0 }, func(_ string, v, agg int64) int64 {
			if v == 13 {
				panic(fmt.Errorf("unlucky %d", v))
			}
			return agg + v
		}, dsl.MaterializedAs[string, int64]("sums"), dsl.Named("sum")).
		ToStream().
		To("sums-out", dsl.ProducedWith(serde.String, serde.Int64))
	return build(t, b)
}

// A panicking Aggregate: under LogAndFail the pipe fails naming the
// aggregate; under LogAndContinue the record is dropped and the store holds
// what the other records made of it, the panic having written nothing.
func TestPanickingAggregate(t *testing.T) {
	t.Run("fail", func(t *testing.T) {
		td := testdriver.New(t, sumEvens(t))
		in := testdriver.InputTopic(td, "nums", serde.String, serde.Int64)
		in.PipeInput("a", 2)
		err := in.TryPipeRecord(processor.NewRecord[string, int64]("a", 13, 1))
		var pe *processor.Error
		if !errors.As(err, &pe) || pe.Node != "sum" || !strings.Contains(err.Error(), "unlucky 13") {
			t.Fatalf("pipe = %v, want a panic of node sum", err)
		}
		if v, _, _ := testdriver.KeyValueStore[string, int64](td, "sums").Get("a"); v != 2 {
			t.Fatalf("sums[a] = %d after the panic, want 2", v)
		}
	})
	t.Run("continue", func(t *testing.T) {
		td := testdriver.New(t, sumEvens(t), testdriver.WithProcessingHandler(processor.LogAndContinue), testdriver.WithPebbleStores())
		in := testdriver.InputTopic(td, "nums", serde.String, serde.Int64)
		out := testdriver.OutputTopic(td, "sums-out", serde.String, serde.Int64)
		for _, v := range []int64{2, 13, 4} {
			in.PipeInput("a", v)
		}
		in.PipeInput("b", 13)
		in.PipeInput("b", 6)
		if got := testdriver.ReadKeyValuesToMap(out); got["a"] != 6 || got["b"] != 6 {
			t.Fatalf("sums = %v, want a=6 b=6", got)
		}
		store := testdriver.KeyValueStore[string, int64](td, "sums")
		if v, _, _ := store.Get("a"); v != 6 {
			t.Fatalf("sums[a] = %d, want 6", v)
		}
		if got := td.DroppedRecords()[processor.DropProcessingError]; got != 2 {
			t.Fatalf("dropped %v, want 2 processing errors", td.DroppedRecords())
		}
		// What was committed restores as it was.
		td.Crash()
		if v, _, _ := testdriver.KeyValueStore[string, int64](td, "sums").Get("b"); v != 6 {
			t.Fatalf("sums[b] = %d after a crash, want 6", v)
		}
	})
}

// halfDone forwards each record, then panics on "boom" or returns an error
// on "bad": a custom processor that fails after part of its work.
type halfDone struct {
	ctx processor.Context[string, string]
}

func (p *halfDone) Init(ctx processor.Context[string, string]) error { p.ctx = ctx; return nil }
func (p *halfDone) Close() error                                     { return nil }
func (p *halfDone) Process(rec processor.Record[string, string]) error {
	if err := p.ctx.Forward(rec); err != nil {
		return err
	}
	switch rec.Value {
	case "boom":
		panic("after forwarding " + rec.Key)
	case "bad":
		return errors.New("bad value")
	}
	return nil
}

func halfDoneTopology(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		Process(processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] {
			return &halfDone{}
		}), dsl.Named("half")).
		MapValues(strings.ToUpper, dsl.Named("upper")).
		To("out")
	return build(t, b)
}

// A custom processor that panics after it forwarded: the panic is blamed on
// it, not on the child that returned; what it forwarded before stays (as
// with an error, and as in Kafka Streams), documented as such.
func TestPanickingCustomProcessor(t *testing.T) {
	t.Run("fail", func(t *testing.T) {
		td := testdriver.New(t, halfDoneTopology(t))
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		err := in.TryPipeRecord(processor.NewRecord("k", "boom", 1))
		var pe *processor.Error
		if !errors.As(err, &pe) || pe.Node != "half" || !errors.Is(err, processor.ErrPanic) {
			t.Fatalf("pipe = %v, want a panic of node half", err)
		}
		err = in.TryPipeRecord(processor.NewRecord("k", "bad", 2))
		if !errors.As(err, &pe) || pe.Node != "half" || errors.Is(err, processor.ErrPanic) || pe.Offset != 1 {
			t.Fatalf("pipe = %v, want the error of node half at offset 1", err)
		}
	})
	t.Run("continue", func(t *testing.T) {
		var errs []error
		td := testdriver.New(t, halfDoneTopology(t), testdriver.WithProcessingHandler(func(ctx processor.ErrorContext, err error) processor.HandlerResponse {
			errs = append(errs, err)
			if ctx.Node != "half" {
				t.Errorf("handler told node %q, want half", ctx.Node)
			}
			return processor.Continue
		}))
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.String, serde.String)
		for _, v := range []string{"a", "boom", "bad", "b"} {
			in.PipeInput("k", v)
		}
		if got := out.ReadValuesToList(); !slices.Equal(got, []string{"A", "BOOM", "BAD", "B"}) {
			t.Fatalf("out = %q", got)
		}
		if len(errs) != 2 || !errors.Is(errs[0], processor.ErrPanic) || errs[1].Error() != "bad value" {
			t.Fatalf("handler got %v, want the panic then the error", errs)
		}
	})
}

// failingSerde fails to serialize "x".
type failingSerde struct{}

func (failingSerde) Serialize(dst []byte, _ string, v string) ([]byte, error) {
	if v == "x" {
		return nil, errors.New("x is not writable")
	}
	return append(dst, v...), nil
}
func (failingSerde) Deserialize(_ string, b []byte) (string, error) { return string(b), nil }

// A sink whose serde fails goes to the production handler: under Continue
// that sink drops the record, and the record's other branch still gets it.
func TestProductionHandlerSerialization(t *testing.T) {
	topo := func(t testing.TB) *topology.Topology {
		b := dsl.NewBuilder()
		s := dsl.Stream(b, "in", serde.String, serde.String)
		s.To("strict", dsl.ProducedWith[string, string](serde.String, failingSerde{}).WithName("strict-sink"))
		s.To("all")
		return build(t, b)
	}
	t.Run("fail", func(t *testing.T) {
		td := testdriver.New(t, topo(t))
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		err := in.TryPipeRecord(processor.NewRecord("k", "x", 1))
		var pe *processor.Error
		if !errors.As(err, &pe) || pe.Node != "strict-sink" || !errors.Is(err, serde.ErrSerialize) {
			t.Fatalf("pipe = %v, want a serialization error of strict-sink", err)
		}
	})
	t.Run("continue", func(t *testing.T) {
		td := testdriver.New(t, topo(t), testdriver.WithProductionHandler(processor.LogAndContinue), testdriver.WithDeadLetterQueue("dlq"))
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		in.PipeInput("k", "x")
		in.PipeInput("k", "y")
		if got := testdriver.OutputTopic(td, "strict", serde.String, serde.String).ReadValuesToList(); !slices.Equal(got, []string{"y"}) {
			t.Fatalf("strict = %q, want y", got)
		}
		if got := testdriver.OutputTopic(td, "all", serde.String, serde.String).ReadValuesToList(); !slices.Equal(got, []string{"x", "y"}) {
			t.Fatalf("all = %q, want x y", got)
		}
		if got := td.DroppedRecords()[processor.DropProductionError]; got != 1 {
			t.Fatalf("dropped %v", td.DroppedRecords())
		}
		d := testdriver.OutputTopic(td, "dlq", serde.String, serde.String).ReadRecord()
		if d.Value != "x" || header(t, d, processor.DeadLetterNode) != "strict-sink" {
			t.Fatalf("dead-letter record %v", d)
		}
	})
}

// A punctuator that panics, and a cache flush whose downstream panics, go
// to the processing handler with no record: under Continue the task goes
// on, the schedule fires at its next time, and the flush finishes.
func TestPanicOutsideOfRecords(t *testing.T) {
	t.Run("punctuator", func(t *testing.T) {
		fired := 0
		b := dsl.NewBuilder()
		dsl.Stream(b, "in", serde.String, serde.String).
			Process(processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] {
				return &ticker{fired: &fired}
			}), dsl.Named("ticker")).
			To("out")
		var ctxs []processor.ErrorContext
		td := testdriver.New(t, build(t, b), testdriver.WithWallClock(time.UnixMilli(0)),
			testdriver.WithProcessingHandler(func(ctx processor.ErrorContext, err error) processor.HandlerResponse {
				ctxs = append(ctxs, ctx)
				return processor.Continue
			}))
		td.AdvanceWallClockTime(time.Second)
		td.AdvanceWallClockTime(time.Second)
		td.AdvanceWallClockTime(time.Second)
		if fired != 3 || len(ctxs) != 1 {
			t.Fatalf("fired %d times, %d handled; want 3 and 1", fired, len(ctxs))
		}
		if ctxs[0].Node != "ticker" || ctxs[0].Offset != -1 || ctxs[0].Topic != "" {
			t.Fatalf("handler context %+v, want node ticker and no record", ctxs[0])
		}
	})
	t.Run("cache flush", func(t *testing.T) {
		b := dsl.NewBuilder()
		dsl.Table(b, "rows", serde.String, serde.String, dsl.MaterializedAs[string, string]("rows").WithCachingEnabled(1<<20)).
			ToStream().
			MapValues(func(v string) string {
				if v == "boom" {
					panic("flushed boom")
				}
				return v
			}, dsl.Named("check")).
			To("out")
		td := testdriver.New(t, build(t, b), testdriver.WithCommitEvery(0), testdriver.WithProcessingHandler(processor.LogAndContinue))
		in := testdriver.InputTopic(td, "rows", serde.String, serde.String)
		in.PipeInput("a", "1")
		in.PipeInput("b", "boom")
		in.PipeInput("c", "3")
		td.Commit()
		if got := testdriver.OutputTopic(td, "out", serde.String, serde.String).ReadValuesToList(); !slices.Equal(got, []string{"1", "3"}) {
			t.Fatalf("out = %q, want 1 3", got)
		}
		// The cache works on: a second flush is not refused as one called
		// during a flush.
		in.PipeInput("d", "4")
		td.Commit()
		if got := testdriver.OutputTopic(td, "out", serde.String, serde.String).ReadValuesToList(); !slices.Equal(got, []string{"4"}) {
			t.Fatalf("out = %q, want 4", got)
		}
		if got := td.DroppedRecords()[processor.DropProcessingError]; got != 1 {
			t.Fatalf("dropped %v", td.DroppedRecords())
		}
	})
}

// ticker punctuates every second of wall-clock time and panics the second
// time.
type ticker struct {
	fired *int
}

func (p *ticker) Init(ctx processor.Context[string, string]) error {
	_, err := ctx.Schedule(time.Second, processor.WallClockTime, func(int64) error {
		*p.fired++
		if *p.fired == 2 {
			panic("tick")
		}
		return nil
	})
	return err
}
func (p *ticker) Process(processor.Record[string, string]) error { return nil }
func (p *ticker) Close() error                                   { return nil }

// Drops are logged once per reason and task, then at most once a minute of
// the task's wall clock, with the count: a topic full of poison does not
// flood the log.
func TestDropsLoggedWithRateLimit(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	td := testdriver.New(t, longsToText(t), testdriver.WithWallClock(time.UnixMilli(0)), testdriver.WithLogger(log),
		testdriver.WithDeserializationHandler(processor.LogAndContinue))
	raw := testdriver.InputTopic(td, "longs", serde.String, serde.Bytes)
	for range 1000 {
		raw.PipeInput("k", []byte{1})
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d log lines for 1000 drops, want 1:\n%s", n, buf.String())
	}
	for _, want := range []string{"reason=deserialization-error", "task=0_0", "topic=longs", "offset=0", "node=longs-source"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line does not say %s: %s", want, buf.String())
		}
	}
	td.AdvanceWallClockTime(time.Minute)
	raw.PipeInput("k", []byte{1})
	raw.PipeInput("k", []byte{1})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "dropped=1000") || !strings.Contains(lines[1], "total=1001") {
		t.Fatalf("log after a minute:\n%s", buf.String())
	}
	if got := td.DroppedRecords()[processor.DropDeserializationError]; got != 1002 {
		t.Fatalf("dropped %d, want 1002", got)
	}
}
