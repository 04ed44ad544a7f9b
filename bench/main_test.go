package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestRun runs every workload, and the exactly-once comparison, on a few
// records so that the benchmark keeps compiling and working.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker and several apps")
	}
	cfg, err := parseFlags([]string{"-records", "2000", "-w6-records", "2000", "-w2m-words", "30000", "-w2m-keys", "20000", "-eos", "-rounds", "1", "-timeout", "30s"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	for _, want := range []string{"W1 stateless ", "W2 wordcount ", "W2 uncached ", "W2M 20000 keys", "W2M/W2 uncached", "W2M RSS 30s", "W6 restore ", "W2 EOS/ALOS 100ms", "W2 EOS/ALOS 1s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
		only []string
	}{
		{nil, true, workloads},
		{[]string{"-only", "w6, W1"}, true, []string{"w6", "w1"}},
		{[]string{"-only", "w3"}, false, nil},
		{[]string{"-w2m-keys", "10", "-w2m-words", "9"}, false, nil},
		{[]string{"-w2-keys", "0"}, false, nil},
		{[]string{"-records", "0"}, false, nil},
		{[]string{"-w6-records", "0"}, false, nil},
		{[]string{"extra"}, false, nil},
	} {
		cfg, err := parseFlags(tc.args, &bytes.Buffer{})
		if (err == nil) != tc.ok {
			t.Errorf("parseFlags(%q): err = %v, want ok = %v", tc.args, err, tc.ok)
			continue
		}
		if tc.ok && strings.Join(cfg.only, ",") != strings.Join(tc.only, ",") {
			t.Errorf("parseFlags(%q): only = %v, want %v", tc.args, cfg.only, tc.only)
		}
	}
}
