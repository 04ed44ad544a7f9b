package runtime

import (
	"errors"
	"net"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// transient reports whether err, from a request to the brokers, may pass by
// itself and is worth retrying: a retriable Kafka error, or a connection
// that failed or was closed before its first answer, as to a broker
// restarting.
func transient(err error) bool {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Retriable
	}
	var ne net.Error
	var eof *kgo.ErrFirstReadEOF
	return errors.As(err, &ne) || errors.As(err, &eof)
}
