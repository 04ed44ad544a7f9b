package assign

import (
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Plan is the outcome of one balance: which member runs which tasks, and
// keeps which as standbys. It is what the Balancer returns to kgo, which
// turns it into SyncGroup assignments.
type Plan struct {
	subs       []Subtopology
	partitions map[string]int32 // topic => partition count
	members    []string         // sorted
	tasks      map[string][]TaskID
	standbys   map[string][]TaskID
	warmups    map[string][]TaskID
	withheld   map[string][]TaskID
	hosts      []Host
}

// Members returns the ids of all members balanced, sorted.
func (p *Plan) Members() []string { return slices.Clone(p.members) }

// Tasks returns the tasks of a member, sorted.
func (p *Plan) Tasks(memberID string) []TaskID { return slices.Clone(p.tasks[memberID]) }

// Standbys returns the standby tasks of a member, sorted.
func (p *Plan) Standbys(memberID string) []TaskID { return slices.Clone(p.standbys[memberID]) }

// Withheld returns the tasks the balance gives a member but holds back
// from it for one rebalance, as other members still hold their partitions
// (cooperative protocol only), sorted.
func (p *Plan) Withheld(memberID string) []TaskID { return slices.Clone(p.withheld[memberID]) }

// followup reports whether the balance withheld a task from any member,
// which a follow-up rebalance hands over.
func (p *Plan) followup() bool {
	for _, ts := range p.withheld {
		if len(ts) > 0 {
			return true
		}
	}
	return false
}

// Warmups returns the warm-up replicas of a member, sorted.
func (p *Plan) Warmups(memberID string) []TaskID { return slices.Clone(p.warmups[memberID]) }

// Assignment returns what a member's sync assignment carries: its
// partitions' tasks as Active, and the user data.
func (p *Plan) Assignment(memberID string) Assignment {
	a := Assignment{Active: p.Tasks(memberID), Standby: p.Standbys(memberID), Warmup: p.Warmups(memberID), Hosts: p.hosts, Rejoin: p.followup()}
	if len(a.Active) == 0 {
		a.Active = nil
	}
	if len(a.Standby) == 0 {
		a.Standby = nil
	}
	if len(a.Warmup) == 0 {
		a.Warmup = nil
	}
	return a
}

// Partitions returns the topic partitions a member consumes for its tasks:
// partition p of every source topic of subtopology s for each task s_p,
// skipping topics with fewer partitions than p+1.
func (p *Plan) Partitions(memberID string) map[string][]int32 {
	out := make(map[string][]int32)
	for _, t := range p.tasks[memberID] {
		for _, s := range p.subs {
			if s.ID != t.Subtopology {
				continue
			}
			for _, topic := range s.SourceTopics {
				if t.Partition < p.partitions[topic] {
					out[topic] = append(out[topic], t.Partition)
				}
			}
		}
	}
	for _, ps := range out {
		slices.Sort(ps)
	}
	return out
}

// IntoSyncAssignment implements kgo.IntoSyncAssignment: one
// kmsg.ConsumerMemberAssignment per member, ordered by member, topic and
// partition, with the member's Assignment as its UserData.
func (p *Plan) IntoSyncAssignment() []kmsg.SyncGroupRequestGroupAssignment {
	out := make([]kmsg.SyncGroupRequestGroupAssignment, 0, len(p.members))
	for _, id := range p.members {
		parts := p.Partitions(id)
		topics := make([]string, 0, len(parts))
		for topic := range parts {
			topics = append(topics, topic)
		}
		slices.Sort(topics)
		a := kmsg.NewConsumerMemberAssignment()
		for _, topic := range topics {
			at := kmsg.NewConsumerMemberAssignmentTopic()
			at.Topic = topic
			at.Partitions = parts[topic]
			a.Topics = append(a.Topics, at)
		}
		a.UserData = p.Assignment(id).AppendTo(nil)
		sa := kmsg.NewSyncGroupRequestGroupAssignment()
		sa.MemberID = id
		sa.MemberAssignment = a.AppendTo(nil)
		out = append(out, sa)
	}
	return out
}

// String lists each member's tasks, for logs.
func (p *Plan) String() string {
	var sb strings.Builder
	for i, id := range p.members {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(id)
		sb.WriteString("[")
		for j, t := range p.tasks[id] {
			if j > 0 {
				sb.WriteString(" ")
			}
			sb.WriteString(t.String())
		}
		for _, t := range p.standbys[id] {
			sb.WriteString(" ~")
			sb.WriteString(t.String())
		}
		for _, t := range p.warmups[id] {
			sb.WriteString(" +")
			sb.WriteString(t.String())
		}
		sb.WriteString("]")
	}
	return sb.String()
}
