package testfix

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GoCommand is the go command of the toolchain running the test when it
// can be found, so that building needs no second toolchain switch (the go
// on PATH may be older than go.mod asks, with GOTOOLCHAIN=local);
// otherwise the one on PATH.
func GoCommand() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// BuildBinary builds the main package pkg (an import path, or a path
// relative to the test's directory) into the file bin. Tests that start a
// program as a user would, to signal it or feed it standard input, build
// it with this once, from TestMain.
func BuildBinary(pkg, bin string) error {
	cmd := exec.Command(GoCommand(), "build", "-o", bin, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testfix: go build -o %s %s: %v\n%s", bin, pkg, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// CleanEnv returns the environment of this process without the SAMSA_
// variables, followed by extra, for a child process whose configuration a
// test sets itself.
func CleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SAMSA_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
