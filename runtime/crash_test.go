package runtime_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
)

// Environment of TestCrashableInstance, set by startCrashable.
const (
	crashableBrokers = "SAMSA_TEST_CRASHABLE_BROKERS"
	crashableDir     = "SAMSA_TEST_CRASHABLE_DIR"
	crashableEOS     = "SAMSA_TEST_CRASHABLE_EOS"
)

// crashable is a word-count instance in a process of its own, which a test
// kills as a crash would: no commit, no clean close, no leaving the group
// (the group notices after the session timeout).
type crashable struct {
	cmd     *exec.Cmd
	running chan struct{}
	exited  chan error
}

// startCrashable runs word count as application "wordcount" on b, with its
// state in dir, in another process: the test binary run again for
// TestCrashableInstance. Exactly-once if eos.
func startCrashable(t testing.TB, b *kafkatest.Broker, dir string, eos bool) *crashable {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashableInstance$")
	cmd.Env = append(os.Environ(),
		crashableBrokers+"="+strings.Join(b.Addrs(), ","),
		crashableDir+"="+dir,
		fmt.Sprintf("%s=%v", crashableEOS, eos))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &crashable{cmd: cmd, running: make(chan struct{}), exited: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "RUNNING" {
				select {
				case <-c.running:
				default:
					close(c.running)
				}
			}
		}
		c.exited <- cmd.Wait()
	}()
	t.Cleanup(func() { c.kill(t) })
	return c
}

// waitRunning waits until the instance reports RUNNING.
func (c *crashable) waitRunning(t testing.TB) {
	t.Helper()
	select {
	case <-c.running:
	case err := <-c.exited:
		t.Fatalf("crashable instance exited before running: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("crashable instance not running after 30s")
	}
}

// kill sends SIGKILL and waits for the process to go.
func (c *crashable) kill(t testing.TB) {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Kill()
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Error("killed instance did not exit")
	}
}

// TestCrashableInstance is not a test: startCrashable runs the test binary
// again to execute it as another process, until killed.
func TestCrashableInstance(t *testing.T) {
	brokers := os.Getenv(crashableBrokers)
	if brokers == "" {
		return
	}
	opts := []runtime.Option{
		runtime.ApplicationID("wordcount"),
		runtime.Brokers(strings.Split(brokers, ",")...),
		runtime.StateDir(os.Getenv(crashableDir)),
		runtime.CommitInterval(100 * time.Millisecond),
		runtime.SessionTimeout(6 * time.Second),
		runtime.Logger(testLogger(t)),
	}
	if os.Getenv(crashableEOS) == "true" {
		opts = append(opts, runtime.ExactlyOnce(), runtime.TransactionTimeout(2*time.Second))
	}
	app, err := runtime.New(testfix.WordCount(t), opts...)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	app.SetStateListener(func(_, s runtime.State) {
		if s == runtime.Running {
			fmt.Println("RUNNING")
		}
	})
	err = app.Run(context.Background())
	fmt.Println("error: Run returned:", err)
	os.Exit(1)
}
