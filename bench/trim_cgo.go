//go:build cgo && linux

package main

// #include <malloc.h>
import "C"

// trimC returns the C heap's free memory to the operating system. Pebble
// allocates its memtables and block cache with C's allocator when built
// with cgo; glibc keeps what a closed database freed, so without this the
// RSS at the start of each side would grow by what the sides before it
// left behind, though none of it is in use.
func trimC() { C.malloc_trim(0) }
