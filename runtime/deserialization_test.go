package runtime_test

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kgo"
)

// copyLongs copies "longs" to "longs-out", reading values as Java longs.
func copyLongs(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	dsl.Stream(b, "longs", serde.String, serde.Int64).To("longs-out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func produceRaw(t testing.TB, c *kafkatest.Broker, topic string, values ...[]byte) {
	t.Helper()
	cl, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, v := range values {
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Key: []byte("k"), Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func long(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

// A record the source serdes cannot read fails the app, unless
// DeserializationHandler(processor.LogAndContinue) drops it, as the test
// driver with WithDeserializationHandler does.
func TestDeserializationError(t *testing.T) {
	t.Run("fail", func(t *testing.T) {
		c := kafkatest.NewBroker(t, kafkatest.Topics(1, "longs", "longs-out"))
		produceRaw(t, c, "longs", []byte("not a long"))
		_, done := runApp(t, c, copyLongs(t), t.TempDir(), runtime.ApplicationID("longs"))
		select {
		case err := <-done:
			if err == nil || !errors.Is(err, serde.ErrDeserialize) {
				t.Fatalf("Run = %v, want an error matching serde.ErrDeserialize", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the app goes on after a record it cannot read")
		}
	})
	t.Run("continue", func(t *testing.T) {
		c := kafkatest.NewBroker(t, kafkatest.Topics(1, "longs", "longs-out"))
		produceRaw(t, c, "longs", long(1), []byte("not a long"), long(2))
		runApp(t, c, copyLongs(t), t.TempDir(), runtime.ApplicationID("longs"), runtime.DeserializationHandler(processor.LogAndContinue))
		got := newReader(t, c, "longs-out").readN(2, 30*time.Second)
		if want := []string{string(long(1)), string(long(2))}; !slices.Equal(got, want) {
			t.Fatalf("longs-out %q, want %q", got, want)
		}
	})
}
