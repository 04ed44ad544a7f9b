package dsl_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestOptionsAreTyped builds testdata/compilefail, a package of DSL calls
// given options of the wrong type, and checks that the compiler rejects
// each of them, naming the type given and the type expected, and nothing
// else. The package is behind the samsa_compilefail build tag (and in
// testdata), so no other build sees it.
func TestOptionsAreTyped(t *testing.T) {
	const file = "testdata/compilefail/mismatch.go"
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int][]string{}
	quoted := regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)
	for i, line := range strings.Split(string(src), "\n") {
		_, comment, ok := strings.Cut(line, "// want ")
		if !ok {
			continue
		}
		for _, m := range quoted.FindAllString(comment, -1) {
			s, err := strconv.Unquote(m)
			if err != nil {
				t.Fatalf("%s:%d: %v", file, i+1, err)
			}
			want[i+1] = append(want[i+1], s)
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s has no want comments", file)
	}

	cmd := exec.Command(goTool(t), "build", "-gcflags=-e", "-tags", "samsa_compilefail", "./testdata/compilefail")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("%s compiled; every call in it must fail", file)
	}
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("go build: %v", err)
	}
	pos := regexp.MustCompile(`^(?:\./)?` + regexp.QuoteMeta(file) + `:(\d+):\d+: (.*)$`)
	got := map[int]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := pos.FindStringSubmatch(sc.Text())
		if m == nil {
			if line := sc.Text(); !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "\t") {
				t.Errorf("unexpected output from go build: %s", line)
			}
			continue
		}
		n, _ := strconv.Atoi(m[1])
		got[n] = m[2]
	}
	for line, texts := range want {
		msg, ok := got[line]
		if !ok {
			t.Errorf("%s:%d compiled; want an error naming %q", file, line, texts)
			continue
		}
		// The type given comes first in the message, then the type
		// expected.
		at := 0
		for _, text := range texts {
			i := strings.Index(msg[at:], text)
			if i < 0 {
				t.Errorf("%s:%d: error does not name %q (in that order among %q):\n%s", file, line, text, texts, msg)
				break
			}
			at += i + len(text)
		}
	}
	for line, msg := range got {
		if _, ok := want[line]; !ok {
			t.Errorf("%s:%d: unexpected error: %s", file, line, msg)
		}
	}
}

// goTool returns the go command of the toolchain running the test.
func goTool(t *testing.T) string {
	if root := runtime.GOROOT(); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to compile with: %v", err)
	}
	return p
}
