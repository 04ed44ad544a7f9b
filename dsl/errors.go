package dsl

import "github.com/samsa-go/samsa/topology"

var (
	errUnknownStore = topology.ErrUnknownStore
	errMissingSerde = topology.ErrMissingSerde
	errTypeMismatch = topology.ErrTypeMismatch
)
