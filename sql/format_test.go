package sql

import (
	"math"
	"testing"
)

// Doubles print as Java's Double.toString prints them.
func TestAppendDouble(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{
		{0, "0.0"}, {100, "100.0"}, {0.001, "0.001"}, {1.5e-4, "1.5E-4"}, {1e7, "1.0E7"}, {1e21, "1.0E21"},
		{-2.5e-10, "-2.5E-10"}, {math.MaxFloat64, "1.7976931348623157E308"},
		{math.SmallestNonzeroFloat64, "4.9E-324"}, {-math.SmallestNonzeroFloat64, "-4.9E-324"},
		{math.Inf(1), "Infinity"},
	} {
		if got := string(appendDouble(nil, c.f)); got != c.want {
			t.Errorf("%v: got %s, want %s", c.f, got, c.want)
		}
	}
}
