//go:build !cgo || !linux

package state

// fixMmapThreshold does nothing: without cgo Pebble allocates in Go's
// heap, and elsewhere the C allocator is not glibc's.
func fixMmapThreshold() {}
