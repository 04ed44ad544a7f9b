package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FleetConfig describes the application processes of a Fleet.
type FleetConfig struct {
	// Binary is the built harness/app.
	Binary  string
	Brokers []string
	// AppID is the application id; default "samsa-eos-harness".
	AppID     string
	Guarantee Guarantee
	// Instances is the number of processes; default 3.
	Instances int
	// Dir holds each process's state directory and log file.
	Dir string
	// CommitInterval, SessionTimeout and TransactionTimeout are passed to
	// every process; zero leaves the app's defaults.
	CommitInterval     time.Duration
	SessionTimeout     time.Duration
	TransactionTimeout time.Duration
	RebalanceTimeout   time.Duration
	// HeartbeatInterval defaults to a third of SessionTimeout when that is
	// set: franz-go's default of 3s would let a short session expire
	// between two heartbeats.
	HeartbeatInterval time.Duration
	// Standbys is each task's number of standby replicas (runtime.Standbys).
	Standbys int
	// StopTimeout bounds how long a process may take to exit after SIGTERM;
	// default 30s.
	StopTimeout time.Duration
	// Logf, if set, receives a line per event (start, kill, pause...).
	Logf func(format string, args ...any)
}

// Fleet runs the application under test as several OS processes. Its
// methods are safe for concurrent use.
//
// Each instance keeps its state directory across restarts, as a pod with a
// persistent volume does, and appends everything its process writes to
// stdout and stderr to one log file, with a line from the harness before
// each start and after each exit.
type Fleet struct {
	cfg   FleetConfig
	mu    sync.Mutex
	insts []*instance
	stats FleetStats
	viol  []string
}

// FleetStats counts what a Fleet did to its processes.
type FleetStats struct {
	Starts          int // process starts, the first ones included
	Kills           int // SIGKILLs
	Pauses          int // SIGSTOP ... SIGCONT
	CleanRestarts   int // SIGTERM, clean exit, start again
	UnexpectedExits int // exits nobody asked for
	// Nudges are clean restarts after the chaos that make the group
	// rebalance and drop members of killed processes that kfake keeps (see
	// Fleet.Nudge).
	Nudges int
	// BrokerFaults counts the broker faults injected, by kind (FaultProduce
	// and the kinds after it), that hit at least one request;
	// FaultedRequests the requests they failed, held or dropped.
	BrokerFaults    map[string]int
	FaultedRequests map[string]int
}

type instStatus int

const (
	down instStatus = iota
	running
	paused
	stopping
)

type instance struct {
	idx      int
	stateDir string
	logPath  string
	logFile  *os.File

	// Guarded by Fleet.mu.
	cmd       *exec.Cmd
	status    instStatus
	busy      bool // a chaos operation owns it
	expect    bool // the next exit was asked for
	startedAt time.Time
	joined    bool          // the current process reached RUNNING once
	exited    chan struct{} // closed when the current process has exited
	exitErr   error
}

// NewFleet prepares the instances; Start starts them.
func NewFleet(cfg FleetConfig) (*Fleet, error) {
	if cfg.AppID == "" {
		cfg.AppID = "samsa-eos-harness"
	}
	if cfg.Instances <= 0 {
		cfg.Instances = 3
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	if cfg.Guarantee == "" {
		cfg.Guarantee = ExactlyOnce
	}
	f := &Fleet{cfg: cfg}
	for i := range cfg.Instances {
		in := &instance{
			idx:      i,
			stateDir: filepath.Join(cfg.Dir, fmt.Sprintf("state-%d", i)),
			logPath:  filepath.Join(cfg.Dir, fmt.Sprintf("app-%d.log", i)),
		}
		if err := os.MkdirAll(in.stateDir, 0o755); err != nil {
			return nil, fmt.Errorf("harness: %w", err)
		}
		lf, err := os.OpenFile(in.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("harness: %w", err)
		}
		in.logFile = lf
		f.insts = append(f.insts, in)
	}
	return f, nil
}

func (f *Fleet) logf(format string, args ...any) {
	if f.cfg.Logf != nil {
		f.cfg.Logf(format, args...)
	}
}

// Stats returns what the fleet did so far.
func (f *Fleet) Stats() FleetStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	s.BrokerFaults = maps.Clone(s.BrokerFaults)
	s.FaultedRequests = maps.Clone(s.FaultedRequests)
	return s
}

// Violations returns what went wrong with the processes themselves: exits
// nobody asked for, unclean exits after SIGTERM, panics in the logs.
func (f *Fleet) Violations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.viol...)
}

func (f *Fleet) violation(format string, args ...any) {
	s := "process: " + fmt.Sprintf(format, args...)
	f.logf("VIOLATION: %s", s)
	f.mu.Lock()
	f.viol = append(f.viol, s)
	f.mu.Unlock()
}

// Logs lists the log files of the instances.
func (f *Fleet) Logs() []string {
	var ps []string
	for _, in := range f.insts {
		ps = append(ps, in.logPath)
	}
	return ps
}

func (f *Fleet) args(in *instance) []string {
	c := f.cfg
	a := []string{
		"-brokers", strings.Join(c.Brokers, ","),
		"-application-id", c.AppID,
		"-state-dir", in.stateDir,
		"-guarantee", string(c.Guarantee),
	}
	if c.CommitInterval > 0 {
		a = append(a, "-commit-interval", c.CommitInterval.String())
	}
	if c.SessionTimeout > 0 {
		a = append(a, "-session-timeout", c.SessionTimeout.String())
	}
	if c.TransactionTimeout > 0 {
		a = append(a, "-transaction-timeout", c.TransactionTimeout.String())
	}
	if c.Standbys > 0 {
		a = append(a, "-standbys", fmt.Sprint(c.Standbys))
	}
	if hb := c.HeartbeatInterval; hb > 0 || c.SessionTimeout > 0 {
		if hb <= 0 {
			hb = c.SessionTimeout / 3
		}
		a = append(a, "-heartbeat-interval", hb.String())
	}
	if c.RebalanceTimeout > 0 {
		a = append(a, "-rebalance-timeout", c.RebalanceTimeout.String())
	}
	return a
}

// Start starts every instance that is down.
func (f *Fleet) Start() error {
	for _, in := range f.insts {
		if err := f.start(in); err != nil {
			return err
		}
	}
	return nil
}

// start starts in's process if it is down.
func (f *Fleet) start(in *instance) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.status != down {
		return nil
	}
	cmd := exec.Command(f.cfg.Binary, f.args(in)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("harness: start instance %d: %w", in.idx, err)
	}
	cmd.Stderr = in.logFile
	cmd.Env = os.Environ()
	fmt.Fprintf(in.logFile, "=== harness: start %d of instance %d at %s\n", f.stats.Starts+1, in.idx, time.Now().Format(time.RFC3339Nano))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("harness: start instance %d: %w", in.idx, err)
	}
	f.stats.Starts++
	in.cmd, in.status, in.expect, in.startedAt, in.joined = cmd, running, false, time.Now(), false
	in.exited = make(chan struct{})
	f.logf("instance %d started (pid %d)", in.idx, cmd.Process.Pid)
	read := make(chan struct{})
	go f.readStdout(in, cmd, stdout, read)
	go f.wait(in, cmd, read, in.exited)
	return nil
}

// StateLine starts the lines harness/app writes to stdout on each state
// change of its App, so that the fleet knows which processes joined the
// group.
const StateLine = "samsa-harness-state: "

// readStdout copies the process's stdout to its log and notes when it
// reaches RUNNING.
func (f *Fleet) readStdout(in *instance, cmd *exec.Cmd, r io.Reader, done chan struct{}) {
	defer close(done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(in.logFile, line)
		if state, ok := strings.CutPrefix(line, StateLine); ok && state == "RUNNING" {
			f.mu.Lock()
			if in.cmd == cmd {
				in.joined = true
			}
			f.mu.Unlock()
		}
	}
	_, _ = io.Copy(in.logFile, r)
}

// wait reaps a process, once its stdout is read, and notes an exit nobody
// asked for.
func (f *Fleet) wait(in *instance, cmd *exec.Cmd, read, exited chan struct{}) {
	<-read
	err := cmd.Wait()
	f.mu.Lock()
	in.status, in.exitErr = down, err
	expected := in.expect
	fmt.Fprintf(in.logFile, "=== harness: instance %d (pid %d) exited at %s: %v\n", in.idx, cmd.Process.Pid, time.Now().Format(time.RFC3339Nano), exitString(err))
	if !expected {
		f.stats.UnexpectedExits++
	}
	f.mu.Unlock()
	close(exited)
	if !expected {
		f.violation("instance %d (pid %d) exited on its own (%s) after %v; log %s: %s",
			in.idx, cmd.Process.Pid, exitString(err), time.Since(in.startedAt).Round(time.Millisecond), in.logPath, tail(in.logPath, 5))
	}
}

func exitString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// signal sends sig to in's process if it is in state from, marking the
// exit that follows as expected when exit is set. It returns the channel
// closed at exit, or nil if the process was not in that state.
func (f *Fleet) signal(in *instance, from instStatus, sig syscall.Signal, to instStatus, exit bool) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.status != from {
		return nil
	}
	if exit {
		in.expect = true
	}
	if err := in.cmd.Process.Signal(sig); err != nil {
		return nil
	}
	in.status = to
	return in.exited
}

// kill sends SIGKILL and waits for the exit. It reports whether the
// process was killed.
func (f *Fleet) kill(in *instance) bool {
	f.mu.Lock()
	from := in.status
	f.mu.Unlock()
	if from != running && from != paused {
		return false
	}
	exited := f.signal(in, from, syscall.SIGKILL, stopping, true)
	if exited == nil {
		return false
	}
	<-exited
	f.mu.Lock()
	f.stats.Kills++
	f.mu.Unlock()
	f.logf("instance %d killed (SIGKILL)", in.idx)
	return true
}

// pause stops the process with SIGSTOP for d, then continues it.
func (f *Fleet) pause(in *instance, d time.Duration) bool {
	if f.signal(in, running, syscall.SIGSTOP, paused, false) == nil {
		return false
	}
	f.logf("instance %d paused (SIGSTOP) for %v", in.idx, d)
	time.Sleep(d)
	if f.signal(in, paused, syscall.SIGCONT, running, false) == nil {
		return false
	}
	f.mu.Lock()
	f.stats.Pauses++
	f.mu.Unlock()
	f.logf("instance %d continued (SIGCONT)", in.idx)
	return true
}

// stop sends SIGTERM and waits for a clean exit: status 0 within the stop
// timeout. A process that does not exit in time gets SIGQUIT, which makes
// the Go runtime write every goroutine's stack to the log, then SIGKILL.
func (f *Fleet) stop(in *instance) bool {
	exited := f.signal(in, running, syscall.SIGTERM, stopping, true)
	if exited == nil {
		return false
	}
	pid := f.pid(in)
	select {
	case <-exited:
	case <-time.After(f.cfg.StopTimeout):
		f.violation("instance %d (pid %d) did not exit within %v of SIGTERM; its goroutines are in %s", in.idx, pid, f.cfg.StopTimeout, in.logPath)
		f.mu.Lock()
		_ = in.cmd.Process.Signal(syscall.SIGQUIT)
		f.mu.Unlock()
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			f.mu.Lock()
			_ = in.cmd.Process.Kill()
			f.mu.Unlock()
			<-exited
		}
		return false
	}
	f.mu.Lock()
	err := in.exitErr
	f.mu.Unlock()
	if err != nil {
		f.violation("instance %d (pid %d) exited with %v after SIGTERM, want status 0; log %s: %s", in.idx, pid, err, in.logPath, tail(in.logPath, 5))
		return false
	}
	f.logf("instance %d stopped cleanly (SIGTERM)", in.idx)
	return true
}

func (f *Fleet) pid(in *instance) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.cmd == nil || in.cmd.Process == nil {
		return 0
	}
	return in.cmd.Process.Pid
}

// Stop stops every process with SIGTERM, continuing paused ones first, and
// waits for them to exit.
func (f *Fleet) Stop() {
	var wg sync.WaitGroup
	for _, in := range f.insts {
		f.signal(in, paused, syscall.SIGCONT, running, false)
		wg.Go(func() { f.stop(in) })
	}
	wg.Wait()
}

// Close kills whatever still runs and closes the log files. It is for
// clean-up after a failure; Stop is the clean way.
func (f *Fleet) Close() {
	for _, in := range f.insts {
		f.kill(in)
	}
	for _, in := range f.insts {
		in.logFile.Close()
	}
}

// ScanLogs reports panics, fatal runtime errors and data races written to
// the logs.
func (f *Fleet) ScanLogs() {
	for _, in := range f.insts {
		data, err := os.ReadFile(in.logPath)
		if err != nil {
			f.violation("reading log of instance %d: %v", in.idx, err)
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		line := 0
		for sc.Scan() {
			line++
			l := sc.Text()
			for _, bad := range []string{"panic: ", "fatal error: ", "WARNING: DATA RACE"} {
				if strings.HasPrefix(l, bad) {
					f.violation("instance %d logged %q at %s:%d", in.idx, l, in.logPath, line)
				}
			}
		}
	}
}

// tail returns the last n lines of a file, joined by " | ".
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	return strings.Join(lines, " | ")
}

// Running is the number of processes running (paused ones excluded).
func (f *Fleet) Running() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, in := range f.insts {
		if in.status == running {
			n++
		}
	}
	return n
}

// Nudge restarts one running process cleanly, which makes the group
// rebalance. Run nudges when the outputs made no progress for longer than
// the rebalance timeout while the group had more members than running
// processes or was not stable.
//
// It works around kfake, not the application: kfake starts a member's
// session timer only once a JoinGroup or SyncGroup response reached it, so
// a member whose process was killed while it waited for one stays in the
// group, holding its tasks, until a later rebalance drops it for not
// rejoining within the rebalance timeout. (Kafka starts the timer when it
// completes the join, whether the response arrives or not.) Once the chaos
// stopped nothing else triggers that rebalance. kfake's classic groups
// show other stalls under this churn too: a rebalance that outlives its
// rebalance timeout until the members' JoinGroup requests time out, and,
// when the leader left, every member told it is the leader.
func (f *Fleet) Nudge() bool {
	f.mu.Lock()
	var in *instance
	for _, c := range f.insts {
		if c.status == running && !c.busy {
			in = c
			c.busy = true
			break
		}
	}
	f.mu.Unlock()
	if in == nil {
		return false
	}
	defer f.release(in)
	f.logf("nudging the group: restarting instance %d cleanly", in.idx)
	ok := f.stop(in)
	f.restart(in)
	if ok {
		f.mu.Lock()
		f.stats.Nudges++
		f.mu.Unlock()
	}
	return ok
}
