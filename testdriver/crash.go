package testdriver

import (
	"fmt"
	"slices"

	"github.com/samsa-go/samsa/processor"
)

// Crash stops every task as a SIGKILL of the runtime instance running them
// would, and starts them again. What was not committed is gone: caches,
// store writes waiting for their commit, in-memory stores, and what the
// tasks wrote since the last commit (aborted, as under exactly-once; it was
// never readable). The tasks restore their stores from the changelogs, from
// the offset each Pebble store recorded (the start, for in-memory stores),
// and read their inputs again from the committed offsets: the records piped
// since the last commit are processed again by the next call that processes
// (a pipe, an advance of the wall clock, Commit), as a restarted instance
// processes them.
//
// Stores got from the driver before a crash are closed: get them again.
func (d *Driver) Crash() {
	d.t.Helper()
	d.mustCrash(d.allTasks(), false, true)
}

// CrashTask crashes the task id alone, as Crash does every task. Tasks that
// read what it wrote since the last commit crash with it: the driver hands
// records to the next task before they commit, so those tasks hold state
// built on records the crash aborts; under exactly-once they could not have
// read them yet. Their outcome is the same.
func (d *Driver) CrashTask(id processor.TaskID) {
	d.t.Helper()
	for i, t := range d.tasks {
		if t.ID == id {
			d.mustCrash([]int{i}, false, false)
			return
		}
	}
	d.t.Fatalf("testdriver: crash task %s: no such task (the driver has %v)", id, d.Tasks())
}

// CrashLosingState crashes every task, as Crash does, and loses the local
// state too, as when an instance restarts on an empty state directory: every
// store restores its changelog from the start.
func (d *Driver) CrashLosingState() {
	d.t.Helper()
	d.mustCrash(d.allTasks(), true, true)
}

func (d *Driver) allTasks() []int {
	ids := make([]int, len(d.tasks))
	for i := range ids {
		ids[i] = i
	}
	return ids
}

func (d *Driver) mustCrash(tasks []int, loseState, global bool) {
	d.t.Helper()
	if err := d.crash(tasks, loseState, global); err != nil {
		d.t.Fatalf("%v", relabel(err))
	}
}

// crash crashes the tasks listed, and the global task too if global says
// so, after the tasks, which read its stores.
func (d *Driver) crash(tasks []int, loseState, global bool) error {
	if d.closed {
		return fmt.Errorf("testdriver: driver is closed")
	}
	crashed := make([]bool, len(d.tasks))
	for _, i := range tasks {
		crashed[i] = true
	}
	// Tasks handed uncommitted records of crashed tasks crash too.
	for grown := true; grown; {
		grown = false
		for _, tp := range d.topics {
			for _, rp := range tp.read {
				if rp.in == nil || crashed[rp.task] {
					continue
				}
				for _, r := range rp.log[rp.stable:] {
					if r.from >= 0 && crashed[r.from] {
						crashed[rp.task], grown = true, true
						break
					}
				}
			}
		}
	}
	aborted := func(r record) bool { return r.from >= 0 && crashed[r.from] }
	for _, tp := range d.topics {
		for _, rp := range tp.read {
			rp.log = append(rp.log[:rp.stable], slices.DeleteFunc(rp.log[rp.stable:], aborted)...)
		}
		if v := tp.view; v != nil {
			n := len(v.recs)
			v.recs = append(v.recs[:v.stable], slices.DeleteFunc(v.recs[v.stable:], aborted)...)
			if v.changelog && len(v.recs) != n {
				v.indexed = false
			}
		}
		for _, gp := range tp.global {
			gp.log = append(gp.log[:gp.stable], slices.DeleteFunc(gp.log[gp.stable:], aborted)...)
		}
	}
	for i, t := range d.tasks {
		if !crashed[i] {
			continue
		}
		if err := t.Close(); err != nil {
			return fmt.Errorf("testdriver: crash task %s: %w", t.ID, err)
		}
		for _, in := range t.Inputs() {
			d.topics[in.Topic].read[in.Partition].in = nil
		}
		if loseState && d.fs != nil {
			if err := d.fs.RemoveAll(d.taskDir(t.ID)); err != nil {
				return fmt.Errorf("testdriver: crash task %s: remove its state: %w", t.ID, err)
			}
		}
	}
	if global {
		if err := d.crashGlobal(loseState); err != nil {
			return err
		}
	}
	for i, t := range d.tasks {
		if crashed[i] {
			if err := d.startTask(i, t.ID.Subtopology, t.ID.Partition); err != nil {
				return fmt.Errorf("testdriver: restart task %s: %w", t.ID, err)
			}
		}
	}
	d.current = -1
	return nil
}
