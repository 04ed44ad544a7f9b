package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
)

// program is the wordcount binary, built once by TestMain: the tests run
// it as a user does, with signals and standard input.
var program string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "samsa-wordcount-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	program = filepath.Join(dir, "wordcount")
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

// proc is a running wordcount.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan error
}

// start runs the binary with args, the environment less SAMSA_ variables
// plus env, and stdin (nil: /dev/null).
func start(t *testing.T, stdin io.Reader, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan error, 1)}
	p.cmd = exec.Command(program, append([]string{"-state-dir", t.TempDir()}, args...)...)
	p.cmd.Env = testfix.CleanEnv(env...)
	p.cmd.Stdin = stdin
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
			t.Fatalf("wordcount exited (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", err, want, p.stdout.String(), p.stderr.String())
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
		t.Fatalf("wordcount still running after %v\nstdout:\n%s\nstderr:\n%s", timeout, p.stdout.String(), p.stderr.String())
		return -1
	}
}

// pipe returns an OS pipe for a child's standard input that stays open
// until the test ends. (exec.Cmd copies from any other reader on a
// goroutine, which Wait would wait for.)
func pipe(t *testing.T) (*os.File, *os.File) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// A SIGTERM closes the application as Ctrl-C does: clean close, final
// table, exit code 0. The input is still open, so only the signal ends it.
func TestSIGTERMPrintsFinalTable(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			in, w := pipe(t)
			p := start(t, in, nil, "-idle", "0")
			p.waitFor(t, &p.stderr, "in-process Kafka broker up on 127.0.0.1:", 30*time.Second)
			go fmt.Fprintln(w, "signal Signal test")
			p.waitFor(t, &p.stdout, "signal\t2\n", 60*time.Second)
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := p.exit(t, 30*time.Second); code != 0 {
				t.Fatalf("exit code %d after %v, want 0\nstderr:\n%s", code, sig, p.stderr.String())
			}
			out := p.stdout.String()
			if !strings.Contains(out, "\nfinal counts:\n") || !strings.Contains(out, "  signal       2\n") || !strings.Contains(out, "  test         1\n") {
				t.Fatalf("no final table with signal 2 and test 1 after %v:\n%s", sig, out)
			}
			if !strings.Contains(p.stderr.String(), "closing the application") {
				t.Errorf("stderr does not say it is closing:\n%s", p.stderr.String())
			}
		})
	}
}

// A second signal exits at once, with the code a shell gives a process
// killed by that signal, and no final table. The broker holds the app's
// LeaveGroup request, so that the close the first signal began is still
// under way when the second comes.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	b := kafkatest.NewBroker(t)
	var leaving atomic.Bool
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	c := b.Cluster()
	c.ControlKey(int16(kmsg.LeaveGroup), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		leaving.Store(true)
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})
	in, _ := pipe(t)
	p := start(t, in, nil, "-brokers", b.Addrs()[0], "-idle", "0")
	p.waitFor(t, &p.stderr, "running", 60*time.Second)
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitFor(t, &p.stderr, "closing the application", 10*time.Second)
	for deadline := time.Now().Add(20 * time.Second); !leaving.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the app never asked to leave its group\nstderr:\n%s", p.stderr.String())
		}
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exit(t, 5*time.Second); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("exit code %d after two SIGTERMs, want %d\nstderr:\n%s", code, 128+int(syscall.SIGTERM), p.stderr.String())
	}
	if strings.Contains(p.stdout.String(), "final counts") {
		t.Errorf("a final table after a second signal:\n%s", p.stdout.String())
	}
	if !strings.Contains(p.stderr.String(), "exiting without closing") {
		t.Errorf("stderr does not say it exits without closing:\n%s", p.stderr.String())
	}
}

// endOffsets returns the number of records in each topic, by topic; a
// topic that does not exist is missing from the map.
func endOffsets(t *testing.T, b *kafkatest.Broker, topics ...string) map[string]int64 {
	t.Helper()
	cl, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
			return
		}
		if o.Err != nil {
			t.Fatalf("end offset of %s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		out[o.Topic] += o.Offset
	})
	return out
}

// Standard input that is not a terminal is the input, even when it is
// empty: no sample lines are written, no counts come, and the program
// stops on its own with an empty table.
func TestEmptyInputWritesNoSample(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func() (*os.File, error){
		"/dev/null":  func() (*os.File, error) { return os.Open(os.DevNull) },
		"empty file": func() (*os.File, error) { return os.Open(empty) },
	} {
		t.Run(name, func(t *testing.T) {
			b := kafkatest.NewBroker(t)
			f, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			p := start(t, f, nil, "-brokers", b.Addrs()[0], "-idle", "1s")
			if code := p.exit(t, 60*time.Second); code != 0 {
				t.Fatalf("exit code %d, want 0\nstderr:\n%s", code, p.stderr.String())
			}
			if got := endOffsets(t, b, InputTopic)[InputTopic]; got != 0 {
				t.Errorf("%d records written to %s from an empty standard input, want none", got, InputTopic)
			}
			if out := p.stdout.String(); out != "\nfinal counts: none\n" {
				t.Errorf("stdout = %q, want only an empty final table", out)
			}
			if strings.Contains(p.stderr.String(), "sample") {
				t.Errorf("stderr mentions the sample text:\n%s", p.stderr.String())
			}
		})
	}
}

// The flags, or the environment variables standing in for them, choose
// the topics, their partition count and the application id.
func TestFlagsChangeTopics(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  []string
	}{
		{name: "flags", args: []string{"-application-id", "renamed", "-input-topic", "lines-in", "-output-topic", "counts-out", "-partitions", "2", "-processing-guarantee", "exactly_once_v2"}},
		{name: "environment", env: []string{"SAMSA_APPLICATION_ID=renamed", "SAMSA_INPUT_TOPIC=lines-in", "SAMSA_OUTPUT_TOPIC=counts-out", "SAMSA_PARTITIONS=2", "SAMSA_PROCESSING_GUARANTEE=exactly_once_v2"}},
		// A flag beats its variable.
		{name: "flags over environment", args: []string{"-input-topic", "lines-in", "-partitions", "2"},
			env: []string{"SAMSA_APPLICATION_ID=renamed", "SAMSA_INPUT_TOPIC=ignored", "SAMSA_OUTPUT_TOPIC=counts-out", "SAMSA_PARTITIONS=7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := kafkatest.NewBroker(t)
			args := append([]string{"-idle", "1s"}, tc.args...)
			env := append([]string{"SAMSA_BROKERS=" + strings.Join(b.Addrs(), ",")}, tc.env...)
			p := start(t, strings.NewReader("flags move topics\nflags\n"), env, args...)
			if code := p.exit(t, 90*time.Second); code != 0 {
				t.Fatalf("exit code %d, want 0\nstderr:\n%s", code, p.stderr.String())
			}
			if !strings.Contains(p.stdout.String(), "  flags        2\n") {
				t.Fatalf("no count flags 2 in the final table:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
			}
			ends := endOffsets(t, b, "lines-in", "counts-out", InputTopic, OutputTopic, "ignored", "renamed-counts-changelog")
			if ends["lines-in"] != 2 || ends["counts-out"] == 0 || ends["renamed-counts-changelog"] == 0 {
				t.Errorf("records per topic %v: want the 2 lines in lines-in and counts in counts-out and renamed-counts-changelog", ends)
			}
			for _, topic := range []string{InputTopic, OutputTopic, "ignored"} {
				if _, ok := ends[topic]; ok {
					t.Errorf("topic %s exists; the flags named others", topic)
				}
			}
			cl, err := b.Client()
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			details, err := kadm.NewClient(cl).ListTopics(t.Context(), "lines-in", "counts-out")
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range details {
				if n := len(d.Partitions); n != 2 {
					t.Errorf("%s has %d partitions, want 2", d.Topic, n)
				}
			}
		})
	}
}

// With neither -brokers nor SAMSA_BROKERS, the program starts its own
// broker and says so before the first count; the lines of standard input
// are counted.
func TestEmbeddedBroker(t *testing.T) {
	p := start(t, strings.NewReader("to be or not to be"), nil, "-idle", "1s")
	if code := p.exit(t, 90*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0\nstderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "in-process Kafka broker up on 127.0.0.1:") {
		t.Errorf("stderr does not say the broker is up:\n%s", p.stderr.String())
	}
	out := p.stdout.String()
	for _, want := range []string{"be\t2\n", "to\t2\n", "  not          1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

// A variable that does not parse stops the program before it starts
// anything, with a usage error naming the variable and its value.
func TestBadEnvironment(t *testing.T) {
	for _, kv := range []string{"SAMSA_PARTITIONS=many", "SAMSA_THREADS=x", "SAMSA_SESSION_TIMEOUT_MS=10s"} {
		p := start(t, nil, []string{kv})
		if code := p.exit(t, 10*time.Second); code != exitUsage {
			t.Errorf("%s: exit code %d, want %d", kv, code, exitUsage)
		}
		name, value, _ := strings.Cut(kv, "=")
		if want := fmt.Sprintf("%s=%q", name, value); !strings.Contains(p.stderr.String(), want) {
			t.Errorf("%s: stderr does not name %s:\n%s", kv, want, p.stderr.String())
		}
		if strings.Contains(p.stderr.String(), "broker up") {
			t.Errorf("%s: a broker was started:\n%s", kv, p.stderr.String())
		}
	}
}
