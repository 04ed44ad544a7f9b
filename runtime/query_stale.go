package runtime

import (
	"errors"
	"fmt"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
)

// Stale reads: an instance that keeps a standby of the task holding a key
// can answer from the standby's stores when the task is not active here
// (Kafka Streams' StoreQueryParameters.enableStaleStores), marked as such
// with the standby's lag. They answer during a rebalance too, when no
// active task does.

// standbyQueryable registers the views of a standby's stores. It runs on
// the standby keeper's goroutine, the task's.
func (a *App) standbyQueryable(tk *engine.Task) {
	q := &a.queries
	q.mu.Lock()
	defer q.mu.Unlock()
	q.standby.add(tk, a.layout.TaskCounts[tk.ID.Subtopology], a.log)
}

// standbyUnqueryable withdraws the views of standby id, before it closes.
func (a *App) standbyUnqueryable(id processor.TaskID) {
	st := a.graph.SubtopologyByID(id.Subtopology)
	if st == nil {
		return
	}
	q := &a.queries
	q.mu.Lock()
	defer q.mu.Unlock()
	q.standby.remove(st.Stores, id.Partition)
}

// lagOf is how many changelog records standby id trailed by when the
// keeper last learned the end offsets, -1 if it has not yet.
func (s *standbys) lagOf(id processor.TaskID) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.tasks[id]
	if st == nil {
		return -1
	}
	var lag int64
	for _, lg := range st.logs {
		end, ok := s.ends[lg.cl.Topic][lg.cl.Partition]
		if !ok {
			return -1
		}
		lag += max(end-(lg.last+1), 0)
	}
	return lag
}

// Lagged is the answer of a read that a standby may have given.
type Lagged[V any] struct {
	Value V
	Found bool
	// Standby says a standby answered; Lag is then how many changelog
	// records it trailed by when last measured (-1 if not yet known), and
	// 0 for an answer of the active task.
	Standby bool
	Lag     int64
}

// GetStale returns the value under k from the active task that holds it
// if it runs here, else from this instance's standby of that task. It
// errors as Get does when this instance has neither (ErrNotRunning once
// the app stopped).
func (s *KeyValueQuery[K, V]) GetStale(k K) (Lagged[V], error) {
	var out Lagged[V]
	v, found, err := s.Get(k)
	if err == nil {
		out.Value, out.Found = v, found
		return out, nil
	}
	if !errors.Is(err, ErrStoreMoved) && !errors.Is(err, ErrRebalancing) {
		return out, err
	}
	q := s.q
	qs := &q.app.queries
	qs.mu.RLock()
	var one processor.StateStore
	for _, v := range qs.standby.views[q.name] {
		one = v
		break
	}
	n := qs.standby.tasks[q.name]
	qs.mu.RUnlock()
	if one == nil {
		return out, err
	}
	st, serr := s.typed(one)
	if serr != nil {
		return out, fmt.Errorf("runtime: query store %q: %w", q.name, serr)
	}
	kb, serr := st.KeyBytes(k)
	if serr != nil || kb == nil {
		return out, err
	}
	p := engine.KeyPartition(kb, n)
	qs.mu.RLock()
	view := qs.standby.views[q.name][p]
	qs.mu.RUnlock()
	if view == nil {
		return out, err
	}
	if st, serr = s.typed(view); serr != nil {
		return out, fmt.Errorf("runtime: query store %q: %w", q.name, serr)
	}
	id := processor.TaskID{Subtopology: q.sub, Partition: p}
	out.Standby, out.Lag = true, q.app.standbys.lagOf(id)
	out.Value, out.Found, serr = st.Get(k)
	return out, q.failed(serr)
}
