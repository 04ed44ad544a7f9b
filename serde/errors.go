package serde

import "errors"

var (
	// ErrDeserialize matches every error a Deserialize of this package
	// returns, alongside the more precise ErrSize or ErrInvalid. The runtime
	// and the test driver wrap a failure of any serde reading a source
	// record so that it matches ErrDeserialize too, whatever the serde
	// returned.
	ErrDeserialize = errors.New("serde: cannot deserialize")

	// ErrSerialize matches every error a Serialize of this package returns;
	// the runtime and the test driver wrap a failure of any serde writing a
	// sink record so that it matches ErrSerialize too.
	ErrSerialize = errors.New("serde: cannot serialize")

	// ErrSize reports data whose length does not fit the format, such as an
	// Int32 that is not 4 bytes long.
	ErrSize = errors.New("serde: wrong size")

	// ErrInvalid reports data of an acceptable length that is still not a
	// valid encoding: a Bool byte other than 0 or 1, or malformed JSON.
	ErrInvalid = errors.New("serde: invalid encoding")
)

// serdeError lets a message say exactly what went wrong (which serde, which
// topic) while errors.Is still finds the sentinels and errors.As the cause;
// fmt.Errorf would put the sentinels' own text into the message.
type serdeError struct {
	msg string
	// op is ErrDeserialize or ErrSerialize; kind is ErrSize or ErrInvalid,
	// or nil.
	op, kind error
	cause    error
}

func (e *serdeError) Error() string { return e.msg }

func (e *serdeError) Unwrap() []error {
	errs := []error{e.op}
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}
