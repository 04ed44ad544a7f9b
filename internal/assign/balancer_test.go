package assign

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var testSubs = []Subtopology{
	{ID: 0, SourceTopics: []string{"orders", "customers"}},
	{ID: 1, SourceTopics: []string{"app-agg-repartition"}},
}

var testPartitions = map[string]int32{"orders": 4, "customers": 4, "app-agg-repartition": 4}

func newTestBalancer(t *testing.T, cfg Config) *Balancer {
	t.Helper()
	if cfg.Subtopologies == nil {
		cfg.Subtopologies = testSubs
	}
	b, err := NewBalancer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// joinMember is what the coordinator hands the leader for a member whose
// balancer is b.
func joinMember(id string, b *Balancer, current map[string][]int32, gen int32) kmsg.JoinGroupResponseMember {
	m := kmsg.NewJoinGroupResponseMember()
	m.MemberID = id
	m.ProtocolMetadata = b.JoinGroupMetadata(nil, current, gen)
	return m
}

func balance(t *testing.T, leader *Balancer, members []kmsg.JoinGroupResponseMember, partitions map[string]int32) *Plan {
	t.Helper()
	mb, topics, err := leader.MemberBalancer(members)
	if err != nil {
		t.Fatal(err)
	}
	for topic := range partitions {
		if _, ok := topics[topic]; !ok {
			t.Errorf("MemberBalancer topics %v lack %q", topics, topic)
		}
	}
	return mb.Balance(partitions).(*Plan)
}

func TestNewBalancerInvalid(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no process id":     {Subtopologies: testSubs},
		"duplicate id":      {ProcessID: "p", Subtopologies: []Subtopology{{ID: 0, SourceTopics: []string{"a"}}, {ID: 0, SourceTopics: []string{"b"}}}},
		"negative id":       {ProcessID: "p", Subtopologies: []Subtopology{{ID: -1, SourceTopics: []string{"a"}}}},
		"no topics":         {ProcessID: "p", Subtopologies: []Subtopology{{ID: 0, SourceTopics: nil}}},
		"empty topic":       {ProcessID: "p", Subtopologies: []Subtopology{{ID: 0, SourceTopics: []string{""}}}},
		"topic read twice":  {ProcessID: "p", Subtopologies: []Subtopology{{ID: 0, SourceTopics: []string{"a"}}, {ID: 1, SourceTopics: []string{"b", "a"}}}},
		"negative standbys": {ProcessID: "p", Subtopologies: testSubs, Standbys: -1},
	} {
		if _, err := NewBalancer(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: error %v, want ErrInvalidConfig", name, err)
		}
	}
}

func TestJoinGroupMetadata(t *testing.T) {
	current := map[string][]int32{"orders": {1, 3}, "customers": {1, 3}, "app-agg-repartition": {0}}
	for _, tc := range []struct {
		name  string
		cfg   Config
		owned []TaskID
	}{
		{
			name:  "owned from current assignment",
			cfg:   Config{ProcessID: "proc-1", StateOnDisk: func() []TaskID { return []TaskID{{1, 2}, {0, 0}, {1, 2}} }},
			owned: []TaskID{{0, 1}, {0, 3}, {1, 0}},
		},
		{
			name:  "owned from Config",
			cfg:   Config{ProcessID: "proc-1", Owned: func() []TaskID { return []TaskID{{1, 3}, {0, 2}} }, StateOnDisk: func() []TaskID { return []TaskID{{0, 0}, {1, 2}} }},
			owned: []TaskID{{0, 2}, {1, 3}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBalancer(t, tc.cfg)
			raw := b.JoinGroupMetadata([]string{"customers", "orders"}, current, 7)
			if again := b.JoinGroupMetadata([]string{"customers", "orders"}, current, 7); !bytes.Equal(raw, again) {
				t.Error("metadata is not deterministic")
			}

			// Standard consumer metadata, as tools read it.
			var meta kmsg.ConsumerMemberMetadata
			if err := meta.ReadFrom(raw); err != nil {
				t.Fatal(err)
			}
			if want := []string{"app-agg-repartition", "customers", "orders"}; !slices.Equal(meta.Topics, want) {
				t.Errorf("topics %v, want %v", meta.Topics, want)
			}
			if meta.Generation != 7 {
				t.Errorf("generation %d, want 7", meta.Generation)
			}
			if len(meta.OwnedPartitions) != 3 {
				t.Errorf("owned partitions %v", meta.OwnedPartitions)
			}

			var sub Subscription
			if err := sub.ReadFrom(meta.UserData); err != nil {
				t.Fatal(err)
			}
			want := Subscription{ProcessID: "proc-1", Owned: tc.owned, StateOnDisk: []TaskID{{0, 0}, {1, 2}}}
			if sub.ProcessID != want.ProcessID || !slices.Equal(sub.Owned, want.Owned) || !slices.Equal(sub.StateOnDisk, want.StateOnDisk) {
				t.Errorf("subscription %+v, want %+v", sub, want)
			}

			// The leader decodes the same thing.
			mb, _, err := b.MemberBalancer([]kmsg.JoinGroupResponseMember{{MemberID: "m", ProtocolMetadata: raw}})
			if err != nil {
				t.Fatal(err)
			}
			got := mb.(*memberBalancer).members[0]
			if got.id != "m" || got.process != "proc-1" || got.generation != 7 || !slices.Equal(got.owned, tc.owned) {
				t.Errorf("decoded %+v", got)
			}
		})
	}
}

func TestMemberBalancerMalformed(t *testing.T) {
	b := newTestBalancer(t, Config{ProcessID: "p"})
	good := joinMember("good", b, nil, 1)

	noUserData := kmsg.NewConsumerMemberMetadata()
	noUserData.Topics = []string{"orders"}
	emptyProcess := kmsg.NewConsumerMemberMetadata()
	emptyProcess.UserData = Subscription{}.AppendTo(nil)

	for name, raw := range map[string][]byte{
		"garbage":          {0xff, 0x01, 0x02},
		"empty":            nil,
		"plain consumer":   noUserData.AppendTo(nil),
		"empty process id": emptyProcess.AppendTo(nil),
	} {
		t.Run(name, func(t *testing.T) {
			bad := kmsg.JoinGroupResponseMember{MemberID: "bad-member-42", ProtocolMetadata: raw}
			_, _, err := b.MemberBalancer([]kmsg.JoinGroupResponseMember{good, bad})
			var me *MemberError
			if !errors.As(err, &me) || me.MemberID != "bad-member-42" {
				t.Fatalf("error %v, want a MemberError for bad-member-42", err)
			}
			if !errors.Is(err, ErrBadMetadata) || !strings.Contains(err.Error(), "bad-member-42") {
				t.Errorf("error %q should match ErrBadMetadata and name the member", err)
			}
		})
	}
}

func TestBalanceCopartitioned(t *testing.T) {
	for _, tc := range []struct {
		name       string
		partitions map[string]int32
		tasks      int
	}{
		{"equal", testPartitions, 8},
		{"uneven co-partitioned topics", map[string]int32{"orders": 6, "customers": 3, "app-agg-repartition": 2}, 8},
		{"unknown topic", map[string]int32{"orders": 2}, 2},
	} {
		for n := 1; n <= 5; n++ {
			t.Run(fmt.Sprintf("%s/%d", tc.name, n), func(t *testing.T) {
				var members []kmsg.JoinGroupResponseMember
				var leader *Balancer
				for i := range n {
					b := newTestBalancer(t, Config{ProcessID: fmt.Sprintf("p%d", i)})
					leader = b
					members = append(members, joinMember(fmt.Sprintf("m%d", i), b, nil, -1))
				}
				plan := balance(t, leader, members, tc.partitions)

				total := 0
				owner := make(map[string]map[int32]string) // topic => partition => member
				for _, sa := range plan.IntoSyncAssignment() {
					got, err := leader.ParseSyncAssignment(sa.MemberAssignment)
					if err != nil {
						t.Fatal(err)
					}
					if !maps.EqualFunc(got, plan.Partitions(sa.MemberID), slices.Equal) {
						t.Errorf("%s: sync assignment %v, plan %v", sa.MemberID, got, plan.Partitions(sa.MemberID))
					}
					if tasks := TasksOf(got, testSubs); !slices.Equal(tasks, plan.Tasks(sa.MemberID)) {
						t.Errorf("%s: TasksOf %v, plan %v", sa.MemberID, tasks, plan.Tasks(sa.MemberID))
					}
					total += len(plan.Tasks(sa.MemberID))
					for topic, ps := range got {
						for _, p := range ps {
							if p >= tc.partitions[topic] {
								t.Errorf("%s got %s/%d, which does not exist", sa.MemberID, topic, p)
							}
							if owner[topic] == nil {
								owner[topic] = make(map[int32]string)
							}
							if o, dup := owner[topic][p]; dup {
								t.Errorf("%s/%d given to %s and %s", topic, p, o, sa.MemberID)
							}
							owner[topic][p] = sa.MemberID
						}
					}
				}
				if total != tc.tasks {
					t.Errorf("assigned %d tasks, want %d", total, tc.tasks)
				}
				// Every existing partition is assigned, and the same number of
				// co-partitioned topics goes to the same member.
				for topic, n := range tc.partitions {
					for p := range n {
						if _, ok := owner[topic][p]; !ok {
							t.Errorf("%s/%d unassigned", topic, p)
						}
						if topic == "customers" {
							if o, ok := owner["orders"][p]; ok && o != owner[topic][p] {
								t.Errorf("partition %d: orders on %s, customers on %s", p, o, owner[topic][p])
							}
						}
					}
				}
			})
		}
	}
}

func TestBalanceStickyAcrossGenerations(t *testing.T) {
	// Members rejoin with what kgo remembers of their last assignment; a
	// third member joins and takes only what it must.
	bs := map[string]*Balancer{}
	for _, id := range []string{"a", "b", "c"} {
		bs[id] = newTestBalancer(t, Config{ProcessID: "proc-" + id})
	}
	first := balance(t, bs["a"], []kmsg.JoinGroupResponseMember{
		joinMember("a", bs["a"], nil, -1), joinMember("b", bs["b"], nil, -1),
	}, testPartitions)
	second := balance(t, bs["a"], []kmsg.JoinGroupResponseMember{
		joinMember("a", bs["a"], first.Partitions("a"), 1),
		joinMember("b", bs["b"], first.Partitions("b"), 1),
		joinMember("c", bs["c"], nil, -1),
	}, testPartitions)
	for _, id := range []string{"a", "b"} {
		for _, task := range second.Tasks(id) {
			if !slices.Contains(first.Tasks(id), task) {
				t.Errorf("%s gained %v: before %v, after %v", id, task, first.Tasks(id), second.Tasks(id))
			}
		}
	}
	if len(second.Tasks("c")) != 2 || len(second.Tasks("a"))+len(second.Tasks("b")) != 6 {
		t.Errorf("unbalanced: %v", second)
	}
}

func TestBalanceDeterministic(t *testing.T) {
	var members []kmsg.JoinGroupResponseMember
	var leader *Balancer
	for i := range 4 {
		owned := []TaskID{{0, int32(i)}, {1, int32(3 - i)}, {0, int32((i + 1) % 4)}}
		b := newTestBalancer(t, Config{
			ProcessID:   fmt.Sprintf("p%d", i%2),
			Owned:       func() []TaskID { return owned },
			StateOnDisk: func() []TaskID { return []TaskID{{1, int32(i)}} },
		})
		leader = b
		members = append(members, joinMember(fmt.Sprintf("m%d", i), b, nil, int32(i)))
	}
	want := balance(t, leader, members, testPartitions).IntoSyncAssignment()
	for i := range 20 {
		ms := slices.Clone(members)
		ms = append(ms[i%4:], ms[:i%4]...)
		got := balance(t, leader, ms, testPartitions).IntoSyncAssignment()
		if len(got) != len(want) {
			t.Fatalf("round %d: %d assignments, want %d", i, len(got), len(want))
		}
		for j := range got {
			if got[j].MemberID != want[j].MemberID || !bytes.Equal(got[j].MemberAssignment, want[j].MemberAssignment) {
				t.Fatalf("round %d: assignment of %s differs", i, got[j].MemberID)
			}
		}
	}
}

func TestParseSyncAssignmentMalformed(t *testing.T) {
	b := newTestBalancer(t, Config{ProcessID: "p"})
	if _, err := b.ParseSyncAssignment([]byte{0, 0, 0, 0, 0, 9}); !errors.Is(err, ErrBadAssignment) {
		t.Errorf("error %v, want ErrBadAssignment", err)
	}
}

func TestBalancerInterfaces(t *testing.T) {
	b := newTestBalancer(t, Config{ProcessID: "p"})
	var _ kgo.GroupBalancer = b
	if b.IsCooperative() {
		t.Error("balancer must be eager")
	}
	if b.ProtocolName() != ProtocolName {
		t.Errorf("protocol %q", b.ProtocolName())
	}
}
