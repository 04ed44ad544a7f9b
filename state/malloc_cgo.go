//go:build cgo && linux

package state

// #include <stdlib.h>
// #include <string.h>
// #ifdef __GLIBC__
// #include <malloc.h>
// #endif
//
// static void samsa_fix_mmap_threshold(int bytes) {
// #ifdef __GLIBC__
// 	const char *tunables = getenv("GLIBC_TUNABLES");
// 	if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL &&
// 	    (tunables == NULL || strstr(tunables, "malloc.mmap_threshold") == NULL)) {
// 		mallopt(M_MMAP_THRESHOLD, bytes);
// 	}
// #endif
// }
import "C"

import "sync"

// mmapThreshold is the size from which glibc's malloc maps each allocation
// on its own: memtables, at memTableSize, are well above it.
const mmapThreshold = 1 << 20

var fixThresholdOnce sync.Once

// fixMmapThreshold keeps memtables out of glibc's heap. Built with cgo,
// Pebble allocates its memtables and block cache with C's malloc. glibc
// maps a large allocation on its own and unmaps it when freed, but it
// raises its threshold for that to the size of each such block freed, so
// that from the first memtable flushed on, memtables came from its heap,
// and the memory of those freed stayed in the process: word count over a
// million keys started each run 10 to 50 MB higher than the last, and
// peaked 20 to 60 MB higher than with the threshold fixed. Setting the
// threshold fixes it; a threshold set in the environment
// (MALLOC_MMAP_THRESHOLD_, or glibc.malloc.mmap_threshold in
// GLIBC_TUNABLES) is left alone.
func fixMmapThreshold() {
	fixThresholdOnce.Do(func() { C.samsa_fix_mmap_threshold(mmapThreshold) })
}
