package statedir

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func open(t *testing.T, root, appID string) *Dir {
	t.Helper()
	d, err := Open(root, appID)
	if err != nil {
		t.Fatalf("Open(%q, %q): %v", root, appID, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func wantLocked(t *testing.T, err error, path string, pid int) {
	t.Helper()
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
		t.Fatalf("Open error = %v, want a *LockedError", err)
	}
	if le.Path != path || le.PID != pid {
		t.Errorf("LockedError = %+v, want path %q pid %d", le, path, pid)
	}
	want := fmt.Sprintf("state directory %q is locked by another instance (pid %d)", path, pid)
	if err.Error() != want {
		t.Errorf("error message\n got: %s\nwant: %s", err, want)
	}
}

func TestOpenCreatesDirectory(t *testing.T) {
	root := filepath.Join(t.TempDir(), "state")
	d := open(t, root, "app")
	if want := filepath.Join(root, "app"); d.Path() != want {
		t.Errorf("Path() = %q, want %q", d.Path(), want)
	}
	if fi, err := os.Stat(d.Path()); err != nil || !fi.IsDir() {
		t.Fatalf("state directory not created: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(d.Path(), lockName))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(b)), fmt.Sprint(os.Getpid()); got != want {
		t.Errorf("lock file holds %q, want pid %s", got, want)
	}
}

func TestLockedInProcess(t *testing.T) {
	root := t.TempDir()
	d := open(t, root, "app")

	_, err := Open(root, "app")
	wantLocked(t, err, d.Path(), os.Getpid())

	// The same directory spelled another way, or through a symlink.
	_, err = Open(root+"/./", "app")
	wantLocked(t, err, d.Path(), os.Getpid())
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	_, err = Open(link, "app")
	wantLocked(t, err, filepath.Join(link, "app"), os.Getpid())

	// Other applications under the same root are independent.
	open(t, root, "other-app")
}

func TestCloseReleasesLock(t *testing.T) {
	root := t.TempDir()
	d, err := Open(root, "app")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	open(t, root, "app")

	if _, err := d.TaskDir("0_0"); !errors.Is(err, ErrClosed) {
		t.Errorf("TaskDir after Close = %v, want ErrClosed", err)
	}
	if _, err := d.TasksOnDisk(); !errors.Is(err, ErrClosed) {
		t.Errorf("TasksOnDisk after Close = %v, want ErrClosed", err)
	}
	if err := d.Remove("0_0"); !errors.Is(err, ErrClosed) {
		t.Errorf("Remove after Close = %v, want ErrClosed", err)
	}
}

// Environment of TestHelperProcess: the root to lock.
const helperEnv = "STATEDIR_TEST_HELPER_ROOT"

// TestHelperProcess is not a test: TestLockedByOtherProcess runs the test
// binary again to execute it as another process. It locks root/app, says
// "locked" on stdout, and holds the lock until stdin closes.
func TestHelperProcess(t *testing.T) {
	root := os.Getenv(helperEnv)
	if root == "" {
		return
	}
	d, err := Open(root, "app")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until EOF
	d.Close()
	os.Exit(0)
}

func TestLockedByOtherProcess(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release func(*exec.Cmd, func() error) // ends the holder
	}{
		{"holder closes", func(_ *exec.Cmd, closeStdin func() error) { closeStdin() }},
		{"holder killed", func(cmd *exec.Cmd, _ func() error) { cmd.Process.Kill() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
			cmd.Env = append(os.Environ(), helperEnv+"="+root)
			cmd.Stderr = os.Stderr
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

			sc := bufio.NewScanner(stdout)
			for sc.Scan() && sc.Text() != "locked" {
				if strings.HasPrefix(sc.Text(), "error:") {
					t.Fatalf("helper: %s", sc.Text())
				}
			}
			if sc.Text() != "locked" {
				t.Fatalf("helper exited without taking the lock: %v", sc.Err())
			}

			_, err = Open(root, "app")
			wantLocked(t, err, filepath.Join(root, "app"), cmd.Process.Pid)

			tc.release(cmd, stdin.Close)
			cmd.Wait()
			d := open(t, root, "app")
			b, err := os.ReadFile(filepath.Join(d.Path(), lockName))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.TrimSpace(string(b)), fmt.Sprint(os.Getpid()); got != want {
				t.Errorf("lock file holds %q after takeover, want pid %s", got, want)
			}
		})
	}
}

func TestTaskDirs(t *testing.T) {
	d := open(t, t.TempDir(), "app")

	if ids, err := d.TasksOnDisk(); err != nil || len(ids) != 0 {
		t.Fatalf("TasksOnDisk() on a new directory = %v, %v; want none", ids, err)
	}
	for _, id := range []string{"1_0", "0_1", "0_0", "0_1"} {
		p, err := d.TaskDir(id)
		if err != nil {
			t.Fatalf("TaskDir(%q): %v", id, err)
		}
		if want := filepath.Join(d.Path(), id); p != want {
			t.Fatalf("TaskDir(%q) = %q, want %q", id, p, want)
		}
		if err := os.WriteFile(filepath.Join(p, "data"), []byte(id), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The global stores' directory is not a task's.
	g, err := d.GlobalDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(d.Path(), "global"); g != want {
		t.Fatalf("GlobalDir() = %q, want %q", g, want)
	}
	if err := os.WriteFile(filepath.Join(g, "data"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Neither files nor hidden directories are tasks.
	if err := os.WriteFile(filepath.Join(d.Path(), "stray"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(d.Path(), ".tmp"), 0o755); err != nil {
		t.Fatal(err)
	}

	ids, err := d.TasksOnDisk()
	if want := []string{"0_0", "0_1", "1_0"}; err != nil || !slices.Equal(ids, want) {
		t.Fatalf("TasksOnDisk() = %v, %v; want %v", ids, err, want)
	}

	if err := d.Remove("0_1"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if err := d.Remove("0_1"); err != nil {
		t.Fatalf("Remove of a removed task: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.Path(), "0_1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("task directory still there after Remove: %v", err)
	}
	ids, err = d.TasksOnDisk()
	if want := []string{"0_0", "1_0"}; err != nil || !slices.Equal(ids, want) {
		t.Fatalf("TasksOnDisk() after Remove = %v, %v; want %v", ids, err, want)
	}
	// Remove leaves the lock alone.
	if _, err := Open(filepath.Dir(d.Path()), "app"); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open after Remove = %v, want ErrLocked", err)
	}
}

func TestBadNames(t *testing.T) {
	root := t.TempDir()
	d := open(t, root, "app")
	for _, id := range []string{"", ".", "..", ".lock", "../0_0", "0/1", `0\1`} {
		if _, err := d.TaskDir(id); err == nil {
			t.Errorf("TaskDir(%q) succeeded", id)
		}
		if err := d.Remove(id); err == nil {
			t.Errorf("Remove(%q) succeeded", id)
		}
		if _, err := Open(root, id); err == nil {
			t.Errorf("Open(root, %q) succeeded", id)
		}
	}
	if _, err := Open("", "app"); err == nil {
		t.Error(`Open("", "app") succeeded`)
	}
	if _, err := os.Stat(filepath.Join(root, "app", lockName)); err != nil {
		t.Errorf("lock file gone: %v", err)
	}
}
