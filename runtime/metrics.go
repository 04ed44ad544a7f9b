package runtime

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Metrics registers the app's Prometheus metrics with reg, each with the
// label application set to the application id; New fails if reg refuses
// one (an app of the same id registered there already). The app never
// touches the global registry. Default: no metrics, and nothing on the
// hot path measures anything.
//
// The metrics, under the Prometheus naming conventions (base units,
// counters ending in _total, latencies as histograms in seconds), with
// their labels besides application:
//
//	samsa_app_state{state}                           1 for the app's State, 0 for the others
//	samsa_thread_state{thread,state}                 1 for each stream thread's state (CREATED, STARTING,
//	                                                 PARTITIONS_REVOKED, PARTITIONS_ASSIGNED, RUNNING,
//	                                                 PENDING_SHUTDOWN, DEAD), as Kafka Streams' StreamThread.State
//	samsa_thread_poll_latency_seconds{thread}        one poll of the consumer, waiting included
//	samsa_thread_commit_latency_seconds{thread}      one commit of the thread's tasks that had work
//	samsa_thread_commits_total{thread}               those commits that took effect
//	samsa_thread_punctuate_latency_seconds{thread}   one punctuator call
//	samsa_thread_rebalances_total{thread}            assignments the thread received
//	samsa_thread_rebalance_duration_seconds{thread}  from the revocation (or the join) to the assignment
//	samsa_thread_transactions_committed_total{thread}, samsa_thread_transactions_aborted_total{thread}
//	                                                 exactly-once transactions
//	samsa_task_records_processed_total{task}         input records processed
//	samsa_task_process_latency_seconds{task}         one record through the subtopology, sampled
//	samsa_task_records_lag{task,topic,partition}     records on the broker past those fetched, per input
//	                                                 partition: the fetch's high watermark (last stable
//	                                                 offset under exactly-once, less the commit marker
//	                                                 of the last record's transaction) less the next offset
//	samsa_task_dropped_records_total{task,reason}    records dropped, by reason (see App.DroppedRecords)
//	samsa_store_put_latency_seconds{task,store}, samsa_store_get_latency_seconds{task,store},
//	samsa_store_range_latency_seconds{task,store}    one call of the typed store, sampled with the record making it
//	samsa_store_flush_latency_seconds{task,store}    one flush, at each commit
//	samsa_store_cache_hits_total{task,store}, samsa_store_cache_misses_total{task,store}
//	                                                 reads a store's cache answered or passed down,
//	                                                 added at each commit
//	samsa_restore_records_total{task,store}          changelog records restored
//	samsa_restore_records_remaining{task,store}      offsets left to restore, 0 once done
//	samsa_restore_duration_seconds{store}            one store's restore, start to end
//
// Labels are bounded: thread names, task ids, store names, input topics
// and partitions, drop reasons, states; never keys or offsets. The series
// of a task go when the task leaves this instance (its dropped-record
// counts stay: App.DroppedRecords keeps them). Latencies that run per
// record (process, store put, get and range) are sampled: each task times
// the first record of each poll and one in 1024 after
// it, with the store calls that record makes, so that reading the clock,
// which can cost more than a record, does not slow processing; the others
// (poll, commit, punctuate, flush, rebalance, restore) are timed every
// time.
func Metrics(reg prometheus.Registerer) Option { return func(c *config) { c.registerer = reg } }

// latencyBuckets span 1µs to about 17s, for calls from a cache hit to a
// commit against a slow broker.
var latencyBuckets = prometheus.ExponentialBuckets(1e-6, 4, 13)

// durationBuckets span 10ms to about 40 minutes, for rebalances and
// restores.
var durationBuckets = prometheus.ExponentialBuckets(0.01, 4, 10)

// metrics holds the app's collectors. Its methods that hand out children
// run when tasks and threads are made, never per record.
type metrics struct {
	app *App

	poll, commitLat, punctuate, rebalanceDur   *prometheus.HistogramVec
	commits, rebalances, txnCommits, txnAborts *prometheus.CounterVec

	processed                 *prometheus.CounterVec
	processLat                *prometheus.HistogramVec
	lag                       *prometheus.GaugeVec
	put, get, rangeLat, flush *prometheus.HistogramVec
	hits, misses              *prometheus.CounterVec

	restored        *prometheus.CounterVec
	remaining       *prometheus.GaugeVec
	restoreDuration *prometheus.HistogramVec

	stateDesc, threadStateDesc, droppedDesc *prometheus.Desc

	mu sync.Mutex
	// restoreStart is when each store's restore began.
	restoreStart map[restoreKey]time.Time
}

type restoreKey struct {
	task  processor.TaskID
	store string
}

// newMetrics makes the app's collectors and registers them with reg.
func newMetrics(a *App, reg prometheus.Registerer) (*metrics, error) {
	reg = prometheus.WrapRegistererWith(prometheus.Labels{"application": a.cfg.appID}, reg)
	hist := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	}
	m := &metrics{
		app:             a,
		poll:            hist("samsa_thread_poll_latency_seconds", "Time of one poll of a stream thread's consumer, waiting included.", latencyBuckets, "thread"),
		commitLat:       hist("samsa_thread_commit_latency_seconds", "Time of one commit of a stream thread's tasks that had work.", latencyBuckets, "thread"),
		punctuate:       hist("samsa_thread_punctuate_latency_seconds", "Time of one punctuator call.", latencyBuckets, "thread"),
		rebalanceDur:    hist("samsa_thread_rebalance_duration_seconds", "Time from a stream thread's revocation, or its joining the group, to its assignment.", durationBuckets, "thread"),
		commits:         counter("samsa_thread_commits_total", "Commits of a stream thread's tasks that took effect.", "thread"),
		rebalances:      counter("samsa_thread_rebalances_total", "Assignments a stream thread received from the group.", "thread"),
		txnCommits:      counter("samsa_thread_transactions_committed_total", "Exactly-once transactions committed.", "thread"),
		txnAborts:       counter("samsa_thread_transactions_aborted_total", "Exactly-once transactions aborted.", "thread"),
		processed:       counter("samsa_task_records_processed_total", "Input records a task processed.", "task"),
		processLat:      hist("samsa_task_process_latency_seconds", "Time of one input record through a task's subtopology, sampled.", latencyBuckets, "task"),
		lag:             gauge("samsa_task_records_lag", "Records of a task's input partition on the broker past those fetched, from the fetch's high watermark (last stable offset under exactly-once).", "task", "topic", "partition"),
		put:             hist("samsa_store_put_latency_seconds", "Time of one put into a store, sampled.", latencyBuckets, "task", "store"),
		get:             hist("samsa_store_get_latency_seconds", "Time of one get from a store, sampled.", latencyBuckets, "task", "store"),
		rangeLat:        hist("samsa_store_range_latency_seconds", "Time to open one range iterator of a store, sampled.", latencyBuckets, "task", "store"),
		flush:           hist("samsa_store_flush_latency_seconds", "Time of one flush of a store.", latencyBuckets, "task", "store"),
		hits:            counter("samsa_store_cache_hits_total", "Reads a store's cache answered.", "task", "store"),
		misses:          counter("samsa_store_cache_misses_total", "Reads a store's cache passed down to the store.", "task", "store"),
		restored:        counter("samsa_restore_records_total", "Changelog records restored into a store.", "task", "store"),
		remaining:       gauge("samsa_restore_records_remaining", "Changelog offsets left to restore into a store; 0 once done.", "task", "store"),
		restoreDuration: hist("samsa_restore_duration_seconds", "Time of one store's restore, start to end.", durationBuckets, "store"),
		stateDesc:       prometheus.NewDesc("samsa_app_state", "1 for the app's state, 0 for the others.", []string{"state"}, nil),
		threadStateDesc: prometheus.NewDesc("samsa_thread_state", "1 for a stream thread's state, 0 for the others.", []string{"thread", "state"}, nil),
		droppedDesc:     prometheus.NewDesc("samsa_task_dropped_records_total", "Records a task dropped, by reason.", []string{"task", "reason"}, nil),
		restoreStart:    map[restoreKey]time.Time{},
	}
	for _, c := range []prometheus.Collector{
		m.poll, m.commitLat, m.punctuate, m.rebalanceDur, m.commits, m.rebalances, m.txnCommits, m.txnAborts,
		m.processed, m.processLat, m.lag, m.put, m.get, m.rangeLat, m.flush, m.hits, m.misses,
		m.restored, m.remaining, m.restoreDuration, scraped{m},
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// scraped collects what is read at scrape time rather than counted as it
// happens: states and dropped records, which the app keeps anyway.
type scraped struct{ m *metrics }

func (s scraped) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.m.stateDesc
	ch <- s.m.threadStateDesc
	ch <- s.m.droppedDesc
}

func (s scraped) Collect(ch chan<- prometheus.Metric) {
	m := s.m
	cur := m.app.State()
	for st := Created; st <= Error; st++ {
		ch <- prometheus.MustNewConstMetric(m.stateDesc, prometheus.GaugeValue, oneIf(st == cur), st.String())
	}
	for _, th := range m.app.health.list() {
		ts := th.threadState()
		for st := threadCreated; st <= threadDead; st++ {
			ch <- prometheus.MustNewConstMetric(m.threadStateDesc, prometheus.GaugeValue, oneIf(st == ts), th.name, st.String())
		}
	}
	for id, reasons := range m.app.DroppedRecordsByTask() {
		for reason, n := range reasons {
			ch <- prometheus.MustNewConstMetric(m.droppedDesc, prometheus.CounterValue, float64(n), id.String(), reason)
		}
	}
}

func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// threadMetrics are one stream thread's children. A nil *threadMetrics
// measures nothing, so the thread calls its methods unconditionally.
type threadMetrics struct {
	m                                          *metrics
	name                                       string
	poll, commitLat, punctuate, rebalanceDur   prometheus.Observer
	commits, rebalances, txnCommits, txnAborts prometheus.Counter
	// tasks are the children of the thread's tasks, by id; the thread's
	// goroutines (its loop, its group callbacks under its mu) use it.
	tasks map[processor.TaskID]*taskMetrics
}

func (m *metrics) thread(name string) *threadMetrics {
	if m == nil {
		return nil
	}
	return &threadMetrics{
		m:            m,
		name:         name,
		poll:         m.poll.WithLabelValues(name),
		commitLat:    m.commitLat.WithLabelValues(name),
		punctuate:    m.punctuate.WithLabelValues(name),
		rebalanceDur: m.rebalanceDur.WithLabelValues(name),
		commits:      m.commits.WithLabelValues(name),
		rebalances:   m.rebalances.WithLabelValues(name),
		txnCommits:   m.txnCommits.WithLabelValues(name),
		txnAborts:    m.txnAborts.WithLabelValues(name),
		tasks:        map[processor.TaskID]*taskMetrics{},
	}
}

func (tm *threadMetrics) polled(since time.Time) {
	if tm != nil {
		tm.poll.Observe(time.Since(since).Seconds())
	}
}

func (tm *threadMetrics) committed(since time.Time, took bool) {
	if tm != nil {
		tm.commitLat.Observe(time.Since(since).Seconds())
		if took {
			tm.commits.Inc()
		}
	}
}

func (tm *threadMetrics) rebalanced(took time.Duration, timed bool) {
	if tm != nil {
		tm.rebalances.Inc()
		if timed {
			tm.rebalanceDur.Observe(took.Seconds())
		}
	}
}

func (tm *threadMetrics) txnEnded(committed bool) {
	if tm == nil {
		return
	}
	if committed {
		tm.txnCommits.Inc()
	} else {
		tm.txnAborts.Inc()
	}
}

// taskMetrics are one task's children, kept across its incarnations on
// the thread (rewinds) until it leaves.
type taskMetrics struct {
	id        string
	processed prometheus.Counter
	engine    engine.Metrics
}

// task returns the children of task id, making them on first use. nil
// when the thread measures nothing.
func (tm *threadMetrics) task(id processor.TaskID) *taskMetrics {
	if tm == nil {
		return nil
	}
	if t := tm.tasks[id]; t != nil {
		return t
	}
	m, s := tm.m, id.String()
	t := &taskMetrics{id: s, processed: m.processed.WithLabelValues(s)}
	t.engine = engine.Metrics{
		Process:   m.processLat.WithLabelValues(s),
		Punctuate: tm.punctuate,
		Store: func(store string) *state.StoreMetrics {
			return &state.StoreMetrics{
				Put:         m.put.WithLabelValues(s, store),
				Get:         m.get.WithLabelValues(s, store),
				Range:       m.rangeLat.WithLabelValues(s, store),
				Flush:       m.flush.WithLabelValues(s, store),
				CacheHits:   m.hits.WithLabelValues(s, store),
				CacheMisses: m.misses.WithLabelValues(s, store),
			}
		},
	}
	tm.tasks[id] = t
	return t
}

// engineMetrics is what the engine task of id reports to; nil when the
// thread measures nothing.
func (tm *threadMetrics) engineMetrics(id processor.TaskID) *engine.Metrics {
	if t := tm.task(id); t != nil {
		return &t.engine
	}
	return nil
}

// processedBy counts n records processed by task id: once per task and
// poll.
func (tm *threadMetrics) processedBy(id processor.TaskID, n int) {
	if tm == nil || n == 0 {
		return
	}
	if t := tm.tasks[id]; t != nil {
		t.processed.Add(float64(n))
	}
}

// fetched sets the lag of the input partition in of a task from a fetch
// of its partition that brought records: once per partition and poll.
// The gauge is kept in the input's HostData, so that it is looked up once
// per incarnation of the task.
func (tm *threadMetrics) fetched(tk *engine.Task, in *engine.Input, p kgo.FetchTopicPartition, eos bool) {
	if tm == nil || in == nil || len(p.Records) == 0 {
		return
	}
	g, ok := in.HostData.(prometheus.Gauge)
	if !ok {
		g = tm.m.lag.WithLabelValues(tk.ID.String(), p.Topic, strconv.Itoa(int(p.Partition)))
		in.HostData = g
	}
	g.Set(float64(max(fetchLag(p, eos), 0)))
}

// released drops the series of task id, which left this thread.
func (tm *threadMetrics) released(id processor.TaskID) {
	if tm == nil {
		return
	}
	t := tm.tasks[id]
	if t == nil {
		return
	}
	delete(tm.tasks, id)
	l := prometheus.Labels{"task": t.id}
	m := tm.m
	m.processed.DeletePartialMatch(l)
	m.processLat.DeletePartialMatch(l)
	m.lag.DeletePartialMatch(l)
	for _, v := range []*prometheus.HistogramVec{m.put, m.get, m.rangeLat, m.flush} {
		v.DeletePartialMatch(l)
	}
	m.hits.DeletePartialMatch(l)
	m.misses.DeletePartialMatch(l)
	m.restored.DeletePartialMatch(l)
	m.remaining.DeletePartialMatch(l)
}

// restoreListener is the StateRestoreListener that keeps the restore
// metrics, before next, the user's listener, if any.
type restoreListener struct {
	m    *metrics
	next StateRestoreListener
}

func (l restoreListener) OnRestoreStart(p RestoreProgress) {
	m := l.m
	m.mu.Lock()
	m.restoreStart[restoreKey{p.Task, p.Store}] = time.Now()
	m.mu.Unlock()
	m.remaining.WithLabelValues(p.Task.String(), p.Store).Set(float64(max(p.End-p.Start, 0)))
	if l.next != nil {
		l.next.OnRestoreStart(p)
	}
}

func (l restoreListener) OnBatchRestored(p RestoreProgress) {
	task := p.Task.String()
	l.m.restored.WithLabelValues(task, p.Store).Add(float64(p.Batch))
	l.m.remaining.WithLabelValues(task, p.Store).Set(float64(max(p.End-p.Offset-1, 0)))
	if l.next != nil {
		l.next.OnBatchRestored(p)
	}
}

func (l restoreListener) OnRestoreEnd(p RestoreProgress) {
	m := l.m
	k := restoreKey{p.Task, p.Store}
	m.mu.Lock()
	start, ok := m.restoreStart[k]
	delete(m.restoreStart, k)
	m.mu.Unlock()
	if ok {
		m.restoreDuration.WithLabelValues(p.Store).Observe(time.Since(start).Seconds())
	}
	m.remaining.WithLabelValues(p.Task.String(), p.Store).Set(0)
	if l.next != nil {
		l.next.OnRestoreEnd(p)
	}
}
