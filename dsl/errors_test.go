package dsl_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
)

// stutter matches two package prefixes in a row.
var stutter = regexp.MustCompile(`\b(dsl|topology|engine|testdriver|runtime|processor|serde|state): (dsl|topology|engine|testdriver|runtime|processor|serde|state): `)

// checkPrefixes checks that every line of msg starts with one package
// prefix from want, not followed by another.
func checkPrefixes(t *testing.T, msg string, want ...string) {
	t.Helper()
	for _, line := range strings.Split(msg, "\n") {
		ok := false
		for _, w := range want {
			if strings.HasPrefix(line, w+": ") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("line does not start with one of %q: %s", want, line)
		}
		if m := stutter.FindString(line); m != "" {
			t.Errorf("line stutters (%q): %s", m, line)
		}
	}
}

// TestBuildErrorsDoNotStutter checks that each mistake Build reports starts
// with the prefix of the package that found it, once.
func TestBuildErrorsDoNotStutter(t *testing.T) {
	b := dsl.NewBuilder()
	s := dsl.Stream(b, "in", serde.String, serde.String)
	s.Filter(func(_, v string) bool { return true }, dsl.Named("twice")).To("a")
	s.Filter(func(_, v string) bool { return true }, dsl.Named("twice")).To("b")
	s.MapValues(func(v string) region { return region{Name: v} }).To("regions")
	s.GroupBy(func(_, v string) region { return region{Name: v} }).Count()
	s.To("c", dsl.Produced[string, string](dsl.MaterializedAs[string, string]("x")))
	_, err := b.Build()
	if err == nil {
		t.Fatal("Build succeeded")
	}
	t.Log(err)
	checkPrefixes(t, err.Error(), "dsl", "topology")
	for _, want := range []string{"topology: duplicate name", "topology: missing serde", "dsl: missing serde", "dsl: To"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Build error has no %q:\n%v", want, err)
		}
	}
}

type brokenSerde struct{ serde.Serde[string] }

var errBroken = errors.New("broken on purpose")

func (brokenSerde) Deserialize(string, []byte) (string, error) { return "", errBroken }

// TestSerdeErrorsMatch checks that a serde failing on a source record,
// built in or not, gives an error that matches serde.ErrDeserialize and the
// serde's own error, locates the record, and reads without stutter.
func TestSerdeErrorsMatch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		vs    serde.Serde[string]
		cause error
	}{
		{"built in", nil, serde.ErrSize},
		{"user serde", brokenSerde{serde.String}, errBroken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			if tc.vs == nil {
				dsl.Stream(b, "in", serde.String, serde.Int64).To("out")
			} else {
				dsl.Stream(b, "in", serde.String, tc.vs).To("out")
			}
			td := newDriver(t, b)
			in := testdriver.InputTopic(td, "in", serde.String, serde.String)
			err := in.TryPipeRecord(at("k", "abc", 1))
			var pe *processor.Error
			if !errors.As(err, &pe) || pe.Topic != "in" || pe.Node != "KSTREAM-SOURCE-0000000000" {
				t.Fatalf("error = %v, want a processor.Error at the source", err)
			}
			if !errors.Is(err, serde.ErrDeserialize) || !errors.Is(err, tc.cause) {
				t.Fatalf("error %v does not match serde.ErrDeserialize and %v", err, tc.cause)
			}
			if !strings.Contains(err.Error(), "cannot deserialize value: ") {
				t.Errorf("error does not say what failed: %v", err)
			}
			checkPrefixes(t, err.Error(), "processor")
		})
	}
}

// fatalT stands in for a *testing.T whose Fatalf stops the caller, to read
// what the test driver fails a test with.
type fatalT struct {
	testing.TB
	msg string
}

func (*fatalT) Helper()        {}
func (*fatalT) Cleanup(func()) {}
func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

// TestRunnersDoNotStutter checks that the test driver and the runtime
// report a topology that does not build with Build's error as it is.
func TestRunnersDoNotStutter(t *testing.T) {
	var ft fatalT
	func() {
		defer func() {
			if r := recover(); r != nil && r != any(&ft) {
				panic(r)
			}
		}()
		testdriver.New(&ft, topology.New())
	}()
	if ft.msg == "" {
		t.Fatal("the test driver started an empty topology")
	}
	checkPrefixes(t, ft.msg, "topology")

	_, err := runtime.New(topology.New(), runtime.ApplicationID("app"), runtime.Brokers("localhost:9092"))
	if err == nil {
		t.Fatal("the runtime accepted an empty topology")
	}
	if !errors.Is(err, topology.ErrEmpty) {
		t.Errorf("%v does not match topology.ErrEmpty", err)
	}
	checkPrefixes(t, err.Error(), "topology")
}
