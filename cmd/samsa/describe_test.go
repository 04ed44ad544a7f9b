package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/internal/testfix"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testdata/wordcount.json is word count's description as the library
// writes it; describe draws it in each format as the golden files say.
func TestDescribeGolden(t *testing.T) {
	in := filepath.Join("testdata", "wordcount.json")
	data, err := testfix.WordCount(t).DescribeJSON()
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	if *update {
		if err := os.WriteFile(in, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The input is what the library writes today, so the goldens below
	// cannot drift from it.
	if got, err := os.ReadFile(in); err != nil || string(got) != string(data) {
		t.Fatalf("%s is not what DescribeJSON writes (go test -update rewrites it): %v", in, err)
	}
	topo := testfix.WordCount(t)
	for format, lib := range map[string]string{
		"text":    topo.Describe().String(),
		"mermaid": topo.Mermaid(),
		"dot":     topo.DOT(),
		"json":    string(data),
	} {
		t.Run(format, func(t *testing.T) {
			code, out, errOut := samsa(t, "", "describe", "-format", format, in)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			golden := filepath.Join("testdata", "wordcount."+format)
			if format == "json" {
				golden = in
			} else if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("describe -format %s differs from %s:\n%s\nwant\n%s", format, golden, out, want)
			}
			// Drawn from the file, it is what the library draws from the
			// topology itself.
			if out != lib {
				t.Errorf("describe -format %s differs from the library's rendering:\n%s\nwant\n%s", format, out, lib)
			}
		})
	}
	// Standard input is the default, and text the default format.
	code, out, _ := samsa(t, string(data), "describe")
	if code != exitOK || out != topo.Describe().String() {
		t.Errorf("describe < wordcount.json: exit %d\n%s", code, out)
	}
}

func TestDescribeBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"version":9}`), 0o644)
	for _, tc := range []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"missing file", "", []string{"describe", "nope.json"}, exitFail, "nope.json"},
		{"bad version", "", []string{"describe", bad}, exitFail, bad + ": topology: description JSON has version 9"},
		{"not json", "Topologies:", []string{"describe"}, exitFail, "standard input"},
		{"bad format", "", []string{"describe", "-format", "svg", "x.json"}, exitUsage, `-format "svg"`},
		{"two files", "", []string{"describe", "a.json", "b.json"}, exitUsage, "unexpected arguments: b.json"},
		{"json without group", "", []string{"describe", "-json", "a.json"}, exitUsage, "go with -group"},
		{"group with file", "", []string{"describe", "-group", "app", "-brokers", "localhost:1", "a.json"}, exitUsage, "not a topology file"},
		{"group with format", "", []string{"describe", "-group", "app", "-brokers", "localhost:1", "-format", "dot"}, exitUsage, "with -group use -json"},
		{"group without brokers", "", []string{"describe", "-group", "app", "-brokers", ""}, exitUsage, "-brokers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SAMSA_BROKERS", "")
			code, out, errOut := samsa(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit %d and %q on stderr only", code, out, errOut, tc.code, tc.stderr)
			}
		})
	}
}
