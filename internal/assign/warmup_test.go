package assign

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func lagsOf(lag int64, tasks ...TaskID) []TaskLag {
	var ls []TaskLag
	for _, t := range tasks {
		ls = append(ls, TaskLag{Task: t, Lag: lag})
	}
	return ls
}

// balanceWarm is the leader's balance of stateful tasks with warm-ups.
func balanceWarm(tasks []TaskID, ms []member, acceptable int64, maxWarm int) (active, warm map[string][]TaskID) {
	active = assign(tasks, ms)
	warm = warmUp(tasks, ms, active, nil, acceptable, maxWarm)
	return active, warm
}

func TestWarmUpScaleOut(t *testing.T) {
	// p0 ran every task until now; p1 joins empty. Nothing moves to p1
	// before it caught up: it warms two tasks up, of those the balance
	// would give it.
	tasks := grid(1, 6)
	ms := spread(2, 1)
	ms[0].lags = lagsOf(0, tasks...)
	ms[0].onDisk = tasks
	balanced := assign(tasks, ms)
	active, warm := balanceWarm(tasks, ms, 10_000, 2)
	checkValidBalanced(t, tasks, active, false)
	if !slices.Equal(active["m0-0"], tasks) || len(active["m1-0"]) != 0 {
		t.Fatalf("active %v, want every task kept on m0-0", active)
	}
	if len(warm["m1-0"]) != 2 || !isSubset(warm["m1-0"], balanced["m1-0"]) {
		t.Fatalf("warm-ups %v, want two of m1-0's balanced share %v", warm, balanced["m1-0"])
	}

	// Each round p1 catches up on its warm-ups, which then move; it
	// never runs a task it has not caught up on, and in a few rounds the
	// assignment is balanced with nothing left to warm up.
	// As the runtime does, each member reports lag 0 for the tasks it ran
	// and the measured lag for the warm-ups it keeps, nothing else.
	for round := 1; len(warm) > 0; round++ {
		if round > 3 {
			t.Fatalf("still warming up after %d rounds: %v", round, warm)
		}
		for i := range ms {
			ms[i].lags = append(lagsOf(0, active[ms[i].id]...), lagsOf(40, warm[ms[i].id]...)...)
		}
		ms[1].onDisk = append(ms[1].onDisk, warm["m1-0"]...)
		caught := append(slices.Clone(active["m1-0"]), warm["m1-0"]...)
		active, warm = balanceWarm(tasks, ms, 10_000, 2)
		checkValidBalanced(t, tasks, active, false)
		if !isSubset(active["m1-0"], caught) {
			t.Fatalf("round %d: m1-0 runs %v, not all caught up (%v)", round, active["m1-0"], caught)
		}
	}
	checkValid(t, tasks, active)
}

func TestWarmUpLagThreshold(t *testing.T) {
	// A copy further behind than the acceptable lag is not caught up:
	// p1's lag of 20,000 does not hold the task back from p2.
	tasks := []TaskID{{0, 0}}
	ms := spread(3, 1)
	ms[0].lags = lagsOf(20_000, tasks...)
	ms[1].lags = lagsOf(20_000, tasks...)
	want := assign(tasks, ms)
	active, warm := balanceWarm(tasks, ms, 10_000, 2)
	if !maps.EqualFunc(active, want, slices.Equal) || len(warm) != 0 {
		t.Fatalf("active %v, warm-ups %v; want the balanced %v and none", active, warm, want)
	}
	// At 10,000 it is.
	ms[0].lags = lagsOf(10_000, tasks...)
	active, _ = balanceWarm(tasks, ms, 10_000, 2)
	if !slices.Equal(active["m0-0"], tasks) {
		t.Fatalf("active %v, want the task on m0-0, 10,000 behind", active)
	}
}

func TestWarmUpFailover(t *testing.T) {
	// p0 died; p1 keeps a standby of task 0_0 close behind; p2 has
	// nothing. The task goes to p1 wherever the balance put it, the
	// smallest lag winning among caught-up copies.
	tasks := grid(1, 3)
	ms := spread(3, 1)[1:]
	ms = append(ms, member{id: "m3-0", process: "p3"})
	ms[0].lags = lagsOf(7, TaskID{0, 0})
	ms[2].lags = lagsOf(9, TaskID{0, 0})
	active, warm := balanceWarm(tasks, ms, 10_000, 2)
	if !slices.Contains(active["m1-0"], TaskID{0, 0}) {
		t.Fatalf("active %v, want 0_0 on m1-0, the closest copy", active)
	}
	standby := assignStandbys(tasks, ms, active, warm, 1)
	checkStandbys(t, tasks, ms, active, standby, warm, 1)
}

func TestWarmUpNoLags(t *testing.T) {
	// Members that report no lags get the balanced assignment.
	tasks := grid(2, 4)
	ms := spread(3, 2)
	want := assign(tasks, ms)
	active, warm := balanceWarm(tasks, ms, 10_000, 2)
	if !reflect.DeepEqual(active, want) || len(warm) != 0 {
		t.Fatalf("active %v, warm-ups %v; want %v and none", active, warm, want)
	}
}

func TestWarmUpEncodedAndLimited(t *testing.T) {
	subs := []Subtopology{{ID: 0, SourceTopics: []string{"in"}, Stateful: true}}
	parts := map[string]int32{"in": 8}
	all := tasksFor(subs, parts)
	old := newTestBalancer(t, Config{Subtopologies: subs, ProcessID: "old", TaskLags: func() []TaskLag { return lagsOf(0, all...) }, StateOnDisk: func() []TaskID { return all }, MaxWarmups: 3})
	got := map[string]Assignment{}
	newcomer := newTestBalancer(t, Config{Subtopologies: subs, ProcessID: "new", Assigned: func(a Assignment) { got["new"] = a }})
	plan := balance(t, old, []kmsg.JoinGroupResponseMember{joinMember("m-new", newcomer, nil, 1), joinMember("m-old", old, nil, 1)}, parts)
	for _, sa := range plan.IntoSyncAssignment() {
		if sa.MemberID == "m-new" {
			if _, err := newcomer.ParseSyncAssignment(sa.MemberAssignment); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := got["new"]
	if len(a.Active) != 0 || len(a.Warmup) != 3 || len(plan.Tasks("m-old")) != 8 {
		t.Fatalf("newcomer got %+v, old runs %v; want three warm-ups (the leader's MaxWarmups) and nothing active", a, plan.Tasks("m-old"))
	}
}

func isSubset(sub, of []TaskID) bool {
	for _, t := range sub {
		if !slices.Contains(of, t) {
			return false
		}
	}
	return true
}

func TestWarmUpMovesStatelessTasksFirst(t *testing.T) {
	// The instance that ran everything reports every task caught up, the
	// stateless ones too; a newcomer takes the stateless tasks, which move
	// for free, and nothing needs warming up.
	subs := []Subtopology{
		{ID: 0, SourceTopics: []string{"lines"}},
		{ID: 1, SourceTopics: []string{"words"}, Stateful: true},
	}
	parts := map[string]int32{"lines": 4, "words": 4}
	all := tasksFor(subs, parts)
	old := newTestBalancer(t, Config{Subtopologies: subs, ProcessID: "old", TaskLags: func() []TaskLag { return lagsOf(0, all...) }, AcceptableRecoveryLag: DefaultAcceptableRecoveryLag})
	newcomer := newTestBalancer(t, Config{Subtopologies: subs, ProcessID: "new"})
	plan := balance(t, old, []kmsg.JoinGroupResponseMember{joinMember("m-new", newcomer, nil, 1), joinMember("m-old", old, nil, 1)}, parts)
	if want := all[4:]; !slices.Equal(plan.Tasks("m-old"), want) || !slices.Equal(plan.Tasks("m-new"), all[:4]) {
		t.Errorf("old runs %v, new %v; want the stateful %v on old", plan.Tasks("m-old"), plan.Tasks("m-new"), want)
	}
	if w := plan.Warmups("m-new"); len(w) != 0 {
		t.Errorf("warm-ups %v, want none", w)
	}
}

// A task whose changelogs hold no more than the acceptable lag needs no
// warm-up: a process without a copy restores at most that much, so the
// task moves to it at once, in the same rebalance, as Kafka Streams counts
// a whole changelog as the lag of a process without the task. A task with
// more still warms up first.
func TestWarmUpNotNeededForShortChangelogs(t *testing.T) {
	tasks := grid(1, 6)
	ms := spread(2, 1)
	ms[0].lags = lagsOf(0, tasks...)
	ms[0].onDisk = tasks
	balanced := assign(tasks, ms)
	ends := map[TaskID]int64{}
	for _, tk := range tasks {
		ends[tk] = 10_000
	}
	active := assign(tasks, ms)
	if warm := warmUp(tasks, ms, active, ends, 10_000, 2); len(warm) != 0 {
		t.Fatalf("warm-ups %v for changelogs of at most the acceptable lag", warm)
	}
	if !maps.EqualFunc(active, balanced, slices.Equal) {
		t.Fatalf("active %v, want the balanced %v", active, balanced)
	}
	long := balanced["m1-0"][0]
	ends[long] = 10_001
	active = assign(tasks, ms)
	warm := warmUp(tasks, ms, active, ends, 10_000, 2)
	if !slices.Equal(warm["m1-0"], []TaskID{long}) || !slices.Contains(active["m0-0"], long) {
		t.Fatalf("active %v, warm-ups %v; want %v kept on m0-0 and warmed up on m1-0", active, warm, long)
	}
}
