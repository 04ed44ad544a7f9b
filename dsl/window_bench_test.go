package dsl_test

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/testdriver"
)

// countPipe pipes records into a count, plain or over one-minute tumbling
// windows, and reads the updates back.
type countPipe struct {
	in   *testdriver.TestInputTopic[string, string]
	read func()
}

func newCountPipe(b *testing.B, windowed bool, opts ...testdriver.Option) countPipe {
	bld := dsl.NewBuilder()
	grouped := dsl.Stream(bld, "in", serde.String, serde.String).GroupByKey()
	if windowed {
		dsl.WindowedBy(grouped, dsl.TimeWindowsOfSizeWithNoGrace(time.Minute)).Count().ToStream().To("out")
	} else {
		grouped.Count().ToStream().To("out")
	}
	topo, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	td := testdriver.New(b, topo, append([]testdriver.Option{testdriver.WithWallClock(epoch)}, opts...)...)
	p := countPipe{in: testdriver.InputTopic(td, "in", serde.String, serde.String)}
	// Updates are read as bytes alike: the keys' serdes differ, and the
	// benchmark is of the aggregations.
	out := testdriver.OutputTopic(td, "out", serde.Bytes, serde.Bytes)
	p.read = func() { out.ReadRecord() }
	return p
}

const (
	benchKeys  = 10_000
	countBlock = 512
)

var benchKeyNames = func() []string {
	ks := make([]string, benchKeys)
	for i := range ks {
		ks[i] = fmt.Sprintf("key-%05d", i)
	}
	return ks
}()

// BenchmarkWindowedCount compares a count over one-minute tumbling windows
// with a plain count, through the test driver, on the same records (10k
// keys in turn, one record per millisecond, so each window sees every key
// six times) and the same kind of store. The two take turns in blocks of
// countBlock records; ratio is the windowed count's records/s over the
// plain count's (target ≥ 0.5), from the summed block times.
func BenchmarkWindowedCount(b *testing.B) {
	for _, store := range []string{"memory", "pebble"} {
		b.Run(store, func(b *testing.B) {
			var opts []testdriver.Option
			if store == "pebble" {
				opts = append(opts, testdriver.WithPebbleStores())
			}
			plain, windowed := newCountPipe(b, false, opts...), newCountPipe(b, true, opts...)
			var plainTime, windowedTime time.Duration
			var start time.Time
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				pos := i % (2 * countBlock)
				if pos == 0 || pos == countBlock {
					start = time.Now()
				}
				// Both see record n of the same sequence: n counts the
				// records each has had.
				n := i/(2*countBlock)*countBlock + pos%countBlock
				p := plain
				if pos >= countBlock {
					p = windowed
				}
				p.in.PipeRecord(at(benchKeyNames[n%benchKeys], "x", int64(n)))
				p.read()
				switch pos {
				case countBlock - 1:
					plainTime += time.Since(start)
				case 2*countBlock - 1:
					windowedTime += time.Since(start)
				}
			}
			if windowedTime > 0 && plainTime > 0 {
				b.ReportMetric(float64(plainTime)/float64(windowedTime), "ratio")
				b.ReportMetric(float64(windowedTime.Nanoseconds())/float64(b.N/2), "windowed-ns/record")
				b.ReportMetric(float64(plainTime.Nanoseconds())/float64(b.N/2), "plain-ns/record")
			}
		})
	}
}

// dirSize is what the files under dir take on disk, in bytes.
func dirSize(b *testing.B, dir string) int64 {
	b.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkSessionWindows counts records per session over 10k keys,
// through the test driver with Pebble stores on disk: the keys take turns,
// one record per millisecond of event time, so each key has a record
// every 10s. With a gap of 5s every record opens a session of its own
// (new), which expires once stream time passes its end plus the gap;
// with a gap of 30s every record extends its key's session (merge: the
// session is found, removed and written anew, its old version deleted
// downstream). It reports records/s, the live sessions (the store's
// entries), and the bytes the task's database takes on disk (tables and
// write-ahead log) after the last commit. Run with a fixed count, e.g.
// -benchtime=1000000x, for comparable sizes.
func BenchmarkSessionWindows(b *testing.B) {
	for _, c := range []struct {
		name string
		gap  time.Duration
	}{{"new", 5 * time.Second}, {"merge", 30 * time.Second}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			bld := dsl.NewBuilder()
			dsl.WindowedBySession(dsl.Stream(bld, "in", serde.String, serde.String).GroupByKey(),
				dsl.SessionWindowsOfInactivityGapWithNoGrace(c.gap)).
				Count(dsl.MaterializedAs[string, int64]("sessions")).
				ToStream().To("out", dsl.ProducedWith(serde.SessionWindowed(serde.String), serde.Int64))
			td := newDriver(b, bld, testdriver.WithStateDir(dir), testdriver.WithCommitEvery(joinBlock))
			in := testdriver.InputTopic(td, "in", serde.String, serde.String)
			out := testdriver.OutputTopic(td, "out", serde.Bytes, serde.Bytes)
			drain := func() {
				for !out.IsEmpty() {
					out.TryReadRecord()
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				in.PipeRecord(at(benchKeyNames[i%benchKeys], "x", int64(i)))
				if i++; i%joinBlock == 0 {
					b.StopTimer()
					drain()
					b.StartTimer()
				}
			}
			b.StopTimer()
			td.Commit()
			drain()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			it, err := td.StateStore("sessions").(*state.SessionStore[string, int64]).All()
			if err != nil {
				b.Fatal(err)
			}
			live := 0
			for it.Next() {
				live++
			}
			if err := errors.Join(it.Err(), it.Close()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(live), "sessions")
			b.ReportMetric(float64(dirSize(b, dir)), "disk-bytes")
		})
	}
}
