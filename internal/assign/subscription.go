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
// process at a time. Version 2 appended the application server.
const subscriptionVersion = 2

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
	// ApplicationServer is the host:port the member's process answers
	// interactive queries on (Kafka Streams' application.server), empty if
	// none. Since version 2.
	ApplicationServer string
}

// AppendTo appends the encoding of s to dst:
//
//	version      byte (1)
//	process id   uvarint length, bytes
//	owned        uvarint count, then per task varint subtopology, varint partition
//	state        as owned
//	server       uvarint length, bytes (version 2)
func (s Subscription) AppendTo(dst []byte) []byte {
	dst = append(dst, subscriptionVersion)
	dst = appendString(dst, s.ProcessID)
	dst = appendTasks(dst, s.Owned)
	dst = appendTasks(dst, s.StateOnDisk)
	return appendString(dst, s.ApplicationServer)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
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
	s.ProcessID = r.string()
	s.Owned = r.tasks()
	s.StateOnDisk = r.tasks()
	if version >= 2 {
		s.ApplicationServer = r.string()
	}
	if r.err != nil {
		return r.err
	}
	// A version this reader knows has no fields beyond these; a newer one
	// may.
	if version <= subscriptionVersion && len(r.b) > 0 {
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

func (r *reader) string() string {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = errShort
	}
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
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
