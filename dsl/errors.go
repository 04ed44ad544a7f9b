package dsl

import "github.com/samsa-go/samsa/topology"

var (
	errMissingSerde = topology.ErrMissingSerde
	errTypeMismatch = topology.ErrTypeMismatch
)
