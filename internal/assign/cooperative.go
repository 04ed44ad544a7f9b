package assign

import "slices"

// withhold makes a cooperative balance safe: it takes out of active (member
// id => tasks, changed in place) every task given to a member while another
// member still holds partitions of it, and returns them by member, sorted.
//
// Under the cooperative protocol members keep consuming through a
// rebalance, so a task handed to its new owner in the rebalance that takes
// it from its old one would run on both until the old owner saw its
// assignment: two writers of one changelog, and records processed twice.
// Withheld, it belongs to no one for one generation: its old owner, whose
// assignment no longer has it, revokes it and rejoins, and in that
// rebalance it holds the task no more, so the task goes where the balance
// puts it (Kafka's cooperative rebalancing, KIP-429). Who holds what is
// what kgo reports the member owns (the owned partitions of its join
// metadata), as that is what it revokes; any other member's hold counts,
// whatever its generation, for a member that missed a generation holds its
// partitions until it learns so.
func withhold(active map[string][]TaskID, members []member) map[string][]TaskID {
	holders := make(map[TaskID][]string)
	for _, m := range members {
		for _, t := range m.holds {
			if !slices.Contains(holders[t], m.id) {
				holders[t] = append(holders[t], m.id)
			}
		}
	}
	withheld := make(map[string][]TaskID)
	for id, tasks := range active {
		kept := tasks[:0]
		for _, t := range tasks {
			if slices.ContainsFunc(holders[t], func(h string) bool { return h != id }) {
				withheld[id] = append(withheld[id], t)
				continue
			}
			kept = append(kept, t)
		}
		active[id] = kept
	}
	return withheld
}
