package engine

import (
	"time"

	"github.com/samsa-go/samsa/processor"
)

type schedule struct {
	interval  int64
	next      int64
	fn        processor.Punctuator
	node      string
	cancelled bool
}

func (s *schedule) Cancel() { s.cancelled = true }

func (t *Task) schedule(n *Node, interval time.Duration, typ processor.PunctuationType, fn processor.Punctuator) (*schedule, error) {
	if t.global {
		// Kafka Streams' global processor context refuses it too: a global
		// task has no stream time of its own, and its records are not
		// processed in time order.
		return nil, errorf("%q of global store %q cannot schedule punctuators", n.Name, n.global.Store)
	}
	ms := interval.Milliseconds()
	if ms < 1 {
		return nil, errorf("punctuation interval %v of %q is below one millisecond", interval, n.Name)
	}
	s := &schedule{interval: ms, fn: fn, node: n.Name}
	if typ == processor.StreamTime {
		// Aligned to zero, so the first record punctuates at once, as in
		// Kafka Streams.
		t.streamSch = append(t.streamSch, s)
	} else {
		s.next = t.wallClock + ms
		t.wallSch = append(t.wallSch, s)
	}
	return s, nil
}

// punctuate fires the due schedules of one clock, by Kafka Streams' rules
// (its PunctuationQueue and PunctuationSchedule.next): the earliest due
// first (in the order scheduled among equals), each with now as its time,
// and each at most once per call however many intervals now passed; the
// next time is the first of the schedule's interval boundaries after now,
// so a jump of stream time fires a schedule once and keeps it aligned. A
// schedule made by a punctuator that is due already fires in the same
// call, as it would in Kafka's queue.
//
// A punctuator's error goes to the processing handler, with no record;
// under Continue the other schedules fire. A schedule moves to its next
// time before it fires, so that one that fails is not fired again at once.
func (t *Task) punctuate(typ processor.PunctuationType, now int64) error {
	list := &t.streamSch
	if typ == processor.WallClockTime {
		list = &t.wallSch
	}
	if now < 0 || len(*list) == 0 {
		return nil
	}
	for {
		// Schedules are few (one or two per processor): a scan for the
		// earliest costs less than keeping a heap.
		var s *schedule
		for _, c := range *list {
			if !c.cancelled && c.next <= now && (s == nil || c.next < s.next) {
				s = c
			}
		}
		if s == nil {
			break
		}
		s.next += ((now-s.next)/s.interval + 1) * s.interval
		t.node = s.node
		t.ts = now
		t.dirty = true
		err := t.timedPunctuator(s.fn, now)
		if err != nil {
			err = t.recordFailed(err)
		}
		t.node, t.at = "", 0
		if err != nil {
			return err
		}
	}
	live := (*list)[:0]
	for _, s := range *list {
		if !s.cancelled {
			live = append(live, s)
		}
	}
	clear((*list)[len(live):])
	*list = live
	return nil
}

// punctuateRecovering is punctuate, recovering a panic: it returns
// errRecovered when the handler dropped it, and the caller punctuates
// again for the schedules that did not fire.
func (t *Task) punctuateRecovering(typ processor.PunctuationType, now int64) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = t.recovered(v)
		}
	}()
	return t.punctuate(typ, now)
}
