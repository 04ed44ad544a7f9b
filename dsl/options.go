package dsl

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/samsa-go/samsa/serde"
)

// options is what every option of this package carries: the settings it
// made, marked in set. Each option type is a struct with one field of this
// type and nothing else, so that all of them have the same underlying type;
// that is what lets Named, whose type has no name of its own, be passed
// wherever an option is (see the package documentation). Type parameters of
// the option types appear in their methods only, so serdes are held as any
// here; the typed constructors and methods guarantee their types, and
// pickSerde checks them again for values converted between option types.
type options struct {
	set setting

	name        string
	repartition string
	store       string
	stores      []string

	keySerde, valueSerde, otherValueSerde any

	caching    int
	partitions int32
	grace      time.Duration
	retention  time.Duration

	suppress  suppressKind
	timeLimit time.Duration
	buffer    BufferConfig
}

// setting marks one setting of options.
type setting uint32

const (
	setName setting = 1 << iota
	setRepartition
	setStore
	setStores
	setKeySerde
	setValueSerde
	setOtherValueSerde
	setCaching
	setNoLogging
	setInMemory
	setPartitions
	setGrace
	setSuppress
	setRetention
)

// materializedSettings are the settings of a Materialized.
const materializedSettings = setStore | setKeySerde | setValueSerde | setCaching | setNoLogging | setInMemory

// settingNames says how Build errors name each setting: as the option or
// method that makes it.
var settingNames = []struct {
	s    setting
	name string
}{
	{setName, "a name"},
	{setRepartition, "a repartition topic name"},
	{setStore, "a store name"},
	{setStores, "WithStores"},
	{setKeySerde, "a key serde"},
	{setValueSerde, "a value serde"},
	{setOtherValueSerde, "an other-value serde"},
	{setCaching, "WithCachingEnabled"},
	{setNoLogging, "WithLoggingDisabled"},
	{setInMemory, "InMemory"},
	{setPartitions, "WithNumberOfPartitions"},
	{setGrace, "WithGracePeriod"},
	{setSuppress, "a suppression"},
	{setRetention, "WithRetention"},
}

// with returns o with s marked as set.
func (o options) with(s setting) options {
	o.set |= s
	return o
}

// merge applies opts in order: a later option's settings replace an earlier
// one's, except WithStores, which adds up.
func merge[O ~struct{ o options }](opts []O) options {
	var c options
	for _, opt := range opts {
		o := struct{ o options }(opt).o
		if o.set&setName != 0 {
			c.name = o.name
		}
		if o.set&setRepartition != 0 {
			c.repartition = o.repartition
		}
		if o.set&setStore != 0 {
			c.store = o.store
		}
		if o.set&setStores != 0 {
			c.stores = append(c.stores, o.stores...)
		}
		if o.set&setKeySerde != 0 {
			c.keySerde = o.keySerde
		}
		if o.set&setValueSerde != 0 {
			c.valueSerde = o.valueSerde
		}
		if o.set&setOtherValueSerde != 0 {
			c.otherValueSerde = o.otherValueSerde
		}
		if o.set&setCaching != 0 {
			c.caching = o.caching
		}
		if o.set&setPartitions != 0 {
			c.partitions = o.partitions
		}
		if o.set&setGrace != 0 {
			c.grace = o.grace
		}
		if o.set&setRetention != 0 {
			c.retention = o.retention
		}
		if o.set&setSuppress != 0 {
			c.suppress, c.timeLimit, c.buffer = o.suppress, o.timeLimit, o.buffer
		}
		c.set |= o.set
	}
	return c
}

// only records a Build error naming node for every setting of c outside
// allowed. The types of the options an operation takes rule out most such
// settings at compile time; what remains are values converted from one
// option type to another, which Go allows between types of the same
// underlying type.
func (b *Builder) only(node, op string, c options, allowed setting) {
	extra := c.set &^ allowed
	if extra == 0 {
		return
	}
	var names []string
	for _, sn := range settingNames {
		if extra&sn.s != 0 {
			names = append(names, sn.name)
		}
	}
	b.fail("%s %q: %s means nothing here", op, node, strings.Join(names, ", "))
}

// Name is the type of Named's result. It is an alias of an unnamed struct
// type, the underlying type of every option type of this package, and Go
// lets a value of an unnamed type be passed where a named type of the same
// underlying type is expected: so Named fits every operation, whichever
// option type it takes.
type Name = struct{ o options }

// Named names the processor node of an operation, as Kafka Streams' Named:
// every operation takes it. For Split it is the prefix of the branch names;
// for Repartition and GroupByKey, which add no processor of their own, it
// names the repartition topic and its nodes (GroupByKey adds them only when
// the key may have changed). Stream names its source with
// it, Table the node that turns the topic into a table, To its sink.
func Named(name string) Name { return Name{o: options{name: name}.with(setName)} }

// Option configures an operation that has no parameter object of its own,
// such as Filter or MapValues. Named is the only one.
type Option struct{ o options }

// pickSerde resolves the serde for a T: an explicit one first, then the one
// the stream carried, then the built-in one for T. It returns nil when
// there is none. The option types make an explicit serde of the wrong type
// a compile error; one can still arrive in a value converted between option
// types, which is an error here.
func pickSerde[T any](explicit any, carried serde.Serde[T]) (serde.Serde[T], error) {
	if explicit != nil {
		s, ok := explicit.(serde.Serde[T])
		if !ok {
			return nil, fmt.Errorf("%w: a serde of type %T was given where a serde.Serde[%v] is needed", errTypeMismatch, explicit, reflect.TypeFor[T]())
		}
		return s, nil
	}
	if carried != nil {
		return carried, nil
	}
	if s, ok := serde.Default[T](); ok {
		return s, nil
	}
	return nil, nil
}
