package dsl

import "time"

// Suppressed holds back a table's updates and emits them later, as Kafka
// Streams' Suppressed: the final result of each window once it closes, or
// the latest update of each key once a time limit passes. K is the key type
// of the table it applies to; KTable.Suppress takes it.
type Suppressed[K any] struct{ o options }

type suppressKind uint8

const (
	suppressUntilWindowCloses suppressKind = iota + 1
	suppressUntilTimeLimit
)

// UntilWindowCloses emits a window's result once, when stream time passes
// the window's end plus its grace period. The buffer must not emit early
// (Unbounded, or one that shuts down when full): an early emit would break
// the promise of one final result per window.
func UntilWindowCloses[K any](buffer BufferConfig) Suppressed[K] {
	s := Suppressed[K]{}
	s.o.suppress, s.o.buffer = suppressUntilWindowCloses, buffer
	s.o = s.o.with(setSuppress)
	return s
}

// UntilTimeLimit emits the latest update of a key once limit has passed, in
// stream time, since its first update was held back.
func UntilTimeLimit[K any](limit time.Duration, buffer BufferConfig) Suppressed[K] {
	s := Suppressed[K]{}
	s.o.suppress, s.o.timeLimit, s.o.buffer = suppressUntilTimeLimit, limit, buffer
	s.o = s.o.with(setSuppress)
	return s
}

// WithName names the suppression's processor, as Named does.
func (s Suppressed[K]) WithName(name string) Suppressed[K] {
	s.o.name = name
	s.o = s.o.with(setName)
	return s
}

// BufferConfig bounds the buffer of a suppression, as Kafka Streams'
// BufferConfig, and says what happens when it is full. Its methods return
// modified copies.
type BufferConfig struct {
	maxRecords int64
	maxBytes   int64
	// shutDown is set when a full buffer stops the application instead of
	// emitting its oldest records early.
	shutDown bool
}

// Unbounded is a buffer without limits; it never emits early.
func Unbounded() BufferConfig { return BufferConfig{shutDown: true} }

// MaxRecords is a buffer of at most n records that emits its oldest records
// early when full.
func MaxRecords(n int64) BufferConfig { return BufferConfig{maxRecords: n} }

// MaxBytes is a buffer of at most n bytes of keys and values that emits its
// oldest records early when full.
func MaxBytes(n int64) BufferConfig { return BufferConfig{maxBytes: n} }

// WithMaxRecords bounds the buffer to n records as well.
func (c BufferConfig) WithMaxRecords(n int64) BufferConfig {
	c.maxRecords = n
	return c
}

// WithMaxBytes bounds the buffer to n bytes as well.
func (c BufferConfig) WithMaxBytes(n int64) BufferConfig {
	c.maxBytes = n
	return c
}

// ShutDownWhenFull makes a full buffer stop the application with an error
// instead of emitting early.
func (c BufferConfig) ShutDownWhenFull() BufferConfig {
	c.shutDown = true
	return c
}

// EmitEarlyWhenFull makes a full buffer emit its oldest records before their
// time, which breaks the promise of UntilWindowCloses.
func (c BufferConfig) EmitEarlyWhenFull() BufferConfig {
	c.shutDown = false
	return c
}
