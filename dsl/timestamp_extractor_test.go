package dsl_test

import (
	"errors"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// An extractor reading event time from the value: windows, lateness and
// the output timestamps follow it, not the topic's timestamps.
func TestTimestampExtractorDrivesWindows(t *testing.T) {
	b := dsl.NewBuilder()
	eventTime := func(rec processor.Record[string, int64], _ int64) (int64, error) { return rec.Value, nil }
	events := dsl.Stream(b, "events", serde.String, serde.Int64, dsl.Consumed[string, int64]{}.WithTimestampExtractor(eventTime))
	dsl.WindowedBy(events.GroupByKey(), dsl.TimeWindowsOfSizeWithNoGrace(10*time.Millisecond)).
		Count().ToStream().To("counts")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "events", serde.String, serde.Int64)
	// Topic timestamps go backwards; event times go 1, 12, 3 (late).
	in.PipeRecordList([]processor.Record[string, int64]{at("k", int64(1), 900), at("k", int64(12), 800), at("k", int64(3), 700)})
	expect(t, testdriver.OutputTopic(td, "counts", serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.Int64),
		"[k@0/10]:1@1", "[k@10/20]:1@12")
	expectDropped(t, td, map[string]int64{"late-record": 1})
	if st, _ := td.StreamTime(td.Tasks()[0]); st != 12 {
		t.Fatalf("stream time %d, want the largest extracted timestamp, 12", st)
	}
}

func TestInvalidTimestampPolicies(t *testing.T) {
	pipe := func(t *testing.T, e processor.TimestampExtractor[string, string]) (*testdriver.Driver, *testdriver.TestInputTopic[string, string], *testdriver.TestOutputTopic[string, string]) {
		b := dsl.NewBuilder()
		dsl.Stream(b, "in", serde.String, serde.String, dsl.Consumed[string, string]{}.WithTimestampExtractor(e)).To("out")
		td := newDriver(t, b)
		return td, testdriver.InputTopic(td, "in", serde.String, serde.String), testdriver.OutputTopic(td, "out", serde.String, serde.String)
	}
	t.Run("fail", func(t *testing.T) {
		_, in, out := pipe(t, processor.FailOnInvalidTimestamp)
		in.PipeRecord(at("a", "x", 5))
		err := in.TryPipeRecord(at("b", "y", -1))
		if !errors.Is(err, processor.ErrInvalidTimestamp) {
			t.Fatalf("negative timestamp: %v, want ErrInvalidTimestamp", err)
		}
		expect(t, out, "a:x@5")
	})
	t.Run("skip", func(t *testing.T) {
		td, in, out := pipe(t, processor.LogAndSkipOnInvalidTimestamp)
		in.PipeRecordList([]processor.Record[string, string]{at("a", "x", 5), at("b", "y", -1), at("c", "z", 7)})
		expect(t, out, "a:x@5", "c:z@7")
		expectDropped(t, td, map[string]int64{"invalid-timestamp": 1})
	})
	t.Run("partition time", func(t *testing.T) {
		_, in, out := pipe(t, processor.UsePartitionTimeOnInvalidTimestamp)
		err := in.TryPipeRecord(at("a", "x", -1))
		if !errors.Is(err, processor.ErrInvalidTimestamp) {
			t.Fatalf("negative timestamp before any partition time: %v", err)
		}
		in.PipeRecordList([]processor.Record[string, string]{at("b", "x", 9), at("c", "y", 4), at("d", "z", -1)})
		// The partition time is the largest timestamp so far, 9.
		expect(t, out, "b:x@9", "c:y@4", "d:z@9")
	})
}

func TestTimestampExtractorErrors(t *testing.T) {
	b := dsl.NewBuilder()
	boom := errors.New("no time in this record")
	dsl.Stream(b, "in", serde.String, serde.String, dsl.Consumed[string, string]{}.WithTimestampExtractor(
		func(processor.Record[string, string], int64) (int64, error) { return 0, boom })).To("out")
	td := newDriver(t, b)
	err := testdriver.InputTopic(td, "in", serde.String, serde.String).TryPipeRecord(at("a", "x", 1))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the extractor's", err)
	}
	var pe *processor.Error
	if !errors.As(err, &pe) || pe.Topic != "in" {
		t.Fatalf("err = %v, want a processor.Error naming the topic", err)
	}
}
