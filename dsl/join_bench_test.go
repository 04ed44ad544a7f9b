package dsl_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/testdriver"
)

const (
	joinTableKeys = 100_000
	joinStream    = 1_000_000
	// joinBlock is how many stream records each side processes in turn,
	// and how many the driver processes between commits (the runtime
	// commits every 30s by default).
	joinBlock = 10_000
)

// BenchmarkStreamTableJoin measures a stream-table join through the test
// driver, a table of 100k keys and a stream of 1M records whose keys cycle
// through the table's, against a hand-written loop doing the same work on
// the same records: decode each record's key and value, look the key up
// in an in-memory timestamped key-value store of the same 100k rows,
// join, and encode the result. The two take turns in blocks of 10k
// records, so that load that comes and goes on a shared machine hits both
// alike; ratio is the median over pairs of blocks of the loop's block time
// over the driver's, which is the driver's records/s over the loop's. An
// iteration is the whole stream through both; the tables are filled, and
// the driver's results read, outside the timing.
func BenchmarkStreamTableJoin(b *testing.B) {
	keys, values := make([][]byte, joinStream), make([][]byte, joinStream)
	for i := range joinStream {
		keys[i], _ = serde.Int64.Serialize(nil, "", int64(i%joinTableKeys))
		values[i], _ = serde.Int64.Serialize(nil, "", int64(i))
	}

	// The hand-written loop's store.
	h, err := state.TimestampedKeyValueStoreBuilder("users", serde.Int64, serde.Int64).
		WithLoggingDisabled().InMemory().Build(&state.Env{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	kv := h.Typed().(*state.TimestampedKeyValueStore[int64, int64])
	for k := range int64(joinTableKeys) {
		if err := kv.Put(k, state.ValueAndTimestamp[int64]{Value: 10 * k, Timestamp: 1}); err != nil {
			b.Fatal(err)
		}
	}
	var buf []byte
	handJoined := 0
	hand := func(from, to int) {
		for i := from; i < to; i++ {
			k, err := serde.Int64.Deserialize("clicks", keys[i])
			if err != nil {
				b.Fatal(err)
			}
			v, err := serde.Int64.Deserialize("clicks", values[i])
			if err != nil {
				b.Fatal(err)
			}
			row, found, err := kv.Get(k)
			if err != nil {
				b.Fatal(err)
			}
			if !found {
				continue
			}
			if buf, err = serde.Int64.Serialize(buf[:0], "out", v+row.Value); err != nil {
				b.Fatal(err)
			}
			handJoined++
		}
	}

	// The driver, its table filled.
	bld := dsl.NewBuilder()
	users := dsl.Table(bld, "users", serde.Int64, serde.Int64, dsl.MaterializedAs[int64, int64]("users").InMemory())
	dsl.Stream(bld, "clicks", serde.Int64, serde.Int64).
		JoinTable(users, func(v, row int64) int64 { return v + row }).
		To("out")
	td := newDriver(b, bld, testdriver.WithCommitEvery(joinBlock))
	table := testdriver.InputTopic(td, "users", serde.Int64, serde.Int64)
	for k := range int64(joinTableKeys) {
		table.PipeInput(k, 10*k)
	}
	td.Commit()
	clicks := testdriver.InputTopic(td, "clicks", serde.Bytes, serde.Bytes)
	out := testdriver.OutputTopic(td, "out", serde.Int64, serde.Int64)
	driverJoined := 0
	driver := func(from, to int) {
		for i := from; i < to; i++ {
			if err := clicks.TryPipeBytes(keys[i], values[i], time.UnixMilli(int64(i))); err != nil {
				b.Fatal(err)
			}
		}
	}
	drain := func() {
		for !out.IsEmpty() {
			if _, err := out.TryReadRecord(); err != nil {
				b.Fatal(err)
			}
			driverJoined++
		}
	}

	var ratios []float64
	var handTime, driverTime time.Duration
	b.ReportAllocs()
	for b.Loop() {
		for from := 0; from < joinStream; from += joinBlock {
			start := time.Now()
			hand(from, from+joinBlock)
			mid := time.Now()
			driver(from, from+joinBlock)
			end := time.Now()
			b.StopTimer()
			drain()
			b.StartTimer()
			handTime += mid.Sub(start)
			driverTime += end.Sub(mid)
			ratios = append(ratios, float64(mid.Sub(start))/float64(end.Sub(mid)))
		}
	}
	if handJoined != b.N*joinStream || driverJoined != b.N*joinStream {
		b.Fatalf("joined %d (hand-written) and %d (driver) records of %d", handJoined, driverJoined, b.N*joinStream)
	}
	slices.Sort(ratios)
	n := float64(b.N * joinStream)
	b.ReportMetric(n/driverTime.Seconds(), "driver-records/s")
	b.ReportMetric(n/handTime.Seconds(), "handwritten-records/s")
	b.ReportMetric(ratios[len(ratios)/2], "ratio")
}

// BenchmarkStreamStreamJoin reports records/s of an inner stream-stream
// join with windows of a minute over 10k keys through the test driver, in
// memory and with Pebble stores on disk: the two streams alternate, two
// records per millisecond of event time, so each key has a record on
// each side every 10s, and a record meets the six or so of the other
// side's from the minute before it (results/record). On disk it also
// reports the bytes the task's database
// takes (tables and write-ahead log) after the last commit, and the
// records the two window stores hold: a minute each way plus the grace
// period of both sides' records. Run with a fixed count, e.g.
// -benchtime=1000000x, for comparable sizes.
func BenchmarkStreamStreamJoin(b *testing.B) {
	const keys = 10_000
	for _, store := range []string{"memory", "pebble"} {
		b.Run(store, func(b *testing.B) {
			bld := dsl.NewBuilder()
			left := dsl.Stream(bld, "left", serde.Int64, serde.Int64)
			right := dsl.Stream(bld, "right", serde.Int64, serde.Int64)
			left.Join(right, func(l, r int64) int64 { return l + r }, dsl.JoinWindowsOfTimeDifferenceWithNoGrace(time.Minute),
				dsl.StreamJoined[int64, int64, int64]{}.WithStoreName("joined")).To("out")
			opts := []testdriver.Option{testdriver.WithCommitEvery(joinBlock)}
			dir := b.TempDir()
			if store == "pebble" {
				opts = append(opts, testdriver.WithStateDir(dir))
			}
			td := newDriver(b, bld, opts...)
			l := testdriver.InputTopic(td, "left", serde.Int64, serde.Int64)
			r := testdriver.InputTopic(td, "right", serde.Int64, serde.Int64)
			out := testdriver.OutputTopic(td, "out", serde.Int64, serde.Int64)
			joined := 0
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := int64(i/2) % keys
				in := l
				if i%2 == 1 {
					in = r
				}
				in.PipeRecord(processor.Record[int64, int64]{Key: k, Value: int64(i), Timestamp: int64(i) / 2})
				i++
				if i%joinBlock == 0 {
					b.StopTimer()
					joined += out.QueueSize()
					for !out.IsEmpty() {
						out.TryReadRecord()
					}
					b.StartTimer()
				}
			}
			b.StopTimer()
			td.Commit()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			if b.N > 0 {
				b.ReportMetric(float64(joined)/float64(b.N), "results/record")
			}
			if store == "pebble" {
				b.ReportMetric(float64(dirSize(b, dir)), "disk-bytes")
				held := 0
				for _, name := range []string{"joined-this-join-store", "joined-other-join-store"} {
					ws, ok := td.StateStore(name).(*state.WindowStore[int64, int64])
					if !ok {
						b.Fatalf("store %q is a %T", name, td.StateStore(name))
					}
					it, err := ws.All()
					if err != nil {
						b.Fatal(err)
					}
					for it.Next() {
						held++
					}
					if err := errors.Join(it.Err(), it.Close()); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(held), "held-records")
			}
		})
	}
}

// BenchmarkForeignKeyJoin reports, through the test driver in memory,
// left-rows/s for 100k left rows subscribing over 1k right rows (each
// subscription answered from the right table), and the cost of one right
// update fanning out to the 100 left rows subscribed to it.
func BenchmarkForeignKeyJoin(b *testing.B) {
	const leftRows, rightRows = 100_000, 1_000
	newFK := func(b *testing.B, opts ...testdriver.Option) (*testdriver.TestInputTopic[int64, int64], *testdriver.TestInputTopic[int64, int64], *testdriver.TestOutputTopic[int64, int64]) {
		bld := dsl.NewBuilder()
		customers := dsl.Table(bld, "customers", serde.Int64, serde.Int64)
		dsl.Table(bld, "orders", serde.Int64, serde.Int64).
			JoinForeignKey(customers, func(c int64) (int64, bool) { return c, true }, func(o, c int64) int64 { return o + c }).
			ToStream().To("out")
		td := newDriver(b, bld, opts...)
		right := testdriver.InputTopic(td, "customers", serde.Int64, serde.Int64)
		for c := range int64(rightRows) {
			right.PipeInput(c, c)
		}
		return testdriver.InputTopic(td, "orders", serde.Int64, serde.Int64), right, testdriver.OutputTopic(td, "out", serde.Int64, serde.Int64)
	}
	drain := func(out *testdriver.TestOutputTopic[int64, int64]) {
		for !out.IsEmpty() {
			out.TryReadRecord()
		}
	}
	b.Run("subscribe", func(b *testing.B) {
		left, _, out := newFK(b, testdriver.WithCommitEvery(joinBlock))
		b.ReportAllocs()
		i := int64(0)
		for b.Loop() {
			left.PipeInput(i%leftRows, i%rightRows)
			if i++; i%joinBlock == 0 {
				b.StopTimer()
				drain(out)
				b.StartTimer()
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "left-rows/s")
	})
	b.Run("fan-out", func(b *testing.B) {
		left, right, out := newFK(b)
		for i := range int64(leftRows) {
			left.PipeInput(i, i%rightRows)
		}
		drain(out)
		b.ReportAllocs()
		i := int64(0)
		for b.Loop() {
			right.PipeInput(i%rightRows, i)
			i++
			b.StopTimer()
			if n := out.QueueSize(); n != leftRows/rightRows {
				b.Fatalf("one right update reached %d left rows, want %d", n, leftRows/rightRows)
			}
			drain(out)
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(leftRows/rightRows), "ns/left-row")
	})
}
