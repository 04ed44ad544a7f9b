package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-go/samsa/internal/assign"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// thread is one stream thread: one franz-go client, one group member, and
// the tasks the group gave it. The poll loop owns the tasks; group
// callbacks, which franz-go runs on its own goroutine while the loop is
// between polls (BlockRebalanceOnPoll), take mu to change them.
type thread struct {
	app  *App
	name string
	log  *slog.Logger
	cl   *kgo.Client
	// groupCl is cl for other goroutines: the client's group goroutine
	// calls onAssignment before NewClient has returned, and the standby
	// keeper asks for rebalances with it.
	groupCl atomic.Pointer[kgo.Client]

	// pauses tells a commit that the process stood still past the session
	// timeout (see pauseWatch).
	pauses *pauseWatch

	mu sync.Mutex
	// active tasks process; pending ones were assigned and are created and
	// restored by the loop before it processes again.
	active   map[processor.TaskID]*engine.Task
	pending  []processor.TaskID
	assigned atomic.Bool
	// owned are the tasks the thread owns, for the balancer's
	// stickiness. The group's goroutine reads them as it joins, holding
	// franz-go's lock that a commit waits on, so not under mu, which the
	// loop holds while it commits: writes happen under mu.
	owned atomic.Pointer[[]assign.TaskID]
	// synced are the active tasks of the thread's last assignment, all of
	// them: franz-go's callbacks name only what changed, and a
	// transactional session passes on one revocation per transaction.
	// The group's goroutine stores them as it decodes the assignment,
	// without mu, which the poll loop may hold in a commit that waits for
	// that very assignment.
	synced atomic.Pointer[[]assign.TaskID]
	// followup says the assignment withheld a task that moves, while
	// revoking nothing of this thread's: franz-go rejoins at once only
	// after a revocation, and the follow-up rebalance that hands the task
	// over would wait for this member's next heartbeat.
	followup atomic.Bool
	// revoking says the assignment the member just synced revokes tasks of
	// this thread, whose callback has yet to run: until it does, an
	// exactly-once thread can still commit its transaction (see step).
	revoking atomic.Bool

	// joining is whether the thread's member is joining the group: from
	// the start of a rebalance (onRevoked) until its assignment.
	joining bool

	// cfg is the engine configuration of the thread's tasks, whose host
	// (Collector) it is; group commits them.
	cfg   engine.Config
	group engine.Group
	// worked are the tasks with work in the commit running.
	worked []*engine.Task

	// refused are the records the brokers refused, queued by their
	// promises (see handlers.go); deadLettered counts the dead-letter
	// records the thread sent for them.
	produceMu    sync.Mutex
	refused      []refusal
	deadLettered int
	out          outAlloc
	snd          sender
	// changes are the changelog records a commit's flush sent under
	// at-least-once, held until the records before them were acknowledged
	// (see SendChangelog).
	changes []heldChange
	// sendCtx is the context of the task running, which the records it
	// sends carry (see sending); taskCtx holds one per task.
	sendCtx context.Context
	taskCtx map[processor.TaskID]*sendContext
	// lastTopic and lastReal are the graph's and the broker's name of the
	// topic a sink last sent to.
	lastTopic, lastReal string

	// Exactly-once: the transactional session, whether a transaction is
	// open, whether it holds work, and whether a rebalance doomed it (the
	// session aborts the next transaction to end after a revocation).
	eos      bool
	txnID    string
	sess     *kgo.GroupTransactSession
	inTxn    bool
	txnDirty bool
	doomed   bool

	// caught tells whether an empty poll means the thread caught up.
	caught catchUp

	// clientCtx is the context of the thread's client, cancelled to
	// interrupt it when it does not close by the shutdown deadline.
	clientCtx    context.Context
	cancelClient context.CancelFunc

	// lastCommit is when the thread last committed, in Unix nanoseconds;
	// rebalance callbacks commit too, from franz-go's goroutine.
	lastCommit atomic.Int64
	// commitFailing is when at-least-once commits began failing with
	// errors that pass (see commitLater); zero while they succeed.
	commitFailing time.Time
	// lockedSince is since when pending tasks have waited for their state,
	// which another thread of this process holds (see waitLocked).
	lockedSince time.Time

	// instanceID is the thread's group.instance.id, "" for a dynamic
	// member; status is its state (see health.go), metrics its
	// collectors, nil without metrics.
	instanceID string
	status     threadStatus
	metrics    *threadMetrics
}

func newThread(a *App, idx int) (*thread, error) {
	t := &thread{
		app:     a,
		name:    fmt.Sprintf("%s-StreamThread-%d", a.cfg.appID, idx+1),
		txnID:   fmt.Sprintf("%s-%s-%d", a.cfg.appID, a.processID, idx+1),
		eos:     a.cfg.guarantee == ExactlyOnceV2,
		active:  map[processor.TaskID]*engine.Task{},
		taskCtx: map[processor.TaskID]*sendContext{},
		sendCtx: context.Background(),
	}
	t.cfg = engine.Config{
		ApplicationID:          a.cfg.appID,
		Collector:              t,
		OpenDB:                 a.openDB,
		MaxTaskIdle:            a.cfg.maxTaskIdle,
		DeserializationHandler: a.cfg.deserialization,
		ProcessingHandler:      a.cfg.processing,
		ProductionHandler:      a.cfg.production,
		DeadLetterTopic:        a.cfg.deadLetter,
		Logger:                 a.log.With("thread", t.name),
	}
	// Stores hold what commits wrote among their clean entries where it
	// fits, and write Pebble once per several commits; closeTask applies
	// what they hold.
	t.group.HoldCommits = true
	t.out.th = t
	t.log = a.log.With("thread", t.name)
	t.metrics = a.metrics.thread(t.name)
	if a.cfg.instanceID != "" {
		t.instanceID = fmt.Sprintf("%s-%d", a.cfg.instanceID, idx+1)
	}
	// Starting before the client exists: its group may assign the thread
	// before run begins, and the assignment must not be overwritten.
	t.setThreadState(threadStarting)
	if err := t.connect(); err != nil {
		return nil, err
	}
	return t, nil
}

// connect makes the thread's client: a group member and, under
// exactly-once, a transactional producer whose offsets commit inside its
// transactions with the group's generation, so that a zombie is fenced.
func (t *thread) connect() error {
	a := t.app
	// Both protocols, cooperative first: the group rebalances
	// cooperatively once all its members offer that, and eagerly while a
	// member of an older release offers only the eager one. The callbacks
	// below serve both: they close what was revoked and add what was
	// assigned, which under the eager protocol is everything each time.
	cfg := t.elastic(assign.Config{
		Subtopologies: a.assignSubs,
		ProcessID:     a.processID,
		Owned:         t.ownedTasks,
		StateOnDisk:   a.tasksOnDisk,
	})
	eager, err := assign.NewBalancer(cfg)
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	cfg.Cooperative = true
	coop, err := assign.NewBalancer(cfg)
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	t.clientCtx, t.cancelClient = context.WithCancel(context.Background())
	opts := a.clientOpts(t.name)
	opts = append(opts,
		kgo.WithContext(t.clientCtx),
		kgo.ConsumerGroup(a.cfg.appID),
		kgo.ConsumeTopics(a.sourceTopics...),
		kgo.Balancers(coop, eager),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(a.cfg.sessionTimeout),
		kgo.RecordPartitioner(a.partitioner()),
		kgo.OnPartitionsAssigned(t.onAssigned),
		kgo.OnPartitionsRevoked(t.onRevoked),
		kgo.OnPartitionsLost(t.onLost),
		// Fetched records wait in the client until polled, with the
		// batches they were decoded from: at Kafka's 1 MiB per
		// partition (max.partition.fetch.bytes) they held more of a
		// word count's heap than its state did, and a quarter of that
		// fetches as fast. The response bound keeps a thread of many
		// partitions from fetching far ahead of what it processes.
		kgo.FetchMaxPartitionBytes(fetchPartitionBytes),
		kgo.FetchMaxBytes(fetchMaxBytes),
	)
	if t.instanceID != "" {
		opts = append(opts, kgo.InstanceID(t.instanceID))
	}
	if t.eos {
		opts = append(opts,
			kgo.TransactionalID(t.txnID),
			kgo.TransactionTimeout(a.cfg.txnTimeout),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		)
	}
	opts = append(opts, a.cfg.kgoOpts...)
	if t.eos {
		t.sess, err = kgo.NewGroupTransactSession(opts...)
		if err == nil {
			t.cl = t.sess.Client()
		}
	} else {
		t.cl, err = kgo.NewClient(opts...)
	}
	if err != nil {
		return fmt.Errorf("runtime: thread %s: %w", t.name, err)
	}
	t.groupCl.Store(t.cl)
	return nil
}

func (t *thread) ownedTasks() []assign.TaskID {
	if p := t.owned.Load(); p != nil {
		return slices.Clone(*p)
	}
	return nil
}

// run polls and processes until ctx is cancelled or an error occurs. It
// leaves the group cleanly, committing first, unless the error was fatal.
func (t *thread) run(ctx context.Context) error {
	t.lastCommit.Store(time.Now().UnixNano())
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	t.pauses = newPauseWatch()
	go t.pauses.run(watchCtx)
	defer t.setThreadState(threadDead)
	err := t.loop(ctx)
	t.setThreadState(threadPendingShutdown)
	sctx := t.app.shutdownContext()
	// franz-go calls the lost callback, which takes mu, holding the
	// transactional session's lock, which the commit and abort below take
	// while holding mu: until closeClient, the group's callbacks wait, as
	// they wait during a poll's processing.
	t.holdRebalances()
	t.mu.Lock()
	if err == nil {
		// A clean close: commit what was processed, then leave the group.
		err = t.commit(sctx)
		if errors.Is(err, errRejoin) || errors.Is(err, kgo.ErrClientClosed) || sctx.Err() != nil {
			// Rejoining is moot; a client closed under the commit, or a
			// commit cut short by the deadline, commits nothing more, and
			// what was not committed is processed again by the next owner.
			err = nil
		}
	}
	// Nothing is committed past a failure: the tasks close uncommitted,
	// dropping what their stores held of it, and the group callbacks of
	// the close find none. An open transaction is aborted, or left to the
	// brokers to abort at its timeout.
	t.endTxn(sctx)
	t.closeAll(t.active)
	t.active = map[processor.TaskID]*engine.Task{}
	t.owned.Store(nil)
	t.mu.Unlock()
	t.closeClient(sctx)
	t.mu.Lock()
	t.stopSender()
	t.mu.Unlock()
	return err
}

// holdRebalances makes the group's callbacks wait until AllowRebalance
// (BlockRebalanceOnPoll): a poll whose context is done returns at once,
// holding them, once a callback already running has returned. Records that
// poll returns are dropped, which loses nothing: commits write the tasks'
// own offsets, never the consumer's, so the next owner reads them again.
func (t *thread) holdRebalances() {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	t.cl.PollRecords(done, 1)
}

// endTxn aborts the transaction if one is still open, by ctx's deadline.
// mu is held.
func (t *thread) endTxn(ctx context.Context) {
	if !t.eos || !t.inTxn {
		return
	}
	t.inTxn = false
	t.metrics.txnEnded(false)
	if _, err := t.end(ctx, kgo.TryAbort); err != nil {
		t.log.Warn("the open transaction was not aborted; the brokers abort it at its timeout", "err", err)
	}
}

// end ends the open transaction, waiting at most the transaction timeout,
// past which the brokers abort the transaction anyway. franz-go's End
// waits for a heartbeat once the offsets are in, and the group's callbacks
// wait while mu is held (a poll's processing, or holdRebalances): if the
// group failed meanwhile, no heartbeat comes, and only the deadline ends
// the wait. The caller treats the error as any failed end.
func (t *thread) end(ctx context.Context, try kgo.TransactionEndTry) (bool, error) {
	t.drain()
	ctx, cancel := context.WithTimeout(ctx, t.app.cfg.txnTimeout)
	defer cancel()
	return t.sess.End(ctx, try)
}

func (t *thread) sinceCommit() time.Duration {
	return time.Duration(time.Now().UnixNano() - t.lastCommit.Load())
}

// fetchPartitionBytes and fetchMaxBytes are what a stream thread fetches
// from a partition and from a broker at once (max.partition.fetch.bytes and
// fetch.max.bytes, whose defaults are 1 MiB and 50 MiB); KgoOpts can
// change them.
const (
	fetchPartitionBytes = 256 << 10
	fetchMaxBytes       = 4 << 20
)

// maxPollWait bounds a poll so that wall-clock punctuators and commits run
// while no records arrive.
const maxPollWait = 100 * time.Millisecond

func (t *thread) loop(ctx context.Context) error {
	for {
		// Poll no longer than until the next commit is due: under
		// exactly-once the records a task waits for (its own repartition
		// output) become visible only after that commit.
		wait := t.app.cfg.commitInterval - t.sinceCommit()
		// Under mu: between polls the group's callbacks may be closing
		// the tasks.
		t.mu.Lock()
		idle := t.untilIdleDeadline()
		t.mu.Unlock()
		wait = max(min(wait, maxPollWait, idle), time.Millisecond)
		pollCtx, cancel := context.WithTimeout(ctx, wait)
		polled := time.Now()
		fetches := t.cl.PollRecords(pollCtx, 2000)
		t.metrics.polled(polled)
		cancel()
		if ctx.Err() != nil || fetches.IsClientClosed() {
			t.cl.AllowRebalance()
			return nil
		}
		if err := t.fetchErrors(fetches); err != nil {
			t.cl.AllowRebalance()
			return err
		}
		t.mu.Lock()
		err := t.step(ctx, fetches)
		if err != nil {
			err = t.storeFault(ctx, err)
		}
		t.drain()
		t.mu.Unlock()
		t.cl.AllowRebalance()
		if errors.Is(err, errRejoin) {
			if err := t.rejoin(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				// Interrupted by shutdown (a restore, say): a clean close.
				return nil
			}
			return err
		}
	}
}

// step creates pending tasks, queues the fetched records, processes them
// and commits when the interval is up. mu is held.
func (t *thread) step(ctx context.Context, fetches kgo.Fetches) error {
	if t.doomed {
		if err := t.abortRebalanced(ctx); err != nil {
			return err
		}
		// The abort put the consumer back to the last commit, so what this
		// poll returned is fetched again: processed now, it would be
		// processed twice in the next transaction.
		return nil
	}
	if len(t.pending) > 0 && t.txnDirty && !t.joining && t.lockedSince.IsZero() {
		// Tasks to make, and so maybe to restore, which holds the thread
		// for as long as it reads their changelogs: the tasks it keeps
		// commit first, so that their outputs (under exactly-once),
		// offsets and queryable views are not held back by the restore,
		// and a crash meanwhile redoes nothing of theirs. (Not again
		// while tasks wait for a lock: the first attempt committed.)
		refetch := t.unqueued(fetches)
		committed, err := t.commitAll(ctx)
		if err != nil {
			return err
		}
		if t.eos {
			// The transaction committed the tasks' own offsets, but
			// franz-go's session took this poll's for committed, and
			// would rewind an abort to them: the records of the poll are
			// dropped and fetched again, from where the tasks are. An
			// aborted commit put the consumer back to the last commit.
			if committed && len(refetch) > 0 {
				t.cl.SetOffsets(refetch)
			}
			fetches = nil
		}
	}
	// A task whose state fails as it is made is repaired (storeFault) and
	// made again, before the records fetched are queued: none is lost.
	for {
		err := t.createPending(ctx)
		if err == nil {
			break
		}
		aborts := t.eos && t.inTxn
		if err := t.storeFault(ctx, err); err != nil {
			return err
		}
		if aborts {
			// The abort put the consumer back to the last commit: what
			// was fetched is fetched again.
			return nil
		}
	}
	if t.threadState() == threadAssigned {
		t.setThreadState(threadRunning)
	}
	if t.eos && !t.inTxn {
		if err := t.sess.Begin(); err != nil {
			return fmt.Errorf("runtime: thread %s: begin transaction: %w", t.name, err)
		}
		t.inTxn = true
	}
	var again map[string]map[int32]kgo.EpochOffset
	t.eachFetched(fetches, func(p kgo.FetchTopicPartition, logical string, id processor.TaskID) {
		t.caught.saw(p, t.eos)
		if tk := t.active[id]; tk != nil {
			enqueue(tk, logical, p.Records)
			if t.metrics != nil {
				t.metrics.fetched(tk, tk.Input(logical), p, t.eos)
			}
		} else if slices.Contains(t.pending, id) {
			// Assigned but not made yet (its state is still held in
			// this process): the consumer reads these again.
			again = fetchAgain(again, p)
		}
	})
	if again != nil {
		t.cl.SetOffsets(again)
	}
	now := time.Now().UnixMilli()
	for _, tk := range t.active {
		t.sending(tk)
		n, err := tk.ProcessReady(now, 0)
		if n > 0 {
			t.txnDirty = true
			t.metrics.processedBy(tk.ID, n)
		}
		if err != nil {
			return err
		}
		if err := tk.AdvanceWallClock(now); err != nil {
			return err
		}
	}
	if err := t.checkProduce(); err != nil {
		if t.eos && isProducerError(err) {
			return t.abort(ctx, err.Error())
		}
		return err
	}
	// Commit when the interval is up, and also as soon as a poll comes
	// back empty with work uncommitted once the thread has caught up:
	// waiting out the interval would only hold back outputs, which under
	// exactly-once are invisible until their transaction commits (the
	// records a task reads from its own repartition topic too). A poll
	// that is empty only because the next fetch is on its way does not
	// commit (see catchUp): with small fetches those are many, and each
	// commit would wait for the producer. Past the bound on uncommitted
	// store writes the thread commits early too.
	//
	// Not while the member joins, though: franz-go holds commits back
	// until the group has synced, which in a cooperative rebalance waits
	// for every member to rejoin, and the thread would stop processing
	// the tasks it keeps for as long; a transaction's offsets would then
	// go with the generation that ended, and be refused. The tasks go on
	// and commit once assigned (under at-least-once also on a
	// revocation); a transaction that a revocation dooms aborts with what
	// they did meanwhile.
	//
	// Under exactly-once, once the member has synced an assignment that
	// revokes tasks of the thread, the thread commits at once: its
	// revocation callback, which waits for this step to end, has the
	// session abort whatever the transaction then holds, and the tasks
	// that stay would redo it. The commit goes with the new generation,
	// in which the thread still owns the tasks it is about to revoke
	// (the leader withholds them from their new owners), as Kafka Streams
	// commits them on revocation.
	var idle bool
	if fetches.NumRecords() > 0 {
		t.caught.worked(time.Now())
	} else {
		idle = t.txnDirty && t.caught.caughtUp(time.Now())
	}
	if t.joining {
		if !t.eos || !t.txnDirty || !t.revoking.Load() {
			return nil
		}
		return t.commit(ctx)
	}
	if idle || t.sinceCommit() >= t.app.cfg.commitInterval || t.overUncommitted() {
		if err := t.commit(ctx); err != nil {
			return err
		}
	}
	return nil
}

// overUncommitted reports whether the active tasks' stores hold more
// uncommitted writes than UncommittedMaxBytes allows.
func (t *thread) overUncommitted() bool {
	limit := t.app.cfg.uncommittedMax
	if limit < 0 {
		return false
	}
	var n int64
	for _, tk := range t.active {
		n += tk.UncommittedBytes()
	}
	return n > limit
}

// lostMembership reports whether a commit failed because the group no
// longer counts this member in its generation.
func lostMembership(err error) bool {
	return errors.Is(err, kerr.UnknownMemberID) ||
		errors.Is(err, kerr.IllegalGeneration) ||
		errors.Is(err, kerr.RebalanceInProgress) ||
		errors.Is(err, kerr.StaleMemberEpoch) ||
		errors.Is(err, kerr.FencedInstanceID)
}

// errRejoin asks the loop to drop its client and join the group anew: the
// transactional producer was fenced or failed beyond retrying.
var errRejoin = errors.New("runtime: rejoin")

// rejoin replaces the thread's client after a fatal transaction error. The
// tasks are closed without committing; the new member gets its tasks from
// the next assignment and restores them from their changelogs.
func (t *thread) rejoin() error {
	t.mu.Lock()
	t.drain()
	t.closeAll(t.active)
	t.active = map[processor.TaskID]*engine.Task{}
	t.dropPending()
	t.owned.Store(nil)
	t.synced.Store(nil)
	t.inTxn, t.txnDirty, t.doomed, t.joining = false, false, false, false
	t.caught.reset()
	t.setThreadState(threadRevoked)
	t.mu.Unlock()
	t.cl.CloseAllowingRebalance()
	// Records still buffered in the old client fail with ErrClientClosed
	// as it closes: they belonged to the tasks just dropped, whose next
	// owner produces them again, so they fail nothing.
	t.clearRefused()
	if t.assigned.Swap(false) {
		t.app.assignedThreads.Add(-1)
	}
	t.app.rebalancing()
	return t.connect()
}

// abort aborts the open transaction and rewinds the tasks. mu is held.
func (t *thread) abort(ctx context.Context, why string) error {
	if err := t.abortTxn(ctx, false); err != nil {
		return err
	}
	t.rewind(why)
	return nil
}

// abortTxn aborts the open transaction, or with evenIfNone the session's
// state when none is open, and forgets what the thread knew of its input:
// the session has put the consumer back to the last commit. An abort that
// fails rejoins with a new producer (errRejoin). mu is held.
func (t *thread) abortTxn(ctx context.Context, evenIfNone bool) error {
	t.doomed = false
	if t.inTxn || evenIfNone {
		_, err := t.end(ctx, kgo.TryAbort)
		if t.inTxn {
			t.inTxn = false
			t.metrics.txnEnded(false)
		}
		if err != nil {
			t.log.Warn("abort failed; rejoining the group with a new producer", "err", err)
			return errRejoin
		}
	}
	t.txnDirty = false
	t.caught.reset()
	t.clearRefused()
	return nil
}

// rewind closes the active tasks without committing, dropping their
// uncommitted state, and creates them again: they restore what committed
// and process again from the committed offsets, to which the transactional
// session has reset the consumer. mu is held.
func (t *thread) rewind(why string) {
	if len(t.active) == 0 {
		return
	}
	t.log.Info("rewinding tasks to their last commit", "reason", why)
	for id, tk := range t.active {
		t.closeTask(tk)
		t.addPending(id)
	}
	t.active = map[processor.TaskID]*engine.Task{}
}

// abortRebalanced ends the transaction a rebalance doomed: the session
// aborts the first transaction to end after a revocation or a loss, and
// resets the consumer to the last commit, so it is ended now, before
// anything more is processed, even with no transaction open (the next one
// would abort). Only the tasks with work since their last commit rewind;
// the others lose nothing but the records queued past it, which are
// fetched again, and keep processing without being made anew. mu is held.
func (t *thread) abortRebalanced(ctx context.Context) error {
	if err := t.abortTxn(ctx, true); err != nil {
		return err
	}
	var rewound []string
	for id, tk := range t.active {
		if !tk.Dirty() {
			for _, in := range tk.Inputs() {
				in.Clear()
			}
			continue
		}
		t.closeTask(tk)
		delete(t.active, id)
		t.addPending(id)
		rewound = append(rewound, id.String())
	}
	if len(rewound) > 0 {
		slices.Sort(rewound)
		t.log.Info("rewinding tasks to their last commit", "reason", "the group rebalanced during the transaction", "tasks", fmt.Sprint(rewound))
	}
	return nil
}

// dropPending empties the tasks to create: those a rewind closed were open
// on this thread until now. mu is held.
func (t *thread) dropPending() {
	for _, id := range t.pending {
		t.app.released(t, id)
	}
	t.pending = nil
}

// addPending adds id to the tasks to create, once. mu is held.
func (t *thread) addPending(id processor.TaskID) {
	if !slices.Contains(t.pending, id) {
		t.pending = append(t.pending, id)
	}
}

func (t *thread) fetchErrors(fetches kgo.Fetches) error {
	var errs []error
	fetches.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		// Retriable errors are retried by the client; what reaches here is
		// worth a log line, and data loss or authorization is fatal.
		t.log.Warn("fetch error", "topic", topic, "partition", p, "err", err)
		var de *kgo.ErrDataLoss
		if errors.As(err, &de) {
			errs = append(errs, fmt.Errorf("runtime: topic %q partition %d: %w", topic, p, err))
		}
	})
	return errors.Join(errs...)
}

// onAssigned records the new assignment: added are the partitions the
// thread did not hold (all of them under the eager protocol); the tasks it
// keeps stay open and go on processing. The loop creates and restores the
// new tasks, so a long restore never runs inside the group protocol.
func (t *thread) onAssigned(_ context.Context, cl *kgo.Client, added map[string][]int32) {
	if t.followup.Swap(false) {
		cl.ForceRebalance()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fresh := assign.TasksOf(added, t.app.assignSubs)
	all := fresh
	if p := t.synced.Load(); p != nil {
		all = *p
	}
	owned := slices.Clone(all)
	t.owned.Store(&owned)
	t.joining = false
	t.revoking.Store(false)
	if !t.assigned.Swap(true) {
		t.app.assignedThreads.Add(1)
	}
	// A task still open that the assignment lacks, or that it adds anew,
	// missed its revocation: a transactional session passes on one per
	// transaction, and the transaction of an idle thread can span two
	// rebalances. Another member may have run the task since, so it is
	// closed and, if assigned, made anew as the others are; the session
	// aborts the transaction, which the next step ends.
	stale := func(id processor.TaskID) bool {
		a := assign.TaskID{Subtopology: id.Subtopology, Partition: id.Partition}
		return !slices.Contains(all, a) || slices.Contains(fresh, a)
	}
	for id, tk := range t.active {
		if stale(id) {
			if t.eos {
				t.doomed = true
			}
			t.closeTask(tk)
			delete(t.active, id)
			t.app.released(t, id)
			t.metrics.released(id)
		}
	}
	// Pending tasks the assignment lacks are dropped: a rewind or a
	// failed creation may have left them there.
	t.pending = slices.DeleteFunc(t.pending, func(id processor.TaskID) bool {
		if slices.Contains(all, assign.TaskID{Subtopology: id.Subtopology, Partition: id.Partition}) {
			return false
		}
		t.app.released(t, id)
		return true
	})
	for _, a := range fresh {
		t.addPending(processor.TaskID{Subtopology: a.Subtopology, Partition: a.Partition})
	}
	t.log.Info("tasks assigned", "tasks", fmt.Sprint(all), "added", fmt.Sprint(fresh))
	t.setThreadState(threadAssigned)
	t.app.threadAssigned()
}

// onRevoked closes the tasks of the revoked partitions, committing first
// under at-least-once; the others stay open and go on processing. A
// cooperative rebalance begins with a call revoking nothing. Under the
// eager protocol everything is revoked, and tasks assigned again are
// created anew and catch up from their changelogs: another member may
// have run them in between (a pause past the session timeout, say), and a
// task kept open would miss what it committed.
//
// Under exactly-once the transaction cannot end from inside the group
// protocol, and the session aborts the next one to end after a revocation:
// the revoked tasks close without committing, and the next step aborts
// (abortRebalanced), rewinding the tasks that stay if the transaction
// holds their work.
func (t *thread) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if t.threadState() < threadPendingShutdown {
		// A rebalance begins: the leader balances with the changelogs'
		// ends as last learned, and ends learned before the changelogs
		// filled up would have a task move at once, for a full restore,
		// to an instance without its state. A cooperative rebalance can
		// follow the last one within a heartbeat; learn them afresh.
		t.app.standbys.learnEnds(ctx, time.Second)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.app.rebalancing()
	t.joining = true
	ids := assign.TasksOf(revoked, t.app.assignSubs)
	if len(ids) == 0 {
		return
	}
	t.setThreadState(threadRevoked)
	if t.eos {
		t.doomed = true
	} else {
		// franz-go's context ends only with the client: the commit also
		// gives up when the shutdown does, or the close would wait on it.
		ctx, stop := t.app.untilAbandoned(ctx)
		if err := t.commit(ctx); err != nil {
			t.log.Warn("commit on revocation failed", "err", err)
		}
		stop()
	}
	gone := make(map[processor.TaskID]*engine.Task, len(ids))
	for _, a := range ids {
		id := processor.TaskID{Subtopology: a.Subtopology, Partition: a.Partition}
		if tk := t.active[id]; tk != nil {
			gone[id] = tk
			delete(t.active, id)
		}
		if i := slices.Index(t.pending, id); i >= 0 {
			t.pending = slices.Delete(t.pending, i, i+1)
			t.app.released(t, id)
		}
	}
	owned := slices.DeleteFunc(t.ownedTasks(), func(a assign.TaskID) bool { return slices.Contains(ids, a) })
	t.owned.Store(&owned)
	t.closeAll(gone)
	t.log.Info("tasks revoked", "tasks", fmt.Sprint(ids))
}

// onLost drops the tasks without committing: another member owns them now.
func (t *thread) onLost(_ context.Context, _ *kgo.Client, _ map[string][]int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.setThreadState(threadRevoked)
	t.app.rebalancing()
	t.log.Warn("partitions lost; closing tasks without commit")
	t.joining = false
	if t.eos {
		t.doomed = true
	}
	t.closeAll(t.active)
	t.active = map[processor.TaskID]*engine.Task{}
	t.dropPending()
	t.owned.Store(nil)
	t.synced.Store(nil)
}

func (t *thread) closeAll(tasks map[processor.TaskID]*engine.Task) {
	for id, tk := range tasks {
		t.closeTask(tk)
		t.app.released(t, id)
		t.metrics.released(id)
	}
}

// closeTask closes tk, dropping what it did not commit, once its stores
// wrote to Pebble what they held of its commits: its database then records
// every commit, for the next task or standby to open it.
func (t *thread) closeTask(tk *engine.Task) {
	t.app.unqueryable(tk.ID)
	t.dropChangesOf(tk)
	if err := tk.ApplyCommitted(); err != nil {
		t.log.Warn("applying a closing task's commits", "task", tk.ID.String(), "err", err)
	}
	if err := tk.Close(); err != nil {
		t.log.Warn("closing task", "task", tk.ID.String(), "err", err)
	}
}

// untilIdleDeadline is how long until a task stops waiting for an empty
// input (MaxTaskIdle), so that a poll does not sleep past it. mu is held.
func (t *thread) untilIdleDeadline() time.Duration {
	wait := maxPollWait
	now := time.Now().UnixMilli()
	for _, tk := range t.active {
		if at, ok := tk.IdleDeadline(); ok {
			wait = min(wait, time.Duration(at-now)*time.Millisecond)
		}
	}
	return wait
}

func nowNanos() int64 { return time.Now().UnixNano() }

// unqueued returns, under exactly-once, the first offset of each partition
// of fetches whose task holds none of its records queued: where the
// consumer goes back to for the poll's records to be fetched again. A
// commit moves the consumer back to the first record queued of the others
// itself (commitTxn). mu is held.
func (t *thread) unqueued(fetches kgo.Fetches) map[string]map[int32]kgo.EpochOffset {
	if !t.eos {
		return nil
	}
	var m map[string]map[int32]kgo.EpochOffset
	t.eachFetched(fetches, func(p kgo.FetchTopicPartition, logical string, id processor.TaskID) {
		if tk := t.active[id]; tk != nil {
			if in := tk.Input(logical); in != nil {
				if _, queued := in.Head(); queued {
					return
				}
			}
		}
		m = fetchAgain(m, p)
	})
	return m
}

// eachFetched calls fn with each partition of fetches that holds records
// of a topic the topology reads, its topic's name in the graph and its
// task.
func (t *thread) eachFetched(fetches kgo.Fetches, fn func(p kgo.FetchTopicPartition, logical string, id processor.TaskID)) {
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		logical, ok := t.app.logical[p.Topic]
		if !ok {
			return
		}
		fn(p, logical, processor.TaskID{Subtopology: t.app.subOf[logical], Partition: p.Partition})
	})
}

// fetchAgain adds to m, made if nil, the offset of p's first record, for
// SetOffsets to have the consumer fetch it again.
func fetchAgain(m map[string]map[int32]kgo.EpochOffset, p kgo.FetchTopicPartition) map[string]map[int32]kgo.EpochOffset {
	if m == nil {
		m = map[string]map[int32]kgo.EpochOffset{}
	}
	if m[p.Topic] == nil {
		m[p.Topic] = map[int32]kgo.EpochOffset{}
	}
	m[p.Topic][p.Partition] = kgo.EpochOffset{Epoch: -1, Offset: p.Records[0].Offset}
	return m
}

// createPending creates the tasks assigned since the last step and restores
// their stores. mu is held.
func (t *thread) createPending(ctx context.Context) error {
	if len(t.pending) == 0 {
		return nil
	}
	var created []*engine.Task
	var locked []processor.TaskID
	for _, id := range t.pending {
		if t.active[id] != nil {
			continue
		}
		tk, err := t.app.newTask(t, id)
		if errors.Is(err, state.ErrLocked) {
			// Another thread of this process has yet to close the task,
			// which moved from it to this one: it does on its own
			// assignment. The task stays pending, its records are read
			// again (step), and it is made once its state is free.
			locked = append(locked, id)
			continue
		}
		if err != nil {
			for _, c := range created {
				c.Close()
			}
			return err
		}
		created = append(created, tk)
	}
	if err := t.waitLocked(locked); err != nil {
		for _, c := range created {
			c.Close()
		}
		return err
	}
	ids := t.pending
	t.pending = locked
	if err := t.app.restore(ctx, t, created); err != nil {
		for _, c := range created {
			c.Close()
		}
		// Still to make, should the error be repaired (storeFault).
		t.pending = ids
		return err
	}
	for i, tk := range created {
		// Wall-clock punctuators count their first interval from when
		// they are scheduled, in Init, not from before the restore.
		err := tk.AdvanceWallClock(time.Now().UnixMilli())
		if err == nil {
			err = tk.Start()
		}
		if err != nil {
			for _, c := range created[i:] {
				c.Close()
			}
			return fmt.Errorf("runtime: %w", err)
		}
		t.active[tk.ID] = tk
		t.app.queryable(tk)
	}
	return nil
}

// lockedWaitFor bounds how long a task's state may stay locked by another
// thread of this process before the thread fails: a thread that lost the
// task closes it on its own assignment, within the rebalance.
const lockedWaitFor = time.Minute

// waitLocked notes the pending tasks whose state another thread of this
// process still holds (locked, none when all were made), and fails once
// that lasted past lockedWaitFor. mu is held.
func (t *thread) waitLocked(locked []processor.TaskID) error {
	if len(locked) == 0 {
		t.lockedSince = time.Time{}
		return nil
	}
	if t.lockedSince.IsZero() {
		t.lockedSince = time.Now()
		t.log.Info("the state of tasks is still held in this process; they start once it is free", "tasks", fmt.Sprint(locked))
	}
	if waited := time.Since(t.lockedSince); waited > lockedWaitFor {
		return fmt.Errorf("runtime: thread %s: the state of tasks %v stayed locked in this process for %v: %w", t.name, locked, waited.Round(time.Second), state.ErrLocked)
	}
	return nil
}
