package topics

import (
	"context"
	"testing"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

// TestSetupAppliesDeclaredConfigs declares a repartition topic with the
// processor API, with a config of its own and one over a default, and
// checks that the topic is created with both and the other default.
func TestSetupAppliesDeclaredConfigs(t *testing.T) {
	_, adm := newBroker(t, kafkatest.Topics(2, "in"))
	topo := topology.New().
		AddSource("read", serde.String, serde.String, "in").
		AddSink("to-r", "r", serde.String, serde.String, "read").
		AddRepartitionTopic(topology.RepartitionTopic{Name: "r", Configs: map[string]string{"retention.ms": "3600000", "segment.bytes": "1048576"}}).
		AddSource("read-r", serde.String, serde.String, "r").
		AddSink("write", "out", serde.String, serde.String, "read-r")
	if err := topo.Build(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := Setup(ctx, adm, engine.GraphOf(topo), "app", opts); err != nil {
		t.Fatal(err)
	}
	configs, err := adm.DescribeTopicConfigs(ctx, "app-r")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := configs.On("app-r", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range rc.Configs {
		if c.Value != nil {
			got[c.Key] = *c.Value
		}
	}
	for k, want := range map[string]string{"cleanup.policy": "delete", "retention.ms": "3600000", "segment.bytes": "1048576"} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
}
