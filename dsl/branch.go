package dsl

import "github.com/samsa-go/samsa/processor"

// BranchedKStream routes each record of a stream to the first branch whose
// predicate accepts it, as Kafka Streams' BranchedKStream. Get one from
// KStream.Split, add branches in order, and finish with DefaultBranch or
// NoDefaultBranch, which return the branches by name.
type BranchedKStream[K, V any] struct {
	s        KStream[K, V]
	splitter string
	prefix   string
	routes   *routes[K, V]
	out      map[string]KStream[K, V]
}

type routes[K, V any] struct {
	preds    []func(K, V) bool
	names    []string
	fallback string
}

// Split starts routing s to branches. Named sets the prefix of the branch
// names; by default it is the splitter's generated name followed by "-".
func (s KStream[K, V]) Split(opts ...Option) *BranchedKStream[K, V] {
	c := merge(opts)
	splitter := s.b.name(c.name, "KSTREAM-BRANCH")
	s.b.only(splitter, "Split", c, setName)
	prefix := c.name
	if prefix == "" {
		prefix = splitter + "-"
	}
	r := &routes[K, V]{}
	s.b.topo.AddProcessor(splitter, supply(func() processor.Processor[K, V, K, V] {
		return &splitProc[K, V]{r: r}
	}), s.node)
	return &BranchedKStream[K, V]{s: s, splitter: splitter, prefix: prefix, routes: r, out: map[string]KStream[K, V]{}}
}

// Branch adds a branch taking the records pred accepts that no earlier branch
// took. Named names it (after the split's prefix); by default branches are
// numbered from 1. Records with a null value go to the default branch.
func (bs *BranchedKStream[K, V]) Branch(pred func(key K, value V) bool, opts ...Option) *BranchedKStream[K, V] {
	name := bs.branch(len(bs.routes.preds)+1, opts)
	bs.routes.preds = append(bs.routes.preds, pred)
	bs.routes.names = append(bs.routes.names, name)
	return bs
}

// DefaultBranch adds a branch for the records no other branch took (named
// "0" after the prefix unless Named) and returns all branches by name.
func (bs *BranchedKStream[K, V]) DefaultBranch(opts ...Option) map[string]KStream[K, V] {
	bs.routes.fallback = bs.branch(0, opts)
	return bs.out
}

// NoDefaultBranch returns the branches by name; records no branch takes are
// dropped.
func (bs *BranchedKStream[K, V]) NoDefaultBranch() map[string]KStream[K, V] { return bs.out }

func (bs *BranchedKStream[K, V]) branch(index int, opts []Option) string {
	c := merge(opts)
	name := bs.prefix + itoa(index)
	if c.name != "" {
		name = bs.prefix + c.name
	}
	bs.s.b.only(name, "Branch", c, setName)
	bs.s.b.topo.AddProcessor(name, supply(func() processor.Processor[K, V, K, V] {
		return &passThrough[K, V]{}
	}), bs.splitter)
	bs.out[name] = bs.s.with(name)
	return name
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for ; i > 0; i /= 10 {
		n--
		b[n] = byte('0' + i%10)
	}
	return string(b[n:])
}

type splitProc[K, V any] struct {
	base[K, V]
	r *routes[K, V]
}

func (p *splitProc[K, V]) Process(rec processor.Record[K, V]) error {
	if !rec.NullValue {
		for i, pred := range p.r.preds {
			if pred(rec.Key, rec.Value) {
				return p.ctx.ForwardTo(p.r.names[i], rec)
			}
		}
	}
	if p.r.fallback != "" {
		return p.ctx.ForwardTo(p.r.fallback, rec)
	}
	return nil
}
