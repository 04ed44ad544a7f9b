package dsl

import (
	"time"

	"github.com/samsa-go/samsa/serde"
)

// Joined configures a stream-table join (KStream.JoinTable and
// LeftJoinTable), as Kafka Streams' Joined: the serdes of the keys and of
// the stream's values (V), used where the join repartitions its stream,
// the serde of the table's values (VO), which Kafka Streams takes too and
// the join does not need, and the join's name, which Named gives as well.
type Joined[K, V, VO any] struct{ o options }

// JoinedWith gives the serdes of the keys, the stream's values and the
// table's values. A nil serde leaves the one the stream or table carries.
func JoinedWith[K, V, VO any](keySerde serde.Serde[K], valueSerde serde.Serde[V], otherValueSerde serde.Serde[VO]) Joined[K, V, VO] {
	return Joined[K, V, VO]{}.WithKeySerde(keySerde).WithValueSerde(valueSerde).WithOtherValueSerde(otherValueSerde)
}

// WithKeySerde sets the serde of the keys.
func (j Joined[K, V, VO]) WithKeySerde(s serde.Serde[K]) Joined[K, V, VO] {
	j.o = setKey(j.o, s)
	return j
}

// WithValueSerde sets the serde of the stream's values.
func (j Joined[K, V, VO]) WithValueSerde(s serde.Serde[V]) Joined[K, V, VO] {
	j.o = setValue(j.o, s)
	return j
}

// WithOtherValueSerde sets the serde of the table's values.
func (j Joined[K, V, VO]) WithOtherValueSerde(s serde.Serde[VO]) Joined[K, V, VO] {
	if s != nil {
		j.o.otherValueSerde = s
		j.o = j.o.with(setOtherValueSerde)
	}
	return j
}

// WithName names the join's processor and its repartition topic, if it
// needs one.
func (j Joined[K, V, VO]) WithName(name string) Joined[K, V, VO] {
	j.o.name = name
	j.o = j.o.with(setName)
	return j
}

// WithGracePeriod lets a stream record join a versioned table as of the
// record's timestamp when it arrives up to d late, as Kafka Streams'
// Joined#withGracePeriod does. Samsa has no versioned tables yet: a join
// given a grace period is a Build error.
func (j Joined[K, V, VO]) WithGracePeriod(d time.Duration) Joined[K, V, VO] {
	j.o.grace = d
	j.o = j.o.with(setGrace)
	return j
}

// StreamJoined configures a stream-stream join (KStream.Join, LeftJoin and
// OuterJoin), as Kafka Streams' StreamJoined: the serdes of the keys, of
// this stream's values (V) and of the other stream's values (VO), for the
// window stores that hold each side and the repartition topics, the join's
// name, and the stores' names and changelogs.
type StreamJoined[K, V, VO any] struct{ o options }

// StreamJoinedWith gives the serdes of the keys and of both sides' values.
// A nil serde leaves the one the stream carries.
func StreamJoinedWith[K, V, VO any](keySerde serde.Serde[K], valueSerde serde.Serde[V], otherValueSerde serde.Serde[VO]) StreamJoined[K, V, VO] {
	return StreamJoined[K, V, VO]{}.WithKeySerde(keySerde).WithValueSerde(valueSerde).WithOtherValueSerde(otherValueSerde)
}

// WithKeySerde sets the serde of the keys.
func (j StreamJoined[K, V, VO]) WithKeySerde(s serde.Serde[K]) StreamJoined[K, V, VO] {
	j.o = setKey(j.o, s)
	return j
}

// WithValueSerde sets the serde of this stream's values.
func (j StreamJoined[K, V, VO]) WithValueSerde(s serde.Serde[V]) StreamJoined[K, V, VO] {
	j.o = setValue(j.o, s)
	return j
}

// WithOtherValueSerde sets the serde of the other stream's values.
func (j StreamJoined[K, V, VO]) WithOtherValueSerde(s serde.Serde[VO]) StreamJoined[K, V, VO] {
	if s != nil {
		j.o.otherValueSerde = s
		j.o = j.o.with(setOtherValueSerde)
	}
	return j
}

// WithName names the join's processors and repartition topics.
func (j StreamJoined[K, V, VO]) WithName(name string) StreamJoined[K, V, VO] {
	j.o.name = name
	j.o = j.o.with(setName)
	return j
}

// WithStoreName is the prefix of the names of the join's two window stores
// (and so of their changelog topics); by default they are generated.
func (j StreamJoined[K, V, VO]) WithStoreName(store string) StreamJoined[K, V, VO] {
	j.o.store = store
	j.o = j.o.with(setStore)
	return j
}

// WithLoggingDisabled turns off the changelog topics of the join's stores.
func (j StreamJoined[K, V, VO]) WithLoggingDisabled() StreamJoined[K, V, VO] {
	j.o = j.o.with(setNoLogging)
	return j
}
