package statedir

import (
	"errors"
	"fmt"
)

// Messages carry no package prefix: users see them through the runtime,
// which adds its own. The runtime exports ErrLocked as ErrStateDirLocked.
var (
	// ErrLocked means another instance holds the state directory: another
	// process, or another Dir of this process. Errors from Open that wrap
	// it are *LockedError.
	ErrLocked = errors.New("state directory is locked")

	// ErrClosed is returned by the methods of a Dir after Close.
	ErrClosed = errors.New("state directory is closed")
)

// LockedError reports the instance that holds a state directory. It
// unwraps to ErrLocked.
type LockedError struct {
	Path string // the state directory, root/appID
	PID  int    // the holder's process id; 0 if it could not be read
}

func (e *LockedError) Error() string {
	if e.PID <= 0 {
		return fmt.Sprintf("state directory %q is locked by another instance", e.Path)
	}
	return fmt.Sprintf("state directory %q is locked by another instance (pid %d)", e.Path, e.PID)
}

func (e *LockedError) Unwrap() error { return ErrLocked }
