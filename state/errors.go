package state

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrClosed is returned by every operation on a store, an iterator or a
	// DB after it (or the DB beneath it) was closed.
	ErrClosed = errors.New("state: store is closed")
	// ErrUnknownStore means no store of that name is reachable from here.
	ErrUnknownStore = errors.New("state: unknown store")
	// ErrWrongStoreType means a store exists under the name but is of another
	// kind or has other key or value types than asked for.
	ErrWrongStoreType = errors.New("state: wrong store type")
	// ErrStorage marks a failure of a database's storage that no retry of
	// the operation repairs: Pebble found data on disk that fails its
	// checksum, or cannot go on after a write failed (a full disk under its
	// WAL). Pebble's fatal conditions panic with an error matching it on
	// the goroutine that hit them; the task recovers that. The runtime
	// wipes the task's state and restores it from its changelogs, once.
	// Corruption Pebble reports as an error matches pebble.ErrCorruption
	// instead.
	ErrStorage = errors.New("state: storage failed")
	// ErrLocked is returned by OpenDB for a directory whose lock another
	// open DB holds, in this process or another: the database is in use,
	// not damaged, and must not be wiped.
	ErrLocked = errors.New("state: database directory is locked")
)

// StoreError is the error a store returns, naming the store and the
// operation that failed. Use errors.Is to test Err against the sentinels and
// errors.As to reach the underlying (serde, Pebble, changelog) error.
type StoreError struct {
	Store string
	// Op is the operation that failed ("get", "put", "range", "flush", ...);
	// it may be empty.
	Op  string
	Err error
}

func (e *StoreError) Error() string {
	switch e.Err {
	case ErrClosed:
		return fmt.Sprintf("state: store %q is closed", e.Store)
	case ErrUnknownStore:
		return fmt.Sprintf("state: unknown store %q", e.Store)
	}
	// The wrapped error usually comes from this package too; dropping its
	// prefix keeps the message from stuttering "state: ... state: ...".
	msg := "<nil>"
	if e.Err != nil {
		msg = strings.TrimPrefix(e.Err.Error(), "state: ")
	}
	if e.Op == "" {
		return fmt.Sprintf("state: store %q: %s", e.Store, msg)
	}
	return fmt.Sprintf("state: store %q: %s: %s", e.Store, e.Op, msg)
}

func (e *StoreError) Unwrap() error { return e.Err }

func storeErr(store, op string, err error) error {
	if err == nil {
		return nil
	}
	// Lower layers already name the store; wrapping them again would only
	// repeat it.
	var se *StoreError
	if errors.As(err, &se) && se.Store == store {
		return err
	}
	return &StoreError{Store: store, Op: op, Err: err}
}

func closedErr(store, op string) error {
	return &StoreError{Store: store, Op: op, Err: ErrClosed}
}
