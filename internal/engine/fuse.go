package engine

import "github.com/samsa-go/samsa/processor"

// Fusion: processors that are processor.Stepper or processor.Fuser, and
// whose node has at most one child, run fused with the nodes after them (see
// those interfaces for the contract and for why).

// run is the Receiver of a fused node: the steps of it and the nodes fused
// after it, then what the record goes to.
type run[K, V any] struct {
	steps []func(*processor.Record[K, V]) bool
	// then is the function of a fused Fuser that follows the steps. When
	// it is nil, tail follows: the first node not fused, named tailName,
	// or nil when the last fused node has no child.
	then     func(processor.Record[K, V]) error
	tail     Receiver[K, V]
	tailName string
	// rec is the record the steps work on. It lives here because a pointer
	// to a local would move the local to the heap, and because a record
	// returned from each step would be copied through memory in a way that
	// stalls the CPU (small stores read back by wide loads). A run is
	// entered again only after it has passed its record on: the steps call
	// no node.
	rec processor.Record[K, V]
}

func (r *run[K, V]) Process(rec processor.Record[K, V]) error {
	// Field by field: rec = r.rec would copy rec through memory, the
	// stall the field exists to avoid. TestRunCopiesEveryField keeps the
	// list whole.
	r.rec.Key, r.rec.Value, r.rec.Timestamp, r.rec.Headers = rec.Key, rec.Value, rec.Timestamp, rec.Headers
	r.rec.NullKey, r.rec.NullValue = rec.NullKey, rec.NullValue
	for _, step := range r.steps {
		if !step(&r.rec) {
			return nil
		}
	}
	if r.then != nil {
		return r.then(r.rec)
	}
	if r.tail == nil {
		return nil
	}
	if err := r.tail.Process(r.rec); err != nil {
		return attribute(err, r.tailName)
	}
	return nil
}

// next is what a Fuser before r calls: r's then itself when r has no steps,
// so that a chain of Fusers costs one frame per node.
func (r *run[K, V]) next() func(processor.Record[K, V]) error {
	if len(r.steps) == 0 && r.then != nil {
		return r.then
	}
	return r.Process
}

// fuse returns the Receiver of a node running p with children kids, fused
// with the children when p and the node allow it, or nil.
func fuse[KIn, VIn, KOut, VOut any](p any, n *Node, kids []Receiver[KOut, VOut]) Receiver[KIn, VIn] {
	var down *run[KOut, VOut]
	switch len(kids) {
	case 0:
		down = &run[KOut, VOut]{}
	case 1:
		var ok bool
		if down, ok = kids[0].(*run[KOut, VOut]); !ok {
			down = &run[KOut, VOut]{tail: kids[0], tailName: n.Children[0].Name}
		}
	default:
		return nil
	}
	if s, ok := p.(processor.Stepper[KIn, VIn]); ok {
		// The assertion holds when p's types in and out are the same.
		if same, ok := any(down).(*run[KIn, VIn]); ok {
			if step, ok := s.Step(); ok {
				r := *same
				if step != nil {
					r.steps = append([]func(*processor.Record[KIn, VIn]) bool{step}, same.steps...)
				}
				return &r
			}
		}
	}
	if f, ok := p.(processor.Fuser[KIn, VIn, KOut, VOut]); ok {
		return &run[KIn, VIn]{then: f.Fuse(down.next())}
	}
	return nil
}
