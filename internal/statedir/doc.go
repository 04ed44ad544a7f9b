// Package statedir manages the state directory of an application instance:
// root/<application.id>, which holds one directory per task (root/app/0_1)
// with that task's stores, and one for the global stores (root/app/global),
// like Kafka Streams' state.dir.
//
// Two instances of one application must never share a state directory: both
// would write the same task's Pebble databases. Open therefore takes an
// exclusive lock on root/app/.lock and fails with ErrLocked when another
// instance holds it. The lock is an flock(2) on an open file, so the kernel
// releases it when its process dies, however it dies: a crashed instance
// never leaves a stale lock behind. Because flock locks belong to an open
// file and not to a process, a second Open of the same directory within one
// process is caught by a registry of the directories this process holds.
// The holder writes its pid into the lock file, only so that the error can
// say which process holds it.
//
// On platforms without flock (Windows) only the in-process check applies.
//
// A Dir hands out task directories (TaskDir), lists the tasks that have one
// (TasksOnDisk), and deletes one when its task has moved to another instance
// or its state is corrupt (Remove). Close releases the lock.
package statedir
