package engine

import "strings"

// internalPrefixes are the message prefixes of the module's internal
// packages, which a user cannot import or look up.
var internalPrefixes = []string{"engine: ", "topics: ", "statedir: ", "assign: "}

// relabeled is an error of an internal package as a public package reports
// it: errors.Is and As see it unchanged.
type relabeled struct {
	msg string
	err error
}

func (e *relabeled) Error() string { return e.msg }
func (e *relabeled) Unwrap() error { return e.err }

// Relabel gives err the prefix of pkg, the public package returning it, in
// place of an internal package's: "engine: task 0_1: ..." and
// "runtime: engine: task 0_1: ..." both read "runtime: task 0_1: ..." once
// relabeled for "runtime". Other errors are returned as they are. It is for
// the error paths of the packages users call, never for the hot path.
func Relabel(pkg string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	rest, _ := strings.CutPrefix(msg, pkg+": ")
	for _, p := range internalPrefixes {
		if r, ok := strings.CutPrefix(rest, p); ok {
			return &relabeled{msg: pkg + ": " + r, err: err}
		}
	}
	return err
}
