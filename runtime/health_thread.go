package runtime

import (
	"sync/atomic"
	"time"
)

// threadState is a stream thread's state, as Kafka Streams'
// StreamThread.State.
type threadState int32

const (
	threadCreated threadState = iota
	// threadStarting: the thread is joining the group for the first time.
	threadStarting
	// threadRevoked: the group took tasks back from the thread (all of
	// them under the eager protocol); it is rejoining.
	threadRevoked
	// threadAssigned: the thread has an assignment, and makes and restores
	// its tasks.
	threadAssigned
	// threadRunning: the thread processes its tasks.
	threadRunning
	threadPendingShutdown
	threadDead
)

func (s threadState) String() string {
	switch s {
	case threadCreated:
		return "CREATED"
	case threadStarting:
		return "STARTING"
	case threadRevoked:
		return "PARTITIONS_REVOKED"
	case threadAssigned:
		return "PARTITIONS_ASSIGNED"
	case threadRunning:
		return "RUNNING"
	case threadPendingShutdown:
		return "PENDING_SHUTDOWN"
	case threadDead:
		return "DEAD"
	}
	return "UNKNOWN"
}

// threadStatus is a thread's state and when its current rebalance began.
type threadStatus struct {
	state atomic.Int32
	// since is when the thread began to join (STARTING) or was revoked,
	// in Unix nanoseconds; 0 once assigned.
	since atomic.Int64
}

func (t *thread) threadState() threadState { return threadState(t.status.state.Load()) }

// setThreadState moves the thread to s; an assignment counts and times the
// rebalance that led to it.
func (t *thread) setThreadState(s threadState) {
	var old threadState
	for {
		old = t.threadState()
		// Once shutting down, the revocation a close makes does not
		// count: only DEAD follows.
		if old >= threadPendingShutdown && s < old {
			return
		}
		if t.status.state.CompareAndSwap(int32(old), int32(s)) {
			break
		}
	}
	switch s {
	case threadStarting, threadRevoked:
		if old != threadStarting && old != threadRevoked {
			t.status.since.Store(time.Now().UnixNano())
		}
	case threadAssigned:
		began := t.status.since.Swap(0)
		t.metrics.rebalanced(time.Duration(time.Now().UnixNano()-began), began != 0)
	}
}
