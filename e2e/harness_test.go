package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/harness"
	"github.com/samsa-go/samsa/internal/testfix"
)

// The crash harness's short at-least-once form on the real broker: three
// processes killed, paused and restarted while input flows, then every
// output checked against the input. Session timeouts are Kafka's minimum
// (group.min.session.timeout.ms, 6s), not the 3s the kfake runs use.
func TestHarnessAtLeastOnce(t *testing.T) {
	brokers := cluster(t)
	if testing.Short() {
		t.Skip("e2e: runs the application under chaos for 20 seconds")
	}
	// The harness's topics have fixed names, and what is left in them from
	// an earlier run would fail its checks: it needs them new.
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, 4, -1, nil, harness.Topics()...)
	cancel()
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil {
			t.Skipf("e2e: the harness needs its topics new, and %s cannot be created on this cluster: %v", r.Topic, r.Err)
		}
	}

	bin := filepath.Join(t.TempDir(), "app")
	if err := testfix.BuildBinary("github.com/samsa-go/samsa/harness/app", bin); err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r, err := harness.Run(t.Context(), harness.Config{
		Binary:           bin,
		Brokers:          brokers,
		Dir:              t.TempDir(),
		AppID:            runID + "-harness",
		Guarantee:        harness.AtLeastOnce,
		Instances:        3,
		CommitInterval:   time.Second,
		SessionTimeout:   6 * time.Second,
		RebalanceTimeout: 10 * time.Second,
		Chaos:            harness.ChaosConfig{Duration: 20 * time.Second, MinKills: 3, Seed: seed},
		Generator:        harness.Generator{Keys: 20, Batch: 10, Interval: 50 * time.Millisecond, Seed: seed},
		DrainTimeout:     2 * time.Minute,
		Logf:             t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", r)
	if r.Kills < 3 || r.Records == 0 {
		t.Errorf("%d kills and %d records; want at least 3 kills and some input", r.Kills, r.Records)
	}
	if len(r.Violations) > 0 {
		t.Errorf("%d at-least-once violations (seed %d); process logs: %s", len(r.Violations), seed, strings.Join(r.Logs, " "))
	}
}
