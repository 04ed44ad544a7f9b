package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/runtime"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// flushTables flushes the memtables of the task databases of app under
// dir, of the tasks ids, into .sst files, which the app, whose memtables
// are larger than a test's data, would not write itself, and returns the
// files.
func flushTables(t *testing.T, dir, app string, ids []string) []string {
	t.Helper()
	var ssts []string
	for _, id := range ids {
		td := filepath.Join(dir, app, id)
		db, err := pebble.Open(td, &pebble.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		found, err := filepath.Glob(filepath.Join(td, "*.sst"))
		if err != nil || len(found) == 0 {
			t.Fatalf("no .sst in %s after a flush (%v)", td, err)
		}
		ssts = append(ssts, found...)
	}
	return ssts
}

// flipBits flips a bit in every 64th byte of file from its byte from on,
// which breaks the checksum of every block there.
func flipBits(t *testing.T, file string, from int) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < len(b); i += 64 {
		b[i] ^= 0x10
	}
	// In place, as a disk's bit rot: the same inode, which an app that has
	// the file open reads too.
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
}

// faultyStateApp runs word count on dir, with lines counted in the
// changelogs and in the task databases, damages the databases with damage
// before the app starts again on dir, and checks that the counts go on
// right. wipe says whether the damage is one the app must wipe the state
// for; Pebble repairs some itself (a WAL's damaged tail ends its replay,
// and the changelog brings what it held).
func faultyStateApp(t *testing.T, wipe bool, damage func(t *testing.T, dir string), opts ...runtime.Option) {
	c := testfix.WordCountBroker(t, 3)
	dir := t.TempDir()
	app, done := startApp(t, c, dir, opts...)
	lines1, want1 := testfix.Corpus(0, 60)
	testfix.ProduceLines(t, c, lines1...)
	testfix.ReadCounts(t, c, want1, 30*time.Second)
	closeApp(t, app, done)

	damage(t, dir)
	logs := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	app, done = startApp(t, c, dir, append(opts, runtime.Logger(logs.logger()))...)
	lines2, want2 := testfix.Corpus(60, 40)
	testfix.ProduceLines(t, c, lines2...)
	testfix.ReadCounts(t, c, testfix.Add(want1, want2), 30*time.Second)
	if s := app.State(); s != runtime.Running {
		t.Fatalf("state %v after the fault, want RUNNING", s)
	}
	closeApp(t, app, done)
	wipes := strings.Count(logs.String(), "wiping it")
	if wipe && wipes == 0 {
		t.Errorf("no wipe")
	}
	t.Logf("%d task states wiped", wipes)
}

func wordCountTables(t *testing.T, dir string) []string {
	return flushTables(t, dir, "wordcount", stateful(taskDirs(t, dir, "wordcount")))
}

// A bit flipped in a data block of an .sst, found when a task reads it
// (Pebble's checksum), wipes the task's state and restores it from the
// changelog: the counts go on right, and the app does not crash or loop,
// whether the app finds the damage as it starts or while it runs.
func TestCorruptTable(t *testing.T) {
	flip := func(t *testing.T, dir string) {
		for _, f := range wordCountTables(t, dir) {
			flipBits(t, f, 16)
		}
	}
	t.Run("at start", func(t *testing.T) { faultyStateApp(t, true, flip) })
	t.Run("at start, exactly-once", func(t *testing.T) { faultyStateApp(t, true, flip, runtime.ExactlyOnce()) })
	for _, eos := range []bool{false, true} {
		name := map[bool]string{false: "while running", true: "while running, exactly-once"}[eos]
		t.Run(name, func(t *testing.T) { corruptWhileRunning(t, eos, flipHalf) })
	}
}

// flipHalf flips bits in the second half of file, where the blocks of high
// keys are.
func flipHalf(t *testing.T, file string) {
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	flipBits(t, file, int(fi.Size()/2))
}

// truncateHalf cuts file in half, as a disk that lost its end.
func truncateHalf(t *testing.T, file string) {
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(file, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// corruptWhileRunning damages the tables of a running app with damage.
func corruptWhileRunning(t *testing.T, eos bool, damage func(t *testing.T, file string)) {
	var opts []runtime.Option
	if eos {
		opts = append(opts, runtime.ExactlyOnce())
	}
	// Keys enough for many blocks: the app reads those of low keys,
	// which the cache keeps; the bits flip in those of high keys,
	// read afterwards from the disk.
	const n = 3000
	c := testfix.WordCountBroker(t, 1)
	dir := t.TempDir()
	key := func(i int) string { return fmt.Sprintf("k%05d", i) }
	produceKeys := func(keys ...string) {
		cl, err := c.Client()
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		var recs []*kgo.Record
		for _, k := range keys {
			recs = append(recs, &kgo.Record{Topic: testfix.InputTopic, Key: []byte(k), Value: []byte("x")})
		}
		if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int64{}
	var keys []string
	for i := range n {
		keys = append(keys, key(i))
		want[key(i)] = 1
	}
	app, done := startTopology(t, c, keyCount(t), dir, opts...)
	produceKeys(keys...)
	testfix.ReadCounts(t, c, want, 60*time.Second)
	closeApp(t, app, done)
	ssts := flushTables(t, dir, "keycount", []string{"0_0"})

	logs := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	app, done = startTopology(t, c, keyCount(t), dir, append(opts, runtime.Logger(logs.logger()))...)
	produceKeys(key(0))
	want[key(0)] = 2
	testfix.ReadCounts(t, c, want, 30*time.Second)
	for _, f := range ssts {
		damage(t, f)
	}
	produceKeys(key(n-1), key(n-2))
	want[key(n-1)], want[key(n-2)] = 2, 2
	testfix.ReadCounts(t, c, want, 30*time.Second)
	if s := app.State(); s != runtime.Running {
		t.Fatalf("state %v after the fault, want RUNNING", s)
	}
	closeApp(t, app, done)
	if wipes := strings.Count(logs.String(), "wiping it"); wipes != 1 {
		t.Errorf("%d wipes, want 1", wipes)
	}
}

// A truncated .sst, a WAL with damage in it, and a damaged MANIFEST, at
// start.
func TestTruncatedTableDamagedWALAndManifest(t *testing.T) {
	// A WAL and a MANIFEST are read when a database opens, so damage to
	// them while the app runs is found at the next start, as below; a
	// table is read while the app runs.
	t.Run("truncated sst while running", func(t *testing.T) { corruptWhileRunning(t, false, truncateHalf) })
	t.Run("truncated sst while running, exactly-once", func(t *testing.T) { corruptWhileRunning(t, true, truncateHalf) })
	t.Run("truncated sst", func(t *testing.T) {
		faultyStateApp(t, true, func(t *testing.T, dir string) {
			for _, f := range wordCountTables(t, dir) {
				fi, err := os.Stat(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(f, fi.Size()/2); err != nil {
					t.Fatal(err)
				}
			}
		})
	})
	t.Run("damaged WAL", func(t *testing.T) {
		faultyStateApp(t, false, func(t *testing.T, dir string) {
			for _, id := range stateful(taskDirs(t, dir, "wordcount")) {
				logs, _ := filepath.Glob(filepath.Join(dir, "wordcount", id, "*.log"))
				if len(logs) == 0 {
					t.Fatalf("no WAL in task %s", id)
				}
				for _, f := range logs {
					flipBits(t, f, 16)
				}
			}
		})
	})
	t.Run("damaged MANIFEST", func(t *testing.T) {
		faultyStateApp(t, true, func(t *testing.T, dir string) {
			for _, id := range stateful(taskDirs(t, dir, "wordcount")) {
				manifests, _ := filepath.Glob(filepath.Join(dir, "wordcount", id, "MANIFEST-*"))
				if len(manifests) == 0 {
					t.Fatalf("no MANIFEST in task %s", id)
				}
				for _, f := range manifests {
					flipBits(t, f, 8)
				}
			}
		})
	})
}

// An at-least-once offset commit whose connection drops fails with an
// error that passes. The thread keeps its tasks and offsets and commits
// them at the next commit; the close's own commit, failing so, closes
// cleanly. Either used to put the app in ERROR.
func TestOffsetCommitConnectionDropped(t *testing.T) {
	c := testfix.WordCountBroker(t, 2)
	cluster := c.Cluster()
	var dropping atomic.Bool
	var dropped atomic.Int64
	dropping.Store(true)
	cluster.ControlKey(int16(kmsg.OffsetCommit), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if !dropping.Load() {
			return nil, nil, false
		}
		dropped.Add(1)
		return nil, errors.New("test: connection dropped"), true
	})
	app, done := startApp(t, c, t.TempDir())
	lines, want := testfix.Corpus(0, 100)
	testfix.ProduceLines(t, c, lines...)
	// Counts reach the output while every commit fails: nothing waits on
	// the commits.
	testfix.ReadCounts(t, c, want, 30*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for dropped.Load() < 3 && app.State() == runtime.Running && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := app.State(); s != runtime.Running {
		t.Fatalf("state %v after %d OffsetCommit requests dropped; want RUNNING", s, dropped.Load())
	}
	if n := dropped.Load(); n < 3 {
		t.Fatalf("%d OffsetCommit requests dropped; want 3 at least", n)
	}
	dropping.Store(false)
	more, want2 := testfix.Corpus(100, 50)
	testfix.ProduceLines(t, c, more...)
	testfix.ReadCounts(t, c, testfix.Add(want, want2), 30*time.Second)
	// The close commits with the connection dropped again: still clean.
	dropping.Store(true)
	closeApp(t, app, done)
}
