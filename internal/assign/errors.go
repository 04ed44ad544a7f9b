package assign

import (
	"errors"
	"fmt"
)

// Sentinels; errors returned by this package match one of them with
// errors.Is.
var (
	// ErrInvalidConfig is returned by NewBalancer for a Config it cannot
	// balance with.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrBadMetadata means a member's join metadata or user data could not
	// be decoded.
	ErrBadMetadata = errors.New("bad member metadata")
	// ErrBadAssignment means a sync assignment could not be decoded.
	ErrBadAssignment = errors.New("bad sync assignment")
	// ErrBadTaskID means a string is not of the form <subtopology>_<partition>.
	ErrBadTaskID = errors.New("bad task id")
)

// MemberError names the group member whose metadata the leader could not use.
type MemberError struct {
	MemberID string
	Err      error
}

func (e *MemberError) Error() string {
	return fmt.Sprintf("assign: member %q: %v", e.MemberID, e.Err)
}

func (e *MemberError) Unwrap() error { return e.Err }

func configErr(format string, args ...any) error {
	return fmt.Errorf("assign: %w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}
