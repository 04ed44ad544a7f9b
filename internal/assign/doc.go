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
// # API
//
// NewBalancer returns a kgo.GroupBalancer to pass to kgo.Balancers. It is an
// eager protocol ("samsa-tasks-v1"): all partitions are revoked before every
// rebalance. Members join with a standard kmsg.ConsumerMemberMetadata, so
// tools that describe groups still see their topics; its UserData carries a
// Subscription (process id, owned tasks, tasks with state on disk) in a small
// versioned binary encoding.
package assign
