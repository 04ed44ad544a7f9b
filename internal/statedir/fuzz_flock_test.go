//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package statedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzLockFile puts arbitrary bytes in the lock file of a state directory
// that another holder has locked, as a crashed or foreign process could
// leave them. Open must refuse with a *LockedError whose pid is the one
// written there, or 0 when there is none, without changing the file; once
// the holder lets go, Open takes the lock and replaces the bytes with its
// own pid. The seeds live in testdata/fuzz.
func FuzzLockFile(f *testing.F) {
	root := f.TempDir()
	path := filepath.Join(root, "app")
	if err := os.MkdirAll(path, 0o755); err != nil {
		f.Fatal(err)
	}
	lock := filepath.Join(path, lockName)
	f.Fuzz(func(t *testing.T, content []byte) {
		holder, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Close()
		if ok, err := tryLock(holder); !ok || err != nil {
			t.Fatalf("holder cannot lock: %v, %v", ok, err)
		}
		if _, err := holder.Write(content); err != nil {
			t.Fatal(err)
		}

		_, err = Open(root, "app")
		var le *LockedError
		if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
			t.Fatalf("Open of a held directory = %v, want a *LockedError", err)
		}
		want := 0
		head := content[:min(len(content), 32)]
		if n, err := strconv.Atoi(strings.TrimSpace(string(head))); err == nil && n > 0 {
			want = n
		}
		if le.PID != want || le.Path != path {
			t.Fatalf("lock file %q: LockedError = %+v, want pid %d in %q", content, le, want, path)
		}
		msg := fmt.Sprintf("state directory %q is locked by another instance", path)
		if want > 0 {
			msg += fmt.Sprintf(" (pid %d)", want)
		}
		if err.Error() != msg {
			t.Fatalf("lock file %q: error %q, want %q", content, err, msg)
		}
		if got, err := os.ReadFile(lock); err != nil || string(got) != string(content) {
			t.Fatalf("a refused Open changed the lock file from %q to %q (%v)", content, got, err)
		}

		holder.Close()
		d, err := Open(root, "app")
		if err != nil {
			t.Fatalf("Open after the holder let go: %v", err)
		}
		got, err := os.ReadFile(lock)
		d.Close()
		if want := strconv.Itoa(os.Getpid()) + "\n"; err != nil || string(got) != want {
			t.Fatalf("lock file over %q holds %q (%v), want %q", content, got, err, want)
		}
	})
}
