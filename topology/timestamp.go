package topology

import (
	"fmt"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
)

// SetTimestampExtractor gives the source named source a timestamp
// extractor (see processor.TimestampExtractor): its records take the
// timestamps e gives them, which drive stream time, windows and punctuation
// downstream. K and V must be the source's key and value types. By default
// a source keeps the topic's timestamps.
//
// The records of a task's several input partitions are still chosen by
// the topic's timestamps: the extractor needs the deserialized record,
// which the source makes only once a record is chosen.
func (t *Topology) SetTimestampExtractor[K, V any](source string, e processor.TimestampExtractor[K, V]) *Topology {
	n := t.g.Node(source)
	switch {
	case n == nil:
		t.g.Fail(fmt.Errorf("topology: %w: timestamp extractor set on %q, which does not exist", engine.ErrUnknownNode, source))
	case n.Kind != engine.KindSource:
		t.g.Fail(fmt.Errorf("topology: timestamp extractor set on %q, which is not a source", source))
	case n.OutKey != typeOf[K]() || n.OutValue != typeOf[V]():
		t.g.Fail(fmt.Errorf("topology: %w: source %q reads <%v, %v> but its timestamp extractor takes <%v, %v>", engine.ErrTypeMismatch, source, n.OutKey, n.OutValue, typeOf[K](), typeOf[V]()))
	case e == nil:
		n.TimestampExtractor = nil
	default:
		n.TimestampExtractor = e
	}
	return t
}
