package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/redpanda"
)

// EnvTestBrokers names an existing cluster to run the suite against.
const EnvTestBrokers = "SAMSA_TEST_BROKERS"

// redpandaImage is the broker started when Docker answers: Redpanda speaks
// the Kafka protocol, transactions included, and starts in seconds.
const redpandaImage = "docker.redpanda.com/redpandadata/redpanda:v25.2.4"

var (
	// brokers is the cluster of this run; empty when the suite skips.
	brokers []string
	// skipReason is the one line every test skips with.
	skipReason string
	// runID prefixes every topic and group this run makes.
	runID string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var id [4]byte
	rand.Read(id[:])
	runID = "e2e-" + hex.EncodeToString(id[:])

	if v := os.Getenv(EnvTestBrokers); v != "" {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				brokers = append(brokers, a)
			}
		}
		if len(brokers) == 0 {
			fmt.Fprintf(os.Stderr, "e2e: %s=%q lists no brokers\n", EnvTestBrokers, v)
			return 2
		}
		return m.Run()
	}
	stop, err := startRedpanda()
	if err != nil {
		skipReason = fmt.Sprintf("e2e: skipped: no Docker engine answers (%v); set %s=host:port to run against a cluster", oneLine(err), EnvTestBrokers)
		return m.Run()
	}
	defer stop()
	return m.Run()
}

// startRedpanda starts the container if a Docker engine answers, and
// returns the function that removes it.
func startRedpanda() (stop func(), err error) {
	// testcontainers panics rather than erring on some machines without
	// Docker; either way there is no engine to use.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	provider, err := testcontainers.ProviderDocker.GetProvider()
	if err != nil {
		return nil, err
	}
	defer provider.Close()
	if err := provider.Health(ctx); err != nil {
		return nil, err
	}
	startCtx, cancelStart := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancelStart()
	c, err := redpanda.Run(startCtx, redpandaImage)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", redpandaImage, err)
	}
	addr, err := c.KafkaSeedBroker(startCtx)
	if err != nil {
		testcontainers.TerminateContainer(c)
		return nil, fmt.Errorf("seed broker of %s: %w", redpandaImage, err)
	}
	brokers = []string{addr}
	return func() { testcontainers.TerminateContainer(c) }, nil
}

func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// cluster returns the brokers of the run, or skips t with the one line
// that says why there are none.
func cluster(t *testing.T) []string {
	t.Helper()
	if len(brokers) == 0 {
		t.Skip(skipReason)
	}
	return brokers
}
