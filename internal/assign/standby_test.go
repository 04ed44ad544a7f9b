package assign

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// spread makes threads members on each of procs processes.
func spread(procs, threads int) []member {
	var ms []member
	for p := range procs {
		for th := range threads {
			ms = append(ms, member{id: fmt.Sprintf("m%d-%d", p, th), process: fmt.Sprintf("p%d", p)})
		}
	}
	return ms
}

// checkStandbys fails unless every task has want standbys, each on a
// process of its own that is not its active's nor one warming it up.
func checkStandbys(t *testing.T, tasks []TaskID, ms []member, active, standby, warm map[string][]TaskID, want int) {
	t.Helper()
	proc := map[string]string{}
	for _, m := range ms {
		proc[m.id] = m.process
	}
	copies := map[TaskID]map[string]string{} // task => process => member
	for id, ts := range active {
		for _, task := range ts {
			copies[task] = map[string]string{proc[id]: id}
		}
	}
	warmOn := map[TaskID]map[string]bool{}
	for id, ts := range warm {
		for _, task := range ts {
			if _, ok := copies[task][proc[id]]; ok {
				t.Fatalf("task %v: warm-up on %s shares process %s with its active", task, id, proc[id])
			}
			if warmOn[task] == nil {
				warmOn[task] = map[string]bool{}
			}
			warmOn[task][proc[id]] = true
		}
	}
	for id, ts := range standby {
		if !slices.IsSortedFunc(ts, TaskID.Compare) {
			t.Fatalf("standbys of %s not sorted: %v", id, ts)
		}
		for _, task := range ts {
			if warmOn[task][proc[id]] {
				t.Fatalf("task %v: standby on %s shares process %s with a warm-up", task, id, proc[id])
			}
			if other, ok := copies[task][proc[id]]; ok {
				t.Fatalf("task %v: standby on %s shares process %s with %s (active %v)", task, id, proc[id], other, active)
			}
			copies[task][proc[id]] = id
		}
	}
	for _, task := range tasks {
		if got := len(copies[task]) - 1; got != want {
			t.Fatalf("task %v has %d standbys, want %d: %v", task, got, want, copies[task])
		}
	}
}

func TestStandbysNeverWithActive(t *testing.T) {
	tasks := grid(2, 6)
	for procs := 1; procs <= 4; procs++ {
		for threads := 1; threads <= 3; threads++ {
			for n := 0; n <= 4; n++ {
				t.Run(fmt.Sprintf("procs=%d/threads=%d/n=%d", procs, threads, n), func(t *testing.T) {
					ms := spread(procs, threads)
					active := assign(tasks, ms)
					standby := assignStandbys(tasks, ms, active, nil, n)
					if len(standby) != len(ms) {
						t.Fatalf("%d entries for %d members", len(standby), len(ms))
					}
					// n > processes-1 caps at one per other process.
					checkStandbys(t, tasks, ms, active, standby, nil, min(n, procs-1))
				})
			}
		}
	}
}

func TestStandbysSpreadByLoad(t *testing.T) {
	// Three processes of one member: 12 tasks, each with one standby,
	// make 24 copies, eight per member.
	tasks := grid(2, 6)
	ms := spread(3, 1)
	active := assign(tasks, ms)
	standby := assignStandbys(tasks, ms, active, nil, 1)
	for _, m := range ms {
		if got := len(active[m.id]) + len(standby[m.id]); got != 8 {
			t.Errorf("%s holds %d active and %d standby tasks, want 8 in all: %v", m.id, len(active[m.id]), len(standby[m.id]), standby)
		}
	}
	// Within a process, standbys go to its least busy member.
	ms = spread(2, 2)
	active = map[string][]TaskID{"m0-0": grid(1, 4), "m0-1": nil, "m1-0": nil, "m1-1": nil}
	standby = assignStandbys(grid(1, 4), ms, active, nil, 1)
	if got := len(standby["m1-0"]) + len(standby["m1-1"]); got != 4 || len(standby["m1-0"]) != 2 {
		t.Errorf("standbys %v, want two on each member of p1", standby)
	}
}

func TestStandbysPreferStateOnDisk(t *testing.T) {
	// p0 runs everything; of p1 and p2, equally loaded, the one with a
	// task's state gets its standby.
	tasks := grid(1, 4)
	ms := spread(3, 1)
	ms[1].onDisk = []TaskID{{0, 1}, {0, 3}}
	ms[2].onDisk = []TaskID{{0, 0}, {0, 2}}
	active := map[string][]TaskID{"m0-0": tasks}
	standby := assignStandbys(tasks, ms, active, nil, 1)
	want := map[string][]TaskID{"m0-0": {}, "m1-0": {{0, 1}, {0, 3}}, "m2-0": {{0, 0}, {0, 2}}}
	if !reflect.DeepEqual(standby, want) {
		t.Errorf("standbys %v, want %v", standby, want)
	}
}

func TestStandbysDeterministic(t *testing.T) {
	tasks := grid(3, 5)
	ms := spread(4, 2)
	for i := range ms {
		ms[i].onDisk = tasks[i : i+3]
	}
	active := assign(tasks, ms)
	want := assignStandbys(tasks, ms, active, nil, 2)
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		shuffled := slices.Clone(ms)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		ts := slices.Clone(tasks)
		r.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
		if got := assignStandbys(ts, shuffled, active, nil, 2); !maps.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("member order changed the placement: %v, want %v", got, want)
		}
	}
}

func TestBalanceStandbysOnlyForStatefulTasks(t *testing.T) {
	subs := []Subtopology{
		{ID: 0, SourceTopics: []string{"lines"}},
		{ID: 1, SourceTopics: []string{"app-words-repartition"}, Stateful: true},
	}
	parts := map[string]int32{"lines": 3, "app-words-repartition": 3}
	got := map[string]Assignment{}
	type m struct {
		id string
		b  *Balancer
	}
	var members []m
	var joins []kmsg.JoinGroupResponseMember
	for _, p := range []string{"a", "b", "c"} {
		id := "m-" + p
		b := newTestBalancer(t, Config{Subtopologies: subs, ProcessID: "proc-" + p, Standbys: 1,
			ApplicationServer: p + ":80",
			Assigned:          func(a Assignment) { got[id] = a }})
		members = append(members, m{id, b})
		joins = append(joins, joinMember(id, b, nil, 1))
	}
	plan := balance(t, members[0].b, joins, parts)
	for i, sa := range plan.IntoSyncAssignment() {
		if _, err := members[i].b.ParseSyncAssignment(sa.MemberAssignment); err != nil {
			t.Fatal(err)
		}
	}
	var all []TaskID
	for _, m := range members {
		a := got[m.id]
		if !reflect.DeepEqual(a, plan.Assignment(m.id)) {
			t.Errorf("%s decoded %+v, want %+v", m.id, a, plan.Assignment(m.id))
		}
		for _, task := range a.Standby {
			if task.Subtopology != 1 {
				t.Errorf("%s keeps a standby of stateless task %v", m.id, task)
			}
		}
		all = append(all, a.Standby...)
		if len(a.Hosts) != 3 {
			t.Fatalf("%s sees hosts %+v, want three", m.id, a.Hosts)
		}
	}
	if len(normalize(all)) != 3 || len(all) != 3 {
		t.Errorf("standbys %v, want one of each task of subtopology 1", all)
	}
	for i, h := range got["m-a"].Hosts {
		m := members[i]
		if h.Server != []string{"a:80", "b:80", "c:80"}[i] || !slices.Equal(h.Active, plan.Tasks(m.id)) || !slices.Equal(h.Standby, plan.Standbys(m.id)) {
			t.Errorf("host %+v, want %s's tasks %v and standbys %v", h, m.id, plan.Tasks(m.id), plan.Standbys(m.id))
		}
	}
}

func TestAssignmentRoundTrip(t *testing.T) {
	for _, a := range []Assignment{
		{},
		{Standby: []TaskID{{0, 1}, {3, 2147483647}}},
		{Hosts: []Host{{Server: "a:1"}, {Server: "ü:2", Active: []TaskID{{1, 0}}, Standby: []TaskID{{0, 0}}}}},
		{Warmup: []TaskID{{2, 2}}, Rejoin: true},
	} {
		var got Assignment
		if err := got.ReadFrom(a.AppendTo(nil)); err != nil {
			t.Fatalf("%+v: %v", a, err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("round trip: got %+v, want %+v", got, a)
		}
	}
	// A newer leader appends fields; this reader keeps what it knows.
	a := Assignment{Standby: []TaskID{{0, 1}}, Hosts: []Host{{Server: "h:1"}}}
	b := a.AppendTo(nil)
	b[0] = assignmentVersion + 1
	var got Assignment
	if err := got.ReadFrom(append(b, 0xde, 0xad)); err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("newer version: got %+v, %v; want %+v", got, err, a)
	}
	// A version 2 leader's assignment has no Rejoin.
	v2 := Assignment{Standby: []TaskID{{0, 1}}, Warmup: []TaskID{{1, 1}}}
	b = v2.AppendTo(nil)
	b[0] = 2
	if err := got.ReadFrom(b[:len(b)-1]); err != nil || !reflect.DeepEqual(got, v2) {
		t.Errorf("version 2: got %+v, %v; want %+v", got, err, v2)
	}
	// An older leader sends no user data.
	if err := got.ReadFrom(nil); err != nil || !reflect.DeepEqual(got, Assignment{}) {
		t.Errorf("no user data: got %+v, %v", got, err)
	}
}

func TestAssignmentMalformed(t *testing.T) {
	good := Assignment{Standby: []TaskID{{1, 2}}, Hosts: []Host{{Server: "h:1", Active: []TaskID{{3, 4}}}}}.AppendTo(nil)
	for name, b := range map[string][]byte{
		"version 0":  {0, 0, 0},
		"truncated":  good[:len(good)-1],
		"trailing":   append(good[:len(good):len(good)], 0),
		"no hosts":   {1, 0},
		"huge hosts": {1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"long name":  {1, 0, 1, 40, 'h', 0, 0},
	} {
		var a Assignment
		if err := a.ReadFrom(b); err == nil || !errors.Is(err, ErrBadAssignment) {
			t.Errorf("%s: error %v, want ErrBadAssignment", name, err)
		}
	}
}
