//go:build unix

package state

import (
	"fmt"
	"syscall"
)

// offHeapMin is the smallest allocation mapBytes maps.
const offHeapMin = 256 << 10

// mapBytes returns n zeroed bytes outside Go's heap, an anonymous private
// mapping of their own, or nil for fewer than offHeapMin bytes or when the
// system refuses (the caller then takes them from the heap). The collector
// neither counts mapped bytes towards its next target nor scans them, and
// unmapBytes returns them to the system at once. They must not hold Go
// pointers, and nothing may use them after unmapBytes.
func mapBytes(n int) []byte {
	if n < offHeapMin {
		return nil
	}
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return b
}

// unmapBytes releases b, all of what mapBytes returned.
func unmapBytes(b []byte) {
	if err := syscall.Munmap(b[:cap(b)]); err != nil {
		panic(fmt.Sprintf("state: unmap %d bytes of clean entries: %v", cap(b), err))
	}
}
