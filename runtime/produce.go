package runtime

import (
	"context"

	"github.com/samsa-go/samsa/processor"
	"github.com/twmb/franz-go/pkg/kgo"
)

// collector is the engine.Collector of a task: sinks produce through the
// thread's client.
type collector struct {
	a  *App
	th *thread
	// The broker's name of the topic last sent to: a sink sends to the
	// same topic record after record.
	lastTopic, lastReal string
}

func (c *collector) Send(topic string, key, value []byte, timestamp int64, headers []processor.Header) error {
	if topic != c.lastTopic {
		c.lastTopic, c.lastReal = topic, c.a.realTopic(topic)
	}
	r := c.th.out.record(key, value)
	r.Topic, r.Timestamp = c.lastReal, timeOf(timestamp)
	if len(headers) > 0 {
		r.Headers = make([]kgo.RecordHeader, len(headers))
		for i, h := range headers {
			r.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	c.th.produce(r)
	return nil
}

// Outgoing records, and the bytes of their keys and values, are carved out
// of blocks: one allocation serves many records, and nothing is shared with
// franz-go's goroutines, which hold a record until the broker answered. A
// block is garbage once franz-go let go of every record in it.
const (
	recordBlock = 64
	byteBlock   = 16 << 10
)

// outAlloc hands out the records a thread produces. It belongs to the
// thread's loop.
type outAlloc struct {
	recs  []kgo.Record
	bytes []byte
}

// record returns a zeroed record holding copies of key and value (nil
// stays nil: a Kafka null).
func (o *outAlloc) record(key, value []byte) *kgo.Record {
	if len(o.recs) == 0 {
		o.recs = make([]kgo.Record, recordBlock)
	}
	r := &o.recs[0]
	o.recs = o.recs[1:]
	n := len(key) + len(value)
	var buf []byte
	switch {
	case n > byteBlock/8:
		buf = make([]byte, n)
	default:
		if n > len(o.bytes) {
			o.bytes = make([]byte, byteBlock)
		}
		buf = o.bytes[:n:n]
		o.bytes = o.bytes[n:]
	}
	if buf == nil {
		buf = []byte{} // a present, empty key or value
	}
	if key != nil {
		r.Key = buf[:len(key):len(key)]
		copy(r.Key, key)
	}
	if value != nil {
		r.Value = buf[len(key):]
		copy(r.Value, value)
	}
	return r
}

// produce sends a record of a sink or a changelog. Errors surface at the
// next step or commit.
func (t *thread) produce(r *kgo.Record) {
	t.txnDirty = true
	t.cl.Produce(context.Background(), r, t.onProduced)
}
