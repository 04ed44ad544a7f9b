package engine

import (
	"errors"
	"fmt"
)

// Sentinels for topology errors; package topology re-exports them.
var (
	ErrEmpty            = errors.New("no nodes")
	ErrDuplicateName    = errors.New("duplicate name")
	ErrUnknownNode      = errors.New("unknown node")
	ErrUnknownStore     = errors.New("unknown store")
	ErrMissingSerde     = errors.New("missing serde")
	ErrNotCopartitioned = errors.New("topics not co-partitioned")
	ErrCycle            = errors.New("topic read and written in one sub-topology")
	ErrTypeMismatch     = errors.New("type mismatch")
	ErrGlobalStore      = errors.New("misused global store")
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
