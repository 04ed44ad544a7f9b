package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fullDisk is the operating system's filesystem, whose files refuse writes
// with ENOSPC while the disk is full: from when fill is called, until it
// has refused once if it fills only for a moment (another program's
// temporary file, deleted), or until free is called.
type fullDisk struct {
	vfs.FS
	full    *atomic.Bool
	once    *atomic.Bool
	refused *atomic.Int64
	// fillOn, if set, fills the disk as a file whose name holds it is
	// created.
	fillOn *atomic.Pointer[string]
}

func newFullDisk() fullDisk {
	return fullDisk{FS: vfs.Default, full: new(atomic.Bool), once: new(atomic.Bool), refused: new(atomic.Int64), fillOn: new(atomic.Pointer[string])}
}

// fillOnCreate fills the disk, for a moment only if once, as a file whose
// name holds name is created.
func (d fullDisk) fillOnCreate(name string, once bool) {
	d.once.Store(once)
	d.fillOn.Store(&name)
}

// fill fills the disk; for a moment only if once.
func (d fullDisk) fill(once bool) {
	d.once.Store(once)
	d.full.Store(true)
}

func (d fullDisk) free() { d.full.Store(false) }

// refuse reports whether a write is refused now.
func (d fullDisk) refuse() bool {
	if !d.full.Load() {
		return false
	}
	if d.once.Load() && !d.full.CompareAndSwap(true, false) {
		return false
	}
	d.refused.Add(1)
	return true
}

func (d fullDisk) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	if on := d.fillOn.Load(); on != nil && strings.Contains(name, *on) && d.fillOn.CompareAndSwap(on, nil) {
		d.full.Store(true)
	}
	f, err := d.FS.Create(name, cat)
	return d.wrap(f, err)
}

func (d fullDisk) ReuseForWrite(oldname, newname string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := d.FS.ReuseForWrite(oldname, newname, cat)
	return d.wrap(f, err)
}

func (d fullDisk) OpenReadWrite(name string, cat vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := d.FS.OpenReadWrite(name, cat, opts...)
	return d.wrap(f, err)
}

func (d fullDisk) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return fullFile{f, d}, nil
}

type fullFile struct {
	vfs.File
	d fullDisk
}

func (f fullFile) Write(p []byte) (int, error) {
	if f.d.refuse() {
		return 0, syscall.ENOSPC
	}
	return f.File.Write(p)
}

func (f fullFile) WriteAt(p []byte, off int64) (int, error) {
	if f.d.refuse() {
		return 0, syscall.ENOSPC
	}
	return f.File.WriteAt(p, off)
}

// fullDiskCase is how a disk fills under the key count: for a moment
// only (once) or for good, under exactly-once (eos) or at-least-once, as
// the app starts on state it wrote before (atStart) or while it runs.
type fullDiskCase struct{ once, eos, atStart bool }

func (fc fullDiskCase) String() string {
	s := map[bool]string{false: "while running", true: "at start"}[fc.atStart]
	return s + map[bool]string{false: "", true: ", exactly-once"}[fc.eos]
}

func (fc fullDiskCase) opts(disk fullDisk) []runtime.Option {
	opts := []runtime.Option{runtime.StateFS(disk)}
	if fc.eos {
		opts = append(opts, runtime.ExactlyOnce())
	}
	return opts
}

// fullDiskApp runs the key count on a state directory whose disk is
// disk, counts n keys once, fills the disk (and, at start, starts the app
// again), and counts them again, which the task writes to the full disk,
// then, once the disk refused a write, the second key a third time. It
// returns the app, its Run's channel, the logs of the app that saw the
// disk fill, and the counts the output must reach.
func fullDiskApp(t *testing.T, c *kafkatest.Broker, dir string, disk fullDisk, fc fullDiskCase) (*runtime.App, chan error, *logBuffer, map[string]int64) {
	t.Helper()
	const n = 3000
	want := map[string]int64{}
	var keys []string
	for i := range n {
		keys = append(keys, diskKey(i))
		want[diskKey(i)] = 1
	}
	logs := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	logged := append(fc.opts(disk), runtime.Logger(logs.logger()))
	var app *runtime.App
	var done chan error
	if fc.atStart {
		app, done = startTopology(t, c, keyCount(t), dir, fc.opts(disk)...)
	} else {
		app, done = startTopology(t, c, keyCount(t), dir, logged...)
	}
	produceKeys(t, c, keys...)
	testfix.ReadCounts(t, c, want, 60*time.Second)
	if fc.atStart {
		closeApp(t, app, done)
		disk.fill(fc.once)
		app, done = startTopology(t, c, keyCount(t), dir, logged...)
	} else {
		disk.fill(fc.once)
	}
	// Pebble writes its WAL a 32 KiB block at a time, behind the task: a
	// second update of every key fills blocks, and the refused write may
	// come after the task processed them all; the task finds the fault
	// at its next use of the store.
	produceKeys(t, c, keys...)
	for _, k := range keys {
		want[k] = 2
	}
	deadline := time.Now().Add(30 * time.Second)
	for disk.refused.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no write refused 30s after the disk filled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	produceKeys(t, c, diskKey(1))
	want[diskKey(1)] = 3
	return app, done, logs, want
}

var fullDiskCases = []fullDiskCase{{}, {eos: true}, {atStart: true}, {atStart: true, eos: true}}

// diskKey is key i of the full-disk tests: long enough that a store can
// hold the writes of no more than a commit or so, so that commits write
// Pebble rather than hold their writes (see engine.Group.HoldCommits).
func diskKey(i int) string { return fmt.Sprintf("k%05d-%s", i, strings.Repeat("x", 1000)) }

func produceKeys(t *testing.T, c *kafkatest.Broker, keys ...string) {
	t.Helper()
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

// A disk that is full for a moment under a running app fails the write
// the task's database gave it: the task's state is wiped and restored
// from its changelog, once, and the counts go on right, with the app
// RUNNING throughout rather than crashing or stopping.
func TestFullDiskForAMoment(t *testing.T) {
	for _, fc := range fullDiskCases {
		fc.once = true
		t.Run(fc.String(), func(t *testing.T) {
			c := testfix.WordCountBroker(t, 1)
			disk := newFullDisk()
			app, done, logs, want := fullDiskApp(t, c, t.TempDir(), disk, fc)
			testfix.ReadCounts(t, c, want, 30*time.Second)
			// The last record may be counted from the transaction
			// buffer, before the commit that finds the fault: the wipe
			// comes after it, and the app closed before it would fail
			// its close on the broken database.
			eventually(t, 30*time.Second, "the task's state wiped", func() (bool, string) {
				n := strings.Count(logs.String(), "wiping it")
				return n > 0, fmt.Sprintf("%d wipes", n)
			})
			if s := app.State(); s != runtime.Running {
				t.Fatalf("state %v after the disk was full, want RUNNING", s)
			}
			closeApp(t, app, done)
			if n := disk.refused.Load(); n != 1 {
				t.Fatalf("%d writes refused, want 1", n)
			}
			if wipes := strings.Count(logs.String(), "wiping it"); wipes != 1 {
				t.Errorf("%d wipes, want 1", wipes)
			}
		})
	}
}

// A disk that stays full under a running app: the task's state is wiped
// and restored once, the restore fails on the full disk too, and the app
// goes to ERROR, rather than wiping and restoring for ever, with an error
// that says the disk is full and names the task, the store and the
// directory. Nothing is lost: an app started on the same directory once
// the disk has room again counts on from where the output stopped.
func TestFullDiskStaysFull(t *testing.T) {
	for _, fc := range fullDiskCases {
		t.Run(fc.String(), func(t *testing.T) { fullDiskStaysFull(t, fc) })
	}
}

func fullDiskStaysFull(t *testing.T, fc fullDiskCase) {
	c := testfix.WordCountBroker(t, 1)
	dir := t.TempDir()
	disk := newFullDisk()
	app, done, logs, want := fullDiskApp(t, c, dir, disk, fc)
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("app still %v a minute after the disk filled", app.State())
	}
	if s := app.State(); s != runtime.Error {
		t.Fatalf("state %v after the disk stayed full, want ERROR", s)
	}
	if err == nil {
		t.Fatal("Run returned nil after the disk stayed full")
	}
	t.Logf("error: %v", err)
	taskDir := filepath.Join(dir, "keycount", "0_0")
	var sfe *runtime.StateFailedError
	if !errors.As(err, &sfe) || sfe.Task.String() != "0_0" || sfe.Dir != taskDir {
		t.Errorf("error %v, want a *runtime.StateFailedError of task 0_0 in %s", err, taskDir)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("error %q does not match ENOSPC", err)
	}
	for _, name := range []string{"0_0", `"counts"`, taskDir, "no space left on device"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if wipes := strings.Count(logs.String(), "wiping it"); wipes != 1 {
		t.Errorf("%d wipes, want 1", wipes)
	}

	disk.free()
	app, done = startTopology(t, c, keyCount(t), dir, fc.opts(disk)...)
	produceKeys(t, c, diskKey(2))
	want[diskKey(2)] = 3
	testfix.ReadCounts(t, c, want, 30*time.Second)
	closeApp(t, app, done)
}

// A disk that fills as a new instance restores a task's state from its
// changelog, as the restore writes the first of the tables it ingests,
// fails the restore; the state is wiped and restored again, and the
// counts are right, if the disk was full for a moment, or the app goes to
// ERROR if it stays full.
func TestFullDiskDuringRestore(t *testing.T) {
	for _, once := range []bool{true, false} {
		t.Run(map[bool]string{true: "for a moment", false: "for good"}[once], func(t *testing.T) {
			c := testfix.WordCountBroker(t, 1)
			const n = 3000
			want := map[string]int64{}
			var keys []string
			// Keys long enough that the restore writes more than a
			// megabyte, which it writes as tables (smaller restores
			// end in a batch).
			pad := strings.Repeat("x", 500)
			for i := range n {
				keys = append(keys, diskKey(i)+pad)
				want[diskKey(i)+pad] = 1
			}
			app, done := startTopology(t, c, keyCount(t), t.TempDir())
			produceKeys(t, c, keys...)
			testfix.ReadCounts(t, c, want, 60*time.Second)
			closeApp(t, app, done)

			disk := newFullDisk()
			disk.fillOnCreate("samsa-restore-", once)
			logs := &logBuffer{}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("logs:\n%s", logs.String())
				}
			})
			dir := t.TempDir()
			app, done = startTopology(t, c, keyCount(t), dir, runtime.StateFS(disk), runtime.Logger(logs.logger()))
			produceKeys(t, c, keys[0])
			want[keys[0]] = 2
			if once {
				testfix.ReadCounts(t, c, want, 30*time.Second)
				if s := app.State(); s != runtime.Running {
					t.Fatalf("state %v, want RUNNING", s)
				}
				closeApp(t, app, done)
			} else {
				select {
				case err := <-done:
					t.Logf("error: %v", err)
					var sfe *runtime.StateFailedError
					if !errors.As(err, &sfe) || !errors.Is(err, syscall.ENOSPC) {
						t.Fatalf("error %v, want a *runtime.StateFailedError matching ENOSPC", err)
					}
				case <-time.After(60 * time.Second):
					t.Fatalf("app still %v a minute after the disk filled", app.State())
				}
			}
			if n := disk.refused.Load(); n == 0 {
				t.Fatal("no write refused")
			}
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "wiping it") {
					t.Logf("%s", l)
				}
			}
			if wipes := strings.Count(logs.String(), "wiping it"); wipes != 1 {
				t.Errorf("%d wipes, want 1", wipes)
			}
		})
	}
}
