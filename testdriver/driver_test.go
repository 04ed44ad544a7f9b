package testdriver_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
)

var epoch = time.UnixMilli(0)

// cachedCount counts words, with a cache in front of its store.
func cachedCount(t testing.TB) *topology.Topology {
	bld := dsl.NewBuilder()
	dsl.Stream(bld, "text-lines", serde.String, serde.String).
		FlatMapValues(strings.Fields).
		GroupBy(func(_, word string) string { return word }, dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.MaterializedAs[string, int64]("counts").WithCachingEnabled(1<<20)).
		ToStream().
		To("word-counts", dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := bld.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// show renders records as key:value@timestamp, partition and offset
// where they were written.
func show[K, V any](recs []testdriver.OutputRecord[K, V]) []string {
	var out []string
	for _, r := range recs {
		v := fmt.Sprint(r.Value)
		if r.NullValue {
			v = "<null>"
		}
		out = append(out, fmt.Sprintf("%v:%s@%d p%d/%d", r.Key, v, r.Timestamp, r.Partition, r.Offset))
	}
	return out
}

func expectRecords[K, V any](t *testing.T, out *testdriver.TestOutputTopic[K, V], want ...string) {
	t.Helper()
	if got := show(out.ReadOutputRecordsToList()); !slices.Equal(got, want) {
		t.Fatalf("read\n %q\nwant\n %q", got, want)
	}
}

func count(t *testing.T, td *testdriver.Driver, word string) int64 {
	t.Helper()
	n, _, err := testdriver.KeyValueStore[string, int64](td, "counts").Get(word)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func eachStore(t *testing.T, f func(t *testing.T, opts ...testdriver.Option)) {
	t.Run("memory", func(t *testing.T) { f(t) })
	t.Run("pebble", func(t *testing.T) { f(t, testdriver.WithPebbleStores()) })
}

// A store's changelog topic reads like an output topic, with what the store
// logged and when: the last value of each key written since the last commit
// (the driver commits after each record by default).
func TestChangelogTopic(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		td := testdriver.New(t, testfix.WordCount(t), append(opts, testdriver.WithWallClock(epoch), testdriver.WithApplicationID("wc"))...)
		in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
		changelog := testdriver.OutputTopic(td, "wc-counts-changelog", serde.String, serde.Int64)
		in.PipeRecord(processor.Record[string, string]{Value: "a b a", NullKey: true, Timestamp: 5})
		expectRecords(t, changelog, "a:2@5 p0/0", "b:1@5 p0/1")
		in.PipeRecord(processor.Record[string, string]{Value: "b", NullKey: true, Timestamp: 7})
		expectRecords(t, changelog, "b:2@7 p0/2")
	})
}

// Between commits nothing is readable and caches fold their writes; Commit
// makes it all readable at once.
func TestCommitEvery(t *testing.T) {
	td := testdriver.New(t, cachedCount(t), testdriver.WithWallClock(epoch), testdriver.WithCommitEvery(3))
	in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "word-counts", serde.String, serde.Int64)
	in.PipeValue("a b")
	in.PipeValue("a")
	if !out.IsEmpty() {
		t.Fatalf("%d records readable before the commit", out.QueueSize())
	}
	in.PipeValue("a") // the third record: a commit
	expectRecords(t, out, "a:3@0 p0/0", "b:1@0 p0/1")
	in.PipeValue("b")
	td.Commit()
	expectRecords(t, out, "b:2@0 p0/2")
}

// A cached count crashed between commits comes back with what it had
// committed: the cache, the store writes since, and the changelog records
// since are gone. The records piped since the last commit are processed
// again, so it goes on as if nothing had happened.
func TestCrashRestoresLastCommit(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		td := testdriver.New(t, cachedCount(t), append(opts, testdriver.WithWallClock(epoch), testdriver.WithCommitEvery(0))...)
		in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "word-counts", serde.String, serde.Int64)
		changelog := testdriver.OutputTopic(td, "test-driver-counts-changelog", serde.String, serde.Int64)
		in.PipeRecord(processor.Record[string, string]{Value: "a b a", NullKey: true, Timestamp: 1})
		td.Commit()
		expectRecords(t, out, "a:2@1 p0/0", "b:1@1 p0/1")
		expectRecords(t, changelog, "a:2@1 p0/0", "b:1@1 p0/1")

		in.PipeRecord(processor.Record[string, string]{Value: "a a", NullKey: true, Timestamp: 2})
		if got := count(t, td, "a"); got != 4 {
			t.Fatalf("before the crash a = %d, want 4 (uncommitted)", got)
		}
		td.Crash()
		if got := count(t, td, "a"); got != 2 {
			t.Fatalf("after the crash a = %d, want the committed 2", got)
		}
		if !out.IsEmpty() || !changelog.IsEmpty() {
			t.Fatal("records of the aborted commit are readable")
		}
		// The next record: "a a" again, then "b".
		in.PipeRecord(processor.Record[string, string]{Value: "b", NullKey: true, Timestamp: 3})
		td.Commit()
		if got := count(t, td, "a"); got != 4 {
			t.Fatalf("after the replay a = %d, want 4", got)
		}
		expectRecords(t, out, "a:4@2 p0/2", "b:2@3 p0/3")
		// A cached write is logged when the cache flushes, with the time of
		// the write it kept.
		expectRecords(t, changelog, "a:4@2 p0/2", "b:2@3 p0/3")
	})
}

// What tasks wrote since the last commit is aborted by a crash, and never
// read; its offsets stay taken, as in Kafka.
func TestCrashAbortsOutputs(t *testing.T) {
	td := testdriver.New(t, testfix.WordCount(t), testdriver.WithWallClock(epoch), testdriver.WithCommitEvery(0))
	in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "word-counts", serde.String, serde.Int64)
	in.PipeValue("a")
	td.Commit()
	expectRecords(t, out, "a:1@0 p0/0")
	in.PipeValue("a")
	td.Crash()
	td.Commit()
	expectRecords(t, out, "a:2@0 p0/2")
}

// CrashLosingState also loses Pebble's committed state: the stores restore
// their changelogs from the start, and reach the same.
func TestCrashLosingState(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		td := testdriver.New(t, testfix.WordCount(t), append(opts, testdriver.WithWallClock(epoch))...)
		in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "word-counts", serde.String, serde.Int64)
		in.PipeValue("a b a")
		td.CrashLosingState()
		if got := count(t, td, "a"); got != 2 {
			t.Fatalf("restored a = %d, want 2", got)
		}
		in.PipeValue("a")
		if got := testdriver.ReadKeyValuesToMap(out); !maps.Equal(got, map[string]int64{"a": 3, "b": 1}) {
			t.Fatalf("counts %v", got)
		}
	})
}

// A task crashed alone takes with it the tasks that read what it wrote
// since the last commit; tasks that did not are left alone.
func TestCrashTask(t *testing.T) {
	td := testdriver.New(t, cachedCount(t), testdriver.WithWallClock(epoch), testdriver.WithCommitEvery(0))
	in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "word-counts", serde.String, serde.Int64)
	in.PipeValue("a")
	td.Commit()
	expectRecords(t, out, "a:1@0 p0/0")
	// The counting task 1_0 crashes alone: its cache goes, the splitting
	// task 0_0 keeps the record it processed, and the repartition records
	// it wrote since are read again.
	in.PipeValue("a b")
	td.CrashTask(processor.TaskID{Subtopology: 1, Partition: 0})
	if got := count(t, td, "a"); got != 1 {
		t.Fatalf("after the crash a = %d, want 1", got)
	}
	td.Commit()
	expectRecords(t, out, "a:2@0 p0/1", "b:1@0 p0/2")
	// The splitting task crashes: what it wrote since the commit is aborted,
	// and the counting task, which counted it, crashes with it.
	in.PipeValue("b")
	td.CrashTask(processor.TaskID{Subtopology: 0, Partition: 0})
	if got := count(t, td, "b"); got != 1 {
		t.Fatalf("after the crash b = %d, want 1", got)
	}
	td.Commit()
	expectRecords(t, out, "b:2@0 p0/3")
}

// With several partitions, records go to the partition of their key as the
// producer's partitioner puts them, and there is a task per partition.
func TestPartitions(t *testing.T) {
	td := testdriver.New(t, testfix.WordCount(t), testdriver.WithWallClock(epoch), testdriver.WithPartitions(4))
	var ids []string
	for _, id := range td.Tasks() {
		ids = append(ids, id.String())
	}
	if want := []string{"0_0", "0_1", "0_2", "0_3", "1_0", "1_1", "1_2", "1_3"}; !slices.Equal(ids, want) {
		t.Fatalf("tasks %v, want %v", ids, want)
	}
	in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "word-counts", serde.String, serde.Int64)
	words := strings.Fields("the quick brown fox jumps over the lazy dog and the cat")
	for i, w := range words {
		in.PipeInput(fmt.Sprint(i), w)
	}
	seen := map[int32]bool{}
	for _, r := range out.ReadOutputRecordsToList() {
		if want := engine.KeyPartition([]byte(r.Key), 4); r.Partition != want {
			t.Fatalf("%q in partition %d, want %d", r.Key, r.Partition, want)
		}
		seen[r.Partition] = true
		// The counting task of the word's partition has it.
		n, ok, err := testdriver.KeyValueStoreAt[string, int64](td, "counts", r.Partition).Get(r.Key)
		if err != nil || !ok || n < r.Value {
			t.Fatalf("store of partition %d: %q = %d, %v, %v; want at least %d", r.Partition, r.Key, n, ok, err, r.Value)
		}
	}
	if len(seen) < 2 {
		t.Fatalf("every word went to one partition: %v", seen)
	}
	if n, ok := td.StreamTime(processor.TaskID{Subtopology: 1, Partition: engine.KeyPartition([]byte("the"), 4)}); !ok || n < 0 {
		t.Fatalf("stream time of the task counting %q: %d, %v", "the", n, ok)
	}
}

// Under WithMaxTaskIdle a task reading two topics waits for the empty one
// until the wall clock passes the idle time, and so merges their records in
// timestamp order.
func TestMaxTaskIdle(t *testing.T) {
	bld := dsl.NewBuilder()
	dsl.Stream(bld, "a", serde.String, serde.String).Merge(dsl.Stream(bld, "b", serde.String, serde.String)).To("out")
	topo, err := bld.Build()
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, topo, testdriver.WithWallClock(epoch), testdriver.WithMaxTaskIdle(time.Second))
	a := testdriver.InputTopic(td, "a", serde.String, serde.String)
	b := testdriver.InputTopic(td, "b", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.String)
	for _, ts := range []int64{1, 3, 5} {
		a.PipeInputAt("k", fmt.Sprint("a", ts), time.UnixMilli(ts))
	}
	expectRecords(t, out)
	for _, ts := range []int64{2, 4, 6} {
		b.PipeInputAt("k", fmt.Sprint("b", ts), time.UnixMilli(ts))
	}
	expectRecords(t, out, "k:a1@1 p0/0", "k:b2@2 p0/1", "k:a3@3 p0/2", "k:b4@4 p0/3", "k:a5@5 p0/4")
	td.AdvanceWallClockTime(999 * time.Millisecond)
	expectRecords(t, out)
	td.AdvanceWallClockTime(time.Millisecond)
	expectRecords(t, out, "k:b6@6 p0/5")
}

// WithCommitInterval: moving the wall clock commits once the interval has
// passed since the last commit.
func TestCommitInterval(t *testing.T) {
	td := testdriver.New(t, cachedCount(t), testdriver.WithWallClock(epoch), testdriver.WithCommitEvery(0), testdriver.WithCommitInterval(time.Second))
	in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "word-counts", serde.String, serde.Int64)
	in.PipeValue("a a")
	td.AdvanceWallClockTime(500 * time.Millisecond)
	expectRecords(t, out)
	td.AdvanceWallClockTime(500 * time.Millisecond)
	expectRecords(t, out, "a:2@0 p0/0")
}

// WithStateDir keeps the task databases on disk, one directory per task
// under <dir>/<application id>; a crash losing state removes them, and
// the stores come back from their changelogs.
func TestStateDir(t *testing.T) {
	dir := t.TempDir()
	td := testdriver.New(t, testfix.WordCount(t), testdriver.WithWallClock(epoch), testdriver.WithStateDir(dir), testdriver.WithApplicationID("wc"))
	in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
	in.PipeValue("a b a")
	tasks := func() []string {
		t.Helper()
		entries, err := os.ReadDir(filepath.Join(dir, "wc"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			if files, err := os.ReadDir(filepath.Join(dir, "wc", e.Name())); err == nil && len(files) > 0 {
				names = append(names, e.Name())
			}
		}
		return names
	}
	if got := tasks(); !slices.Contains(got, "1_0") {
		t.Fatalf("task directories with files under %s: %v, want the counting task's 1_0", dir, got)
	}
	td.CrashLosingState()
	if got := count(t, td, "a"); got != 2 {
		t.Fatalf("restored a = %d, want 2", got)
	}
	if got := tasks(); !slices.Contains(got, "1_0") {
		t.Fatalf("after the crash: task directories %v", got)
	}
}

// A driver closed cleanly leaves in its state directory every commit's
// writes, and the changelog offsets they reached: a driver opened on the
// same directory, whose changelog topics are empty, has the counts.
func TestStateDirKeepsCommits(t *testing.T) {
	dir := t.TempDir()
	opts := []testdriver.Option{testdriver.WithWallClock(epoch), testdriver.WithStateDir(dir), testdriver.WithApplicationID("wc")}
	td := testdriver.New(t, testfix.WordCount(t), opts...)
	in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
	in.PipeValue("a b a")
	in.PipeValue("a")
	if err := td.Close(); err != nil {
		t.Fatal(err)
	}
	td = testdriver.New(t, testfix.WordCount(t), opts...)
	if a, b := count(t, td, "a"), count(t, td, "b"); a != 3 || b != 1 {
		t.Fatalf("reopened: a = %d, b = %d; want 3, 1", a, b)
	}
}

// Crashes between commits of many records, on Pebble whose commits leave
// their writes in the transaction buffer for a while: each crash restores
// the counts of the last commit from the changelog, from wherever Pebble
// stands, and the next records count on from there.
func TestCrashesKeepCounts(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		td := testdriver.New(t, testfix.WordCount(t), append(opts, testdriver.WithWallClock(epoch))...)
		in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "word-counts", serde.String, serde.Int64)
		lines, want := testfix.Corpus(0, 2000)
		got := map[string]int64{}
		for i, l := range lines {
			in.PipeValue(l)
			switch i % 700 {
			case 299:
				td.Crash()
			case 599:
				td.CrashLosingState()
			}
			maps.Copy(got, testdriver.ReadKeyValuesToMap(out))
		}
		if !maps.Equal(got, want) {
			t.Fatalf("counts read %v, want %v", got, want)
		}
		for w, n := range want {
			if c := count(t, td, w); c != n {
				t.Fatalf("store: %q = %d, want %d", w, c, n)
			}
		}
	})
}

// A changelog compacts once it is long, recycling the memory of the records
// it drops: what a test read from it before, and what it read from outputs,
// is unchanged by the records written over that memory since; after the
// compaction the changelog holds the last count of each word, and a task
// that loses its state restores every count from it.
func TestChangelogCompaction(t *testing.T) {
	td := testdriver.New(t, testfix.WordCount(t), testdriver.WithWallClock(epoch), testdriver.WithApplicationID("wc"))
	in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "word-counts", serde.String, serde.Int64)
	changelog := testdriver.OutputTopic(td, "wc-counts-changelog", serde.String, serde.Int64)
	in.PipeValue("alpha beta")
	early := changelog.ReadKeyValuesToList()
	outs := out.ReadKeyValuesToList()
	want := map[string]int64{"alpha": 1, "beta": 1}
	// Enough records, over enough words, for the changelog to compact a
	// few times; ever longer words, so that each round between two
	// compactions takes more memory than the last, all that was recycled.
	for i := range 20_000 {
		w := fmt.Sprintf("w%03d%s", i%300, strings.Repeat("x", i/1000))
		in.PipeValue(w)
		want[w]++
	}
	if got := fmt.Sprint(early); got != "[{alpha 1} {beta 1}]" {
		t.Fatalf("changelog records read before the compactions now read %s", got)
	}
	if got := fmt.Sprint(outs); got != "[{alpha 1} {beta 1}]" {
		t.Fatalf("outputs read before the compactions now read %s", got)
	}
	if n := changelog.QueueSize(); n >= 20_000 {
		t.Fatalf("changelog holds %d unread records: it never compacted", n)
	}
	// alpha and beta were read already: the reader's position stays after
	// them.
	unread := maps.Clone(want)
	delete(unread, "alpha")
	delete(unread, "beta")
	if got := testdriver.ReadKeyValuesToMap(changelog); !maps.Equal(got, unread) {
		t.Fatalf("compacted changelog reads %v, want %v", got, unread)
	}
	td.CrashLosingState()
	for w, n := range want {
		if got := count(t, td, w); got != n {
			t.Fatalf("restored %s = %d, want %d", w, got, n)
		}
	}
}

// TestSharedBytes pipes records whose bytes the driver keeps without a copy
// (strings piped with serde.String) or shares between parts (a value equal
// to the key, an output key equal to the key read) and checks that what
// comes out keeps empty apart from null and every part its own value.
func TestSharedBytes(t *testing.T) {
	bld := dsl.NewBuilder()
	dsl.Stream(bld, "in", serde.String, serde.String).
		MapValues(func(v string) string { return v + "!" }).
		To("out")
	topo, err := bld.Build()
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, topo, testdriver.WithWallClock(epoch))
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.String)
	in.PipeInput("", "")
	in.PipeInput("same", "same")
	in.PipeValue("v")
	in.PipeInput("k", "k!")
	if err := in.TryPipeBytes([]byte{}, []byte("b"), epoch); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out.ReadRecordsToList() {
		k := fmt.Sprintf("%q", r.Key)
		if r.NullKey {
			k = "null"
		}
		got = append(got, k+"="+fmt.Sprintf("%q", r.Value))
	}
	want := []string{`""="!"`, `"same"="same!"`, `null="v!"`, `"k"="k!!"`, `""="b!"`}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
