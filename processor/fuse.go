package processor

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
// A processor that is a Stepper or a Fuser must do in Step or Fuse exactly
// what Process does: the task decides which one runs.
type Stepper[K, V any] interface {
	Step() (step func(rec *Record[K, V]) bool, ok bool)
}

// Fuser is implemented by processors that cannot run as steps (they change
// types, or pass on several records) but raise no errors of their own. A
// node that is one, with at most one child, runs as the function Fuse
// returns, which must do what Process does with next in place of Forward.
// next runs the rest of the fused chain; it does nothing when the node has
// no child. Fuse is called once, before Init, like Step.
type Fuser[KIn, VIn, KOut, VOut any] interface {
	Fuse(next func(Record[KOut, VOut]) error) func(Record[KIn, VIn]) error
}
