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
// process at a time. Version 2 appended the application server, version 3
// the task lags.
const subscriptionVersion = 3

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
	// Lags are how many changelog records the process's copy of each task
	// trails by, for the tasks it knows: 0 for those it ran as active
	// until this rebalance, the measured lag for its standbys; a task
	// missing has no copy known to be close (KIP-441's task lags, which
	// decide where warm-up replicas go). Sorted by task. Since version 3.
	Lags []TaskLag
}

// TaskLag is the lag of a process's copy of one task.
type TaskLag struct {
	Task TaskID
	Lag  int64
}

// AppendTo appends the encoding of s to dst:
//
//	version      byte (1)
//	process id   uvarint length, bytes
//	owned        uvarint count, then per task varint subtopology, varint partition
//	state        as owned
//	server       uvarint length, bytes (version 2)
//	lags         uvarint count, then per task varint subtopology, varint
//	             partition, uvarint lag (version 3)
func (s Subscription) AppendTo(dst []byte) []byte {
	dst = append(dst, subscriptionVersion)
	dst = appendString(dst, s.ProcessID)
	dst = appendTasks(dst, s.Owned)
	dst = appendTasks(dst, s.StateOnDisk)
	dst = appendString(dst, s.ApplicationServer)
	dst = binary.AppendUvarint(dst, uint64(len(s.Lags)))
	for _, l := range s.Lags {
		dst = binary.AppendVarint(dst, int64(l.Task.Subtopology))
		dst = binary.AppendVarint(dst, int64(l.Task.Partition))
		dst = binary.AppendUvarint(dst, uint64(max(l.Lag, 0)))
	}
	return dst
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
	if version >= 3 {
		s.Lags = r.lags()
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

func (r *reader) lags() []TaskLag {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	// Each lag takes at least three bytes.
	if n > uint64(len(r.b))/3 {
		r.err = errShort
		return nil
	}
	if n == 0 {
		return nil
	}
	lags := make([]TaskLag, 0, n)
	for range n {
		sub, part := r.varint(), r.varint()
		lag := r.uvarint()
		if r.err != nil {
			return nil
		}
		if sub < 0 || sub > math.MaxInt32 || part < 0 || part > math.MaxInt32 || lag > math.MaxInt64 {
			r.err = fmt.Errorf("lag of task %d_%d out of range", sub, part)
			return nil
		}
		lags = append(lags, TaskLag{Task: TaskID{Subtopology: int(sub), Partition: int32(part)}, Lag: int64(lag)})
	}
	return lags
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
