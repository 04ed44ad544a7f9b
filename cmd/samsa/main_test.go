package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// syncBuffer is a bytes.Buffer that a running command writes while the
// test reads it.
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

func TestBrokerRunsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"broker", "-port", "0", "-partitions", "1", "-data-dir", t.TempDir()}, nil, &stdout, &stderr)
	}()

	const prefix = "samsa: broker listening on "
	var addr string
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" {
		select {
		case code := <-done:
			t.Fatalf("broker exited early with %d; stderr:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q line; stdout:\n%s", prefix, stdout.String())
		}
		for line := range strings.Lines(stdout.String()) {
			if a, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
				addr = a
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") || addr == "127.0.0.1:0" {
		t.Fatalf("listening on %q, want 127.0.0.1 and a real port", addr)
	}

	// The broker answers, and creates topics on first use.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	err = cl.ProduceSync(pctx, &kgo.Record{Topic: "cli", Value: []byte("v")}).FirstErr()
	pcancel()
	cl.Close()
	if err != nil {
		t.Fatalf("produce: %v", err)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit code %d, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("broker did not stop after cancel")
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdout     string // substring expected on stdout
		stderr     string // substring expected on stderr
		quietStdio bool   // stdout must stay empty
	}{
		{name: "no args", args: nil, code: exitUsage, stderr: "broker", quietStdio: true},
		{name: "help", args: []string{"help"}, code: exitOK, stdout: "samsa <command>"},
		{name: "-h", args: []string{"-h"}, code: exitOK, stdout: "broker"},
		{name: "help broker", args: []string{"help", "broker"}, code: exitOK, stdout: "-data-dir"},
		{name: "help unknown", args: []string{"help", "nope"}, code: exitUsage, stderr: `unknown command "nope"`, quietStdio: true},
		{name: "help too many", args: []string{"help", "a", "b"}, code: exitUsage, stderr: "usage: samsa help", quietStdio: true},
		{name: "unknown", args: []string{"frobnicate"}, code: exitUsage, stderr: `unknown command "frobnicate"`, quietStdio: true},
		{name: "broker -h", args: []string{"broker", "-h"}, code: exitOK, stderr: "-partitions", quietStdio: true},
		{name: "broker bad flag", args: []string{"broker", "-nope"}, code: exitUsage, stderr: "-nope", quietStdio: true},
		{name: "broker extra args", args: []string{"broker", "extra"}, code: exitUsage, stderr: "unexpected arguments: extra", quietStdio: true},
		{name: "broker bad port", args: []string{"broker", "-port", "70000"}, code: exitUsage, stderr: "-port 70000 out of range", quietStdio: true},
		{name: "broker bad partitions", args: []string{"broker", "-partitions", "0"}, code: exitUsage, stderr: "-partitions", quietStdio: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			code := run(t.Context(), tc.args, nil, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
			if tc.quietStdio && stdout.String() != "" {
				t.Errorf("stdout not empty:\n%s", stdout.String())
			}
		})
	}
}

func TestBrokerPortInUse(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out1 syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"broker", "-port", "0"}, nil, &out1, &out1) }()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("first broker did not start:\n%s", out1.String())
		}
		_, addr, _ = strings.Cut(strings.TrimSpace(out1.String()), "listening on ")
	}
	_, port, _ := strings.Cut(addr, ":")

	var stdout, stderr syncBuffer
	if code := run(t.Context(), []string{"broker", "-port", port}, nil, &stdout, &stderr); code != exitFail {
		t.Errorf("second broker on port %s: exit code %d, want %d", port, code, exitFail)
	}
	if !strings.Contains(stderr.String(), "port "+port) {
		t.Errorf("stderr does not name port %s:\n%s", port, stderr.String())
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("first broker exit code %d, want 0", code)
	}
}
