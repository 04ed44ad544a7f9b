// Package testfix holds the fixtures the project's own tests share, so
// that each is written once: the word-count topology, a broker with its
// topics, and helpers that feed it lines and read its counts back.
//
// Only _test.go files import it. It must not import the runtime: the
// runtime's internal packages (topics, assign) use it in their own tests,
// and the runtime imports them.
package testfix
