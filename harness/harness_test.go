package harness_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-go/samsa/harness"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
)

// The harness tests run the application as real processes against one
// kfake broker that listens on a TCP port of this test process.
//
//	go test ./harness/                                   # short form: ~1 minute of chaos under exactly-once, ~20s under at-least-once
//	SAMSA_SOAK=10m go test ./harness/ -run ExactlyOnce -timeout 30m -v   # long form
//
// SAMSA_HARNESS_RACE=1 builds the application with the race detector,
// SAMSA_HARNESS_SEED=<n> replays the seed a failed run logged, and
// SAMSA_HARNESS_KEEP=1 keeps the state directories and process logs of a
// run that passed (a failed run always keeps them), and
// SAMSA_HARNESS_BROKER_FAULTS=0 turns the broker faults off, leaving the
// process chaos alone.

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// appBinary builds harness/app once per test binary.
func appBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		if binDir, err = os.MkdirTemp("", "samsa-harness-bin-"); err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(binDir, "app")
		args := []string{"build", "-o", binPath}
		if os.Getenv("SAMSA_HARNESS_RACE") != "" {
			args = append(args, "-race")
		}
		args = append(args, "./harness/app")
		cmd := exec.Command(testfix.GoCommand(), args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func moduleRoot() (string, error) {
	out, err := exec.Command(testfix.GoCommand(), "env", "GOMOD").Output()
	if err == nil {
		if mod := strings.TrimSpace(string(out)); mod != "" && mod != os.DevNull {
			return filepath.Dir(mod), nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// newBroker starts a restartable broker on a TCP port with the harness's
// topics, allowing the short session timeouts the chaos needs, and keeping
// its state under dir.
func newBroker(t *testing.T, dir string) *harness.Broker {
	t.Helper()
	b, err := harness.StartBroker(dir, 4, kafkatest.GroupMinSessionTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// faultsOn returns the broker for the chaos to inject faults through, or
// nil when SAMSA_HARNESS_BROKER_FAULTS=0 asks for process chaos only.
func faultsOn(b *harness.Broker) *harness.Broker {
	if os.Getenv("SAMSA_HARNESS_BROKER_FAULTS") == "0" {
		return nil
	}
	return b
}

// runDir is where the processes keep state and logs: removed if the test
// passes, kept for diagnosis if it fails.
func runDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "samsa-harness-"+t.Name()+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("SAMSA_HARNESS_KEEP") != "" {
			t.Logf("state directories and process logs kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

func runCtx(t *testing.T, need time.Duration) context.Context {
	t.Helper()
	ctx := t.Context()
	if dl, ok := t.Deadline(); ok {
		if time.Until(dl) < need {
			t.Fatalf("this run needs about %v but the test deadline is in %v: raise -timeout", need, time.Until(dl).Round(time.Second))
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-30*time.Second))
		t.Cleanup(cancel)
	}
	return ctx
}

// seed is SAMSA_HARNESS_SEED, or a new one.
func seed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("SAMSA_HARNESS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SAMSA_HARNESS_SEED=%q: %v", s, err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

func TestExactlyOnceUnderChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the application under chaos for a minute")
	}
	chaos := harness.ChaosConfig{Duration: 40 * time.Second, MinKills: 10, Seed: seed(t)}
	minKills := 10
	soak := os.Getenv("SAMSA_SOAK")
	if soak != "" {
		d, err := time.ParseDuration(soak)
		if err != nil {
			t.Fatalf("SAMSA_SOAK=%q: %v", soak, err)
		}
		chaos.Duration = d
		minKills = int(d / (6 * time.Second))
		chaos.MinKills = minKills
	}
	bin := appBinary(t)
	dir := runDir(t)
	c := newBroker(t, filepath.Join(dir, "broker"))
	chaos.Broker = faultsOn(c)
	ctx := runCtx(t, chaos.Duration+2*time.Minute)
	t.Logf("seed %d", chaos.Seed)
	r, err := harness.Run(ctx, harness.Config{
		Binary:             bin,
		Brokers:            c.Addrs(),
		Dir:                dir,
		Guarantee:          harness.ExactlyOnce,
		Instances:          3,
		CommitInterval:     100 * time.Millisecond,
		SessionTimeout:     3 * time.Second,
		TransactionTimeout: 5 * time.Second,
		RebalanceTimeout:   10 * time.Second,
		Standbys:           1,
		Chaos:              chaos,
		Generator:          harness.Generator{Keys: 20, Batch: 10, Interval: 50 * time.Millisecond, Seed: chaos.Seed},
		DrainTimeout:       90 * time.Second,
		Logf:               t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", r)
	if soak != "" {
		fmt.Printf("SAMSA_SOAK=%s seed %d report:\n%s", soak, chaos.Seed, r)
	}
	if r.Kills < minKills {
		t.Errorf("%d kills, want at least %d", r.Kills, minKills)
	}
	if r.Records == 0 {
		t.Errorf("the generator wrote nothing")
	}
	if len(r.Violations) > 0 {
		t.Errorf("%d exactly-once violations (seed %d); process logs: %s", len(r.Violations), chaos.Seed, strings.Join(r.Logs, " "))
	}
}

func TestAtLeastOnceNothingLost(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the application under chaos for 20 seconds")
	}
	seed := seed(t)
	bin := appBinary(t)
	dir := runDir(t)
	c := newBroker(t, filepath.Join(dir, "broker"))
	ctx := runCtx(t, 3*time.Minute)
	t.Logf("seed %d", seed)
	r, err := harness.Run(ctx, harness.Config{
		Binary:           bin,
		Brokers:          c.Addrs(),
		Dir:              dir,
		Guarantee:        harness.AtLeastOnce,
		Instances:        3,
		CommitInterval:   time.Second,
		SessionTimeout:   3 * time.Second,
		RebalanceTimeout: 10 * time.Second,
		// Pauses stay shorter than the session timeout: a member paused
		// past it inside its commit sends its changelog writes, stale by
		// then, over those of the task's new owner before its offset
		// commit is refused. At-least-once does not fence such a zombie
		// (in Kafka Streams neither); exactly-once does, and its run
		// pauses past the timeout.
		Chaos:        harness.ChaosConfig{Duration: 20 * time.Second, MinKills: 3, Seed: seed, Broker: faultsOn(c), PauseFor: 2 * time.Second},
		Generator:    harness.Generator{Keys: 20, Batch: 10, Interval: 50 * time.Millisecond, Seed: seed},
		DrainTimeout: 90 * time.Second,
		Logf:         t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", r)
	if r.Kills < 3 {
		t.Errorf("%d kills, want at least 3", r.Kills)
	}
	if len(r.Violations) > 0 {
		t.Errorf("%d at-least-once violations (seed %d); process logs: %s", len(r.Violations), seed, strings.Join(r.Logs, " "))
	}
}
