package assign

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The fuzz targets feed the group protocol's decoders what another member,
// or a broken or hostile client in the group, could send, and the task id
// parser what a state directory could hold. Their seeds live in
// testdata/fuzz, so go test runs them as ordinary tests.

// tasksFrom turns fuzz bytes into task ids, eight bytes each, covering the
// whole valid range.
func tasksFrom(b []byte) []TaskID {
	var ts []TaskID
	for ; len(b) >= 8; b = b[8:] {
		ts = append(ts, TaskID{
			Subtopology: int(binary.BigEndian.Uint32(b) & math.MaxInt32),
			Partition:   int32(binary.BigEndian.Uint32(b[4:]) & math.MaxInt32),
		})
	}
	return ts
}

func checkTasksInRange(t *testing.T, what string, ts []TaskID) {
	t.Helper()
	for _, id := range ts {
		if id.Subtopology < 0 || id.Subtopology > math.MaxInt32 || id.Partition < 0 {
			t.Fatalf("%s holds task %v, out of range", what, id)
		}
	}
}

// FuzzSubscriptionDecode checks that any user data either decodes to a
// Subscription that re-encodes to an equal one, or fails matching
// ErrBadMetadata.
func FuzzSubscriptionDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Subscription
		if err := s.ReadFrom(data); err != nil {
			if !errors.Is(err, ErrBadMetadata) {
				t.Fatalf("ReadFrom(% x) = %v, want an error matching ErrBadMetadata", data, err)
			}
			return
		}
		checkTasksInRange(t, "Owned", s.Owned)
		checkTasksInRange(t, "StateOnDisk", s.StateOnDisk)
		enc := s.AppendTo(nil)
		if data[0] == subscriptionVersion && len(enc) > len(data) {
			t.Fatalf("% x decodes to %+v, whose encoding % x is longer", data, s, enc)
		}
		var back Subscription
		if err := back.ReadFrom(enc); err != nil {
			t.Fatalf("% x decodes to %+v, which encodes to % x, which does not decode: %v", data, s, enc, err)
		}
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("% x decodes to %+v, which encodes to % x, which decodes to %+v", data, s, enc, back)
		}
	})
}

// FuzzSubscriptionRoundTrip encodes arbitrary subscriptions, alone and as a
// newer version with fields this reader does not know appended.
func FuzzSubscriptionRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, process, server string, owned, onDisk, future []byte) {
		s := Subscription{ProcessID: process, Owned: tasksFrom(owned), StateOnDisk: tasksFrom(onDisk), ApplicationServer: server}
		for i, task := range s.StateOnDisk {
			s.Lags = append(s.Lags, TaskLag{Task: task, Lag: int64(i) << (i % 40)})
		}
		enc := s.AppendTo(nil)
		var got Subscription
		if err := got.ReadFrom(enc); err != nil {
			t.Fatalf("%+v encodes to % x, which does not decode: %v", s, enc, err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("%+v encodes to % x, which decodes to %+v", s, enc, got)
		}
		if len(future) == 0 {
			return
		}
		enc[0] = subscriptionVersion + 1
		enc = append(enc, future...)
		got = Subscription{}
		if err := got.ReadFrom(enc); err != nil || !reflect.DeepEqual(got, s) {
			t.Fatalf("%+v as a newer version % x decodes to %+v, %v", s, enc, got, err)
		}
	})
}

// statefulSubs are testSubs with state in subtopology 1, so that the
// leader places standbys.
var statefulSubs = []Subtopology{
	testSubs[0],
	{ID: testSubs[1].ID, SourceTopics: testSubs[1].SourceTopics, Stateful: true},
}

// FuzzAssignmentDecode checks that any assignment user data either decodes
// to an Assignment that re-encodes to an equal one, or fails matching
// ErrBadAssignment.
func FuzzAssignmentDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Assignment
		if err := a.ReadFrom(data); err != nil {
			if !errors.Is(err, ErrBadAssignment) {
				t.Fatalf("ReadFrom(% x) = %v, want an error matching ErrBadAssignment", data, err)
			}
			return
		}
		checkTasksInRange(t, "Standby", a.Standby)
		for _, h := range a.Hosts {
			checkTasksInRange(t, "host Active", h.Active)
			checkTasksInRange(t, "host Standby", h.Standby)
		}
		enc := a.AppendTo(nil)
		if len(data) > 0 && data[0] == assignmentVersion && len(enc) != len(data) {
			t.Fatalf("% x decodes to %+v, whose encoding % x differs in length", data, a, enc)
		}
		var back Assignment
		if err := back.ReadFrom(enc); err != nil || !reflect.DeepEqual(back, a) {
			t.Fatalf("% x decodes to %+v, which encodes to % x, which decodes to %+v, %v", data, a, enc, back, err)
		}
	})
}

// FuzzMemberMetadata puts a member with arbitrary join metadata in a group
// with two well-behaved members. Either the leader refuses the balance
// with a MemberError naming that member, or it balances: whatever the
// member claims to own or have on disk, every task goes to exactly one
// member, loads differ by at most one, standbys sit on other processes
// than their actives, and each member's sync assignment decodes to its
// partitions and its standbys.
func FuzzMemberMetadata(f *testing.F) {
	leader, err := NewBalancer(Config{Subtopologies: statefulSubs, ProcessID: "leader", Standbys: 2})
	if err != nil {
		f.Fatal(err)
	}
	other, err := NewBalancer(Config{Subtopologies: statefulSubs, ProcessID: "other", ApplicationServer: "other:8080"})
	if err != nil {
		f.Fatal(err)
	}
	honest := []kmsg.JoinGroupResponseMember{
		joinMember("m-leader", leader, map[string][]int32{"orders": {0, 1}, "customers": {0, 1}}, 3),
		joinMember("m-other", other, map[string][]int32{"app-agg-repartition": {0, 2}}, 3),
	}
	f.Fuzz(func(t *testing.T, meta []byte) {
		fuzzed := kmsg.NewJoinGroupResponseMember()
		fuzzed.MemberID = "m-fuzzed"
		fuzzed.ProtocolMetadata = meta
		mb, topics, err := leader.MemberBalancer(append(slices.Clone(honest), fuzzed))
		if err != nil {
			var me *MemberError
			if !errors.As(err, &me) || me.MemberID != "m-fuzzed" || !errors.Is(err, ErrBadMetadata) {
				t.Fatalf("MemberBalancer = %v, want a MemberError for m-fuzzed matching ErrBadMetadata", err)
			}
			if !strings.HasPrefix(err.Error(), "assign: ") || !strings.Contains(err.Error(), "m-fuzzed") {
				t.Fatalf("MemberBalancer error %q should start with assign: and name the member", err)
			}
			return
		}
		for _, topic := range leader.topics {
			if _, ok := topics[topic]; !ok {
				t.Fatalf("MemberBalancer topics %v lack source topic %q", topics, topic)
			}
		}
		plan := mb.Balance(testPartitions).(*Plan)
		tasks := tasksFor(leader.subs, testPartitions)
		members := mb.(*memberBalancer).members
		lagged := slices.ContainsFunc(members, func(m member) bool { return len(m.lags) > 0 })
		checkValidBalanced(t, tasks, plan.tasks, !lagged)
		procs := map[string]bool{}
		for _, m := range members {
			procs[m.process] = true
		}
		var stateful []TaskID
		for _, task := range tasks {
			if task.Subtopology == 1 {
				stateful = append(stateful, task)
			}
		}
		checkStandbys(t, stateful, members, plan.tasks, plan.standbys, plan.warmups, min(2, len(procs)-1))
		for _, sa := range plan.IntoSyncAssignment() {
			var info Assignment
			parser, err := NewBalancer(Config{Subtopologies: statefulSubs, ProcessID: "p", Assigned: func(a Assignment) { info = a }})
			if err != nil {
				t.Fatal(err)
			}
			got, err := parser.ParseSyncAssignment(sa.MemberAssignment)
			if err != nil {
				t.Fatalf("sync assignment of %s does not decode: %v", sa.MemberID, err)
			}
			if want := plan.Partitions(sa.MemberID); !maps.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("sync assignment of %s decodes to %v, want %v", sa.MemberID, got, want)
			}
			if want := plan.Assignment(sa.MemberID); !reflect.DeepEqual(info, want) {
				t.Fatalf("sync assignment of %s carries %+v, want %+v", sa.MemberID, info, want)
			}
		}
	})
}

// FuzzSyncAssignment checks that any sync assignment either decodes to
// topic partitions that encode and decode to the same, or fails matching
// ErrBadAssignment.
func FuzzSyncAssignment(f *testing.F) {
	b, err := NewBalancer(Config{Subtopologies: testSubs, ProcessID: "p"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := b.ParseSyncAssignment(data)
		if err != nil {
			if !errors.Is(err, ErrBadAssignment) || !strings.HasPrefix(err.Error(), "assign: ") {
				t.Fatalf("ParseSyncAssignment(% x) = %v, want an error matching ErrBadAssignment", data, err)
			}
			return
		}
		a := kmsg.NewConsumerMemberAssignment()
		for _, topic := range slices.Sorted(maps.Keys(got)) {
			at := kmsg.NewConsumerMemberAssignmentTopic()
			at.Topic = topic
			at.Partitions = got[topic]
			a.Topics = append(a.Topics, at)
		}
		enc := a.AppendTo(nil)
		back, err := b.ParseSyncAssignment(enc)
		if err != nil || !maps.EqualFunc(back, got, func(x, y []int32) bool { return slices.Equal(x, y) || len(x)+len(y) == 0 }) {
			t.Fatalf("% x decodes to %v, which encodes to % x, which decodes to %v, %v", data, got, enc, back, err)
		}
	})
}

// FuzzParseTaskID checks that a task id parses only from the one name it
// prints as, and that a parsed id fits the group protocol: a directory
// name that parsed to an id the Subscription cannot carry would fail every
// rebalance of the group.
func FuzzParseTaskID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseTaskID(s)
		if err != nil {
			if !errors.Is(err, ErrBadTaskID) || !strings.HasPrefix(err.Error(), "assign: ") {
				t.Fatalf("ParseTaskID(%q) = %v, want an error matching ErrBadTaskID", s, err)
			}
			return
		}
		if id.String() != s {
			t.Fatalf("ParseTaskID(%q) = %v, which prints as %q", s, id, id.String())
		}
		sub := Subscription{ProcessID: "p", StateOnDisk: []TaskID{id}}
		var back Subscription
		if err := back.ReadFrom(sub.AppendTo(nil)); err != nil || !reflect.DeepEqual(back, sub) {
			t.Fatalf("ParseTaskID(%q) = %v, which the subscription does not carry: %+v, %v", s, id, back, err)
		}
	})
}

// FuzzTaskIDRoundTrip checks that every valid task id parses back from
// its name.
func FuzzTaskIDRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, sub, part uint32) {
		id := TaskID{Subtopology: int(sub & math.MaxInt32), Partition: int32(part & math.MaxInt32)}
		got, err := ParseTaskID(id.String())
		if err != nil || got != id {
			t.Fatalf("ParseTaskID(%q) = %v, %v; want %v", id.String(), got, err, id)
		}
	})
}
