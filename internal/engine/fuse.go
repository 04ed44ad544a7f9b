package engine

import "github.com/samsa-go/samsa/processor"

// Fusion: processors that are processor.Stepper or processor.Fuser, and
// whose node has at most one child, run fused with the nodes after them (see
// those interfaces for the contract and for why).
//
// A fused run tells the task which node each step belongs to as it runs
// it, as Forward does between nodes, so that a panic in a step is blamed on
// its own node: one store per step.

// step is one fused Stepper: its function and its node.
type step[K, V any] struct {
	fn   func(*processor.Record[K, V]) bool
	node *Node
}

// run is the Receiver of a fused node: the steps of it and the nodes fused
// after it, then what the record goes to.
type run[K, V any] struct {
	t     *Task
	steps []step[K, V]
	// then is the function of a fused Fuser that follows the steps, of
	// node thenNode. When it is nil, tail follows: the first node not
	// fused, tailNode, or nil when the last fused node has no child.
	then     func(processor.Record[K, V]) error
	thenNode *Node
	tail     Receiver[K, V]
	tailNode *Node
	// rec is the record the steps work on. It lives here because a pointer
	// to a local would move the local to the heap, and because a record
	// returned from each step would be copied through memory in a way that
	// stalls the CPU (small stores read back by wide loads). A run is
	// entered again only after it has passed its record on: the steps call
	// no node. A panic leaves a record half stepped here; the next Process
	// overwrites every field.
	rec processor.Record[K, V]
}

func (r *run[K, V]) Process(rec processor.Record[K, V]) error {
	// Field by field: rec = r.rec would copy rec through memory, the
	// stall the field exists to avoid. TestRunCopiesEveryField keeps the
	// list whole.
	r.rec.Key, r.rec.Value, r.rec.Timestamp, r.rec.Headers = rec.Key, rec.Value, rec.Timestamp, rec.Headers
	r.rec.NullKey, r.rec.NullValue = rec.NullKey, rec.NullValue
	t := r.t
	for _, s := range r.steps {
		t.at = s.node.id
		if !s.fn(&r.rec) {
			return nil
		}
	}
	if r.then != nil {
		t.at = r.thenNode.id
		return r.then(r.rec)
	}
	if r.tail == nil {
		return nil
	}
	t.at = r.tailNode.id
	if err := r.tail.Process(r.rec); err != nil {
		return attribute(err, r.tailNode.Name)
	}
	return nil
}

// next is what the Fuser of node from, fused before r, calls: r's then
// itself when r has no steps, so that a chain of Fusers costs a frame per
// node and the store that tells the task which node runs; afterwards the
// task is told the record is back in from.
func (r *run[K, V]) next(from *Node) func(processor.Record[K, V]) error {
	t := r.t
	if len(r.steps) == 0 && r.then != nil {
		then, node := r.then, r.thenNode
		return func(rec processor.Record[K, V]) error {
			t.at = node.id
			err := then(rec)
			t.at = from.id
			return err
		}
	}
	return func(rec processor.Record[K, V]) error {
		err := r.Process(rec)
		t.at = from.id
		return err
	}
}

// fuse returns the Receiver of node n of task t running p with children
// kids, fused with the children when p and the node allow it, or nil.
func fuse[KIn, VIn, KOut, VOut any](t *Task, p any, n *Node, kids []Receiver[KOut, VOut]) Receiver[KIn, VIn] {
	var down *run[KOut, VOut]
	switch len(kids) {
	case 0:
		down = &run[KOut, VOut]{t: t}
	case 1:
		var ok bool
		if down, ok = kids[0].(*run[KOut, VOut]); !ok {
			down = &run[KOut, VOut]{t: t, tail: kids[0], tailNode: n.Children[0]}
		}
	default:
		return nil
	}
	if s, ok := p.(processor.Stepper[KIn, VIn]); ok {
		// The assertion holds when p's types in and out are the same.
		if same, ok := any(down).(*run[KIn, VIn]); ok {
			if fn, ok := s.Step(); ok {
				r := *same
				if fn != nil {
					r.steps = append([]step[KIn, VIn]{{fn: fn, node: n}}, same.steps...)
				}
				return &r
			}
		}
	}
	if f, ok := p.(processor.Fuser[KIn, VIn, KOut, VOut]); ok {
		return &run[KIn, VIn]{t: t, then: f.Fuse(down.next(n)), thenNode: n}
	}
	return nil
}
