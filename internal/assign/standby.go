package assign

import (
	"slices"
	"strings"
)

// assignStandbys places n standby replicas of each of tasks, the stateful
// ones, after the active tasks were assigned (active: member id => tasks).
// A task's copies, active and standbys, are each on a process of their own:
// a standby on the active's process would die with it. So a task gets at
// most one standby fewer than there are processes.
//
// Each standby goes to the member, among those of the processes the task
// has no copy on yet, with the fewest tasks so far (active and standby
// alike, so that standbys spread over the least busy members), then whose
// process has the task's state on disk (its standby or former active is
// nearly caught up), then that comes first after the active's member in the
// ring of members sorted by id: neighbours take turns, where lowest id first
// would heap the standbys of equally loaded members on the first of them.
// The same input gives the same placement. Warm-up replicas (warm: member
// id => tasks) are copies too: a standby never shares a process with one,
// and they count as load. The result has an entry, possibly empty, for
// every member; each entry is sorted.
func assignStandbys(tasks []TaskID, members []member, active, warm map[string][]TaskID, n int) map[string][]TaskID {
	out := make(map[string][]TaskID, len(members))
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.id, b.id) })
	for _, m := range ms {
		out[m.id] = []TaskID{}
	}
	procs := make(map[string]bool)
	for _, m := range ms {
		procs[m.process] = true
	}
	n = min(n, len(procs)-1)
	if n <= 0 || len(tasks) == 0 {
		return out
	}

	load := make([]int, len(ms))
	activeAt := make(map[TaskID]int)
	warmAt := make(map[TaskID][]string) // task => processes warming it up
	disk := make(map[string]map[TaskID]bool)
	for i, m := range ms {
		load[i] = len(active[m.id]) + len(warm[m.id])
		for _, t := range warm[m.id] {
			warmAt[t] = append(warmAt[t], m.process)
		}
		for _, t := range active[m.id] {
			activeAt[t] = i
		}
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

	tasks = normalize(slices.Clone(tasks))
	used := make(map[string]bool, len(procs))
	for _, t := range tasks {
		clear(used)
		at, ok := activeAt[t]
		if ok {
			used[ms[at].process] = true
		} else {
			at = len(ms) - 1
		}
		for _, p := range warmAt[t] {
			used[p] = true
		}
		for range n {
			best := -1
			// Visiting the ring from the active's successor on, a later
			// member wins only by load or state on disk.
			for k := 1; k <= len(ms); k++ {
				i := (at + k) % len(ms)
				m := ms[i]
				if used[m.process] {
					continue
				}
				if best < 0 || load[i] < load[best] ||
					(load[i] == load[best] && disk[m.process][t] && !disk[ms[best].process][t]) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			used[ms[best].process] = true
			load[best]++
			out[ms[best].id] = append(out[ms[best].id], t)
		}
	}
	return out
}

// hostsOf lists the processes that advertise an application server, with
// the tasks their members run and keep as standbys, sorted by server. Two
// processes advertising one server (a mistake) are merged.
func hostsOf(members []member, active, standby map[string][]TaskID) []Host {
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.id, b.id) })
	server := make(map[string]string) // process => server
	for _, m := range ms {
		if m.server != "" && server[m.process] == "" {
			server[m.process] = m.server
		}
	}
	byServer := make(map[string]*Host)
	for _, m := range ms {
		s := server[m.process]
		if s == "" {
			continue
		}
		h := byServer[s]
		if h == nil {
			h = &Host{Server: s}
			byServer[s] = h
		}
		h.Active = append(h.Active, active[m.id]...)
		h.Standby = append(h.Standby, standby[m.id]...)
	}
	hosts := make([]Host, 0, len(byServer))
	for _, h := range byServer {
		h.Active = normalize(h.Active)
		h.Standby = normalize(h.Standby)
		hosts = append(hosts, *h)
	}
	slices.SortFunc(hosts, func(a, b Host) int { return strings.Compare(a.Server, b.Server) })
	return hosts
}
