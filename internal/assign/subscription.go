package assign

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// subscriptionVersion is the version of the user data encoding this package
// writes. Later versions may only append fields, so a reader takes the fields
// it knows and skips the rest; that lets a group roll to a new version one
// process at a time.
const subscriptionVersion = 1

// Subscription is what a member tells the group leader about itself, carried
// in the UserData of its kmsg.ConsumerMemberMetadata.
type Subscription struct {
	// ProcessID identifies the application instance; all stream threads of
	// one process share it, and with it their state directory.
	ProcessID string
	// Owned are the tasks the member holds from its last assignment.
	Owned []TaskID
	// StateOnDisk are the tasks whose state directories exist in the
	// member's process.
	StateOnDisk []TaskID
}

// AppendTo appends the encoding of s to dst:
//
//	version      byte (1)
//	process id   uvarint length, bytes
//	owned        uvarint count, then per task varint subtopology, varint partition
//	state        as owned
func (s Subscription) AppendTo(dst []byte) []byte {
	dst = append(dst, subscriptionVersion)
	dst = binary.AppendUvarint(dst, uint64(len(s.ProcessID)))
	dst = append(dst, s.ProcessID...)
	dst = appendTasks(dst, s.Owned)
	return appendTasks(dst, s.StateOnDisk)
}

func appendTasks(dst []byte, tasks []TaskID) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(tasks)))
	for _, t := range tasks {
		dst = binary.AppendVarint(dst, int64(t.Subtopology))
		dst = binary.AppendVarint(dst, int64(t.Partition))
	}
	return dst
}

var errShort = errors.New("truncated")

// ReadFrom decodes src into s. Errors match ErrBadMetadata.
func (s *Subscription) ReadFrom(src []byte) error {
	if err := s.readFrom(src); err != nil {
		return fmt.Errorf("%w: user data: %v", ErrBadMetadata, err)
	}
	return nil
}

func (s *Subscription) readFrom(src []byte) error {
	r := reader{b: src}
	if len(r.b) == 0 {
		return errors.New("empty")
	}
	version := r.b[0]
	r.b = r.b[1:]
	if version < 1 {
		return fmt.Errorf("unknown version %d", version)
	}
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = errShort
	}
	if r.err != nil {
		return r.err
	}
	s.ProcessID = string(r.b[:n])
	r.b = r.b[n:]
	s.Owned = r.tasks()
	s.StateOnDisk = r.tasks()
	if r.err != nil {
		return r.err
	}
	if version == subscriptionVersion && len(r.b) > 0 {
		return fmt.Errorf("%d trailing bytes", len(r.b))
	}
	return nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) tasks() []TaskID {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	// Each task takes at least two bytes; checking first keeps a corrupt
	// count from allocating without bound.
	if n > uint64(len(r.b))/2 {
		r.err = errShort
		return nil
	}
	if n == 0 {
		return nil
	}
	tasks := make([]TaskID, 0, n)
	for range n {
		sub, part := r.varint(), r.varint()
		if r.err != nil {
			return nil
		}
		if sub < 0 || sub > math.MaxInt32 || part < 0 || part > math.MaxInt32 {
			r.err = fmt.Errorf("task %d_%d out of range", sub, part)
			return nil
		}
		tasks = append(tasks, TaskID{Subtopology: int(sub), Partition: int32(part)})
	}
	return tasks
}
