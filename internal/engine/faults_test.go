package engine_test

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// fullDisk is a filesystem whose files refuse writes with ENOSPC once full
// is set, as a disk that filled up.
type fullDisk struct {
	vfs.FS
	full *atomic.Bool
}

func (d fullDisk) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := d.FS.Create(name, cat)
	return fullFile{f, d.full}, err
}

func (d fullDisk) ReuseForWrite(oldname, newname string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := d.FS.ReuseForWrite(oldname, newname, cat)
	return fullFile{f, d.full}, err
}

func (d fullDisk) OpenReadWrite(name string, cat vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := d.FS.OpenReadWrite(name, cat, opts...)
	return fullFile{f, d.full}, err
}

type fullFile struct {
	vfs.File
	full *atomic.Bool
}

func (f fullFile) Write(p []byte) (int, error) {
	if f.full.Load() {
		return 0, syscall.ENOSPC
	}
	return f.File.Write(p)
}

func (f fullFile) WriteAt(p []byte, off int64) (int, error) {
	if f.full.Load() {
		return 0, syscall.ENOSPC
	}
	return f.File.WriteAt(p, off)
}

// A disk that fills up under a task's Pebble database fails the task, at
// the first operation of its stores after the write the disk refused, with
// a *engine.StoreFault naming the task and matching ENOSPC, instead of
// Pebble's fatal panic ending the process; the host then wipes and
// restores the state (the runtime once).
func TestFullDiskIsStoreFault(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).GroupByKey().Count(dsl.MaterializedAs[string, int64]("counts"))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var full atomic.Bool
	disk := fullDisk{vfs.NewMem(), &full}
	h := &host{offset: map[*engine.Changelog]int64{}}
	task, err := engine.NewTask(engine.GraphOf(topo), 0, 3, engine.Config{
		ApplicationID: "app",
		Collector:     h,
		OpenDB: func(id processor.TaskID) (*state.DB, error) {
			return state.OpenDB("/"+id.String(), state.DBOptions{FS: disk})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	if err := task.Start(); err != nil {
		t.Fatal(err)
	}
	var group engine.Group
	group.Tasks = []*engine.Task{task}
	var commitErr error
	// Keys of a kilobyte fill the WAL's 32 KiB blocks, which Pebble
	// writes out as they fill.
	for i := range 500 {
		if i == 1 {
			full.Store(true)
		}
		key := fmt.Sprintf("%04d%s", i, strings.Repeat("k", 1000))
		task.Input("in").Add(&engine.RawRecord{Offset: int64(i), Key: []byte(key), Value: []byte("x")})
		if _, err := task.ProcessReady(0, 0); err != nil {
			commitErr = err
			break
		}
		if _, err := group.Commit(t.Context(), h); err != nil {
			commitErr = err
			break
		}
	}
	var sf *engine.StoreFault
	if !errors.As(commitErr, &sf) || sf.Task != (processor.TaskID{Partition: 3}) {
		t.Fatalf("error %v, want a *engine.StoreFault of task 0_3", commitErr)
	}
	if !errors.Is(commitErr, syscall.ENOSPC) {
		t.Fatalf("error %v does not match ENOSPC", commitErr)
	}
	t.Logf("error: %v", commitErr)
}
