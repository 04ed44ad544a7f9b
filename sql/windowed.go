package sql

import (
	"encoding/binary"
	"fmt"
)

// A windowed source (WINDOW_TYPE) has keys that carry a window: the key
// columns' bytes, then the window's start (time windows) or its end and
// start (sessions), as Kafka Streams' windowed serdes write them. A query
// reads such a key as a row of the key columns followed by two cells,
// WINDOWSTART and WINDOWEND, which the projection carries to a sink that
// is windowed the same way.

// windowedRows reads and writes the keys of a windowed source through
// the source's key serde, the window in the row's last two cells.
type windowedRows struct {
	inner   *rowSerde
	session bool
	size    int64 // a time window's size; its end is start + size
}

func (w windowedRows) Serialize(dst []byte, topic string, r Row) ([]byte, error) {
	n := len(w.inner.cols)
	if len(r) < n+2 {
		return nil, fmt.Errorf("sql: windowed key has %d cells, want %d", len(r), n+2)
	}
	out, err := w.inner.Serialize(dst, topic, r[:n])
	if err != nil {
		return nil, err
	}
	if w.session {
		out = binary.BigEndian.AppendUint64(out, uint64(r[n+1].I))
	}
	return binary.BigEndian.AppendUint64(out, uint64(r[n].I)), nil
}

func (w windowedRows) Deserialize(topic string, data []byte) (Row, error) {
	size := 8
	if w.session {
		size = 16
	}
	if len(data) < size {
		return nil, fmt.Errorf("sql: windowed key of %d bytes, shorter than its window", len(data))
	}
	k, err := w.inner.Deserialize(topic, data[:len(data)-size])
	if err != nil {
		return nil, err
	}
	tail := data[len(data)-size:]
	var start, end int64
	if w.session {
		end, start = int64(binary.BigEndian.Uint64(tail)), int64(binary.BigEndian.Uint64(tail[8:]))
	} else {
		start = int64(binary.BigEndian.Uint64(tail))
		end = start + w.size
	}
	out := make(Row, len(k), len(k)+2)
	copy(out, k)
	return append(out, intValue(start), intValue(end)), nil
}

// windowedKeys is the serde of s's keys as queries read and write them:
// s's key serde, windowed when s is.
func (s *Source) windowedKeys() windowedRows {
	return windowedRows{inner: s.keySerde, session: s.Window == "SESSION", size: s.WindowSize}
}
