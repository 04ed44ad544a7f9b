package dsl

import (
	"fmt"
	"time"
)

// JoinWindows says which records of two streams join, as Kafka Streams'
// JoinWindows: a record of this stream at time t joins the records of the
// other stream, with the same key, from t - before to t + after, both
// included. By default before and after are the same time difference.
//
// The grace period is how long past a window its records still join
// records that arrive out of order. A record of a left or outer join that
// found no partner is emitted, joined with nothing, only once its window
// closed: when stream time passes its time + after + grace (a record of
// the other stream: + before + grace). So a left join emits no early
// [A, null] that a partner arriving in time would contradict. Each side's
// records are kept for before + after + grace.
type JoinWindows struct {
	before, after, grace int64 // milliseconds
	err                  error
}

// JoinWindowsOfTimeDifferenceWithNoGrace joins records at most
// timeDifference apart, closing windows as soon as stream time passes
// them (Kafka Streams' JoinWindows.ofTimeDifferenceWithNoGrace).
func JoinWindowsOfTimeDifferenceWithNoGrace(timeDifference time.Duration) JoinWindows {
	return JoinWindowsOfTimeDifferenceAndGrace(timeDifference, 0)
}

// JoinWindowsOfTimeDifferenceAndGrace joins records at most
// timeDifference apart, accepting records up to grace late
// (JoinWindows.ofTimeDifferenceAndGrace).
func JoinWindowsOfTimeDifferenceAndGrace(timeDifference, grace time.Duration) JoinWindows {
	d := timeDifference.Milliseconds()
	w := JoinWindows{before: d, after: d, grace: grace.Milliseconds()}
	switch {
	case d < 0:
		w.err = fmt.Errorf("join window time difference %v must not be negative", timeDifference)
	case grace < 0:
		w.err = fmt.Errorf("join window grace period %v must not be negative", grace)
	}
	return w
}

// Before sets how long before a record of this stream the other stream's
// records join it (JoinWindows.before). It may be negative, as long as
// after is not smaller than -before.
func (w JoinWindows) Before(d time.Duration) JoinWindows {
	w.before = d.Milliseconds()
	return w
}

// After sets how long after a record of this stream the other stream's
// records join it (JoinWindows.after).
func (w JoinWindows) After(d time.Duration) JoinWindows {
	w.after = d.Milliseconds()
	return w
}

// BeforeDuration returns how long before a record its partners may be.
func (w JoinWindows) BeforeDuration() time.Duration {
	return time.Duration(w.before) * time.Millisecond
}

// AfterDuration returns how long after a record its partners may be.
func (w JoinWindows) AfterDuration() time.Duration { return time.Duration(w.after) * time.Millisecond }

// GracePeriod returns the grace period.
func (w JoinWindows) GracePeriod() time.Duration { return time.Duration(w.grace) * time.Millisecond }

// size is the window size of the join's stores: the span a record joins.
func (w JoinWindows) size() int64 { return w.before + w.after }

func (w JoinWindows) check() error {
	if w.err != nil {
		return w.err
	}
	if w.before+w.after < 0 {
		return fmt.Errorf("join windows from %v before to %v after are empty", w.BeforeDuration(), w.AfterDuration())
	}
	return nil
}
