package runtime

import (
	"math/bits"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// recordPool is the kgo.PoolRecords of a stream thread's client: franz-go
// decodes each fetched batch into a slice of records, which was a third of
// what a word count allocated once its outgoing records were used again.
// The thread copies what a task needs of a fetched record into the task's
// input (enqueue) and recycles the record at once; the slice comes back
// here when every record kept from its batch was recycled. A slice whose
// records are not all recycled (those of a task not made yet, or polled as
// the thread closes) is left to the garbage collector.
//
// Slices are pooled by capacity, in powers of two. sync.Pool drops what
// stays unused over two garbage collections, so that a burst of large
// batches does not stay allocated.
type recordPool struct {
	classes [maxRecordClass + 1]sync.Pool
}

// Slices hold from 1<<minRecordClass to 1<<maxRecordClass records; a
// batch of more records gets a slice of its own.
const (
	minRecordClass = 4
	maxRecordClass = 16
)

// GetRecords returns a slice with capacity of at least n.
func (p *recordPool) GetRecords(n int) []kgo.Record {
	c := max(bits.Len(uint(n-1)), minRecordClass)
	if c > maxRecordClass {
		return make([]kgo.Record, n)
	}
	if s, _ := p.classes[c].Get().(*[]kgo.Record); s != nil {
		return *s
	}
	return make([]kgo.Record, 1<<c)
}

// PutRecords takes back a slice whose records franz-go zeroed as they were
// recycled.
func (p *recordPool) PutRecords(s []kgo.Record) {
	c := bits.Len(uint(cap(s))) - 1
	if c < minRecordClass || c > maxRecordClass {
		return
	}
	s = s[:1<<c]
	p.classes[c].Put(&s)
}
