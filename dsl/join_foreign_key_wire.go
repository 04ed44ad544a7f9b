package dsl

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/samsa-go/samsa/serde"
)

// The records a foreign-key join sends between the tasks of its two
// tables, in formats of Samsa's own (Kafka Streams' differ). Each starts
// with a version byte; a reader meeting another version fails rather than
// misreads. A hash is the 128-bit FNV-1a hash of the left row's value as
// its serde writes it: a response carries the hash of the row it answers,
// and is dropped when the row has changed since.
//
// A subscription, keyed by the foreign key, says what the left row with
// primary key pk now wants from the right table:
//
//	[0x01][instruction][0x00, or 0x01 and the 16-byte hash][pk]
//
// A response, keyed by the primary key, carries the right row found, if
// any:
//
//	[0x01][flags: 0x01 hash present, 0x02 value present][16-byte hash, if present][value, if present]
const fkFormat byte = 0x01

// instruction says what the right side does with a subscription, as Kafka
// Streams' SubscriptionWrapper.Instruction.
type instruction byte

const (
	// deleteNoPropagate removes the subscription and answers nothing: the
	// left row moved to another foreign key, whose answer follows.
	deleteNoPropagate instruction = iota
	// deleteAndPropagate removes the subscription and answers with no
	// value: the left row is gone, or no longer joins.
	deleteAndPropagate
	// propagateNull subscribes and answers with the right row, or with no
	// value when there is none.
	propagateNull
	// propagateIfFound subscribes and answers only when there is a right
	// row: an inner join's first subscription of a row, which had no
	// result to delete.
	propagateIfFound
)

type fkHash [16]byte

// subscription is what the left side sends the right side.
type subscription[K any] struct {
	instruction instruction
	hash        fkHash
	hasHash     bool
	pk          K
}

type subscriptionSerde[K any] struct{ ks serde.Serde[K] }

func (s subscriptionSerde[K]) Serialize(dst []byte, topic string, v subscription[K]) ([]byte, error) {
	dst = append(dst, fkFormat, byte(v.instruction))
	if v.hasHash {
		dst = append(append(dst, 1), v.hash[:]...)
	} else {
		dst = append(dst, 0)
	}
	return s.ks.Serialize(dst, topic, v.pk)
}

func (s subscriptionSerde[K]) Deserialize(topic string, data []byte) (subscription[K], error) {
	var v subscription[K]
	if err := fkVersion("subscription", data, 3); err != nil {
		return v, err
	}
	if data[1] > byte(propagateIfFound) {
		return v, fmt.Errorf("dsl: subscription has instruction %d, which this version does not know", data[1])
	}
	v.instruction = instruction(data[1])
	rest := data[3:]
	switch data[2] {
	case 0:
	case 1:
		if len(rest) < len(v.hash) {
			return v, fmt.Errorf("dsl: subscription of %d bytes is cut short in its hash", len(data))
		}
		copy(v.hash[:], rest)
		v.hasHash, rest = true, rest[len(v.hash):]
	default:
		return v, fmt.Errorf("dsl: subscription has hash flag 0x%02x, want 0x00 or 0x01", data[2])
	}
	var err error
	v.pk, err = s.ks.Deserialize(topic, rest)
	return v, err
}

// response is what the right side answers.
type response[VO any] struct {
	hash     fkHash
	hasHash  bool
	value    VO
	hasValue bool
}

const (
	responseHash  byte = 0x01
	responseValue byte = 0x02
)

type responseSerde[VO any] struct{ vs serde.Serde[VO] }

func (s responseSerde[VO]) Serialize(dst []byte, topic string, v response[VO]) ([]byte, error) {
	var flags byte
	if v.hasHash {
		flags |= responseHash
	}
	if v.hasValue {
		flags |= responseValue
	}
	dst = append(dst, fkFormat, flags)
	if v.hasHash {
		dst = append(dst, v.hash[:]...)
	}
	if !v.hasValue {
		return dst, nil
	}
	return s.vs.Serialize(dst, topic, v.value)
}

func (s responseSerde[VO]) Deserialize(topic string, data []byte) (response[VO], error) {
	var v response[VO]
	if err := fkVersion("response", data, 2); err != nil {
		return v, err
	}
	flags, rest := data[1], data[2:]
	if flags&^(responseHash|responseValue) != 0 {
		return v, fmt.Errorf("dsl: response has flags 0x%02x, which this version does not know", flags)
	}
	if flags&responseHash != 0 {
		if len(rest) < len(v.hash) {
			return v, fmt.Errorf("dsl: response of %d bytes is cut short in its hash", len(data))
		}
		copy(v.hash[:], rest)
		v.hasHash, rest = true, rest[len(v.hash):]
	}
	if flags&responseValue == 0 {
		if len(rest) > 0 {
			return v, fmt.Errorf("dsl: response without a value has %d bytes after its header", len(rest))
		}
		return v, nil
	}
	var err error
	v.value, err = s.vs.Deserialize(topic, rest)
	v.hasValue = err == nil
	return v, err
}

func fkVersion(what string, data []byte, header int) error {
	if len(data) < header {
		return fmt.Errorf("dsl: %s of %d bytes, fewer than its %d-byte header", what, len(data), header)
	}
	if data[0] != fkFormat {
		return fmt.Errorf("dsl: %s has format 0x%02x, want 0x%02x; written by another version?", what, data[0], fkFormat)
	}
	return nil
}

// hasher hashes left rows as their serde writes them, reusing its buffers.
type hasher[V any] struct {
	vs  serde.Serde[V]
	h   hash.Hash
	buf []byte
	sum []byte
}

func newHasher[V any](vs serde.Serde[V]) *hasher[V] {
	return &hasher[V]{vs: vs, h: fnv.New128a(), sum: make([]byte, 0, 16)}
}

func (h *hasher[V]) hash(topic string, v V) (fkHash, error) {
	var out fkHash
	var err error
	if h.buf, err = h.vs.Serialize(h.buf[:0], topic, v); err != nil {
		return out, err
	}
	h.h.Reset()
	h.h.Write(h.buf)
	h.sum = h.h.Sum(h.sum[:0])
	copy(out[:], h.sum)
	return out, nil
}

// combinedKey is the key of a subscription in the right side's store: the
// foreign key's bytes after their length, then the primary key's, so that
// a prefix scan finds every subscriber of a foreign key.
func combinedKey(dst, fk, pk []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(fk)))
	return append(append(dst, fk...), pk...)
}

// combinedPrefix is the prefix of the combined keys of fk.
func combinedPrefix(dst, fk []byte) []byte {
	return append(binary.BigEndian.AppendUint32(dst, uint32(len(fk))), fk...)
}

// primaryOf returns the primary key's bytes in a combined key.
func primaryOf(key []byte) ([]byte, error) {
	if len(key) < 4 {
		return nil, fmt.Errorf("dsl: subscription key of %d bytes", len(key))
	}
	n := binary.BigEndian.Uint32(key)
	if uint64(n) > uint64(len(key)-4) {
		return nil, fmt.Errorf("dsl: subscription key says its foreign key has %d bytes, but %d follow", n, len(key)-4)
	}
	return key[4+n:], nil
}

// borrowedBytes is the serde of the subscription store's keys and hashes:
// serde.Bytes without the copy Deserialize makes. A right row's update
// reads every subscription to it, each within the iteration step that
// yields it (see fkForeignProc), and keeps none; a copy per subscription
// was most of what fanning out cost.
type borrowedBytes struct{}

func (borrowedBytes) Serialize(dst []byte, _ string, v []byte) ([]byte, error) {
	return append(dst, v...), nil
}

func (borrowedBytes) Deserialize(_ string, data []byte) ([]byte, error) { return data, nil }
