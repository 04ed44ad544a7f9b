// Package assign hands Kafka Streams–style tasks, not partitions, to the
// stream threads of a Samsa application.
//
// # Model
//
// A topology splits into subtopologies, each reading a set of co-partitioned
// source topics. Task s_p runs subtopology s on partition p of every one of
// its source topics, so those partitions must always land on the same stream
// thread. Each stream thread is one kgo client and one member of the
// application's consumer group; every thread of one application instance
// (process) shares a process id and a state directory.
//
// The group leader's Balancer turns the partition counts the client hands it
// into tasks, assigns tasks to members, and answers kgo with each member's
// topic partitions: every source partition of every task it got. The member
// recovers its tasks from its partitions with TasksOf.
//
// Tasks are assigned by these rules, in order:
//
//  1. A task stays with the member that owned it, if that member is still in
//     the group and has room. When two members claim one task, the claim
//     made in the newer group generation wins.
//  2. Otherwise it goes to the least loaded member with room whose process
//     has the task's state on disk, so restoring is short.
//  3. Otherwise it goes to the least loaded member.
//
// Room is what keeps the group balanced by task count: at the end every
// member holds ⌊tasks/members⌋ or ⌈tasks/members⌉ tasks. Ties go to the member
// with fewer tasks of the same subtopology, then to the lower member id, so
// the same input always yields the same assignment.
//
// # Standbys
//
// With Config.Standbys n, each task of a stateful subtopology also gets up
// to n standby replicas: members that keep its stores warm by tailing its
// changelogs, so that a failover restores only the tail. A task's copies are
// each on a process of their own, never on its active's, so a task has at
// most one standby fewer than the group has processes. Standbys go to the
// least loaded members (active and standby tasks alike), preferring
// processes with the task's state on disk (see assignStandbys). Each
// member's standbys, and the application servers of the group's processes
// with the tasks they hold (for routing interactive queries), travel in the
// UserData of its kmsg.ConsumerMemberAssignment as an Assignment, in a
// versioned encoding under the same rule as the Subscription's.
//
// # Warm-up replicas
//
// Members may report, in their subscription, how far their process's copy
// of each task trails its changelogs (0 for the tasks it ran until this
// rebalance); a process that reports none for a task counts its whole
// changelogs (Config.ChangelogEnds), as Kafka Streams' leader does. When
// the balanced assignment gives a stateful task to a process that is not
// within Config.AcceptableRecoveryLag of it while
// another process is, the task stays with the caught-up process and the
// balanced target gets a warm-up replica of it, up to Config.MaxWarmups per
// balance (KIP-441): it tails the task's changelogs as a standby does and,
// once caught up, asks for a rebalance, in which the task moves without
// pausing for a full restore. Until then the loads may differ by more than
// one.
//
// # Cooperative rebalancing
//
// With Config.Cooperative the Balancer speaks "samsa-tasks-v2", a
// cooperative protocol (KIP-429): members keep their tasks, and keep
// processing them, through a rebalance, and revoke only the tasks their new
// assignment lacks. A task that moves between two members of the group
// therefore takes two rebalances: in the first the leader gives it to no
// one, because its old owner still holds its partitions (the owned
// partitions of its join metadata), so that owner revokes it and rejoins;
// in the second nobody holds it and it goes to its new owner. No task is
// ever held by two members. The assignment of such a first rebalance tells
// every member to rejoin at once (Assignment.Rejoin), as the second waits
// for all of them. A task whose owner left the group is held by no one and
// moves in one rebalance. Members that offer both protocols,
// cooperative first, let a group roll between releases: it runs eager
// while any member offers only "samsa-tasks-v1".
//
// # API
//
// NewBalancer returns a kgo.GroupBalancer to pass to kgo.Balancers. Without
// Config.Cooperative it is an eager protocol ("samsa-tasks-v1"): all
// partitions are revoked before every rebalance. Members join with a standard kmsg.ConsumerMemberMetadata, so
// tools that describe groups still see their topics; its UserData carries a
// Subscription (process id, owned tasks, tasks with state on disk,
// application server) in a small versioned binary encoding: a newer version
// only appends fields, which older readers skip, so a group can roll to it
// one process at a time.
package assign
