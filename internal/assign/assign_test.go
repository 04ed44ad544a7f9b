package assign

import (
	"fmt"
	"maps"
	"slices"
	"testing"
)

func grid(subs, parts int) []TaskID {
	var ts []TaskID
	for s := range subs {
		for p := range parts {
			ts = append(ts, TaskID{Subtopology: s, Partition: int32(p)})
		}
	}
	return ts
}

func fresh(n int) []member {
	ms := make([]member, n)
	for i := range ms {
		ms[i] = member{id: fmt.Sprintf("m%d", i), process: fmt.Sprintf("p%d", i)}
	}
	return ms
}

// withOwned sets each member's owned tasks from a previous assignment.
func withOwned(ms []member, prev map[string][]TaskID, gen int32) []member {
	out := slices.Clone(ms)
	for i := range out {
		out[i].owned = prev[out[i].id]
		out[i].generation = gen
	}
	return out
}

// checkValid fails unless every task went to exactly one member and loads
// differ by at most one.
func checkValid(t *testing.T, tasks []TaskID, got map[string][]TaskID) {
	t.Helper()
	checkValidBalanced(t, tasks, got, true)
}

// checkValidBalanced is checkValid, checking the balance only if balanced:
// a task kept where its state is caught up (warmUp) may unbalance the
// loads until its warm-up is done.
func checkValidBalanced(t *testing.T, tasks []TaskID, got map[string][]TaskID, balanced bool) {
	t.Helper()
	seen := make(map[TaskID]string)
	lo, hi := len(tasks), 0
	for id, ts := range got {
		for _, task := range ts {
			if other, ok := seen[task]; ok {
				t.Fatalf("task %v given to %s and %s", task, other, id)
			}
			seen[task] = id
		}
		lo, hi = min(lo, len(ts)), max(hi, len(ts))
	}
	if len(seen) != len(tasks) {
		t.Fatalf("assigned %d of %d tasks: %v", len(seen), len(tasks), got)
	}
	if balanced && hi-lo > 1 {
		t.Fatalf("unbalanced: loads from %d to %d: %v", lo, hi, got)
	}
}

// moved counts tasks taken from a member that is still in next.
func moved(prev, next map[string][]TaskID) int {
	owner := make(map[TaskID]string)
	for id, ts := range prev {
		for _, t := range ts {
			owner[t] = id
		}
	}
	n := 0
	for id, ts := range next {
		for _, t := range ts {
			o, ok := owner[t]
			if _, stays := next[o]; ok && stays && o != id {
				n++
			}
		}
	}
	return n
}

func TestAssignBalanced(t *testing.T) {
	for _, tc := range []struct{ members, subs, parts int }{
		{1, 2, 4}, {2, 2, 4}, {3, 2, 4}, {5, 2, 4},
		{3, 1, 1}, {4, 3, 7}, {9, 2, 4}, {2, 0, 0},
	} {
		t.Run(fmt.Sprintf("%dm_%dx%d", tc.members, tc.subs, tc.parts), func(t *testing.T) {
			tasks := grid(tc.subs, tc.parts)
			got := assign(tasks, fresh(tc.members))
			if len(got) != tc.members {
				t.Fatalf("plan has %d members, want %d", len(got), tc.members)
			}
			checkValid(t, tasks, got)
			// A fresh assignment also spreads each subtopology.
			for s := range tc.subs {
				lo, hi := tc.parts, 0
				for _, ts := range got {
					n := 0
					for _, task := range ts {
						if task.Subtopology == s {
							n++
						}
					}
					lo, hi = min(lo, n), max(hi, n)
				}
				if hi-lo > 1 {
					t.Errorf("subtopology %d spread from %d to %d: %v", s, lo, hi, got)
				}
			}
		})
	}
}

func TestAssignStickyOnJoin(t *testing.T) {
	for _, tc := range []struct{ from, to int }{{1, 2}, {2, 3}, {3, 5}, {4, 5}} {
		t.Run(fmt.Sprintf("%d_to_%d", tc.from, tc.to), func(t *testing.T) {
			tasks := grid(2, 4)
			prev := assign(tasks, fresh(tc.from))
			next := assign(tasks, withOwned(fresh(tc.to), prev, 1))
			checkValid(t, tasks, next)
			// Only what the new members get moves; the old members keep
			// a subset of what they had.
			want := 0
			for i := tc.from; i < tc.to; i++ {
				want += len(next[fmt.Sprintf("m%d", i)])
			}
			if got := moved(prev, next); got != want {
				t.Errorf("moved %d tasks, want %d\nprev %v\nnext %v", got, want, prev, next)
			}
		})
	}
}

func TestAssignStickyOnLeave(t *testing.T) {
	for _, tc := range []struct{ from, to int }{{2, 1}, {3, 2}, {5, 3}, {5, 4}} {
		t.Run(fmt.Sprintf("%d_to_%d", tc.from, tc.to), func(t *testing.T) {
			tasks := grid(2, 4)
			prev := assign(tasks, fresh(tc.from))
			next := assign(tasks, withOwned(fresh(tc.to), prev, 1))
			checkValid(t, tasks, next)
			if got := moved(prev, next); got != 0 {
				t.Errorf("moved %d tasks among remaining members, want 0\nprev %v\nnext %v", got, prev, next)
			}
		})
	}
}

func TestAssignStateOnDisk(t *testing.T) {
	tasks := grid(2, 4)
	t.Run("fresh", func(t *testing.T) {
		ms := fresh(2)
		ms[1].onDisk = grid(1, 4) // m1's process holds subtopology 0
		got := assign(tasks, ms)
		if want := grid(1, 4); !slices.Equal(got["m1"], want) {
			t.Errorf("m1 got %v, want %v", got["m1"], want)
		}
	})
	t.Run("restarted thread", func(t *testing.T) {
		// b0 of process pb restarts as b1: new member id, nothing owned,
		// but the state it had is on disk. It gets its tasks back.
		ms := []member{{id: "a0", process: "pa"}, {id: "b0", process: "pb"}}
		prev := assign(tasks, ms)
		ms = []member{
			{id: "a0", process: "pa", owned: prev["a0"], generation: 1},
			{id: "b1", process: "pb", onDisk: prev["b0"]},
		}
		got := assign(tasks, ms)
		if !slices.Equal(got["b1"], prev["b0"]) {
			t.Errorf("b1 got %v, want b0's %v", got["b1"], prev["b0"])
		}
	})
	t.Run("other thread of the process", func(t *testing.T) {
		// b owned subtopology 1 and left; b2, a thread of the same
		// process, sees its state on disk and takes what room allows.
		ms := []member{
			{id: "a", process: "pa", owned: grid(1, 4), generation: 1},
			{id: "b2", process: "pb", onDisk: tasks[4:]},
			{id: "c", process: "pc"},
		}
		got := assign(tasks, ms)
		checkValid(t, tasks, got)
		if want := tasks[4:7]; !slices.Equal(got["b2"], want) {
			t.Errorf("b2 got %v, want %v", got["b2"], want)
		}
		if len(got["a"]) != 3 {
			t.Errorf("a kept %v, want 3 of its tasks", got["a"])
		}
	})
	t.Run("previous owner wins", func(t *testing.T) {
		ms := fresh(2)
		prev := assign(tasks, ms)
		ms = withOwned(ms, prev, 1)
		ms[1].onDisk = prev["m0"] // stale copies in m1's process
		got := assign(tasks, ms)
		if !maps.EqualFunc(got, prev, slices.Equal) {
			t.Errorf("got %v, want unchanged %v", got, prev)
		}
	})
}

func TestAssignConflictingClaims(t *testing.T) {
	tasks := grid(1, 2)
	both := []TaskID{{0, 0}, {0, 1}}
	for _, tc := range []struct {
		name   string
		genA   int32
		genB   int32
		winner string
	}{
		{"newer generation wins", 3, 5, "b"},
		{"older claim loses", 5, 3, "a"},
		{"tie to lower id", 4, 4, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := []member{
				{id: "a", process: "pa", owned: both, generation: tc.genA},
				{id: "b", process: "pb", owned: both, generation: tc.genB},
				{id: "c", process: "pc"},
			}
			got := assign(tasks, ms)
			checkValid(t, tasks, got)
			if len(got[tc.winner]) != 1 {
				t.Errorf("winner %s got %v; plan %v", tc.winner, got[tc.winner], got)
			}
		})
	}
}

func TestAssignIgnoresUnknownTasks(t *testing.T) {
	tasks := grid(1, 2)
	ms := fresh(2)
	ms[0].owned = []TaskID{{0, 0}, {0, 7}, {9, 0}}
	ms[1].onDisk = []TaskID{{5, 5}}
	got := assign(tasks, ms)
	checkValid(t, tasks, got)
	if !slices.Equal(got["m0"], []TaskID{{0, 0}}) {
		t.Errorf("m0 got %v", got["m0"])
	}
}

func TestAssignDeterministic(t *testing.T) {
	tasks := grid(3, 5)
	ms := []member{
		{id: "x", process: "p1", owned: []TaskID{{0, 0}, {1, 1}, {2, 2}, {0, 3}}, generation: 2},
		{id: "y", process: "p1", onDisk: []TaskID{{0, 1}, {2, 4}}},
		{id: "z", process: "p2", owned: []TaskID{{0, 0}, {1, 4}}, generation: 2},
		{id: "w", process: "p3"},
	}
	want := assign(tasks, ms)
	for i := range 50 {
		shuffled := slices.Clone(ms)
		// Rotate, and reverse on odd rounds, so members arrive in many orders.
		shuffled = append(shuffled[i%len(ms):], shuffled[:i%len(ms)]...)
		if i%2 == 1 {
			slices.Reverse(shuffled)
		}
		rt := slices.Clone(tasks)
		slices.Reverse(rt)
		if got := assign(rt, shuffled); !maps.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("round %d: got %v, want %v", i, got, want)
		}
	}
}
