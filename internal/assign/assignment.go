package assign

import (
	"encoding/binary"
	"fmt"
)

// assignmentVersion is the version of the assignment encoding this package
// writes, with the rule of subscriptionVersion: later versions only append
// fields, and a reader skips those it does not know.
// Version 2 appended the warm-up replicas, version 3 Rejoin.
const assignmentVersion = 3

// Assignment is what the leader tells a member beyond its topic partitions
// (which stand for its active tasks, see TasksOf), carried in the UserData of
// its kmsg.ConsumerMemberAssignment, as Kafka Streams' AssignmentInfo.
type Assignment struct {
	// Active are the member's active tasks, those its partitions stand
	// for: ParseSyncAssignment fills them in; they are not encoded.
	Active []TaskID
	// Standby are the tasks whose stores the member keeps warm by tailing
	// their changelogs, without processing.
	Standby []TaskID
	// Warmup are the tasks the member is to take over once its copy of
	// their stores has caught up (KIP-441's warm-up replicas): it keeps
	// them as standbys and asks for a rebalance when they are within
	// the acceptable recovery lag. Since version 2.
	Warmup []TaskID
	// Hosts are the application servers of the group's processes that
	// advertise one, sorted by server, each with the tasks its process
	// runs and keeps as standbys: what routes an interactive query to the
	// instance holding a key.
	Hosts []Host
	// Rejoin says that the balance withheld a task that moves from one
	// member to another (cooperative protocol, see withhold), so that a
	// follow-up rebalance hands it over: every member should rejoin as
	// soon as it has its assignment, rather than when its next heartbeat
	// learns of the rebalance, as the follow-up waits for all of them.
	// Since version 3.
	Rejoin bool
}

// Host is one process of the group as a query router sees it.
type Host struct {
	// Server is the process's Subscription.ApplicationServer.
	Server string
	// Active and Standby are the tasks of all members of the process,
	// sorted.
	Active, Standby []TaskID
}

// AppendTo appends the encoding of a to dst:
//
//	version      byte (1)
//	standby      uvarint count, then per task varint subtopology, varint partition
//	hosts        uvarint count, then per host:
//	               server uvarint length, bytes; active as standby; standby
//	warmup       as standby (version 2)
//	rejoin       byte, 1 if Rejoin (version 3)
func (a Assignment) AppendTo(dst []byte) []byte {
	dst = append(dst, assignmentVersion)
	dst = appendTasks(dst, a.Standby)
	dst = binary.AppendUvarint(dst, uint64(len(a.Hosts)))
	for _, h := range a.Hosts {
		dst = appendString(dst, h.Server)
		dst = appendTasks(dst, h.Active)
		dst = appendTasks(dst, h.Standby)
	}
	dst = appendTasks(dst, a.Warmup)
	if a.Rejoin {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// ReadFrom decodes src into a. Empty src, what a leader of an older version
// sends, is an empty Assignment. Errors match ErrBadAssignment.
func (a *Assignment) ReadFrom(src []byte) error {
	*a = Assignment{}
	if len(src) == 0 {
		return nil
	}
	if err := a.readFrom(src); err != nil {
		*a = Assignment{}
		return fmt.Errorf("%w: user data: %v", ErrBadAssignment, err)
	}
	return nil
}

func (a *Assignment) readFrom(src []byte) error {
	version := src[0]
	if version < 1 {
		return fmt.Errorf("unknown version %d", version)
	}
	r := reader{b: src[1:]}
	a.Standby = r.tasks()
	n := r.uvarint()
	// Each host takes at least three bytes.
	if r.err == nil && n > uint64(len(r.b))/3 {
		r.err = errShort
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		h := Host{Server: r.string()}
		h.Active = r.tasks()
		h.Standby = r.tasks()
		a.Hosts = append(a.Hosts, h)
	}
	if version >= 2 {
		a.Warmup = r.tasks()
	}
	if version >= 3 && r.err == nil {
		if len(r.b) == 0 {
			r.err = errShort
		} else {
			a.Rejoin = r.b[0] == 1
			r.b = r.b[1:]
		}
	}
	if r.err != nil {
		return r.err
	}
	if version <= assignmentVersion && len(r.b) > 0 {
		return fmt.Errorf("%d trailing bytes", len(r.b))
	}
	return nil
}
