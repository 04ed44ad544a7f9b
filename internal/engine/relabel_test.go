package engine

import (
	"errors"
	"fmt"
	"testing"

	"github.com/samsa-go/samsa/state"
)

func TestRelabelInternalPrefixes(t *testing.T) {
	cause := fmt.Errorf("engine: task 0_1: open store %q: %w", "counts", state.ErrStorage)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{cause, `runtime: task 0_1: open store "counts": ` + state.ErrStorage.Error()},
		{fmt.Errorf("runtime: %w", cause), `runtime: task 0_1: open store "counts": ` + state.ErrStorage.Error()},
		{errors.New("topics: no broker answered"), "runtime: no broker answered"},
		{errors.New("runtime: thread t0: begin transaction: closed"), "runtime: thread t0: begin transaction: closed"},
		{errors.New("processor: task 0_1, node \"count\": boom"), "processor: task 0_1, node \"count\": boom"},
	} {
		got := Relabel("runtime", tc.err)
		if got.Error() != tc.want {
			t.Errorf("Relabel(%q) = %q, want %q", tc.err, got, tc.want)
		}
		if !errors.Is(got, tc.err) {
			t.Errorf("Relabel(%q) does not wrap it", tc.err)
		}
	}
	if got := Relabel("testdriver", cause).Error(); got != `testdriver: task 0_1: open store "counts": `+state.ErrStorage.Error() {
		t.Errorf("for the driver: %q", got)
	}
	if !errors.Is(Relabel("runtime", cause), state.ErrStorage) {
		t.Error("a relabeled error no longer matches its cause")
	}
	if Relabel("runtime", nil) != nil {
		t.Error("Relabel(nil) is not nil")
	}
}
