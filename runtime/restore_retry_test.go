package runtime_test

import (
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/runtime"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A restore whose listing of the changelogs' stable offsets fails with an
// error that passes (a partition without a leader for a moment, a broker
// restarting) retries it, as Kafka Streams retries within
// task.timeout.ms, instead of failing the app.
func TestRestoreRetriesListOffsets(t *testing.T) {
	c := testfix.WordCountBroker(t, 1)
	changelog := "wordcount-" + testfix.CountsStore + "-changelog"
	h := c.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.ListOffsets}, Topic: changelog, Err: kerr.LeaderNotAvailable, Count: 3})
	_, done := startApp(t, c, t.TempDir(), runtime.ExactlyOnce())
	lines, want := testfix.Corpus(0, 20)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 30*time.Second)
	select {
	case err := <-done:
		t.Fatalf("Run returned %v", err)
	default:
	}
	if n := h.Hits(); n != 3 {
		t.Fatalf("the fault answered %d listings, want 3", n)
	}
}
