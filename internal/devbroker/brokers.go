package devbroker

import (
	"errors"
	"os"
	"strings"
)

// EnvBrokers names the environment variable Brokers reads: a
// comma-separated list of host:port seed brokers.
const EnvBrokers = "SAMSA_BROKERS"

// Brokers returns the seed brokers an example should connect to, and a stop
// function to call when done.
//
// When SAMSA_BROKERS is set and not empty, it returns the brokers listed
// there and a stop that does nothing. Otherwise it starts an in-process
// broker on a free port, with the defaults of Options, and stop closes it.
func Brokers() (addrs []string, stop func(), err error) {
	if env := os.Getenv(EnvBrokers); strings.TrimSpace(env) != "" {
		for a := range strings.SplitSeq(env, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 {
			return nil, nil, errors.New("devbroker: " + EnvBrokers + " is set but lists no brokers")
		}
		return addrs, func() {}, nil
	}
	b, err := Start(Options{})
	if err != nil {
		return nil, nil, err
	}
	return b.Addrs(), b.Close, nil
}
