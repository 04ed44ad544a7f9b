package assign

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The group protocols a Balancer speaks. A group runs one protocol that all
// its members offer, so members that offer both, cooperative first, form a
// cooperative group once every member does, and an eager one while a member
// of an older release offers only ProtocolName: a group rolls from one to
// the other one process at a time.
const (
	// ProtocolName is the eager protocol: every member revokes all its
	// tasks before each rebalance.
	ProtocolName = "samsa-tasks-v1"
	// CooperativeProtocolName is the cooperative protocol: a member keeps
	// its tasks through a rebalance and revokes only those that move, which
	// their new owner gets in the rebalance that follows.
	CooperativeProtocolName = "samsa-tasks-v2"
)

// Config describes the application to the Balancer.
type Config struct {
	// Subtopologies of the topology, with the real names of their source
	// topics. A topic may be read by one subtopology only.
	Subtopologies []Subtopology
	// ProcessID identifies this application instance; all stream threads
	// of a process share it. Required.
	ProcessID string
	// Owned returns the tasks this member owns now, for stickiness. If
	// nil, the tasks are derived from the partitions kgo says the member
	// owns as it joins.
	Owned func() []TaskID
	// StateOnDisk returns the tasks whose state directories exist in this
	// process's state directory. If nil, none.
	StateOnDisk func() []TaskID
	// Standbys is how many standby replicas each stateful task gets, on
	// processes other than its active's (num.standby.replicas); there are
	// at most as many as there are other processes. The leader's count
	// holds for the group. Default 0.
	Standbys int
	// ApplicationServer is the host:port this process answers interactive
	// queries on, advertised to the group; empty if none.
	ApplicationServer string
	// Assigned, if set, is called with the member's assignment (its
	// active tasks, standbys, warm-ups and the group's hosts) whenever kgo
	// decodes one, before kgo's OnPartitionsAssigned; it runs on the
	// group's goroutine.
	Assigned func(Assignment)
	// TaskLags, if set, returns this process's task lags for its
	// subscription (see Subscription.Lags); it runs while the member
	// joins, and must not block.
	TaskLags func() []TaskLag
	// ChangelogEnds, if set, returns the records each stateful task's
	// changelogs hold (the sum of their end offsets), as last learned:
	// the most a process without a copy of the task restores, and so its
	// lag when it reports none. It runs on the leader while it balances,
	// and must not block.
	ChangelogEnds func() map[TaskID]int64
	// AcceptableRecoveryLag is the lag at or below which a copy of a
	// task counts as caught up (acceptable.recovery.lag); the leader's
	// holds. Zero asks for copies fully caught up; Kafka Streams' default
	// is DefaultAcceptableRecoveryLag.
	AcceptableRecoveryLag int64
	// MaxWarmups bounds the warm-up replicas one balance hands out
	// (max.warmup.replicas); the leader's holds. Zero means
	// DefaultMaxWarmups.
	MaxWarmups int
	// Cooperative makes the Balancer speak CooperativeProtocolName: the
	// leader never hands a member a task whose partitions another member
	// still holds (see withhold). Otherwise it speaks the eager
	// ProtocolName.
	Cooperative bool
}

// Balancer is a kgo.GroupBalancer that assigns tasks instead of partitions;
// pass it to kgo.Balancers. kgo calls it from the group's goroutine: the
// Config functions run while the client joins the group, and balancing runs
// on the leader only.
//
// With Config.Owned nil, one Balancer may serve every stream thread of a
// process; otherwise give each thread its own.
type Balancer struct {
	cfg    Config
	subs   []Subtopology // sorted by id, topics sorted
	topics []string      // all source topics, sorted
}

var _ kgo.GroupBalancer = (*Balancer)(nil)

// NewBalancer returns a Balancer for cfg. It errors, matching
// ErrInvalidConfig, without a process id, on a duplicate or negative
// subtopology id, a subtopology without source topics, an empty topic name, or
// a topic read by two subtopologies.
func NewBalancer(cfg Config) (*Balancer, error) {
	if cfg.ProcessID == "" {
		return nil, configErr("empty ProcessID")
	}
	if cfg.Standbys < 0 {
		return nil, configErr("negative standby count %d", cfg.Standbys)
	}
	if cfg.AcceptableRecoveryLag < 0 {
		return nil, configErr("negative acceptable recovery lag %d", cfg.AcceptableRecoveryLag)
	}
	if cfg.MaxWarmups < 0 {
		return nil, configErr("negative warm-up count %d", cfg.MaxWarmups)
	}
	if cfg.MaxWarmups == 0 {
		cfg.MaxWarmups = DefaultMaxWarmups
	}
	b := &Balancer{cfg: cfg}
	ids := make(map[int]bool)
	readBy := make(map[string]int)
	for _, s := range cfg.Subtopologies {
		if s.ID < 0 {
			return nil, configErr("negative subtopology id %d", s.ID)
		}
		if ids[s.ID] {
			return nil, configErr("duplicate subtopology id %d", s.ID)
		}
		ids[s.ID] = true
		if len(s.SourceTopics) == 0 {
			return nil, configErr("subtopology %d has no source topics", s.ID)
		}
		topics := slices.Clone(s.SourceTopics)
		slices.Sort(topics)
		topics = slices.Compact(topics)
		for _, t := range topics {
			if t == "" {
				return nil, configErr("subtopology %d has an empty topic name", s.ID)
			}
			if other, ok := readBy[t]; ok {
				return nil, configErr("topic %q is read by subtopologies %d and %d", t, other, s.ID)
			}
			readBy[t] = s.ID
			b.topics = append(b.topics, t)
		}
		b.subs = append(b.subs, Subtopology{ID: s.ID, SourceTopics: topics, Stateful: s.Stateful})
	}
	slices.SortFunc(b.subs, func(x, y Subtopology) int { return cmp.Compare(x.ID, y.ID) })
	slices.Sort(b.topics)
	return b, nil
}

// Subtopologies returns the normalized subtopologies: sorted by id, topics
// sorted. Pass them to TasksOf.
func (b *Balancer) Subtopologies() []Subtopology { return slices.Clone(b.subs) }

// ProtocolName returns CooperativeProtocolName if the Balancer is
// cooperative, else ProtocolName.
func (b *Balancer) ProtocolName() string {
	if b.cfg.Cooperative {
		return CooperativeProtocolName
	}
	return ProtocolName
}

// IsCooperative reports whether the Balancer speaks the cooperative
// protocol (Config.Cooperative).
func (b *Balancer) IsCooperative() bool { return b.cfg.Cooperative }

// JoinGroupMetadata returns a kmsg.ConsumerMemberMetadata listing all source
// topics, with a Subscription as UserData. The output is deterministic, so
// that rejoining with nothing changed does not force a rebalance.
func (b *Balancer) JoinGroupMetadata(_ []string, current map[string][]int32, generation int32) []byte {
	var owned, onDisk []TaskID
	if b.cfg.Owned != nil {
		owned = slices.Clone(b.cfg.Owned())
	} else {
		owned = TasksOf(current, b.subs)
	}
	if b.cfg.StateOnDisk != nil {
		onDisk = slices.Clone(b.cfg.StateOnDisk())
	}
	sub := Subscription{ProcessID: b.cfg.ProcessID, Owned: normalize(owned), StateOnDisk: normalize(onDisk), ApplicationServer: b.cfg.ApplicationServer}
	if b.cfg.TaskLags != nil {
		sub.Lags = slices.Clone(b.cfg.TaskLags())
		slices.SortFunc(sub.Lags, func(x, y TaskLag) int { return x.Task.Compare(y.Task) })
	}

	meta := kmsg.NewConsumerMemberMetadata()
	meta.Version = 3
	meta.Topics = slices.Clone(b.topics)
	meta.UserData = sub.AppendTo(nil)
	meta.Generation = generation
	topics := make([]string, 0, len(current))
	for t := range current {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	for _, t := range topics {
		op := kmsg.NewConsumerMemberMetadataOwnedPartition()
		op.Topic = t
		op.Partitions = current[t]
		meta.OwnedPartitions = append(meta.OwnedPartitions, op)
	}
	return meta.AppendTo(nil)
}

// ParseSyncAssignment decodes a kmsg.ConsumerMemberAssignment into topic
// partitions, and its user data into an Assignment handed to
// Config.Assigned. Errors match ErrBadAssignment.
func (b *Balancer) ParseSyncAssignment(assignment []byte) (map[string][]int32, error) {
	var a kmsg.ConsumerMemberAssignment
	a.Default()
	if err := a.ReadFrom(assignment); err != nil {
		return nil, fmt.Errorf("assign: %w: %v", ErrBadAssignment, err)
	}
	var info Assignment
	if err := info.ReadFrom(a.UserData); err != nil {
		return nil, fmt.Errorf("assign: %w", err)
	}
	m := make(map[string][]int32, len(a.Topics))
	for _, t := range a.Topics {
		m[t.Topic] = append(m[t.Topic], t.Partitions...)
	}
	if b.cfg.Assigned != nil {
		info.Active = TasksOf(m, b.subs)
		b.cfg.Assigned(info)
	}
	return m, nil
}

// MemberBalancer decodes every member's metadata. A member whose metadata
// cannot be decoded fails the balance with a *MemberError naming it. The
// topics returned are all source topics plus any a member listed, so the
// client loads partition counts for all of them.
func (b *Balancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	mb := &memberBalancer{b: b}
	topics := make(map[string]struct{}, len(b.topics))
	for _, t := range b.topics {
		topics[t] = struct{}{}
	}
	seen := make(map[string]bool, len(members))
	for _, jm := range members {
		// A broker listing one member twice would have it balanced twice
		// and lose one side's tasks; keep the first.
		if seen[jm.MemberID] {
			continue
		}
		seen[jm.MemberID] = true
		m, err := decodeMember(jm, b.subs)
		if err != nil {
			return nil, nil, &MemberError{MemberID: jm.MemberID, Err: err}
		}
		mb.members = append(mb.members, m.member)
		for _, t := range m.topics {
			topics[t] = struct{}{}
		}
	}
	return mb, topics, nil
}

type decodedMember struct {
	member
	topics []string
}

func decodeMember(jm kmsg.JoinGroupResponseMember, subs []Subtopology) (decodedMember, error) {
	var meta kmsg.ConsumerMemberMetadata
	meta.Default()
	if err := meta.ReadFrom(jm.ProtocolMetadata); err != nil {
		return decodedMember{}, fmt.Errorf("%w: %v", ErrBadMetadata, err)
	}
	var sub Subscription
	if err := sub.ReadFrom(meta.UserData); err != nil {
		return decodedMember{}, err
	}
	if sub.ProcessID == "" {
		return decodedMember{}, fmt.Errorf("%w: empty process id", ErrBadMetadata)
	}
	gen := meta.Generation
	if meta.Version < 2 {
		gen = -1
	}
	held := make(map[string][]int32, len(meta.OwnedPartitions))
	for _, op := range meta.OwnedPartitions {
		held[op.Topic] = append(held[op.Topic], op.Partitions...)
	}
	return decodedMember{
		member: member{
			id:         jm.MemberID,
			process:    sub.ProcessID,
			generation: gen,
			owned:      sub.Owned,
			holds:      TasksOf(held, subs),
			onDisk:     sub.StateOnDisk,
			server:     sub.ApplicationServer,
			lags:       sub.Lags,
		},
		topics: meta.Topics,
	}, nil
}

// memberBalancer is one balance: the leader's view of the members that
// joined.
type memberBalancer struct {
	b       *Balancer
	members []member
}

// Balance assigns the tasks that the partition counts in topics make. A
// subtopology has as many tasks as its largest source topic has partitions;
// a subtopology whose topics are all unknown has none.
func (mb *memberBalancer) Balance(topics map[string]int32) kgo.IntoSyncAssignment {
	tasks := tasksFor(mb.b.subs, topics)
	isStateful := func(t TaskID) bool {
		i, ok := slices.BinarySearchFunc(mb.b.subs, t.Subtopology, func(s Subtopology, id int) int { return cmp.Compare(s.ID, id) })
		return ok && mb.b.subs[i].Stateful
	}
	var stateful []TaskID
	for _, t := range tasks {
		if isStateful(t) {
			stateful = append(stateful, t)
		}
	}
	// Lags matter for tasks with state only: a stateless task moves for
	// free, and one placed by its lag would take a member's room from one
	// whose state is there.
	members := slices.Clone(mb.members)
	for i := range members {
		members[i].lags = slices.DeleteFunc(slices.Clone(members[i].lags), func(l TaskLag) bool { return !isStateful(l.Task) })
	}
	active := assignLagged(tasks, members, mb.b.cfg.AcceptableRecoveryLag)
	var ends map[TaskID]int64
	if mb.b.cfg.ChangelogEnds != nil {
		ends = mb.b.cfg.ChangelogEnds()
	}
	warm := warmUp(stateful, members, active, ends, mb.b.cfg.AcceptableRecoveryLag, mb.b.cfg.MaxWarmups)
	plan := &Plan{
		subs:       mb.b.subs,
		partitions: make(map[string]int32, len(mb.b.topics)),
		tasks:      active,
		standbys:   assignStandbys(stateful, members, active, warm, mb.b.cfg.Standbys),
		warmups:    warm,
	}
	for _, t := range mb.b.topics {
		plan.partitions[t] = topics[t]
	}
	for _, m := range mb.members {
		plan.members = append(plan.members, m.id)
	}
	slices.Sort(plan.members)
	if mb.b.cfg.Cooperative {
		plan.withheld = withhold(plan.tasks, mb.members)
	}
	plan.hosts = hostsOf(mb.members, plan.tasks, plan.standbys)
	return plan
}

// tasksFor lists every task of subs given topic partition counts, sorted.
func tasksFor(subs []Subtopology, partitions map[string]int32) []TaskID {
	var tasks []TaskID
	for _, s := range subs {
		var n int32
		for _, t := range s.SourceTopics {
			n = max(n, partitions[t])
		}
		for p := range n {
			tasks = append(tasks, TaskID{Subtopology: s.ID, Partition: p})
		}
	}
	return normalize(tasks)
}
