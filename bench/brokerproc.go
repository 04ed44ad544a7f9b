package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/samsa-go/samsa/kafkatest"
)

// brokerEnv, set in the environment of a copy of this program, makes it
// the broker of -broker process: it serves a kafkatest broker with the
// partition count in the variable, prints the broker's addresses on one
// line, and closes it when its standard input closes.
const brokerEnv = "SAMSA_BENCH_BROKER_PARTITIONS"

// serveBroker is main for the copy started by startBrokerProcess.
func serveBroker(partitions string) error {
	n, err := strconv.Atoi(partitions)
	if err != nil {
		return fmt.Errorf("%s=%q: %w", brokerEnv, partitions, err)
	}
	b, err := kafkatest.Start(kafkatest.Partitions(int32(n)))
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Println(strings.Join(b.Addrs(), ","))
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}

// startBrokerProcess runs the broker in a copy of this program, so that the
// RSS and CPU figures of each side are the side's own. stop closes it.
func startBrokerProcess(partitions int32) (addrs []string, pid int, stop func() error, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, 0, nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", brokerEnv, partitions))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, 0, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, nil, fmt.Errorf("start the broker process: %w", err)
	}
	stop = func() error {
		in.Close()
		return cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, 0, nil, errors.Join(fmt.Errorf("broker process: %w", err), stop())
	}
	return strings.Split(strings.TrimSpace(line), ","), cmd.Process.Pid, stop, nil
}

// procCPU is the user+sys CPU time process pid has used, from
// /proc/<pid>/stat, whose times count in USER_HZ (100 per second on
// Linux); ok is false without /proc.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// the fields counted start after its closing one, at field 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * (time.Second / 100), true
}
