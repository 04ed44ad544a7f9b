package runtime

import (
	"errors"
	"fmt"
	"slices"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

// Interactive queries read the stores of this instance's active tasks
// through their read-only views (state.ReadOnlyKeyValueStore and its window
// and session kin), from any goroutine, while the tasks process. A task
// registers its views once it has restored and started, and withdraws them
// before it closes; a query that finds no view for the key's task, or whose
// view closes under it, fails with an error wrapping ErrStoreMoved (or
// ErrRebalancing while the group moves tasks), and the caller asks again, or
// asks the instance App.MetadataForKey names.
//
// A view sees what its task flushed (at-least-once) or committed
// (exactly-once), never a write still in a cache or an open transaction.

// queryable registers the views of a task that just started. It runs on
// the task's thread, as Store.View requires.
func (a *App) queryable(tk *engine.Task) {
	q := &a.queries
	q.mu.Lock()
	defer q.mu.Unlock()
	q.active.add(tk, a.layout.TaskCounts[tk.ID.Subtopology], a.log)
}

// unqueryable withdraws the views of task id, before it closes.
func (a *App) unqueryable(id processor.TaskID) {
	st := a.graph.SubtopologyByID(id.Subtopology)
	if st == nil {
		return
	}
	q := &a.queries
	q.mu.Lock()
	defer q.mu.Unlock()
	q.active.remove(st.Stores, id.Partition)
}

// storeQuery finds the views of one store for a query.
type storeQuery struct {
	app  *App
	name string
	sub  int
}

func newStoreQuery(a *App, name string) (*storeQuery, error) {
	if a == nil {
		return nil, errors.New("runtime: query on a nil App")
	}
	for _, st := range a.graph.Subtopologies {
		if slices.Contains(st.Stores, name) {
			return &storeQuery{app: a, name: name, sub: st.ID}, nil
		}
	}
	return nil, fmt.Errorf("runtime: query store %q: %w", name, ErrUnknownStore)
}

// ready fails unless the app runs.
func (q *storeQuery) ready() error {
	switch s := q.app.State(); s {
	case Running:
		return nil
	case Rebalancing:
		return fmt.Errorf("runtime: query store %q: %w", q.name, ErrRebalancing)
	default:
		return fmt.Errorf("runtime: query store %q: app is %v: %w", q.name, s, ErrNotRunning)
	}
}

// anyView returns one view of the store on this instance and the number of
// tasks the store is split over.
func (q *storeQuery) anyView() (processor.StateStore, int32, error) {
	if err := q.ready(); err != nil {
		return nil, 0, err
	}
	qs := &q.app.queries
	qs.mu.RLock()
	defer qs.mu.RUnlock()
	for _, v := range qs.active.views[q.name] {
		return v, qs.active.tasks[q.name], nil
	}
	a := q.app
	a.mu.Lock()
	restoring := false
	for id := range a.open {
		restoring = restoring || id.Subtopology == q.sub
	}
	a.mu.Unlock()
	if restoring {
		return nil, 0, fmt.Errorf("runtime: query store %q: its tasks on this instance are restoring: %w", q.name, ErrRebalancing)
	}
	return nil, 0, fmt.Errorf("runtime: query store %q: no task of it is active on this instance: %w", q.name, ErrStoreMoved)
}

// view returns the view of the store's task on partition.
func (q *storeQuery) view(partition int32) (processor.StateStore, error) {
	qs := &q.app.queries
	qs.mu.RLock()
	v := qs.active.views[q.name][partition]
	qs.mu.RUnlock()
	if v != nil {
		return v, nil
	}
	id := processor.TaskID{Subtopology: q.sub, Partition: partition}
	q.app.mu.Lock()
	restoring := len(q.app.open[id]) > 0
	q.app.mu.Unlock()
	if restoring {
		return nil, fmt.Errorf("runtime: query store %q: task %s is restoring: %w", q.name, id, ErrRebalancing)
	}
	if err := q.ready(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("runtime: query store %q: task %s is not active on this instance: %w", q.name, id, ErrStoreMoved)
}

// views returns the views of all the store's tasks on this instance, by
// partition.
func (q *storeQuery) views() ([]processor.StateStore, error) {
	if err := q.ready(); err != nil {
		return nil, err
	}
	qs := &q.app.queries
	qs.mu.RLock()
	parts := make([]int32, 0, len(qs.active.views[q.name]))
	for p := range qs.active.views[q.name] {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	vs := make([]processor.StateStore, len(parts))
	for i, p := range parts {
		vs[i] = qs.active.views[q.name][p]
	}
	qs.mu.RUnlock()
	return vs, nil
}

// failed makes the error of a view's call a query's: a view closed under
// the call means its task left.
func (q *storeQuery) failed(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, state.ErrClosed) {
		return fmt.Errorf("runtime: query store %q: %w: %w", q.name, ErrStoreMoved, err)
	}
	return err
}

// viewGetter hands one view to the state package's typed getters.
type viewGetter struct{ v processor.StateStore }

func (g viewGetter) StateStore(string) (processor.StateStore, error) { return g.v, nil }

// keyed is a typed view that can serialize a key for routing.
type keyed[K any] interface{ KeyBytes(K) ([]byte, error) }

// routed returns the typed view of the task that holds k: the one of the
// partition the murmur2 hash of k's serialized bytes picks, as the
// producers that partitioned the store's input did.
func routed[K any, S keyed[K]](q *storeQuery, k K, typed func(processor.StateStore) (S, error)) (S, error) {
	var zero S
	one, n, err := q.anyView()
	if err != nil {
		return zero, err
	}
	s, err := typed(one)
	if err != nil {
		return zero, fmt.Errorf("runtime: query store %q: %w", q.name, err)
	}
	kb, err := s.KeyBytes(k)
	if err != nil {
		return zero, fmt.Errorf("runtime: query store %q: serialize key: %w", q.name, err)
	}
	if kb == nil {
		return zero, fmt.Errorf("runtime: query store %q: the key serializes to null, which has no partition", q.name)
	}
	v, err := q.view(engine.KeyPartition(kb, n))
	if err != nil {
		return zero, err
	}
	return typed(v)
}

// all opens an iterator on each of the store's local views with open and
// chains them.
func all[K, V any, S any](q *storeQuery, typed func(processor.StateStore) (S, error), open func(S) (iterator[K, V], error)) (*QueryIterator[K, V], error) {
	vs, err := q.views()
	if err != nil {
		return nil, err
	}
	it := &QueryIterator[K, V]{q: q}
	for _, v := range vs {
		s, err := typed(v)
		if err == nil {
			var i iterator[K, V]
			i, err = open(s)
			if err == nil {
				it.its = append(it.its, i)
				continue
			}
		}
		it.Close()
		return nil, q.failed(err)
	}
	return it, nil
}

// KeyValueQuery reads a key-value store across the active tasks of this
// instance: Get from the task that holds the key, All and Range from every
// local task. Make it with QueryKeyValue; it is safe for concurrent use and
// lives as long as the App. Errors wrap ErrNotRunning, ErrRebalancing or
// ErrStoreMoved while the key's task is not here to answer.
type KeyValueQuery[K, V any] struct{ q *storeQuery }

// QueryKeyValue returns a query of the key-value store called store, with
// keys K and values V (a timestamped store can be read with plain values).
// It errors, wrapping ErrUnknownStore, if the topology has no such store;
// a store of other types fails each call with state.ErrWrongStoreType.
func QueryKeyValue[K, V any](app *App, store string) (*KeyValueQuery[K, V], error) {
	q, err := newStoreQuery(app, store)
	if err != nil {
		return nil, err
	}
	return &KeyValueQuery[K, V]{q: q}, nil
}

func (s *KeyValueQuery[K, V]) typed(v processor.StateStore) (*state.ReadOnlyKeyValueStore[K, V], error) {
	return state.GetReadOnlyKeyValueStore[K, V](viewGetter{v}, s.q.name)
}

// Name returns the store's name.
func (s *KeyValueQuery[K, V]) Name() string { return s.q.name }

// Get returns the value stored under k by the task that holds k.
func (s *KeyValueQuery[K, V]) Get(k K) (v V, found bool, err error) {
	st, err := routed(s.q, k, s.typed)
	if err != nil {
		return v, false, err
	}
	v, found, err = st.Get(k)
	return v, found, s.q.failed(err)
}

// All iterates over every key of the local tasks: in order within each
// task, task after task by partition (no order across tasks, as Kafka
// Streams' composite stores). Close the iterator.
func (s *KeyValueQuery[K, V]) All() (*QueryIterator[K, V], error) {
	return all(s.q, s.typed, func(st *state.ReadOnlyKeyValueStore[K, V]) (iterator[K, V], error) {
		it, err := st.All()
		return it, err
	})
}

// Range iterates over the keys from from to to, both included, of the
// local tasks, ordered as All.
func (s *KeyValueQuery[K, V]) Range(from, to K) (*QueryIterator[K, V], error) {
	return all(s.q, s.typed, func(st *state.ReadOnlyKeyValueStore[K, V]) (iterator[K, V], error) {
		it, err := st.Range(from, to)
		return it, err
	})
}

// ApproximateNumEntries sums the estimates of the local tasks.
func (s *KeyValueQuery[K, V]) ApproximateNumEntries() (int64, error) {
	vs, err := s.q.views()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, v := range vs {
		st, err := s.typed(v)
		if err != nil {
			return 0, err
		}
		m, err := st.ApproximateNumEntries()
		if err != nil {
			return 0, s.q.failed(err)
		}
		n += m
	}
	return n, nil
}

// WindowQuery reads a window store across the active tasks of this
// instance, as KeyValueQuery a key-value store. Make it with QueryWindow.
type WindowQuery[K, V any] struct{ q *storeQuery }

// QueryWindow returns a query of the window store called store, with keys
// K and values V; see QueryKeyValue.
func QueryWindow[K, V any](app *App, store string) (*WindowQuery[K, V], error) {
	q, err := newStoreQuery(app, store)
	if err != nil {
		return nil, err
	}
	return &WindowQuery[K, V]{q: q}, nil
}

func (s *WindowQuery[K, V]) typed(v processor.StateStore) (*state.ReadOnlyWindowStore[K, V], error) {
	return state.GetReadOnlyWindowStore[K, V](viewGetter{v}, s.q.name)
}

// Name returns the store's name.
func (s *WindowQuery[K, V]) Name() string { return s.q.name }

// Get returns the value of k's window starting at windowStart.
func (s *WindowQuery[K, V]) Get(k K, windowStart int64) (v V, found bool, err error) {
	st, err := routed(s.q, k, s.typed)
	if err != nil {
		return v, false, err
	}
	v, found, err = st.Get(k, windowStart)
	return v, found, s.q.failed(err)
}

// Fetch iterates over k's windows starting from timeFrom to timeTo (ms,
// both included), from the task that holds k.
func (s *WindowQuery[K, V]) Fetch(k K, timeFrom, timeTo int64) (*state.WindowStoreIterator[V], error) {
	st, err := routed(s.q, k, s.typed)
	if err != nil {
		return nil, err
	}
	it, err := st.Fetch(k, timeFrom, timeTo)
	return it, s.q.failed(err)
}

// FetchAll iterates over the windows of every key of the local tasks
// starting from timeFrom to timeTo, ordered as KeyValueQuery.All.
func (s *WindowQuery[K, V]) FetchAll(timeFrom, timeTo int64) (*QueryIterator[serde.Windowed[K], V], error) {
	return all(s.q, s.typed, func(st *state.ReadOnlyWindowStore[K, V]) (iterator[serde.Windowed[K], V], error) {
		it, err := st.FetchAll(timeFrom, timeTo)
		return it, err
	})
}

// All iterates over every window of the local tasks.
func (s *WindowQuery[K, V]) All() (*QueryIterator[serde.Windowed[K], V], error) {
	return all(s.q, s.typed, func(st *state.ReadOnlyWindowStore[K, V]) (iterator[serde.Windowed[K], V], error) {
		it, err := st.All()
		return it, err
	})
}

// SessionQuery reads a session store across the active tasks of this
// instance. Make it with QuerySession.
type SessionQuery[K, V any] struct{ q *storeQuery }

// QuerySession returns a query of the session store called store, with
// keys K and aggregates V; see QueryKeyValue.
func QuerySession[K, V any](app *App, store string) (*SessionQuery[K, V], error) {
	q, err := newStoreQuery(app, store)
	if err != nil {
		return nil, err
	}
	return &SessionQuery[K, V]{q: q}, nil
}

func (s *SessionQuery[K, V]) typed(v processor.StateStore) (*state.ReadOnlySessionStore[K, V], error) {
	return state.GetReadOnlySessionStore[K, V](viewGetter{v}, s.q.name)
}

// Name returns the store's name.
func (s *SessionQuery[K, V]) Name() string { return s.q.name }

// Fetch iterates over every session of k, from the task that holds k.
func (s *SessionQuery[K, V]) Fetch(k K) (*state.WindowedIterator[K, V], error) {
	st, err := routed(s.q, k, s.typed)
	if err != nil {
		return nil, err
	}
	it, err := st.Fetch(k)
	return it, s.q.failed(err)
}

// FetchSession returns the aggregate of k's session from start to end.
func (s *SessionQuery[K, V]) FetchSession(k K, start, end int64) (v V, found bool, err error) {
	st, err := routed(s.q, k, s.typed)
	if err != nil {
		return v, false, err
	}
	v, found, err = st.FetchSession(k, start, end)
	return v, found, s.q.failed(err)
}

// All iterates over every session of the local tasks.
func (s *SessionQuery[K, V]) All() (*QueryIterator[serde.Windowed[K], V], error) {
	return all(s.q, s.typed, func(st *state.ReadOnlySessionStore[K, V]) (iterator[serde.Windowed[K], V], error) {
		it, err := st.All()
		return it, err
	})
}

// iterator is what the state package's iterators have in common.
type iterator[K, V any] interface {
	Next() bool
	Key() K
	Value() V
	Err() error
	Close() error
}

// QueryIterator chains the iterators of a query's local tasks. Use it as
// the state package's: Next until false, then Err, then Close.
type QueryIterator[K, V any] struct {
	q   *storeQuery
	its []iterator[K, V]
	cur int
	err error
}

// Next moves to the next entry.
func (it *QueryIterator[K, V]) Next() bool {
	for it.err == nil && it.cur < len(it.its) {
		if it.its[it.cur].Next() {
			return true
		}
		if err := it.its[it.cur].Err(); err != nil {
			it.err = it.q.failed(err)
			return false
		}
		it.cur++
	}
	return false
}

// Key returns the current key.
func (it *QueryIterator[K, V]) Key() K { return it.its[it.cur].Key() }

// Value returns the current value.
func (it *QueryIterator[K, V]) Value() V { return it.its[it.cur].Value() }

// Err returns the error that ended the iteration, if any.
func (it *QueryIterator[K, V]) Err() error { return it.err }

// Close closes the iterators of every task.
func (it *QueryIterator[K, V]) Close() error {
	var errs []error
	for _, i := range it.its {
		if err := i.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	it.its = nil
	return errors.Join(errs...)
}
