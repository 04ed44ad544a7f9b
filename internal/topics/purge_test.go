package topics

import (
	"context"
	"testing"

	"github.com/samsa-go/samsa/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestPurgeRepartition(t *testing.T) {
	const topic = "app-r-repartition"
	c, adm := newBroker(t, kafkatest.Topics(2, topic))
	ctx := context.Background()
	cl, err := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Value: []byte("v")})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// Partition 1 has offset 0: nothing to purge there.
	if err := PurgeRepartition(ctx, adm, map[string]map[int32]int64{topic: {0: 3, 1: 0}}); err != nil {
		t.Fatal(err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[int32]int64{0: 3, 1: 0} {
		o, ok := starts.Lookup(topic, p)
		if !ok || o.Err != nil || o.Offset != want {
			t.Errorf("partition %d: start offset %d (found %v, err %v), want %d", p, o.Offset, ok, o.Err, want)
		}
	}

	if err := PurgeRepartition(ctx, adm, nil); err != nil {
		t.Fatalf("purging nothing: %v", err)
	}
	if err := PurgeRepartition(ctx, adm, map[string]map[int32]int64{"unknown": {0: 1}}); err == nil {
		t.Fatal("purging an unknown topic did not fail")
	}
}
