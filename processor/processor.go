package processor

// Processor is one node of a topology. It receives records with keys KIn and
// values VIn and forwards records with keys KOut and values VOut through the
// Context it was given in Init.
//
// Init is called once before any record, with a Context that stays valid
// until Close. Process may forward any number of records, including none.
// Close releases what Init acquired; stores are closed by the task, not by
// the processor.
type Processor[KIn, VIn, KOut, VOut any] interface {
	Init(ctx Context[KOut, VOut]) error
	Process(rec Record[KIn, VIn]) error
	Close() error
}

// Supplier makes a new Processor for each task. It must return a distinct
// instance on every call: tasks run concurrently.
type Supplier[KIn, VIn, KOut, VOut any] interface {
	New() Processor[KIn, VIn, KOut, VOut]
}

// SupplierFunc adapts a constructor function to Supplier.
type SupplierFunc[KIn, VIn, KOut, VOut any] func() Processor[KIn, VIn, KOut, VOut]

// New calls f.
func (f SupplierFunc[KIn, VIn, KOut, VOut]) New() Processor[KIn, VIn, KOut, VOut] { return f() }

// Func adapts a stateless function to a Processor (and a Supplier of it):
// the function is called for every record with the node's Context.
type Func[KIn, VIn, KOut, VOut any] func(ctx Context[KOut, VOut], rec Record[KIn, VIn]) error

// New returns a Processor that calls f.
func (f Func[KIn, VIn, KOut, VOut]) New() Processor[KIn, VIn, KOut, VOut] {
	return &funcProcessor[KIn, VIn, KOut, VOut]{f: f}
}

type funcProcessor[KIn, VIn, KOut, VOut any] struct {
	f   Func[KIn, VIn, KOut, VOut]
	ctx Context[KOut, VOut]
}

func (p *funcProcessor[KIn, VIn, KOut, VOut]) Init(ctx Context[KOut, VOut]) error {
	p.ctx = ctx
	return nil
}

func (p *funcProcessor[KIn, VIn, KOut, VOut]) Process(rec Record[KIn, VIn]) error {
	return p.f(p.ctx, rec)
}

func (p *funcProcessor[KIn, VIn, KOut, VOut]) Close() error { return nil }
