package testdriver

import (
	"fmt"
	"path/filepath"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// A topology's global stores are kept by the engine's global task, as the
// runtime's global thread keeps them, and fed from the driver's topics. A
// record piped into a global store's topic updates the store before the
// pipe returns, so every record piped after it sees the update; a record a
// sink writes to such a topic updates it once the commit after it
// happened, when a read_committed consumer would see it.

// globalPart is one partition of a global store's topic: every record it
// holds, of which log[:stable] are committed and log[:applied] went to the
// global task. Records stay, so that a crash can bootstrap the store again.
type globalPart struct {
	log     []record
	stable  int
	applied int
}

// openGlobal opens the global task, with its stores in the global state
// directory when they are on Pebble, and bootstraps them from their topics:
// from the offsets a persistent store checkpointed, from the start for an
// in-memory one. The tasks opened after it read its stores.
func (d *Driver) openGlobal() error {
	cfg := d.cfg
	// As in the runtime, the global task produces nothing: a record its
	// handlers drop is counted, never sent to a dead-letter topic.
	cfg.DeadLetterTopic = ""
	if d.fs != nil {
		cfg.OpenDB = func(processor.TaskID) (*state.DB, error) {
			return state.OpenDB(d.globalDir(), state.DBOptions{FS: d.fs})
		}
	}
	gt, err := engine.NewGlobalTask(d.g, cfg)
	if err != nil {
		return err
	}
	if err := gt.Start(); err != nil {
		gt.Close()
		return err
	}
	for _, name := range gt.Topics() {
		for p, gp := range d.topics[name].global {
			from, err := gt.StartOffset(name, int32(p))
			if err != nil {
				gt.Close()
				return err
			}
			gp.applied = 0
			for gp.applied < gp.stable && gp.log[gp.applied].offset < from {
				gp.applied++
			}
		}
	}
	d.global = gt
	d.cfg.Global = gt
	if err := d.updateGlobal(); err != nil {
		return err
	}
	return nil
}

func (d *Driver) globalDir() string { return filepath.Join(d.stateRoot(), d.opts.appID, "global") }

// updateGlobal applies the committed records of the global stores' topics
// that the global task has not had yet, and flushes it, so that the tasks
// read what they did.
func (d *Driver) updateGlobal() error {
	gt := d.global
	if gt == nil {
		return nil
	}
	moved := false
	for _, name := range gt.Topics() {
		for _, gp := range d.topics[name].global {
			for ; gp.applied < gp.stable; gp.applied++ {
				raw := gp.log[gp.applied].raw(name)
				if err := gt.Update(&raw); err != nil {
					gp.applied++ // the record counts as processed, as in run
					return err
				}
				moved = true
			}
		}
	}
	if !moved {
		return nil
	}
	return gt.Flush()
}

// checkpointGlobal records how far the global task's persistent stores
// got, as the runtime does every commit interval.
func (d *Driver) checkpointGlobal() error {
	if d.global == nil {
		return nil
	}
	return d.global.Checkpoint()
}

// crashGlobal drops the global task as a SIGKILL would and opens it again;
// with loseState, its state directory goes too. The records tasks wrote to
// its topics since the last commit are gone already: it never had them.
func (d *Driver) crashGlobal(loseState bool) error {
	gt := d.global
	if gt == nil {
		return nil
	}
	if d.globalDropped == nil {
		d.globalDropped = map[string]int64{}
	}
	for k, n := range gt.Dropped() {
		d.globalDropped[k] += n
	}
	d.global, d.cfg.Global = nil, nil
	if err := gt.Close(); err != nil {
		return fmt.Errorf("testdriver: crash the global task: %w", err)
	}
	if loseState && d.fs != nil {
		if err := d.fs.RemoveAll(d.globalDir()); err != nil {
			return fmt.Errorf("testdriver: crash the global task: remove its state: %w", err)
		}
	}
	if err := d.openGlobal(); err != nil {
		return fmt.Errorf("testdriver: restart the global task: %w", err)
	}
	return nil
}
