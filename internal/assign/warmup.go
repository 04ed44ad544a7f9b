package assign

import (
	"slices"
	"strings"
)

// Defaults of Config's warm-up settings, Kafka Streams'.
const (
	DefaultAcceptableRecoveryLag = 10_000
	DefaultMaxWarmups            = 2
)

// warmUp keeps each stateful task where a copy of its state is caught up,
// when the balanced assignment (active: member id => tasks) would give it to
// a process without one, and has that process warm a copy up instead, as
// Kafka Streams' high-availability assignor (KIP-441): no task then pauses
// for a full restore. A process is caught up on a task when it reported a
// lag of at most acceptable for it (see Subscription.Lags), or reported
// none while the task's changelogs hold at most acceptable records
// (ends, by task): a process without a copy restores at most that much,
// so the task moves there at once, as it does in Kafka Streams, whose
// leader counts a whole changelog as the lag of a process without the
// task. Members report lags only when their runtime measures them;
// without any, the balanced assignment stands.
//
// The task goes to the least loaded member of the caught-up process with
// the smallest lag (then the lowest process and member id), and while fewer
// than maxWarmups warm-ups were handed out the balanced target gets one for
// it; a task without a warm-up waits for a later rebalance to get one. The
// target moves it over in the rebalance it asks for once caught up. active
// is changed in place; the warm-ups are returned by member id, sorted.
func warmUp(tasks []TaskID, members []member, active map[string][]TaskID, ends map[TaskID]int64, acceptable int64, maxWarmups int) map[string][]TaskID {
	warm := make(map[string][]TaskID)
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.id, b.id) })
	lag := make(map[string]map[TaskID]int64) // process => task => lowest lag
	for _, m := range ms {
		l := lag[m.process]
		if l == nil {
			l = make(map[TaskID]int64)
			lag[m.process] = l
		}
		for _, tl := range m.lags {
			if old, ok := l[tl.Task]; !ok || tl.Lag < old {
				l[tl.Task] = tl.Lag
			}
		}
	}
	owner := make(map[TaskID]int)
	load := make([]int, len(ms))
	for i, m := range ms {
		load[i] = len(active[m.id])
		for _, t := range active[m.id] {
			owner[t] = i
		}
	}
	caughtUp := func(proc string, t TaskID) (int64, bool) {
		l, ok := lag[proc][t]
		if !ok {
			l, ok = ends[t]
		}
		return l, ok && l <= acceptable
	}
	n := 0
	moved := make(map[int][]TaskID) // member index => tasks taken away
	for _, t := range normalize(slices.Clone(tasks)) {
		i, ok := owner[t]
		if !ok {
			continue
		}
		if _, ok := caughtUp(ms[i].process, t); ok {
			continue
		}
		best := -1
		var bestLag int64
		for j, m := range ms {
			l, ok := caughtUp(m.process, t)
			if !ok {
				continue
			}
			if best < 0 || l < bestLag || l == bestLag && (m.process < ms[best].process || m.process == ms[best].process && load[j] < load[best]) {
				best, bestLag = j, l
			}
		}
		if best < 0 {
			continue // no copy is close: restore where the balance says
		}
		moved[i] = append(moved[i], t)
		load[i]--
		load[best]++
		active[ms[best].id] = append(active[ms[best].id], t)
		if n < maxWarmups {
			warm[ms[i].id] = append(warm[ms[i].id], t)
			n++
		}
	}
	for i, ts := range moved {
		id := ms[i].id
		active[id] = slices.DeleteFunc(active[id], func(t TaskID) bool { return slices.Contains(ts, t) })
	}
	for id := range active {
		slices.SortFunc(active[id], TaskID.Compare)
	}
	for id := range warm {
		slices.SortFunc(warm[id], TaskID.Compare)
	}
	return warm
}
