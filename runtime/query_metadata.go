package runtime

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/samsa-go/samsa/internal/assign"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// ApplicationServer sets the host:port this instance answers interactive
// queries on (application.server). It is advertised to the group in the
// subscription, and the group leader hands every member the servers of all
// instances with the tasks each runs and keeps as standbys, so that any
// instance can tell which one holds a key (App.MetadataForKey). The runtime
// does not listen on it itself: serve a QueryServer there. Default: none.
func ApplicationServer(hostPort string) Option { return func(c *config) { c.appServer = hostPort } }

// queries is the App's state for interactive queries.
type queries struct {
	mu sync.RWMutex
	// hosts are the group's hosts of the latest assignment.
	hosts []assign.Host
	// counts is the number of tasks of each subtopology, copied from the
	// layout for readers outside the threads.
	counts []int32
	// active holds the views of the active tasks' stores; standby those of
	// the standby tasks', for stale reads (query_stale.go).
	active, standby viewTable
}

// viewTable holds read-only store views by store and partition, and the
// number of tasks each store is split over. The queries' mu guards it.
type viewTable struct {
	views map[string]map[int32]processor.StateStore
	tasks map[string]int32
}

// add registers the views of task tk's stores, of a subtopology of n tasks.
// It runs on the task's goroutine, as Store.View requires.
func (vt *viewTable) add(tk *engine.Task, n int32, log *slog.Logger) {
	if vt.views == nil {
		vt.views = map[string]map[int32]processor.StateStore{}
		vt.tasks = map[string]int32{}
	}
	for _, s := range tk.Stores() {
		v, err := s.View()
		if err != nil {
			log.Debug("store cannot be queried", "task", tk.ID.String(), "store", s.Name(), "err", err)
			continue
		}
		if vt.views[s.Name()] == nil {
			vt.views[s.Name()] = map[int32]processor.StateStore{}
		}
		vt.views[s.Name()][tk.ID.Partition] = v
		vt.tasks[s.Name()] = n
	}
}

// remove withdraws the views of the given stores at partition p.
func (vt *viewTable) remove(stores []string, p int32) {
	for _, name := range stores {
		delete(vt.views[name], p)
	}
}

// hostsAssigned keeps the group's hosts of the latest assignment: every
// member of one generation is handed the same.
func (a *App) hostsAssigned(_ *thread, hosts []assign.Host) {
	a.queries.mu.Lock()
	a.queries.hosts = hosts
	if a.queries.counts == nil {
		a.queries.counts = slices.Clone(a.layout.TaskCounts)
	}
	a.queries.mu.Unlock()
}

// KeyQueryMetadata says which instances hold a key of a store, as Kafka
// Streams' KeyQueryMetadata: each by the application server it advertises.
type KeyQueryMetadata struct {
	// Active is the instance running the task that holds the key.
	Active string
	// Standbys are the instances keeping standbys of that task, sorted.
	Standbys []string
	// Partition is the key's partition, that of its task.
	Partition int32
}

// MetadataForKey returns which instances hold key in store, serialized by
// ks (the store's key serde), from the group's latest assignment. Only
// instances that set ApplicationServer are known. It errors wrapping
// ErrNotRunning or ErrRebalancing while the app is not running or the group
// is moving tasks, ErrUnknownStore for a store the topology lacks, and
// ErrRebalancing when no instance known runs the key's task.
func (a *App) MetadataForKey[K any](store string, key K, ks serde.Serde[K]) (KeyQueryMetadata, error) {
	q, err := newStoreQuery(a, store)
	if err != nil {
		return KeyQueryMetadata{}, err
	}
	kb, err := ks.Serialize(nil, engine.ChangelogTopic(a.cfg.appID, store), key)
	if err != nil {
		return KeyQueryMetadata{}, fmt.Errorf("runtime: metadata for a key of store %q: serialize key: %w", store, err)
	}
	if kb == nil {
		return KeyQueryMetadata{}, fmt.Errorf("runtime: metadata for a key of store %q: the key serializes to null, which has no partition", store)
	}
	return q.metadata(kb)
}

// metadata finds the hosts of the task of the serialized key kb.
func (q *storeQuery) metadata(kb []byte) (KeyQueryMetadata, error) {
	if err := q.ready(); err != nil {
		return KeyQueryMetadata{}, err
	}
	qs := &q.app.queries
	qs.mu.RLock()
	defer qs.mu.RUnlock()
	if q.sub >= len(qs.counts) || qs.counts[q.sub] <= 0 {
		return KeyQueryMetadata{}, fmt.Errorf("runtime: metadata for a key of store %q: no assignment yet: %w", q.name, ErrRebalancing)
	}
	md := KeyQueryMetadata{Partition: engine.KeyPartition(kb, qs.counts[q.sub])}
	id := assign.TaskID{Subtopology: q.sub, Partition: md.Partition}
	for _, h := range qs.hosts {
		if _, ok := slices.BinarySearchFunc(h.Active, id, assign.TaskID.Compare); ok {
			md.Active = h.Server
		}
		if _, ok := slices.BinarySearchFunc(h.Standby, id, assign.TaskID.Compare); ok {
			md.Standbys = append(md.Standbys, h.Server)
		}
	}
	if md.Active == "" {
		return md, fmt.Errorf("runtime: metadata for a key of store %q: no instance with an application server runs task %s: %w", q.name, id, ErrRebalancing)
	}
	return md, nil
}
