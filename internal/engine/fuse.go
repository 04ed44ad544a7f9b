package engine

import "github.com/samsa-go/samsa/processor"

// Stepper is implemented by processors that pass on at most one record per
// record they receive, of the same types, and raise no errors of their own:
// filters, peeks, mappers that keep the types. When a task is built, a run of
// such nodes, each with one child (or none, at the end), is fused into one
// loop over their steps that then hands the record to the first node that is
// not fused. Fusing saves what dominates a chain of cheap operations: per
// node an interface call into a generic method (through its dictionary
// wrapper), Forward, three stack frames (which in a long chain overflow the
// CPU's return-address predictor), and copies of the record through memory.
//
// Step returns the function that does the processor's work on a record in
// place, instead of Process: it returns false to pass nothing on. A nil step
// with ok true passes every record on unchanged. ok false means the
// processor cannot run as a step; it then runs as a Fuser, if it is one, or
// on its own. Step is called once, when the task is built and before Init:
// the step may read fields Init sets, but only when it runs. The record is
// valid only during the call.
//
// Fusing changes how a task calls its nodes, not what the topology is: every
// node keeps its name, its place in Describe(), its Init, Close and Context.
// Errors keep their node: steps raise none, and the call into the first node
// that is not fused attributes that node's errors to it, as Forward does.
type Stepper[K, V any] interface {
	Step() (step func(rec *processor.Record[K, V]) bool, ok bool)
}

// Fuser is implemented by processors that cannot run as steps (they change
// types, or pass on several records) but raise no errors of their own. A
// node that is one, with at most one child, runs as the function Fuse
// returns, which must do what Process does with next in place of Forward.
// next runs the rest of the fused chain; it does nothing when the node has
// no child. Fuse is called once, before Init, like Step.
type Fuser[KIn, VIn, KOut, VOut any] interface {
	Fuse(next func(processor.Record[KOut, VOut]) error) func(processor.Record[KIn, VIn]) error
}

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
	if s, ok := p.(Stepper[KIn, VIn]); ok {
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
	if f, ok := p.(Fuser[KIn, VIn, KOut, VOut]); ok {
		return &run[KIn, VIn]{then: f.Fuse(down.next())}
	}
	return nil
}
