package assign

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// coopGroup plays a cooperative group as kgo runs it: members join with
// the partitions they hold, the leader balances, each member revokes what
// its new assignment lacks and keeps the rest, and a member that revoked
// anything rejoins, which is another rebalance.
type coopGroup struct {
	t     *testing.T
	gen   int32
	order []string
	bal   map[string]*Balancer
	held  map[string]map[string][]int32 // member => partitions it holds
	// disk are the tasks whose state each member's process has, all it
	// ever ran: the state outlives a task's revocation.
	disk  map[string][]TaskID
	plans []*Plan
}

func newCoopGroup(t *testing.T) *coopGroup {
	return &coopGroup{t: t, bal: map[string]*Balancer{}, held: map[string]map[string][]int32{}, disk: map[string][]TaskID{}}
}

func (g *coopGroup) join(id string, cfg Config) {
	cfg.Cooperative = true
	if cfg.ProcessID == "" {
		cfg.ProcessID = "proc-" + id
	}
	if cfg.StateOnDisk == nil {
		cfg.StateOnDisk = func() []TaskID { return g.disk[id] }
	}
	g.bal[id] = newTestBalancer(g.t, cfg)
	g.held[id] = nil
	g.order = append(g.order, id)
}

func (g *coopGroup) leave(id string) {
	delete(g.bal, id)
	delete(g.held, id)
	g.order = slices.DeleteFunc(g.order, func(s string) bool { return s == id })
}

// rebalance runs one generation and reports whether a member revoked
// anything, which makes kgo rejoin.
func (g *coopGroup) rebalance() bool {
	g.t.Helper()
	var members []kmsg.JoinGroupResponseMember
	for _, id := range g.order {
		members = append(members, joinMember(id, g.bal[id], g.held[id], g.gen))
	}
	plan := balance(g.t, g.bal[g.order[0]], members, testPartitions)
	g.gen++
	g.plans = append(g.plans, plan)

	// Nothing given to a member may be held by another one now: it keeps
	// processing until it revokes.
	holder := map[TaskID]string{}
	for id, held := range g.held {
		for _, task := range TasksOf(held, testSubs) {
			holder[task] = id
		}
	}
	revoked := false
	for _, id := range g.order {
		for _, task := range plan.Tasks(id) {
			if h, ok := holder[task]; ok && h != id {
				g.t.Fatalf("generation %d: task %v given to %s while %s holds it: %v", g.gen, task, id, h, plan)
			}
		}
		next := plan.Partitions(id)
		if len(TasksOf(g.held[id], testSubs)) > 0 && slices.ContainsFunc(TasksOf(g.held[id], testSubs), func(task TaskID) bool { return !slices.Contains(plan.Tasks(id), task) }) {
			revoked = true
		}
		g.held[id] = next
		g.disk[id] = normalize(append(g.disk[id], plan.Tasks(id)...))
	}
	// And after the revocations, no task is held twice.
	seen := map[TaskID]string{}
	for _, id := range g.order {
		for _, task := range TasksOf(g.held[id], testSubs) {
			if other, ok := seen[task]; ok {
				g.t.Fatalf("generation %d: task %v held by %s and %s", g.gen, task, other, id)
			}
			seen[task] = id
		}
	}
	return revoked
}

// settle rebalances until no member revokes anything, and returns how many
// rebalances that took.
func (g *coopGroup) settle() int {
	g.t.Helper()
	for n := 1; ; n++ {
		if !g.rebalance() {
			return n
		}
		if n > 10 {
			g.t.Fatalf("no stable assignment after %d rebalances", n)
		}
	}
}

func (g *coopGroup) tasks() map[string][]TaskID {
	out := map[string][]TaskID{}
	for _, id := range g.order {
		out[id] = TasksOf(g.held[id], testSubs)
	}
	return out
}

func TestCooperativeScaleOutTakesTwoRebalances(t *testing.T) {
	all := tasksFor(testSubs, testPartitions)
	for _, sizes := range [][2]int{{1, 2}, {2, 3}, {1, 3}, {3, 4}} {
		t.Run(fmt.Sprintf("%d to %d", sizes[0], sizes[1]), func(t *testing.T) {
			g := newCoopGroup(t)
			for i := range sizes[0] {
				g.join(fmt.Sprintf("m%d", i), Config{})
			}
			if n := g.settle(); n != 1 {
				t.Fatalf("first assignment took %d rebalances", n)
			}
			before := g.tasks()
			checkValid(t, all, before)
			for i := sizes[0]; i < sizes[1]; i++ {
				g.join(fmt.Sprintf("m%d", i), Config{})
			}
			// The first rebalance gives the new members nothing that
			// moves; the old owners revoke it and rejoin; the second
			// hands it over.
			first := len(g.plans)
			if n := g.settle(); n != 2 {
				t.Fatalf("scale-out took %d rebalances, want 2", n)
			}
			withheld := 0
			for _, id := range g.order {
				withheld += len(g.plans[first].Withheld(id))
				if got := g.plans[first+1].Withheld(id); len(got) > 0 {
					t.Errorf("second rebalance withheld %v from %s", got, id)
				}
				// Every member hears that a follow-up comes, and
				// then that none does.
				if !g.plans[first].Assignment(id).Rejoin || g.plans[first+1].Assignment(id).Rejoin {
					t.Errorf("%s told to rejoin: %v in the first rebalance, %v in the second", id, g.plans[first].Assignment(id).Rejoin, g.plans[first+1].Assignment(id).Rejoin)
				}
			}
			after := g.tasks()
			checkValid(t, all, after)
			if m := moved(before, after); withheld != m || m == 0 {
				t.Errorf("withheld %d tasks, moved %d", withheld, m)
			}
			// Tasks that stay are never taken away in between.
			for id, ts := range before {
				for _, task := range ts {
					if !slices.Contains(after[id], task) {
						continue
					}
					if !slices.Contains(g.plans[first].Tasks(id), task) {
						t.Errorf("%s kept %v but lost it in the first rebalance", id, task)
					}
				}
			}
			// The same plan as an eager balance of the same members.
			eager := make([]member, 0, len(g.order))
			for _, id := range g.order {
				eager = append(eager, member{id: id, process: "proc-" + id, owned: before[id], onDisk: before[id], generation: 1})
			}
			if want := assign(all, eager); !maps.EqualFunc(want, after, slices.Equal) {
				t.Errorf("cooperative result %v, eager %v", after, want)
			}
		})
	}
}

func TestCooperativeScaleInTakesOneRebalance(t *testing.T) {
	all := tasksFor(testSubs, testPartitions)
	g := newCoopGroup(t)
	for i := range 3 {
		g.join(fmt.Sprintf("m%d", i), Config{})
	}
	g.settle()
	before := g.tasks()
	g.leave("m1")
	// The tasks of a member gone are held by no one: they move at once,
	// and the others keep theirs.
	if n := g.settle(); n != 1 {
		t.Fatalf("scale-in took %d rebalances, want 1", n)
	}
	after := g.tasks()
	checkValid(t, all, after)
	for _, id := range []string{"m0", "m2"} {
		if !isSubset(before[id], after[id]) {
			t.Errorf("%s had %v, has %v", id, before[id], after[id])
		}
	}
}

func TestCooperativeStandbysAndStateOnDisk(t *testing.T) {
	// Three processes of stateful tasks with a standby each. One leaves
	// as a new one joins with the state of the leaver's tasks on disk: no
	// one holds those, so the new one gets them at once; then a fifth
	// joins and takes its share in two rebalances. Standbys stay off
	// their active's process all along.
	stateful := []Subtopology{
		{ID: 0, SourceTopics: []string{"orders", "customers"}, Stateful: true},
		{ID: 1, SourceTopics: []string{"app-agg-repartition"}, Stateful: true},
	}
	all := tasksFor(stateful, testPartitions)
	g := newCoopGroup(t)
	for i := range 3 {
		g.join(fmt.Sprintf("m%d", i), Config{Subtopologies: stateful, Standbys: 1})
	}
	g.settle()
	onDisk := g.tasks()["m1"]
	g.leave("m1")
	g.join("m3", Config{Subtopologies: stateful, Standbys: 1, StateOnDisk: func() []TaskID { return onDisk }})
	if n := g.settle(); n != 1 {
		t.Fatalf("replacing a member took %d rebalances, want 1", n)
	}
	if got := g.tasks()["m3"]; !slices.Equal(got, onDisk) {
		t.Errorf("m3 has %v, not %v whose state it has", got, onDisk)
	}
	g.join("m4", Config{Subtopologies: stateful, Standbys: 1})
	first := len(g.plans)
	if n := g.settle(); n != 2 {
		t.Fatalf("scale-out took %d rebalances, want 2", n)
	}
	checkValid(t, all, g.tasks())
	for _, plan := range g.plans[first:] {
		for _, id := range g.order {
			for _, task := range plan.Standbys(id) {
				for _, other := range g.order {
					if slices.Contains(plan.Tasks(other), task) || slices.Contains(plan.Withheld(other), task) {
						if g.bal[other].cfg.ProcessID == g.bal[id].cfg.ProcessID {
							t.Errorf("%s keeps a standby of %v, which %s of its process runs or gets: %v", id, task, other, plan)
						}
					}
				}
			}
		}
	}
	last := g.plans[len(g.plans)-1]
	n := 0
	for _, id := range g.order {
		n += len(last.Standbys(id))
	}
	if n != len(all) {
		t.Errorf("%d standbys for %d tasks: %v", n, len(all), last)
	}
}

func TestCooperativeWithholdsFromEveryOtherHolder(t *testing.T) {
	// Two members claim one task (one missed a generation): the task goes
	// to neither until both let go of it.
	task := TaskID{Subtopology: 0, Partition: 1}
	ms := []member{
		{id: "a", process: "pa", holds: []TaskID{task}, generation: 3},
		{id: "b", process: "pb", holds: []TaskID{task}, generation: 2},
	}
	active := map[string][]TaskID{"a": {task}, "b": {}}
	withheld := withhold(active, ms)
	if len(active["a"]) != 0 || !slices.Equal(withheld["a"], []TaskID{task}) {
		t.Errorf("active %v, withheld %v", active, withheld)
	}
	// A task its only holder keeps is not withheld.
	active = map[string][]TaskID{"a": {task}}
	if withheld := withhold(active, ms[:1]); len(withheld) != 0 || len(active["a"]) != 1 {
		t.Errorf("active %v, withheld %v", active, withheld)
	}
}

func TestEagerBalancerWithholdsNothing(t *testing.T) {
	// An eager group's members revoke everything before they join: the
	// partitions their metadata lists are what they held, not what they
	// hold, and the new owner gets a task at once.
	a := newTestBalancer(t, Config{ProcessID: "proc-a"})
	b := newTestBalancer(t, Config{ProcessID: "proc-b"})
	first := balance(t, a, []kmsg.JoinGroupResponseMember{joinMember("a", a, nil, -1)}, testPartitions)
	second := balance(t, a, []kmsg.JoinGroupResponseMember{
		joinMember("a", a, first.Partitions("a"), 1), joinMember("b", b, nil, -1),
	}, testPartitions)
	if len(second.Tasks("b")) != 4 || len(second.Withheld("b")) != 0 {
		t.Errorf("b got %v, withheld %v", second.Tasks("b"), second.Withheld("b"))
	}
}

func TestCooperativeProtocol(t *testing.T) {
	b := newTestBalancer(t, Config{ProcessID: "p", Cooperative: true})
	if !b.IsCooperative() || b.ProtocolName() != CooperativeProtocolName {
		t.Errorf("cooperative %v, protocol %q", b.IsCooperative(), b.ProtocolName())
	}
}
