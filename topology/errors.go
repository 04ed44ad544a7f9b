package topology

import "github.com/samsa-go/samsa/internal/engine"

// Errors Build wraps; test them with errors.Is.
var (
	ErrEmpty            = engine.ErrEmpty
	ErrDuplicateName    = engine.ErrDuplicateName
	ErrUnknownNode      = engine.ErrUnknownNode
	ErrUnknownStore     = engine.ErrUnknownStore
	ErrMissingSerde     = engine.ErrMissingSerde
	ErrNotCopartitioned = engine.ErrNotCopartitioned
	ErrCycle            = engine.ErrCycle
	ErrTypeMismatch     = engine.ErrTypeMismatch
)
