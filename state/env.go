package state

import "github.com/samsa-go/samsa/processor"

// Env is what a task offers the stores it opens. The runtime and the test
// driver fill it in; a StoreBuilder reads it in Build.
type Env struct {
	TaskID        processor.TaskID
	ApplicationID string
	// DB returns the task's Pebble database, opening it on first use. All
	// persistent stores of a task share it.
	DB func() (*DB, error)
	// InMemory makes every store of the task in-memory, whatever its builder
	// asks for.
	InMemory bool
	// Logger returns the change logger for the named store, or nil when
	// changes are not recorded (for example under the test driver).
	Logger func(store string) ChangeLogger
	// Transactional puts a TxnStore under the changelogging layer of every
	// store: writes wait there until the runtime's transaction commits.
	Transactional bool
	// RecordTime returns the timestamp of the record being processed. A
	// store's cache stamps its entries with it, so that an update it
	// forwards on flush carries the time of the write it kept.
	RecordTime func() int64
	// Metrics returns where the named store reports its latencies and
	// cache counts (see StoreMetrics), or nil when nothing measures it.
	Metrics func(store string) *StoreMetrics
}

// metricsOf returns the metrics of store name, nil when env measures none.
func (env *Env) metricsOf(name string) *StoreMetrics {
	if env.Metrics == nil {
		return nil
	}
	return env.Metrics(name)
}
