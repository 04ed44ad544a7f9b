//go:build !unix

package state

// mapBytes maps nothing: only on unix systems do clean entries live outside
// Go's heap (see offheap_unix.go).
func mapBytes(int) []byte { return nil }

func unmapBytes([]byte) {}
