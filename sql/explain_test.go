package sql

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateExplain = flag.Bool("update-explain", false, "rewrite testdata/explain/*.txt")

// TestExplainGolden plans each testdata/explain/*.sql and compares the
// topology's description (what EXPLAIN prints) with the .txt beside it.
func TestExplainGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/explain/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile(string(src))
			if err != nil {
				t.Fatal(err)
			}
			got := p.Explain()
			golden := strings.TrimSuffix(f, ".sql") + ".txt"
			if *updateExplain {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update-explain)", err)
			}
			if got != string(want) {
				t.Errorf("EXPLAIN differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}
