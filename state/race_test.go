//go:build race

package state

// The race detector makes sync.Pool drop items, so pools allocate.
const raceEnabled = true
