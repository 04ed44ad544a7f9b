package runtime

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A stream thread hands the records it produces to a goroutine of its own,
// which passes them to franz-go, in batches: franz-go's Produce (its locks,
// the partitioner, sizing the record into its batch) was a fifth of a word
// count's stream thread, which is the one goroutine that sets the pace, and
// runs beside the other core's work instead.
//
// The records keep their order: one goroutine produces them, in the order
// the thread sent them. Whatever needs them in franz-go's hands waits for
// drain first, under mu, like everything that sends: a flush, the end of a
// transaction, and the end of each step, so that between steps, where the
// group's callbacks and the loop's poll run, nothing is held back here and
// the thread's client is as it was when the thread produced directly. A
// record franz-go refuses fails in its promise as before (outBlock.produced).
//
// The queue is bounded (senderQueue batches): once full, the thread waits,
// as it waited in Produce once franz-go held MaxBufferedRecords.
const (
	senderBatch = 128
	senderQueue = 8
)

// sendBatch is records to produce, each with the block it is carved from.
type sendBatch struct {
	cl   *kgo.Client
	n    int
	recs [senderBatch]*kgo.Record
	blks [senderBatch]*outBlock
}

// sender is a thread's producing goroutine and the batch the thread fills.
// Its fields are the thread's, used under mu; the goroutine sees only the
// batches.
type sender struct {
	work chan *sendBatch
	free chan *sendBatch
	cur  *sendBatch
	// handed counts the batches handed over and not produced yet.
	handed sync.WaitGroup
	// stopped is set once the goroutine ended (the thread's run did):
	// what is sent afterwards, by a late callback, is produced directly.
	stopped bool
}

// produce sends a record of a sink or a changelog, carved from b. Errors
// surface at the next step or commit.
func (t *thread) produce(r *kgo.Record, b *outBlock) {
	t.txnDirty = true
	s := &t.snd
	if s.stopped {
		t.cl.Produce(context.Background(), r, b.done)
		return
	}
	if s.cur == nil {
		s.start()
	}
	if s.cur.n > 0 && s.cur.cl != t.cl {
		s.handOff()
	}
	c := s.cur
	c.cl = t.cl
	c.recs[c.n], c.blks[c.n] = r, b
	c.n++
	if c.n == senderBatch {
		s.handOff()
	}
}

// drain returns once every record the thread sent is in franz-go's hands.
// mu is held.
func (t *thread) drain() {
	s := &t.snd
	if s.cur == nil {
		return
	}
	if s.cur.n > 0 {
		s.handOff()
	}
	s.handed.Wait()
}

// stopSender drains and ends the goroutine; the thread produces directly
// from then on. mu is held.
func (t *thread) stopSender() {
	t.drain()
	s := &t.snd
	if s.cur != nil && !s.stopped {
		close(s.work)
	}
	s.stopped = true
}

func (s *sender) start() {
	s.work = make(chan *sendBatch, senderQueue)
	// One batch being filled, one being produced, the queue full.
	s.free = make(chan *sendBatch, senderQueue+2)
	for range senderQueue + 1 {
		s.free <- &sendBatch{}
	}
	s.cur = &sendBatch{}
	go s.run(s.work, s.free)
}

func (s *sender) handOff() {
	s.handed.Add(1)
	s.work <- s.cur
	s.cur = <-s.free
}

func (s *sender) run(work <-chan *sendBatch, free chan<- *sendBatch) {
	for bt := range work {
		for i := range bt.n {
			bt.cl.Produce(context.Background(), bt.recs[i], bt.blks[i].done)
		}
		clear(bt.recs[:bt.n])
		clear(bt.blks[:bt.n])
		bt.n, bt.cl = 0, nil
		free <- bt
		s.handed.Done()
	}
}
