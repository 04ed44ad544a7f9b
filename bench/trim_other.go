//go:build !cgo || !linux

package main

// trimC does nothing: without cgo Pebble allocates in Go's heap, which
// debug.FreeOSMemory returns.
func trimC() {}
