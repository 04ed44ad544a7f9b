package runtime

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The pool hands out slices at least as large as asked, takes back only
// slices of a size it pools, and gives back what it took.
func TestRecordPool(t *testing.T) {
	var p recordPool
	for _, n := range []int{1, 15, 16, 17, 1000, 1 << maxRecordClass, 1<<maxRecordClass + 1} {
		if s := p.GetRecords(n); cap(s) < n {
			t.Errorf("GetRecords(%d): capacity %d", n, cap(s))
		}
	}
	s := p.GetRecords(100)
	if cap(s) != 128 {
		t.Fatalf("GetRecords(100): capacity %d, want 128", cap(s))
	}
	p.PutRecords(s[:3])
	// sync.Pool may drop what it was given (it does at random under the
	// race detector): only a slice it returns is checked.
	if got := p.GetRecords(65); cap(got) < 65 {
		t.Fatalf("GetRecords(65) after a put: capacity %d", cap(got))
	} else if &got[0] == &s[0] && len(got) != 128 {
		t.Fatalf("a slice taken back has length %d, want its full 128", len(got))
	}
	// A slice of no pooled size (franz-go grew one it got) is not taken
	// into a class it does not fill.
	p.PutRecords(make([]kgo.Record, 100))
	if got := p.GetRecords(128); cap(got) < 128 {
		t.Fatalf("GetRecords(128): capacity %d", cap(got))
	}
}
