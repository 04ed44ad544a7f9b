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

// punctuate fires the due schedules of one clock. A schedule that missed
// several intervals fires once and is realigned to its interval.
func (t *Task) punctuate(typ processor.PunctuationType, now int64) error {
	list := &t.streamSch
	if typ == processor.WallClockTime {
		list = &t.wallSch
	}
	if now < 0 || len(*list) == 0 {
		return nil
	}
	for i := 0; i < len(*list); i++ {
		s := (*list)[i]
		if s.cancelled || now < s.next {
			continue
		}
		t.node = s.node
		t.ts = now
		t.dirty = true
		err := s.fn(now)
		t.node = ""
		if err != nil {
			return t.wrap(err)
		}
		next := s.next + s.interval
		if now >= next {
			next = s.next + ((now-s.next)/s.interval+1)*s.interval
		}
		s.next = next
	}
	live := (*list)[:0]
	for _, s := range *list {
		if !s.cancelled {
			live = append(live, s)
		}
	}
	*list = live
	return nil
}
