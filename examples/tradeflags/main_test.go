package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
)

// program is the tradeflags binary, built once by TestMain: the tests run
// it as a user does.
var program string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "samsa-tradeflags-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	program = filepath.Join(dir, "tradeflags")
	if err := testfix.BuildBinary(".", program); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is written by a child process while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running tradeflags.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan error
}

// start runs the binary with args and the environment less SAMSA_
// variables plus env.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan error, 1)}
	p.cmd = exec.Command(program, append([]string{"-state-dir", t.TempDir()}, args...)...)
	p.cmd.Env = testfix.CleanEnv(env...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitFor waits until stream holds want.
func (p *proc) waitFor(t *testing.T, stream *syncBuffer, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(stream.String(), want) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("tradeflags exited (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", err, want, p.stdout.String(), p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, no %q\nstdout:\n%s\nstderr:\n%s", timeout, want, p.stdout.String(), p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exit waits for the process to end and returns its exit code.
func (p *proc) exit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("tradeflags still running after %v\nstdout:\n%s\nstderr:\n%s", timeout, p.stdout.String(), p.stderr.String())
		return -1
	}
}

var (
	cheatersLine = regexp.MustCompile(`(?m)^tradeflags: \d+ players, \d+ of them cheaters: (.*)$`)
	alertLine    = regexp.MustCompile(`(?m)^ALERT (\S+): `)
)

// alerted returns the seeded cheaters the program named and the number
// of alerts of each player it printed.
func (p *proc) alerted(t *testing.T) (cheaters []string, alerts map[string]int) {
	t.Helper()
	m := cheatersLine.FindStringSubmatch(p.stderr.String())
	if m == nil {
		t.Fatalf("stderr names no cheaters:\n%s", p.stderr.String())
	}
	alerts = map[string]int{}
	for _, a := range alertLine.FindAllStringSubmatch(p.stdout.String(), -1) {
		alerts[a[1]]++
	}
	return strings.Fields(m[1]), alerts
}

// The program plays its game on the broker it starts and flags the
// cheaters it seeded, every one of them, and no honest player.
func TestCatchesSeededCheaters(t *testing.T) {
	p := start(t, nil, "-events", "1500", "-players", "20", "-cheaters", "3", "-rate", "0")
	if code := p.exit(t, 120*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0\nstderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "in-process Kafka broker up on 127.0.0.1:") {
		t.Errorf("stderr does not say the broker is up:\n%s", p.stderr.String())
	}
	cheaters, alerts := p.alerted(t)
	if len(cheaters) != 3 {
		t.Fatalf("cheaters %v, want 3", cheaters)
	}
	for _, c := range cheaters {
		if alerts[c] == 0 {
			t.Errorf("cheater %s was never flagged", c)
		}
		delete(alerts, c)
	}
	if len(alerts) != 0 {
		t.Errorf("honest players flagged: %v\nstdout:\n%s", alerts, p.stdout.String())
	}
	if !strings.Contains(p.stdout.String(), "caught 3 of 3 cheaters; 0 honest players flagged\n") {
		t.Errorf("no summary of 3 cheaters caught and none honest flagged:\n%s", p.stdout.String())
	}
}

// -variant join, set here by its variable, on a broker the test gives,
// under exactly-once: logins and trades go to topics of their own, and
// the cheaters are caught (honest players may be too: the join sees only
// the last login).
func TestJoinVariantRun(t *testing.T) {
	b := kafkatest.NewBroker(t)
	p := start(t, []string{"SAMSA_VARIANT=join", "SAMSA_BROKERS=" + strings.Join(b.Addrs(), ",")},
		"-events", "1500", "-players", "20", "-cheaters", "2", "-rate", "0", "-processing-guarantee", "exactly_once_v2", "-max-task-idle", "100ms")
	if code := p.exit(t, 120*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0\nstderr:\n%s", code, p.stderr.String())
	}
	cheaters, alerts := p.alerted(t)
	for _, c := range cheaters {
		if alerts[c] == 0 {
			t.Errorf("cheater %s was never flagged", c)
		}
	}
	if !strings.Contains(p.stdout.String(), "-variant join checks the address of the last login only") {
		t.Errorf("stdout does not say what the join variant cannot do:\n%s", p.stdout.String())
	}
	ends := endOffsets(t, b, LoginsTopic, TradesTopic, EventsTopic)
	if ends[LoginsTopic] == 0 || ends[TradesTopic] == 0 || ends[LoginsTopic]+ends[TradesTopic] != 1500 {
		t.Errorf("records per topic %v, want the 1500 events split between %s and %s", ends, LoginsTopic, TradesTopic)
	}
	if _, ok := ends[EventsTopic]; ok {
		t.Errorf("topic %s exists under -variant join", EventsTopic)
	}
}

// SIGTERM closes the application cleanly while the generator runs on:
// exit code 0, with the summary.
func TestSIGTERMClosesCleanly(t *testing.T) {
	p := start(t, nil, "-events", "0", "-rate", "200")
	p.waitFor(t, &p.stderr, "running", 60*time.Second)
	time.Sleep(500 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.exit(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\nstderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "closing the application") || !strings.Contains(p.stdout.String(), "\nflagged players:\n") {
		t.Errorf("no clean close with a summary:\nstdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
	}
}

// A variable that does not parse stops the program before it starts
// anything, with a usage error naming the variable and its value.
func TestBadEnvironment(t *testing.T) {
	for _, kv := range []string{"SAMSA_VARIANT=both", "SAMSA_PARTITIONS=many", "SAMSA_THREADS=x"} {
		p := start(t, []string{kv})
		if code := p.exit(t, 10*time.Second); code != exitUsage {
			t.Errorf("%s: exit code %d, want %d", kv, code, exitUsage)
		}
		name, value, _ := strings.Cut(kv, "=")
		if !strings.Contains(p.stderr.String(), name) || !strings.Contains(p.stderr.String(), value) {
			t.Errorf("%s: stderr does not name it:\n%s", kv, p.stderr.String())
		}
		if strings.Contains(p.stderr.String(), "broker up") {
			t.Errorf("%s: a broker was started:\n%s", kv, p.stderr.String())
		}
	}
}
