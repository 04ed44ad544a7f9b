package testdriver

import (
	"fmt"

	"github.com/samsa-go/samsa/internal/engine"
)

// Global stores: the driver runs the global subtopology in a global task
// of the engine's, as the runtime does, and hands its stores' views to the
// tasks. A record piped into a global topic is applied at once, before the
// call returns, as the runtime's global consumer applies what it reads;
// global stores are not changelogged and a crash leaves them as they are.

func (d *Driver) openGlobal() error {
	cfg := d.cfg
	cfg.WallClock = d.now
	g, err := engine.NewGlobalTask(d.g, cfg)
	if err != nil {
		return fmt.Errorf("testdriver: %w", err)
	}
	if g == nil {
		return nil
	}
	d.global = g
	d.cfg.GlobalStore = g.View
	return nil
}

func (d *Driver) pipeGlobal(r *engine.RawRecord) error {
	if err := d.global.Process(r); err != nil {
		return err
	}
	return d.global.Flush()
}
