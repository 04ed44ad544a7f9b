package serde

import "errors"

var (
	// ErrSize reports data whose length does not fit the format, such as an
	// Int32 that is not 4 bytes long.
	ErrSize = errors.New("serde: wrong size")

	// ErrInvalid reports data of an acceptable length that is still not a
	// valid encoding: a Bool byte other than 0 or 1, or malformed JSON.
	ErrInvalid = errors.New("serde: invalid encoding")
)

// serdeError lets a message say exactly what went wrong (which serde, which
// topic) while errors.Is still finds the sentinel and errors.As the cause;
// fmt.Errorf would put the sentinel's own text into the message.
type serdeError struct {
	msg      string
	sentinel error
	cause    error
}

func (e *serdeError) Error() string { return e.msg }

func (e *serdeError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.sentinel}
	}
	return []error{e.sentinel, e.cause}
}
