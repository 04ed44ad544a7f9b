package assign

import (
	"cmp"
	"slices"
	"strings"
)

// member is one group member as the assignment sees it.
type member struct {
	id         string
	process    string
	generation int32 // the generation its owned tasks come from
	owned      []TaskID
	holds      []TaskID // tasks of the partitions kgo says it owns
	onDisk     []TaskID
	server     string // application server, for query routing
	lags       []TaskLag
}

// assign distributes tasks over members by the rules in the package doc. The
// result has an entry, possibly empty, for every member; each entry is sorted.
// Members must have distinct ids.
func assign(tasks []TaskID, members []member) map[string][]TaskID {
	return assignLagged(tasks, members, DefaultAcceptableRecoveryLag)
}

// assignLagged is assign with rule 2 preceded by one for the processes
// that reported a lag of at most acceptable for a task (see
// Subscription.Lags): the task goes to the least loaded member with room
// among those of the smallest lag. Its balance places the tasks that can
// move without a restore first, so that warmUp, which keeps the others
// where they are caught up, sees the same targets from one rebalance to
// the next, and a warm-up, once caught up, is where its task goes.
func assignLagged(tasks []TaskID, members []member, acceptable int64) map[string][]TaskID {
	out := make(map[string][]TaskID, len(members))
	if len(members) == 0 {
		return out
	}
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.id, b.id) })
	for _, m := range ms {
		out[m.id] = []TaskID{}
	}
	tasks = normalize(slices.Clone(tasks))

	st := state{
		lo:      len(tasks) / len(ms),
		extras:  len(tasks) % len(ms),
		owner:   make(map[TaskID]int, len(tasks)),
		load:    make([]int, len(ms)),
		subLoad: make([]map[int]int, len(ms)),
	}
	for i := range ms {
		st.subLoad[i] = make(map[int]int)
	}
	exists := make(map[TaskID]bool, len(tasks))
	for _, t := range tasks {
		exists[t] = true
	}

	// Rule 1: previous owners. A task claimed twice goes to the claim of
	// the newer generation (the other is a zombie's memory); on a tie to
	// the lower member id.
	claimant := make(map[TaskID]int)
	for i, m := range ms {
		for _, t := range m.owned {
			if !exists[t] {
				continue
			}
			if j, ok := claimant[t]; !ok || m.generation > ms[j].generation {
				claimant[t] = i
			}
		}
	}
	kept := make([][]TaskID, len(ms))
	for t, i := range claimant {
		kept[i] = append(kept[i], t)
	}
	for i := range kept {
		// Keeping tasks in partition-major order interleaves subtopologies,
		// so a member that must give some up keeps a spread of them.
		slices.SortFunc(kept[i], func(a, b TaskID) int {
			if c := cmp.Compare(a.Partition, b.Partition); c != 0 {
				return c
			}
			return cmp.Compare(a.Subtopology, b.Subtopology)
		})
	}
	// Everyone first keeps up to the floor; only then may owners beyond it
	// keep one more, while the members allowed above the floor last.
	for i := range ms {
		for len(kept[i]) > 0 && st.load[i] < st.lo {
			st.give(i, kept[i][0])
			kept[i] = kept[i][1:]
		}
	}
	for i := range ms {
		if len(kept[i]) > 0 && st.extras > 0 {
			st.give(i, kept[i][0])
		}
	}

	// Rule 2a: caught up, by reported lags.
	lags := make(map[string]map[TaskID]int64)
	for _, m := range ms {
		for _, tl := range m.lags {
			if tl.Lag > acceptable {
				continue
			}
			l := lags[m.process]
			if l == nil {
				l = make(map[TaskID]int64)
				lags[m.process] = l
			}
			if old, ok := l[tl.Task]; !ok || tl.Lag < old {
				l[tl.Task] = tl.Lag
			}
		}
	}
	if len(lags) > 0 {
		for _, t := range tasks {
			if _, ok := st.owner[t]; ok {
				continue
			}
			least := int64(-1)
			for _, m := range ms {
				if l, ok := lags[m.process][t]; ok && (least < 0 || l < least) {
					least = l
				}
			}
			if least < 0 {
				continue
			}
			if i := st.best(t, func(i int) bool { l, ok := lags[ms[i].process][t]; return ok && l == least }); i >= 0 {
				st.give(i, t)
			} else if i := st.best(t, func(i int) bool { _, ok := lags[ms[i].process][t]; return ok }); i >= 0 {
				st.give(i, t)
			}
		}
	}

	// Rule 2: state on disk. A process that owned a task has its state too.
	disk := make(map[string]map[TaskID]bool)
	for _, m := range ms {
		d := disk[m.process]
		if d == nil {
			d = make(map[TaskID]bool)
			disk[m.process] = d
		}
		for _, t := range m.onDisk {
			d[t] = true
		}
		for _, t := range m.owned {
			d[t] = true
		}
	}
	for _, t := range tasks {
		if _, ok := st.owner[t]; ok {
			continue
		}
		if i := st.best(t, func(i int) bool { return disk[ms[i].process][t] }); i >= 0 {
			st.give(i, t)
		}
	}

	// Rule 3: least loaded. While tasks remain, some member is below the
	// floor or at it with an extra left, so best always finds one.
	for _, t := range tasks {
		if _, ok := st.owner[t]; ok {
			continue
		}
		st.give(st.best(t, func(int) bool { return true }), t)
	}

	for t, i := range st.owner {
		out[ms[i].id] = append(out[ms[i].id], t)
	}
	for id := range out {
		slices.SortFunc(out[id], TaskID.Compare)
	}
	return out
}

// state tracks loads while assigning. Members are indexes into the sorted
// member slice, so lower index means lower member id.
type state struct {
	lo      int // every member ends with lo or lo+1 tasks
	extras  int // how many more members may still go to lo+1
	owner   map[TaskID]int
	load    []int
	subLoad []map[int]int // member => subtopology => tasks
}

func (s *state) room(i int) bool {
	return s.load[i] < s.lo || (s.load[i] == s.lo && s.extras > 0)
}

func (s *state) give(i int, t TaskID) {
	if s.load[i] == s.lo {
		s.extras--
	}
	s.load[i]++
	s.subLoad[i][t.Subtopology]++
	s.owner[t] = i
}

// best returns the member with room among those ok accepts that is least
// loaded, then holds fewest tasks of t's subtopology, then has the lowest id;
// or -1.
func (s *state) best(t TaskID, ok func(int) bool) int {
	best := -1
	for i := range s.load {
		if !s.room(i) || !ok(i) {
			continue
		}
		if best < 0 || s.load[i] < s.load[best] ||
			(s.load[i] == s.load[best] && s.subLoad[i][t.Subtopology] < s.subLoad[best][t.Subtopology]) {
			best = i
		}
	}
	return best
}
