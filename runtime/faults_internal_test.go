package runtime

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/internal/statedir"
	"github.com/samsa-go/samsa/processor"
)

// A task's state is wiped once for a fault; a second fault before the task
// committed work is not repaired (the app fails on it), and one after a
// commit is again.
func TestStoreFaultPolicy(t *testing.T) {
	dir, err := statedir.Open(t.TempDir(), "app")
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	a := &App{dir: dir, faults: map[processor.TaskID]bool{}}
	id := processor.TaskID{Subtopology: 1, Partition: 2}
	td, err := dir.TaskDir(id.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(td, "000001.sst"), []byte("rot"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.wipeIfFaulted(id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(td, "000001.sst")); err != nil {
		t.Fatalf("a task without a fault was wiped: %v", err)
	}
	if !a.mayWipe(id) {
		t.Fatal("first fault not repaired")
	}
	if err := a.wipeIfFaulted(id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(td, "000001.sst")); !os.IsNotExist(err) {
		t.Fatalf("the faulted task's state is still there: %v", err)
	}
	a.committed(nil)
	if a.mayWipe(id) {
		t.Fatal("a second fault before a commit of work is repaired again")
	}
	a.committed([]*engine.Task{{ID: id}})
	if !a.mayWipe(id) {
		t.Fatal("a fault after the task committed work is not repaired")
	}
}
