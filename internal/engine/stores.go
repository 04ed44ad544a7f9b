package engine

import (
	"fmt"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// openStores opens the stores of the task's subtopology, each as the same
// stack under the runtime and the test driver, from the top:
//
//   - a cache, if the store's builder asks for one;
//   - the changelog layer, for logged stores: each write that reaches it is
//     sent to the Collector as a change of the store's changelog partition;
//   - a transaction buffer, over Pebble: writes wait there until the commit
//     that made their changelog records durable, so a store is never ahead of
//     its changelog, and a key written many times between commits reaches
//     Pebble once;
//   - Pebble, in the task's database (Config.OpenDB), or memory.
//
// In-memory stores get no transaction buffer: they hold nothing across a
// failure, and a task that starts or rewinds rebuilds them from their
// changelogs, so they cannot be ahead of them.
//
// Global stores are neither logged nor transactional: their topic is their
// changelog, read committed, and nothing they hold is ever rolled back.
func (t *Task) openStores() error {
	env := &state.Env{
		TaskID:        t.ID,
		ApplicationID: t.cfg.ApplicationID,
		InMemory:      t.cfg.InMemory,
		Transactional: !t.cfg.InMemory && !t.global,
		DB:            t.openDB,
		Logger:        t.changeLogger,
		RecordTime:    t.RecordTimestamp,
	}
	if t.metrics != nil && t.metrics.Store != nil {
		env.Metrics = t.storeMetrics
	}
	if t.global {
		env.Logger = nil
	}
	for _, name := range t.Sub.Stores {
		s, err := t.graph.stores[name].Builder.Build(env)
		if err != nil {
			return fmt.Errorf("engine: task %s: open store %q: %w", t.ID, name, err)
		}
		t.stores[name] = s
		t.storeList = append(t.storeList, s)
	}
	return nil
}

// openDB opens the task's database on first use: every persistent store of
// the task lives in it.
func (t *Task) openDB() (*state.DB, error) {
	if t.db != nil {
		return t.db, nil
	}
	if t.cfg.OpenDB == nil {
		return nil, fmt.Errorf("engine: task %s: no database to open persistent stores in", t.ID)
	}
	db, err := t.cfg.OpenDB(t.ID)
	if err != nil {
		return nil, err
	}
	t.db = db
	return db, nil
}

// changeLogger is the state.Env Logger: it is asked for the logger of each
// logged store as the store is built, which is the next one in storeList.
func (t *Task) changeLogger(store string) state.ChangeLogger {
	cl := &Changelog{
		Store:     store,
		Topic:     ChangelogTopic(t.cfg.ApplicationID, store),
		Partition: t.ID.Partition,
		Ahead:     t.graph.stores[store].LogsAhead(),
		task:      t,
		store:     len(t.storeList),
	}
	t.changelogs = append(t.changelogs, cl)
	return changeLogger{cl}
}

// changeLogger hands each change of a store to the Collector as a record of
// the store's changelog partition.
type changeLogger struct{ cl *Changelog }

func (l changeLogger) LogChange(key, value []byte, timestamp int64, headers []processor.Header) error {
	l.cl.sent = true
	return l.cl.task.cfg.Collector.SendChangelog(l.cl, key, value, timestamp, headers)
}

// UncommittedBytes is the memory the task's store writes hold until the
// next commit, in their transaction buffers. A host bounds it by
// committing early (Kafka's KIP-892 statestore.uncommitted.max.bytes), so
// that the memory does not grow with the commit interval.
func (t *Task) UncommittedBytes() int64 {
	var n int64
	for _, s := range t.storeList {
		if x := s.Txn(); x != nil {
			n += x.UncommittedBytes()
		}
	}
	return n
}
