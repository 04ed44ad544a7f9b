package dsl

import (
	"encoding/binary"
	"fmt"

	"github.com/samsa-go/samsa/serde"
)

// change is what flows between table nodes: a row's new value and, when
// the node was asked for old values, the one it replaced, so that tables
// downstream can retract it. HasNew false is a delete.
type change[V any] struct {
	New, Old       V
	HasNew, HasOld bool
}

// The kinds of change a repartition topic of KTable.GroupBy carries, in the
// first byte of each value (see KTable.GroupBy).
const (
	changeNew  byte = 0x01
	changeOld  byte = 0x02
	changeBoth byte = 0x03
)

// changeSerde writes changes with the value serde inner, for the
// repartition topics of re-grouped tables.
type changeSerde[V any] struct{ inner serde.Serde[V] }

func (s changeSerde[V]) Serialize(dst []byte, topic string, c change[V]) ([]byte, error) {
	var err error
	switch {
	case c.HasNew && c.HasOld:
		dst = append(dst, changeBoth, 0, 0, 0, 0)
		at := len(dst)
		if dst, err = s.inner.Serialize(dst, topic, c.New); err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint32(dst[at-4:at], uint32(len(dst)-at))
		return s.inner.Serialize(dst, topic, c.Old)
	case c.HasNew:
		return s.inner.Serialize(append(dst, changeNew), topic, c.New)
	case c.HasOld:
		return s.inner.Serialize(append(dst, changeOld), topic, c.Old)
	}
	return nil, fmt.Errorf("dsl: a change with neither a new nor an old value")
}

func (s changeSerde[V]) Deserialize(topic string, data []byte) (change[V], error) {
	var c change[V]
	if len(data) == 0 {
		return c, fmt.Errorf("dsl: empty change")
	}
	var err error
	switch data[0] {
	case changeNew:
		c.New, err = s.inner.Deserialize(topic, data[1:])
		c.HasNew = true
	case changeOld:
		c.Old, err = s.inner.Deserialize(topic, data[1:])
		c.HasOld = true
	case changeBoth:
		if len(data) < 5 {
			return c, fmt.Errorf("dsl: change of %d bytes, fewer than its 5-byte header", len(data))
		}
		n := binary.BigEndian.Uint32(data[1:5])
		if uint64(n) > uint64(len(data)-5) {
			return c, fmt.Errorf("dsl: change says its new value has %d bytes, but %d follow", n, len(data)-5)
		}
		if c.New, err = s.inner.Deserialize(topic, data[5:5+n]); err != nil {
			return c, err
		}
		c.Old, err = s.inner.Deserialize(topic, data[5+n:])
		c.HasNew, c.HasOld = true, true
	default:
		return c, fmt.Errorf("dsl: change of kind 0x%02x, want 0x01, 0x02 or 0x03; written by another version?", data[0])
	}
	return c, err
}
