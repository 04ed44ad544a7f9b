package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzTaskName feeds TaskDir, TasksOnDisk and Remove the names a state
// directory could hold. A name is either refused, before anything touches
// the disk, or it is one plain entry of the state directory, apart from
// the lock file, that TasksOnDisk lists back and Remove deletes: no name
// may reach outside the directory or replace the lock. The seeds live in
// testdata/fuzz.
func FuzzTaskName(f *testing.F) {
	root := f.TempDir()
	d, err := Open(root, "app")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { d.Close() })
	lock := filepath.Join(d.Path(), lockName)
	f.Fuzz(func(t *testing.T, name string) {
		if err := checkName(name); err != nil {
			if !errors.Is(err, errBadName) {
				t.Fatalf("checkName(%q) = %v, want errBadName", name, err)
			}
			if _, err := d.TaskDir(name); !errors.Is(err, errBadName) || !strings.Contains(err.Error(), strconv.Quote(name)) {
				t.Fatalf("TaskDir(%q) = %v, want an error matching errBadName and naming it", name, err)
			}
			if err := d.Remove(name); !errors.Is(err, errBadName) {
				t.Fatalf("Remove(%q) = %v, want an error matching errBadName", name, err)
			}
			return
		}
		if p := filepath.Join(d.Path(), name); filepath.Dir(p) != d.Path() || filepath.Base(p) != name || p == lock {
			t.Fatalf("checkName accepts %q, which is %q: not an entry of %q", name, p, d.Path())
		}
		p, err := d.TaskDir(name)
		if err != nil {
			// The filesystem may still refuse it (too long, a NUL byte):
			// that is an error naming the task, not a panic, and nothing
			// was created.
			if !strings.HasPrefix(err.Error(), "create task directory ") {
				t.Fatalf("TaskDir(%q) = %v, want an error saying it could not create the directory", name, err)
			}
			if entries, err := os.ReadDir(d.Path()); err != nil || len(entries) != 1 {
				t.Fatalf("TaskDir(%q) failed but left %v (%v)", name, entries, err)
			}
			return
		}
		if p != filepath.Join(d.Path(), name) {
			t.Fatalf("TaskDir(%q) = %q, want it inside %q", name, p, d.Path())
		}
		ids, err := d.TasksOnDisk()
		if err != nil || !slices.Contains(ids, name) {
			t.Fatalf("TasksOnDisk() = %v, %v after TaskDir(%q)", ids, err, name)
		}
		if err := d.Remove(name); err != nil {
			t.Fatalf("Remove(%q): %v", name, err)
		}
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Remove(%q) left %q: %v", name, p, err)
		}
		if _, err := os.Stat(lock); err != nil {
			t.Fatalf("lock file gone after TaskDir and Remove of %q: %v", name, err)
		}
		entries, err := os.ReadDir(root)
		if err != nil || len(entries) != 1 || entries[0].Name() != "app" {
			t.Fatalf("%q reached outside the state directory: root holds %v (%v)", name, entries, err)
		}
	})
}
