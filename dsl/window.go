package dsl

import (
	"fmt"
	"time"

	"github.com/samsa-go/samsa/serde"
)

// Windowed is a key with the window it was aggregated in: the key of a
// windowed aggregation's table (serde.Windowed, where its serdes live).
// Start and End are milliseconds; End is exclusive for TimeWindows and
// inclusive for SlidingWindows and SessionWindows.
type Windowed[K any] = serde.Windowed[K]

// TimeWindows are fixed-size windows, as Kafka Streams' TimeWindows:
// tumbling (one window per record, advance equal to size) or, with
// AdvanceBy, hopping (overlapping, so a record falls into size/advance
// windows). A window [start, start+size) includes its start and excludes
// its end; windows start at multiples of the advance from the epoch, never
// before 0.
//
// The grace period is how long after a window's end it still accepts
// records that arrive out of order: once stream time reaches end + grace
// the window is closed and later records for it are dropped as late.
type TimeWindows struct {
	size, advance, grace int64 // milliseconds
	err                  error
}

// TimeWindowsOfSizeWithNoGrace returns tumbling windows of size that close
// as soon as stream time reaches their end (Kafka Streams'
// TimeWindows.ofSizeWithNoGrace).
func TimeWindowsOfSizeWithNoGrace(size time.Duration) TimeWindows {
	return TimeWindowsOfSizeAndGrace(size, 0)
}

// TimeWindowsOfSizeAndGrace returns tumbling windows of size that accept
// records up to grace after their end (TimeWindows.ofSizeAndGrace).
func TimeWindowsOfSizeAndGrace(size, grace time.Duration) TimeWindows {
	w := TimeWindows{size: size.Milliseconds(), advance: size.Milliseconds(), grace: grace.Milliseconds()}
	switch {
	case w.size <= 0:
		w.err = fmt.Errorf("time window size %v must be at least a millisecond", size)
	case grace < 0:
		w.err = fmt.Errorf("time window grace period %v must not be negative", grace)
	}
	return w
}

// AdvanceBy makes the windows hop: a new window starts every advance,
// which must be positive and at most the size (TimeWindows.advanceBy).
func (w TimeWindows) AdvanceBy(advance time.Duration) TimeWindows {
	if w.err != nil {
		return w
	}
	w.advance = advance.Milliseconds()
	if w.advance <= 0 || w.advance > w.size {
		w.err = fmt.Errorf("time window advance %v must be at least a millisecond and at most the size %v", advance, time.Duration(w.size)*time.Millisecond)
	}
	return w
}

// Size returns the windows' size.
func (w TimeWindows) Size() time.Duration { return time.Duration(w.size) * time.Millisecond }

// Advance returns how far apart consecutive windows start.
func (w TimeWindows) Advance() time.Duration { return time.Duration(w.advance) * time.Millisecond }

// GracePeriod returns how long after its end a window accepts records.
func (w TimeWindows) GracePeriod() time.Duration { return time.Duration(w.grace) * time.Millisecond }

// firstStart returns the start of the earliest window holding ts; the
// windows holding it start there and every advance up to ts.
func (w TimeWindows) firstStart(ts int64) int64 {
	return max(0, ts-w.size+w.advance) / w.advance * w.advance
}

// SlidingWindows are windows of a fixed time difference that slide with
// the records, as Kafka Streams' SlidingWindows (KIP-450): two records
// fall into one window when their timestamps are at most the time
// difference apart. Windows include both ends, [start, start+difference],
// and only windows holding records exist: each record ends a window and,
// if later records of its key are within the difference, starts one just
// after itself. An aggregation over them emits a result per window a
// record changes or creates.
type SlidingWindows struct {
	diff, grace int64
	err         error
}

// SlidingWindowsOfTimeDifferenceWithNoGrace returns sliding windows of
// timeDifference that close as soon as stream time passes their end.
func SlidingWindowsOfTimeDifferenceWithNoGrace(timeDifference time.Duration) SlidingWindows {
	return SlidingWindowsOfTimeDifferenceAndGrace(timeDifference, 0)
}

// SlidingWindowsOfTimeDifferenceAndGrace returns sliding windows of
// timeDifference that accept records up to grace after their end
// (SlidingWindows.ofTimeDifferenceAndGrace).
func SlidingWindowsOfTimeDifferenceAndGrace(timeDifference, grace time.Duration) SlidingWindows {
	w := SlidingWindows{diff: timeDifference.Milliseconds(), grace: grace.Milliseconds()}
	switch {
	case timeDifference < 0:
		w.err = fmt.Errorf("sliding window time difference %v must not be negative", timeDifference)
	case grace < 0:
		w.err = fmt.Errorf("sliding window grace period %v must not be negative", grace)
	}
	return w
}

// TimeDifference returns the largest time between two records of one
// window.
func (w SlidingWindows) TimeDifference() time.Duration {
	return time.Duration(w.diff) * time.Millisecond
}

// GracePeriod returns how long after its end a window accepts records.
func (w SlidingWindows) GracePeriod() time.Duration { return time.Duration(w.grace) * time.Millisecond }

// SessionWindows group a key's records into sessions of activity, as Kafka
// Streams' SessionWindows: a record within the inactivity gap of a session
// joins it, one that bridges two sessions merges them, and one further
// than the gap from every session starts its own. A session [start, end]
// runs from its first record's timestamp to its last's, both included.
// Sessions never split. A session closes once stream time passes its end
// plus the grace period.
type SessionWindows struct {
	gap, grace int64
	err        error
}

// SessionWindowsOfInactivityGapWithNoGrace returns session windows with the
// given inactivity gap and no grace period.
func SessionWindowsOfInactivityGapWithNoGrace(gap time.Duration) SessionWindows {
	return SessionWindowsOfInactivityGapAndGrace(gap, 0)
}

// SessionWindowsOfInactivityGapAndGrace returns session windows with the
// given inactivity gap that accept records up to grace after a session's
// end (SessionWindows.ofInactivityGapAndGrace).
func SessionWindowsOfInactivityGapAndGrace(gap, grace time.Duration) SessionWindows {
	w := SessionWindows{gap: gap.Milliseconds(), grace: grace.Milliseconds()}
	switch {
	case w.gap <= 0:
		w.err = fmt.Errorf("session window inactivity gap %v must be at least a millisecond", gap)
	case grace < 0:
		w.err = fmt.Errorf("session window grace period %v must not be negative", grace)
	}
	return w
}

// InactivityGap returns the longest time between two records of a session.
func (w SessionWindows) InactivityGap() time.Duration { return time.Duration(w.gap) * time.Millisecond }

// GracePeriod returns how long after its end a session accepts records.
func (w SessionWindows) GracePeriod() time.Duration { return time.Duration(w.grace) * time.Millisecond }
