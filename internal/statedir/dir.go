package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// lockName is the lock file in a state directory. Its leading dot keeps it
// apart from task directories.
const lockName = ".lock"

// held is the set of state directories locked by this process, keyed by
// their path with symlinks resolved. On local filesystems flock alone would
// refuse a second Open in this process, since each Open is its own open file
// description; but Linux emulates flock on NFS with per-process fcntl locks,
// which would grant it, and Windows has no flock here. The registry makes
// the answer the same everywhere.
var (
	heldMu sync.Mutex
	held   = map[string]bool{}
)

// Dir is the locked state directory of one application instance.
//
// A Dir is safe for concurrent use. It holds its lock until Close, or until
// the process exits. Task directories outlive it: they are the state that
// the next instance on this machine restores from.
type Dir struct {
	path string // absolute root/appID
	key  string // path with symlinks resolved: the key in held

	mu   sync.RWMutex
	lock *os.File // nil once closed
}

// Open creates root/appID if needed and locks it for this instance.
//
// It fails with a *LockedError, which matches ErrLocked, when another
// process or another Dir in this process holds the directory. It does not
// wait for the lock.
func Open(root, appID string) (*Dir, error) {
	if root == "" {
		return nil, errors.New("empty root directory")
	}
	if err := checkName(appID); err != nil {
		return nil, fmt.Errorf("application id %q: %w", appID, err)
	}
	path, err := filepath.Abs(filepath.Join(root, appID))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	key, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}

	heldMu.Lock()
	defer heldMu.Unlock()
	if held[key] {
		return nil, &LockedError{Path: path, PID: os.Getpid()}
	}
	// No O_TRUNC: the file may hold the pid of an instance that has it
	// locked, which the error below reports.
	f, err := os.OpenFile(filepath.Join(path, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	if !ok {
		pid := readPID(f)
		f.Close()
		return nil, &LockedError{Path: path, PID: pid}
	}
	if err := writePID(f); err != nil {
		f.Close() // releases the lock
		return nil, fmt.Errorf("write lock file: %w", err)
	}
	held[key] = true
	return &Dir{path: path, key: key, lock: f}, nil
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil || pid <= 0 {
		return 0 // the holder has not written it yet, or not a pid
	}
	return pid
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// Path returns the state directory, root/appID, as an absolute path.
func (d *Dir) Path() string { return d.path }

// TaskDir returns the directory of task id (such as "0_1"), creating it if
// needed. Ids must be plain names that do not start with a dot.
func (d *Dir) TaskDir(id string) (string, error) {
	if err := checkName(id); err != nil {
		return "", fmt.Errorf("task id %q: %w", id, err)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.lock == nil {
		return "", ErrClosed
	}
	p := filepath.Join(d.path, id)
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", fmt.Errorf("create task directory %s: %w", id, err)
	}
	return p, nil
}

// GlobalName is the directory of the instance's global stores,
// root/appID/global, as Kafka Streams names it. No task id is spelled so.
const GlobalName = "global"

// GlobalDir returns the directory of the global stores, creating it if
// needed. Remove(GlobalName) deletes it.
func (d *Dir) GlobalDir() (string, error) { return d.TaskDir(GlobalName) }

// TasksOnDisk returns the ids of the tasks that have a directory, sorted by
// name; the global stores' directory is not a task's. The runtime uses it at start to find state left by an earlier run,
// and to delete what it no longer owns.
func (d *Dir) TasksOnDisk() ([]string, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.lock == nil {
		return nil, ErrClosed
	}
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && checkName(e.Name()) == nil && e.Name() != GlobalName {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Remove deletes the directory of task id and everything in it. The caller
// must have closed the task's stores. Removing a task without a directory
// is not an error.
func (d *Dir) Remove(id string) error {
	if err := checkName(id); err != nil {
		return fmt.Errorf("task id %q: %w", id, err)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.lock == nil {
		return ErrClosed
	}
	if err := os.RemoveAll(filepath.Join(d.path, id)); err != nil {
		return fmt.Errorf("remove task directory %s: %w", id, err)
	}
	return nil
}

// Close releases the lock. Task directories stay on disk. Close is
// idempotent; methods called after it return ErrClosed.
func (d *Dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lock == nil {
		return nil
	}
	// Release the flock before the registry entry: once the entry is gone,
	// an Open in this process must be able to take the flock.
	err := d.lock.Close()
	d.lock = nil
	heldMu.Lock()
	delete(held, d.key)
	heldMu.Unlock()
	if err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	return nil
}

var errBadName = errors.New("must be a non-empty name without path separators, not starting with a dot")

// checkName accepts the names of application and task directories: one
// path element, not hidden, so that neither escapes root nor collides with
// the lock file.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) ||
		!filepath.IsLocal(name) || !fs.ValidPath(name) {
		return errBadName
	}
	return nil
}
