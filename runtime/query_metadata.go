package runtime

import (
	"sync"

	"github.com/samsa-go/samsa/internal/assign"
	"github.com/samsa-go/samsa/processor"
)

// ApplicationServer sets the host:port this instance answers interactive
// queries on (application.server). It is advertised to the group, so that
// every instance can tell which one holds a key (App.MetadataForKey). The
// runtime does not listen on it itself; see QueryHandler. Default: none.
func ApplicationServer(hostPort string) Option { return func(c *config) { c.appServer = hostPort } }

// queries is the App's state for interactive queries.
type queries struct {
	mu sync.RWMutex
	// hosts are the group's hosts of the latest assignment.
	hosts []assign.Host
	// views are the read-only views of the stores of the active tasks, by
	// store and partition; tasks is the number of tasks of each store.
	views map[string]map[int32]processor.StateStore
	tasks map[string]int32
}

// hostsAssigned keeps the group's hosts of the latest assignment: every
// member of one generation is handed the same.
func (a *App) hostsAssigned(_ *thread, hosts []assign.Host) {
	a.queries.mu.Lock()
	a.queries.hosts = hosts
	a.queries.mu.Unlock()
}
