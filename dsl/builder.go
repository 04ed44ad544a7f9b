package dsl

import (
	"fmt"

	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
)

// Builder collects the streams and tables of an application, as Kafka
// Streams' StreamsBuilder. It is not safe for concurrent use. Mistakes made
// while building (a missing serde, a duplicate name) are recorded and
// returned, all together, by Build. A Builder builds through the public
// API of package topology only, so anything it builds can be built with
// that API too.
type Builder struct {
	topo *topology.Topology
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{topo: topology.New()}
}

// AddStateStore adds a store that Process and ProcessValues nodes can be
// connected to with WithStores.
func (b *Builder) AddStateStore(sb state.StoreBuilder) *Builder {
	b.topo.AddStateStore(sb)
	return b
}

// Build checks what was built and returns the topology. The Builder must not
// be used afterwards.
func (b *Builder) Build() (*topology.Topology, error) {
	if err := b.topo.Build(); err != nil {
		return nil, err
	}
	return b.topo, nil
}

// name returns the explicit name or generates one as Kafka Streams does.
// Like Kafka Streams, it uses up an index even for an explicit name, so
// that naming one operation does not renumber the generated names after it.
func (b *Builder) name(explicit, prefix string) string {
	generated := b.generate(prefix)
	if explicit != "" {
		return explicit
	}
	return generated
}

// named returns the name of the node of an operation op that takes only
// Named.
func (b *Builder) named(opts []Option, prefix, op string) string {
	c := merge(opts)
	name := b.name(c.name, prefix)
	b.only(name, op, c, setName)
	return name
}

func (b *Builder) generate(prefix string) string { return b.topo.NewName(prefix) }

// fail records a mistake for Build to return, as package dsl's.
func (b *Builder) fail(format string, args ...any) {
	b.topo.AddError(fmt.Errorf("dsl: "+format, args...))
}
