package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/samsa-go/samsa/internal/assign"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Standbys sets how many standby replicas each stateful task has
// (num.standby.replicas): other instances keep a copy of its stores warm by
// tailing their changelogs, without processing, so that when the task moves
// to one of them it restores only what the copy had not yet read, not the
// whole changelog. The copies are on instances other than the active's, so
// a task has at most one fewer than the group has instances. The group
// leader's setting holds for the group; give every instance the same.
// Default 0.
//
// A standby hands its state over through the task's state directory: a
// persistent store's copy survives the hand-over, an in-memory store's
// does not, and the task becoming active restores it from the start.
func Standbys(n int) Option { return func(c *config) { c.standbys = n } }

// standbys keeps the standby tasks of this process: each is an engine task
// opened without processors, its stores fed the records of their changelog
// partitions through the engine's restore path, with one direct consumer
// for all of them (Kafka Streams' standby tasks, updated off the stream
// threads as its state updater does).
//
// The stream threads say which tasks to keep (assign, from the group's
// assignment) and take a task over when it becomes active here (release):
// the standby records how far it read and closes, so the active task opens
// the same state and restores only the tail. An active task of this process
// is never also kept as a standby; the two would share its database.
//
// The goroutine of run owns the consumer and the tasks; mu guards them
// against release and assign, which the threads call.
type standbys struct {
	app *App
	log *slog.Logger

	mu sync.Mutex
	// want are the standby tasks of each thread's last assignment.
	want  map[*thread][]processor.TaskID
	tasks map[processor.TaskID]*standbyTask
	byTP  map[string]map[int32]*standbyLog
	// retryAt holds tasks that failed to open, and when to try again.
	retryAt map[processor.TaskID]time.Time
	cl      *kgo.Client
	wake    chan struct{}
	// checkpointed is when the offsets the standbys reached were last
	// recorded.
	checkpointed time.Time
	// prevActive are each thread's active tasks of its last assignment,
	// warm its warm-up replicas; ends the changelogs' end offsets last
	// learned, lagsChecked when (see standby_warmup.go).
	prevActive  map[*thread][]processor.TaskID
	warm        map[*thread]warmups
	ends        map[string]map[int32]int64
	lagsChecked time.Time
	// taskEnds are the records each stateful task's changelogs hold, from
	// ends, for the leader's balance (see changelogEnds).
	taskEnds map[assign.TaskID]int64
}

// standbyTask is one standby: the task's stores, no processors.
type standbyTask struct {
	tk   *engine.Task
	logs []*standbyLog
}

// standbyLog is one changelog partition a standby tails.
type standbyLog struct {
	cl *engine.Changelog
	// last is the offset of the last record applied, start-1 before any;
	// unsaved says records were applied since the offset was recorded.
	last    int64
	unsaved bool
	batch   []engine.ChangelogRecord
}

func newStandbys(a *App) *standbys {
	return &standbys{
		app:        a,
		log:        a.log.With("thread", a.cfg.appID+"-standby"),
		want:       map[*thread][]processor.TaskID{},
		tasks:      map[processor.TaskID]*standbyTask{},
		byTP:       map[string]map[int32]*standbyLog{},
		retryAt:    map[processor.TaskID]time.Time{},
		wake:       make(chan struct{}, 1),
		prevActive: map[*thread][]processor.TaskID{},
		warm:       map[*thread]warmups{},
	}
}

// elastic adds to the thread's balancer configuration what standbys,
// warm-ups and interactive queries need.
func (t *thread) elastic(c assign.Config) assign.Config {
	a := t.app
	c.Standbys = a.cfg.standbys
	c.ApplicationServer = a.cfg.appServer
	c.Assigned = t.onAssignment
	c.TaskLags = a.standbys.taskLags
	c.ChangelogEnds = a.standbys.changelogEnds
	c.AcceptableRecoveryLag = a.cfg.acceptableLag
	c.MaxWarmups = a.cfg.maxWarmups
	return c
}

// onAssignment takes the part of the thread's assignment beyond its
// partitions. It runs on the group's goroutine, before onAssigned.
func (t *thread) onAssignment(a assign.Assignment) {
	active := slices.Clone(a.Active)
	t.synced.Store(&active)
	keeps := !slices.ContainsFunc(t.ownedTasks(), func(id assign.TaskID) bool { return !slices.Contains(active, id) })
	t.followup.Store(a.Rejoin && keeps)
	t.revoking.Store(!keeps)
	t.app.standbys.assign(t, taskIDs(a.Active), taskIDs(a.Standby), taskIDs(a.Warmup))
	t.app.hostsAssigned(t, a.Hosts)
}

func taskIDs(ids []assign.TaskID) []processor.TaskID {
	out := make([]processor.TaskID, len(ids))
	for i, id := range ids {
		out[i] = processor.TaskID{Subtopology: id.Subtopology, Partition: id.Partition}
	}
	return out
}

// assign sets the active, standby and warm-up tasks of th; warm-ups are
// kept as standbys are.
func (s *standbys) assign(th *thread, active, standby, warm []processor.TaskID) {
	s.mu.Lock()
	s.want[th] = append(standby, warm...)
	s.prevActive[th] = active
	last := s.warm[th]
	s.warm[th] = warmups{tasks: warm, since: time.Now(), backoff: last.nextBackoff(warm, s.app.cfg.probingInterval)}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// release closes the standby of id, if this process keeps one, recording
// how far it read: the caller is about to open the task as active on the
// same state. The caller has marked id open (App.open) first, so that the
// standby is not opened again meanwhile.
func (s *standbys) release(id processor.TaskID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.tasks[id]; st != nil {
		s.log.Info("standby task becomes active", "task", id.String())
		s.close(id, st)
	}
}

// ids returns the standby tasks open, sorted.
func (s *standbys) ids() []processor.TaskID {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]processor.TaskID, 0, len(s.tasks))
	for id := range s.tasks {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareTaskIDs)
	return ids
}

// StandbyTasks returns the standby tasks this instance keeps, sorted: the
// standby tasks of KafkaStreams.metadataForLocalThreads.
func (a *App) StandbyTasks() []processor.TaskID { return a.standbys.ids() }

func compareTaskIDs(x, y processor.TaskID) int {
	if x.Subtopology != y.Subtopology {
		return x.Subtopology - y.Subtopology
	}
	return int(x.Partition - y.Partition)
}

// standbyPoll bounds a poll of the standby consumer, so that a change of
// the standbys to keep is seen soon.
const standbyPoll = 200 * time.Millisecond

// run keeps the standbys until ctx is done, then records their offsets and
// closes them.
func (s *standbys) run(ctx context.Context) {
	defer s.shutdown()
	for ctx.Err() == nil {
		if time.Since(s.lagsChecked) >= lagCheckInterval {
			s.lagsChecked = time.Now()
			s.checkLags(ctx)
		}
		s.mu.Lock()
		s.reconcile()
		n := len(s.tasks)
		cl := s.cl
		s.mu.Unlock()
		if n == 0 || cl == nil {
			select {
			case <-ctx.Done():
			case <-s.wake:
			case <-time.After(standbyPoll):
			}
			continue
		}
		pollCtx, cancel := context.WithTimeout(ctx, standbyPoll)
		fetches := cl.PollRecords(pollCtx, 10000)
		cancel()
		if fetches.IsClientClosed() {
			return
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				s.log.Warn("standby fetch error", "topic", topic, "partition", p, "err", err)
			}
		})
		s.mu.Lock()
		s.apply(fetches)
		if time.Since(s.checkpointed) >= s.app.cfg.commitInterval {
			s.checkpoint()
		}
		s.mu.Unlock()
	}
}

// reconcile opens the standbys wanted and closes the others. mu is held.
func (s *standbys) reconcile() {
	want := map[processor.TaskID]bool{}
	for _, ids := range s.want {
		for _, id := range ids {
			want[id] = true
		}
	}
	a := s.app
	a.mu.Lock()
	for id := range want {
		if len(a.open[id]) > 0 {
			delete(want, id)
		}
	}
	a.mu.Unlock()
	for id, st := range s.tasks {
		if !want[id] {
			s.log.Info("standby task no longer kept", "task", id.String())
			s.close(id, st)
			a.mu.Lock()
			if len(a.open[id]) == 0 {
				a.releasedAt[id] = time.Now()
			}
			a.mu.Unlock()
		}
	}
	now := time.Now()
	for id := range want {
		if s.tasks[id] != nil || now.Before(s.retryAt[id]) {
			continue
		}
		if err := s.open(id); err != nil {
			// An active task of another thread may still hold the
			// state, as in the moment between its revocation and this
			// assignment; try again shortly.
			s.log.Info("standby task not opened yet", "task", id.String(), "err", err)
			s.retryAt[id] = now.Add(time.Second)
			continue
		}
		delete(s.retryAt, id)
	}
	for id := range s.retryAt {
		if !want[id] {
			delete(s.retryAt, id)
		}
	}
}

// open opens the stores of task id and starts tailing their changelogs
// from the offsets recorded in its state. mu is held.
func (s *standbys) open(id processor.TaskID) error {
	a := s.app
	if s.cl == nil {
		opts := a.clientOpts(a.cfg.appID + "-standby")
		opts = append(opts,
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{}),
			// A standby never applies what an open transaction wrote:
			// it may still abort.
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		opts = append(opts, a.cfg.kgoOpts...)
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return fmt.Errorf("runtime: standby consumer: %w", err)
		}
		s.cl = cl
	}
	// Marked held before it opens, so that housekeeping does not remove
	// the state from under it.
	a.mu.Lock()
	a.standbyHeld[id] = true
	a.mu.Unlock()
	opened := false
	defer func() {
		if !opened {
			a.mu.Lock()
			delete(a.standbyHeld, id)
			a.mu.Unlock()
		}
	}()
	cfg := engine.Config{
		ApplicationID: a.cfg.appID,
		Collector:     standbyCollector{},
		OpenDB:        a.openDB,
		WallClock:     time.Now().UnixMilli(),
		Logger:        s.log,
	}
	tk, err := engine.NewTask(a.graph, id.Subtopology, id.Partition, cfg)
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	st := &standbyTask{tk: tk}
	add := map[string]map[int32]kgo.Offset{}
	for _, cl := range tk.Changelogs() {
		from, err := tk.RestoreFrom(cl)
		if err != nil {
			tk.Close()
			return fmt.Errorf("runtime: %w", err)
		}
		lg := &standbyLog{cl: cl, last: from - 1}
		st.logs = append(st.logs, lg)
		if s.byTP[cl.Topic] == nil {
			s.byTP[cl.Topic] = map[int32]*standbyLog{}
		}
		s.byTP[cl.Topic][cl.Partition] = lg
		if add[cl.Topic] == nil {
			add[cl.Topic] = map[int32]kgo.Offset{}
		}
		add[cl.Topic][cl.Partition] = kgo.NewOffset().At(from)
	}
	s.tasks[id] = st
	opened = true
	a.standbyQueryable(tk)
	s.cl.AddConsumePartitions(add)
	s.log.Info("standby task opened", "task", id.String())
	return nil
}

// close stops tailing the changelogs of standby id, records how far it
// read and closes its stores. mu is held.
func (s *standbys) close(id processor.TaskID, st *standbyTask) {
	remove := map[string][]int32{}
	for _, lg := range st.logs {
		remove[lg.cl.Topic] = append(remove[lg.cl.Topic], lg.cl.Partition)
		delete(s.byTP[lg.cl.Topic], lg.cl.Partition)
	}
	if s.cl != nil {
		s.cl.RemoveConsumePartitions(remove)
	}
	s.save(id, st)
	s.app.standbyUnqueryable(id)
	if err := st.tk.Close(); err != nil {
		s.log.Warn("closing standby task", "task", id.String(), "err", err)
	}
	delete(s.tasks, id)
	s.app.mu.Lock()
	delete(s.app.standbyHeld, id)
	s.app.mu.Unlock()
}

// save records the offsets st's stores reached. A store that cannot is
// left to restore from the offset it recorded before. mu is held.
func (s *standbys) save(id processor.TaskID, st *standbyTask) {
	for _, lg := range st.logs {
		if !lg.unsaved {
			continue
		}
		if err := st.tk.RestoreDone(lg.cl, lg.last); err != nil {
			s.log.Warn("recording the offset of a standby store", "task", id.String(), "store", lg.cl.Store, "err", err)
			continue
		}
		lg.unsaved = false
	}
}

// checkpoint records the offsets every standby reached, so that the task
// becoming active after a crash of this process restores from them. mu is
// held.
func (s *standbys) checkpoint() {
	s.checkpointed = time.Now()
	for id, st := range s.tasks {
		s.save(id, st)
	}
}

// apply applies what was fetched, one batch per changelog partition. A
// standby whose store fails is dropped with its state, and opened afresh
// by the next reconcile. mu is held.
func (s *standbys) apply(fetches kgo.Fetches) {
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		lg := s.byTP[p.Topic][p.Partition]
		if lg == nil {
			return // released while the poll ran
		}
		for _, rec := range p.Records {
			if rec.Offset <= lg.last {
				continue
			}
			lg.batch = append(lg.batch, changelogRecord(rec))
			lg.last = rec.Offset
		}
	})
	for id, st := range s.tasks {
		for _, lg := range st.logs {
			if len(lg.batch) == 0 {
				continue
			}
			err := st.tk.Restore(lg.cl, lg.batch)
			clear(lg.batch)
			lg.batch = lg.batch[:0]
			if err != nil {
				s.log.Warn("standby store failed; wiping its state", "task", id.String(), "store", lg.cl.Store, "err", err)
				s.drop(id, st)
				break
			}
			lg.unsaved = true
		}
	}
}

// drop closes standby id without recording its offsets and removes its
// state. mu is held.
func (s *standbys) drop(id processor.TaskID, st *standbyTask) {
	for _, lg := range st.logs {
		lg.unsaved = false
	}
	s.close(id, st)
	if err := s.app.dir.Remove(id.String()); err != nil {
		s.log.Warn("removing the state of a failed standby task", "task", id.String(), "err", err)
	}
}

// shutdown records the standbys' offsets and closes them and the consumer.
func (s *standbys) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, st := range s.tasks {
		s.close(id, st)
	}
	if s.cl != nil {
		s.cl.Close()
		s.cl = nil
	}
}

// standbyCollector is the Collector of standby tasks, which have no
// processors and so never send.
type standbyCollector struct{}

var errStandbySends = errors.New("runtime: a standby task sends nothing")

func (standbyCollector) Send(string, []byte, []byte, int64, []processor.Header) error {
	return errStandbySends
}

func (standbyCollector) SendChangelog(*engine.Changelog, []byte, []byte, int64, []processor.Header) error {
	return errStandbySends
}

// stateful reports whether subtopology st has logged stores, and so gets
// standbys.
func (a *App) stateful(stores []string) bool {
	for _, name := range stores {
		if _, ok := a.layout.Changelogs[name]; ok {
			return true
		}
	}
	return false
}

// StandbyLag is how far one store of a standby task trails its changelog
// partition, as Kafka Streams' LagInfo.
type StandbyLag struct {
	Task  processor.TaskID
	Store string
	// Position is the offset after the last record the standby applied;
	// End the changelog partition's end offset; Lag the records between.
	Position, End, Lag int64
}

// StandbyLags returns the lag of every store of the standby tasks this
// instance keeps, sorted by task and store, asking the brokers for the
// changelogs' end offsets.
func (a *App) StandbyLags(ctx context.Context) ([]StandbyLag, error) {
	s := a.standbys
	s.mu.Lock()
	var lags []StandbyLag
	var topics []string
	for id, st := range s.tasks {
		for _, lg := range st.logs {
			lags = append(lags, StandbyLag{Task: id, Store: lg.cl.Store, Position: lg.last + 1})
			topics = append(topics, lg.cl.Topic)
		}
	}
	cl := s.cl
	s.mu.Unlock()
	if len(lags) == 0 {
		return nil, nil
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("runtime: standby lags: %w", err)
	}
	for i := range lags {
		l := &lags[i]
		o, ok := ends.Lookup(topics[i], l.Task.Partition)
		if !ok || o.Err != nil {
			return nil, fmt.Errorf("runtime: standby lags: end offset of the changelog of %q, partition %d: %v", l.Store, l.Task.Partition, o.Err)
		}
		l.End, l.Lag = o.Offset, max(o.Offset-l.Position, 0)
	}
	slices.SortFunc(lags, func(x, y StandbyLag) int {
		if c := compareTaskIDs(x.Task, y.Task); c != 0 {
			return c
		}
		return strings.Compare(x.Store, y.Store)
	})
	return lags, nil
}
