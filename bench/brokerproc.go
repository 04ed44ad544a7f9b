package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

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
func startBrokerProcess(partitions int32) (addrs []string, stop func() error, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", brokerEnv, partitions))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start the broker process: %w", err)
	}
	stop = func() error {
		in.Close()
		return cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("broker process: %w", err), stop())
	}
	return strings.Split(strings.TrimSpace(line), ","), stop, nil
}
