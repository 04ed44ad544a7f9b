package runtime

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/samsa-go/samsa/internal/assign"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/internal/statedir"
	"github.com/samsa-go/samsa/internal/topics"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kslog"
)

// App runs a topology on Kafka. Create it with New, run it with Run. Its
// methods are safe for concurrent use.
type App struct {
	cfg       config
	topo      *topology.Topology
	graph     *engine.Graph
	log       *slog.Logger
	processID string

	state    atomic.Int32
	listenMu sync.Mutex
	listener StateListener

	// Set by Run before the threads start; read-only afterwards.
	layout       *topics.Layout
	dir          *statedir.Dir
	adm          *kadm.Client
	admCl        *kgo.Client
	sourceTopics []string
	logical      map[string]string
	subOf        map[string]int
	assignSubs   []assign.Subtopology
	changelogs   map[string]bool
	threads      []*thread
	// cache is the block cache of every task's database.
	cache *pebble.Cache
	// rows is the row cache of the app's databases (RowCacheBytes).
	rows *state.RowCache
	// global keeps the global stores, if the topology has any; it is
	// bootstrapped before the threads start and closed after they stop.
	global *globalThread

	mu sync.Mutex
	// open holds, per task, the threads that have it open or are to open
	// it: one, but for the moment a task moves between two threads of this
	// process and the one losing it has not closed it yet.
	open       map[processor.TaskID]map[*thread]bool
	releasedAt map[processor.TaskID]time.Time
	// assignedThreads counts the threads holding an assignment.
	assignedThreads atomic.Int32
	toPurge         map[string]map[int32]int64
	// drops are the drop counts of every task this instance ran.
	drops map[processor.TaskID]*engine.DropCounts
	// faults holds the tasks whose state failed and was, or is to be,
	// wiped (true until wiped) since their last commit.
	faults map[processor.TaskID]bool
	// standbys keeps the standby tasks (see standby.go); standbyHeld,
	// under mu, lists them for housekeeping.
	standbys    *standbys
	standbyHeld map[processor.TaskID]bool
	// queries serves interactive queries (see query.go).
	queries queries

	// metrics are the app's Prometheus collectors, nil without Metrics or
	// HTTP; gatherer is what /metrics serves; health what the endpoints
	// read (see health.go).
	metrics  *metrics
	gatherer prometheus.Gatherer
	health   health

	stop     chan struct{}
	stopOnce sync.Once
	shutdown shutdown
	done     chan struct{}
}

// New checks the configuration and builds the topology. It does not
// connect to Kafka: Run does.
func New(topo *topology.Topology, opts ...Option) (*App, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.guarantee == ExactlyOnceV2 && !cfg.commitSet {
		cfg.commitInterval = 100 * time.Millisecond
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if topo == nil {
		return nil, errors.New("runtime: nil topology")
	}
	if err := topo.Build(); err != nil {
		return nil, err // a topology mistake, said by package topology
	}
	log := cfg.logger
	if log == nil {
		log = slog.Default()
	}
	log = slog.New(newLimitHandler(log.Handler()))
	var id [8]byte
	_, _ = rand.Read(id[:])
	a := &App{
		cfg:         cfg,
		topo:        topo,
		graph:       engine.GraphOf(topo),
		log:         log.With("app", cfg.appID),
		processID:   hex.EncodeToString(id[:]),
		open:        map[processor.TaskID]map[*thread]bool{},
		releasedAt:  map[processor.TaskID]time.Time{},
		toPurge:     map[string]map[int32]int64{},
		drops:       map[processor.TaskID]*engine.DropCounts{},
		faults:      map[processor.TaskID]bool{},
		standbyHeld: map[processor.TaskID]bool{},
		shutdown:    shutdown{abandoned: make(chan struct{})},
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	a.standbys = newStandbys(a)
	if cfg.instanceID != "" {
		// The same across restarts of the instance, as Kafka Streams keeps
		// its process id in the state directory: what a static member
		// joins with does not change when it comes back.
		sum := sha256.Sum256([]byte(cfg.appID + "\x00" + cfg.instanceID))
		a.processID = hex.EncodeToString(sum[:8])
	}
	if err := a.setupHTTP(); err != nil {
		return nil, err
	}
	if a.cfg.registerer != nil {
		m, err := newMetrics(a, a.cfg.registerer)
		if err != nil {
			return nil, fmt.Errorf("runtime: register metrics: %w", err)
		}
		a.metrics = m
		a.cfg.restoreListener = restoreListener{m: m, next: a.cfg.restoreListener}
	}
	return a, nil
}

// State returns the app's current state.
func (a *App) State() State { return State(a.state.Load()) }

// SetStateListener sets the function called on every state change.
func (a *App) SetStateListener(l StateListener) {
	a.listenMu.Lock()
	a.listener = l
	a.listenMu.Unlock()
}

func (a *App) setState(s State) {
	old := State(a.state.Swap(int32(s)))
	if old != s {
		a.notify(old, s)
	}
}

// transition moves from one of the states in from to s, and reports
// whether it did.
func (a *App) transition(s State, from ...State) bool {
	for _, f := range from {
		if a.state.CompareAndSwap(int32(f), int32(s)) {
			a.notify(f, s)
			return true
		}
	}
	return false
}

func (a *App) notify(old, s State) {
	a.log.Info("state change", "from", old.String(), "to", s.String())
	a.listenMu.Lock()
	l := a.listener
	a.listenMu.Unlock()
	if l != nil {
		l(old, s)
	}
}

func (a *App) clientOpts(clientID string) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(a.cfg.brokers...),
		kgo.ClientID(clientID),
		kgo.WithLogger(kslog.New(a.log)),
	}
}

// Run starts the app and blocks until ctx is cancelled or Close is called,
// then closes cleanly and returns nil; a fatal error closes the app and is
// returned. Run can be called once.
func (a *App) Run(ctx context.Context) error {
	if !a.state.CompareAndSwap(int32(Created), int32(Rebalancing)) {
		return ErrNotCreated
	}
	defer close(a.done)
	a.notify(Created, Rebalancing)
	err := a.serveHTTP()
	if err == nil {
		err = a.run(ctx)
	}
	if err != nil {
		// The HTTP server, if any, stays up to say so, until Close.
		a.setState(Error)
		return relabel(err)
	}
	a.setState(NotRunning)
	a.stopHTTP(context.Background())
	return nil
}

func (a *App) run(ctx context.Context) error {
	var err error
	if a.dir, err = statedir.Open(a.cfg.stateDir, a.cfg.appID); err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	defer a.dir.Close()
	if err := a.setupTopics(ctx); err != nil {
		return err
	}
	defer a.admCl.Close()
	ids, err := a.sourceIDs(ctx)
	if err != nil {
		return err
	}
	// Room for the memtables of every task the application has, should
	// this instance own them all, and of the global stores. The databases
	// take their own references: the last one closed frees the cache.
	dbs := 1
	for _, n := range a.layout.TaskCounts {
		dbs += int(n)
	}
	a.cache = state.NewBlockCache(a.cfg.blockCache, dbs)
	defer a.cache.Unref()
	a.rows = state.NewRowCache(a.cfg.rowCache)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if len(a.layout.Changelogs) > 0 {
		standbysDone := make(chan struct{})
		go func() { defer close(standbysDone); a.standbys.run(runCtx) }()
		// The standbys close, recording their offsets, before the state
		// directory and the block cache do.
		defer func() { cancel(); <-standbysDone }()
	}
	go func() {
		select {
		case <-a.stop:
		case <-runCtx.Done():
			a.beginShutdown(context.Background())
		}
		a.transition(PendingShutdown, Running, Rebalancing)
		cancel()
	}()
	if len(a.graph.Globals) > 0 {
		a.global, err = a.startGlobal(runCtx)
		if err != nil {
			if runCtx.Err() != nil {
				return nil // closed while bootstrapping
			}
			return err
		}
		defer a.global.close()
	}
	// A topology of global stores alone makes no tasks: Kafka Streams runs
	// no stream threads for it either.
	threads := a.cfg.threads
	if len(a.graph.Subtopologies) == 0 {
		threads = 0
	}
	for i := 0; i < threads; i++ {
		th, err := newThread(a, i)
		if err != nil {
			for _, t := range a.threads {
				t.cl.Close()
			}
			return err
		}
		if a.global != nil {
			th.cfg.Global = a.global.task
		}
		a.threads = append(a.threads, th)
		a.health.add(th)
	}
	errs := make(chan error, len(a.threads))
	for _, th := range a.threads {
		go func() { errs <- th.run(runCtx) }()
	}
	go a.housekeeping(runCtx)
	sourcesErr := make(chan error, 1)
	go a.watchSources(runCtx, ids, sourcesErr)
	// The global thread outlives the stream threads, whose tasks read its
	// stores: it stops once they have.
	var globalErr chan error
	globalCtx, stopGlobal := context.WithCancel(context.Background())
	defer stopGlobal()
	if a.global != nil {
		globalErr = make(chan error, 1)
		go func() { globalErr <- a.global.run(globalCtx) }()
	}
	if threads == 0 {
		a.transition(Running, Rebalancing)
	}
	var first error
	fail := func(err error, what string) {
		if err != nil && first == nil {
			err = relabel(err)
			first = err
			attrs := []any{"err", err}
			var pe *processor.PanicError
			if errors.As(err, &pe) {
				attrs = append(attrs, "stack", string(pe.Stack))
			}
			a.log.Error(what+" failed; closing the app", attrs...)
			cancel()
		}
	}
	for left := len(a.threads); left > 0; {
		select {
		case err := <-errs:
			left--
			if runCtx.Err() == nil {
				// Not a failure of the close, which has no time to
				// look topics up.
				err = a.blame(err, ids)
			}
			fail(err, "stream thread")
		case err := <-sourcesErr:
			fail(err, "source topic check")
		case err := <-globalErr:
			globalErr = nil
			fail(err, "global thread")
		}
	}
	if threads == 0 {
		select {
		case <-runCtx.Done():
		case err := <-globalErr:
			globalErr = nil
			fail(err, "global thread")
		}
	}
	stopGlobal()
	if globalErr != nil {
		fail(<-globalErr, "global thread")
	}
	return first
}

// Close stops a running app and waits until it has closed or ctx is done.
// The close is bounded by ctx's deadline, if it has one before
// ShutdownTimeout: the app abandons by then what it has not finished, so
// that Run returns before the deadline whatever the group is doing.
func (a *App) Close(ctx context.Context) error {
	a.beginShutdown(ctx)
	a.stopOnce.Do(func() { close(a.stop) })
	if a.transition(NotRunning, Created) {
		// Never ran: Run now refuses to start, so done is closed here.
		close(a.done)
		return nil
	}
	a.transition(PendingShutdown, Running, Rebalancing)
	select {
	case <-a.done:
		a.stopHTTP(ctx)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("runtime: close: %w", ctx.Err())
	}
}

func (a *App) setupTopics(ctx context.Context) error {
	var err error
	opts := a.clientOpts(a.cfg.appID + "-admin")
	opts = append(opts, a.cfg.kgoOpts...)
	if a.admCl, err = kgo.NewClient(opts...); err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	a.adm = kadm.NewClient(a.admCl)
	a.layout, err = topics.Setup(ctx, a.adm, a.graph, a.cfg.appID, topics.Options{
		ReplicationFactor: a.cfg.replication,
		Timeout:           a.cfg.timeout,
	})
	if err == nil {
		err = a.checkDeadLetterTopic(ctx)
	}
	if err != nil {
		a.admCl.Close()
		return fmt.Errorf("runtime: %w", err)
	}
	a.logical = map[string]string{}
	a.subOf = map[string]int{}
	a.changelogs = map[string]bool{}
	for _, st := range a.graph.Subtopologies {
		as := assign.Subtopology{ID: st.ID, Stateful: a.stateful(st.Stores)}
		for _, t := range st.SourceTopics {
			real := a.realTopic(t)
			a.logical[real] = t
			a.subOf[t] = st.ID
			as.SourceTopics = append(as.SourceTopics, real)
			a.sourceTopics = append(a.sourceTopics, real)
		}
		a.assignSubs = append(a.assignSubs, as)
	}
	for _, t := range a.layout.Changelogs {
		a.changelogs[t] = true
	}
	slices.Sort(a.sourceTopics)
	return nil
}

// realTopic maps a topic name of the graph to the broker's: internal topics
// carry the application id.
func (a *App) realTopic(t string) string {
	if a.graph.IsInternal(t) {
		return topics.RepartitionTopic(a.cfg.appID, t)
	}
	return t
}

// partitioner sends changelog records to the partition set on them (the
// task's) and everything else by key, with the murmur2 hash Java clients
// use, so that Samsa and Java producers agree on partitions.
func (a *App) partitioner() kgo.Partitioner {
	return partitioner{changelogs: a.changelogs, byKey: kgo.StickyKeyPartitioner(nil), manual: kgo.ManualPartitioner()}
}

type partitioner struct {
	changelogs    map[string]bool
	byKey, manual kgo.Partitioner
}

func (p partitioner) ForTopic(topic string) kgo.TopicPartitioner {
	if p.changelogs[topic] {
		return p.manual.ForTopic(topic)
	}
	return p.byKey.ForTopic(topic)
}

func timeOf(ms int64) time.Time { return time.UnixMilli(ms) }

// newTask opens the stores of task id; the thread restores them, then
// starts the task. A store that cannot be opened is wiped and restored from
// its changelog (see openDB).
func (a *App) newTask(th *thread, id processor.TaskID) (*engine.Task, error) {
	// Open before the standby of the task, if this process keeps one,
	// hands its state over: no standby is opened on it from now on.
	a.mu.Lock()
	if a.open[id] == nil {
		a.open[id] = map[*thread]bool{}
	}
	a.open[id][th] = true
	delete(a.releasedAt, id)
	a.mu.Unlock()
	a.standbys.release(id)
	if err := a.wipeIfFaulted(id); err != nil {
		a.released(th, id)
		return nil, err
	}
	cfg := th.cfg
	cfg.WallClock = time.Now().UnixMilli()
	cfg.Drops = a.dropsOf(id)
	cfg.Metrics = th.metrics.engineMetrics(id)
	tk, err := engine.NewTask(a.graph, id.Subtopology, id.Partition, cfg)
	if err != nil {
		if !errors.Is(err, state.ErrLocked) {
			// A task whose state is locked stays the thread's, pending.
			a.released(th, id)
		}
		return nil, fmt.Errorf("runtime: %w", err)
	}
	return tk, nil
}

// dbOptions are the options of every Pebble database of the app.
func (a *App) dbOptions() state.DBOptions {
	return state.DBOptions{Logger: a.log, Cache: a.cache, RowCache: a.rows, FS: a.cfg.stateFS}
}

func (a *App) openDB(id processor.TaskID) (*state.DB, error) {
	dir, err := a.dir.TaskDir(id.String())
	if err != nil {
		return nil, fmt.Errorf("runtime: task %s: %w", id, err)
	}
	db, err := state.OpenDB(dir, a.dbOptions())
	if err == nil {
		return db, nil
	}
	if errors.Is(err, state.ErrLocked) {
		// In use, not damaged: by a task of another thread that has yet
		// to close it, or by another process given the same directory.
		// Wiping it would delete the files under its holder.
		return nil, fmt.Errorf("runtime: task %s: %w", id, err)
	}
	a.log.Warn("state of task is unreadable; wiping it and restoring from the changelog", "task", id.String(), "dir", dir, "err", err)
	if rerr := a.dir.Remove(id.String()); rerr != nil {
		return nil, fmt.Errorf("runtime: task %s: wipe corrupt state in %s: %w", id, dir, rerr)
	}
	if dir, err = a.dir.TaskDir(id.String()); err != nil {
		return nil, fmt.Errorf("runtime: task %s: %w", id, err)
	}
	db, err = state.OpenDB(dir, a.dbOptions())
	if err != nil {
		return nil, fmt.Errorf("runtime: task %s: open state in %s after wiping it: %w", id, dir, err)
	}
	return db, nil
}

// ActiveTasks returns the tasks this instance has open, restoring or
// running, sorted: the active tasks of KafkaStreams.metadataForLocalThreads,
// over every stream thread.
func (a *App) ActiveTasks() []processor.TaskID {
	a.mu.Lock()
	ids := make([]processor.TaskID, 0, len(a.open))
	for id := range a.open {
		ids = append(ids, id)
	}
	a.mu.Unlock()
	slices.SortFunc(ids, func(x, y processor.TaskID) int {
		if x.Subtopology != y.Subtopology {
			return x.Subtopology - y.Subtopology
		}
		return int(x.Partition - y.Partition)
	})
	return ids
}

// released notes that thread th closed task id, or gave up opening it.
func (a *App) released(th *thread, id processor.TaskID) {
	a.mu.Lock()
	if !a.open[id][th] {
		a.mu.Unlock()
		return
	}
	delete(a.open[id], th)
	if len(a.open[id]) == 0 {
		delete(a.open, id)
		a.releasedAt[id] = time.Now()
	}
	a.mu.Unlock()
}

// tasksOnDisk lists the tasks with a state directory, for the assignor's
// stickiness.
func (a *App) tasksOnDisk() []assign.TaskID {
	ids, err := a.dir.TasksOnDisk()
	if err != nil {
		return nil
	}
	var out []assign.TaskID
	for _, s := range ids {
		if id, err := assign.ParseTaskID(s); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// threadAssigned moves the app to RUNNING once every thread has its
// assignment. Threads may be assigned before the last one is created, so
// it counts them instead of reading the thread list.
func (a *App) threadAssigned() {
	if int(a.assignedThreads.Load()) == a.cfg.threads {
		a.transition(Running, Rebalancing)
	}
}

func (a *App) rebalancing() { a.transition(Rebalancing, Running) }

// purgeLater remembers committed offsets of repartition topics; records
// below them are deleted by housekeeping.
func (a *App) purgeLater(offsets map[string]map[int32]kgo.EpochOffset) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for topic, ps := range offsets {
		if logical, ok := a.logical[topic]; !ok || !a.graph.IsInternal(logical) {
			continue
		}
		m := a.toPurge[topic]
		if m == nil {
			m = map[int32]int64{}
			a.toPurge[topic] = m
		}
		for p, o := range ps {
			m[p] = o.Offset
		}
	}
}

// housekeeping purges repartition topics and removes the state of tasks
// this process no longer owns, until ctx is done.
func (a *App) housekeeping(ctx context.Context) {
	tick := time.NewTicker(housekeepingInterval(a.cfg))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		a.mu.Lock()
		purge := a.toPurge
		a.toPurge = map[string]map[int32]int64{}
		var stale []processor.TaskID
		for id, at := range a.releasedAt {
			if len(a.open[id]) == 0 && !a.standbyHeld[id] && time.Since(at) >= a.cfg.cleanupDelay {
				stale = append(stale, id)
				delete(a.releasedAt, id)
			}
		}
		a.mu.Unlock()
		if len(purge) > 0 {
			if err := topics.PurgeRepartition(ctx, a.adm, purge); err != nil && ctx.Err() == nil {
				a.log.Warn("purging repartition topics", "err", err)
			}
		}
		for _, id := range stale {
			// Removed under mu, which a task and a standby take to mark
			// the state theirs before they open it: never from under one.
			a.mu.Lock()
			if len(a.open[id]) == 0 && !a.standbyHeld[id] {
				if err := a.dir.Remove(id.String()); err != nil {
					a.log.Warn("removing state of a task no longer owned", "task", id.String(), "err", err)
				} else {
					a.log.Info("removed state of a task no longer owned", "task", id.String())
				}
			}
			a.mu.Unlock()
		}
	}
}

func housekeepingInterval(c config) time.Duration {
	d := c.commitInterval
	if c.cleanupDelay < d {
		d = c.cleanupDelay
	}
	if d < 50*time.Millisecond {
		d = 50 * time.Millisecond
	}
	return d
}
