package topology_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
)

// handWordCount builds, with the processor API only, the topology that
// wordCount builds with the DSL: the same nodes, names, stores and
// repartition topic.
func handWordCount() *topology.Topology {
	t := topology.New()
	// Names are generated in the DSL's order; a named repartition still
	// uses up the indices of its three nodes.
	source, split, selectKey := t.NewName("KSTREAM-SOURCE"), t.NewName("KSTREAM-FLATMAPVALUES"), t.NewName("KSTREAM-KEY-SELECT")
	count := t.NewName("KSTREAM-AGGREGATE")
	t.NewName("KSTREAM-SINK")
	t.NewName("KSTREAM-FILTER")
	t.NewName("KSTREAM-SOURCE")
	toStream, sink := t.NewName("KTABLE-TOSTREAM"), t.NewName("KSTREAM-SINK")

	const topic, store = "counts-store-repartition", "counts-store"
	t.AddSource(source, serde.String, serde.String, "streams-plaintext-input")
	t.AddProcessor(split, processor.Func[string, string, string, string](func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		for _, w := range strings.Fields(strings.ToLower(rec.Value)) {
			if err := ctx.Forward(rec.WithValue(w)); err != nil {
				return err
			}
		}
		return nil
	}), source)
	t.AddProcessor(selectKey, processor.Func[string, string, string, string](func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		return ctx.Forward(rec.WithKey(rec.Value))
	}), split)
	t.AddProcessor(topic+"-filter", processor.Func[string, string, string, string](func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		if rec.NullKey {
			ctx.DropRecord(processor.DropNullKey)
			return nil
		}
		return ctx.Forward(rec)
	}), selectKey)
	t.AddSink(topic+"-sink", topic, serde.String, serde.String, topic+"-filter")
	t.AddRepartitionTopic(topology.RepartitionTopic{Name: topic})
	t.AddSource(topic+"-source", serde.String, serde.String, topic)
	t.AddProcessor(count, processor.SupplierFunc[string, string, string, int64](func() processor.Processor[string, string, string, int64] {
		return &counter{store: store}
	}), topic+"-source")
	t.AddStateStore(state.KeyValueStoreBuilder(store, serde.String, serde.Int64), count)
	t.AddProcessor(toStream, processor.Func[string, int64, string, int64](func(ctx processor.Context[string, int64], rec processor.Record[string, int64]) error {
		return ctx.Forward(rec)
	}), count)
	t.AddSink(sink, "streams-wordcount-output", serde.String, serde.Int64, toStream)
	return t
}

type counter struct {
	store string
	ctx   processor.Context[string, int64]
	kv    *state.KeyValueStore[string, int64]
}

func (c *counter) Init(ctx processor.Context[string, int64]) (err error) {
	c.ctx = ctx
	c.kv, err = state.GetKeyValueStore[string, int64](ctx, c.store)
	return err
}

func (c *counter) Process(rec processor.Record[string, string]) error {
	n, _, err := c.kv.Get(rec.Key)
	if err == nil {
		err = c.kv.Put(rec.Key, n+1)
	}
	if err != nil {
		return err
	}
	return c.ctx.Forward(rec.WithValue(n + 1))
}

func (c *counter) Close() error { return nil }

// TestProcessorAPIBuildsWhatTheDSLBuilds checks that the processor API
// reaches everything the DSL uses: the hand-built word count describes as
// the DSL's does, declares the same repartition topic, and counts the same.
func TestProcessorAPIBuildsWhatTheDSLBuilds(t *testing.T) {
	hand, viaDSL := handWordCount(), wordCount(t)
	if err := hand.Build(); err != nil {
		t.Fatal(err)
	}
	if got, want := hand.Describe().String(), viaDSL.Describe().String(); got != want {
		t.Fatalf("hand-built:\n%s\nDSL:\n%s", got, want)
	}
	if got, want := hand.RepartitionTopics(), viaDSL.RepartitionTopics(); !slices.EqualFunc(got, want, func(a, b topology.RepartitionTopic) bool {
		return a.Name == b.Name && a.Partitions == b.Partitions && len(a.Configs) == len(b.Configs)
	}) {
		t.Fatalf("repartition topics: hand-built %v, DSL %v", got, want)
	}
	var outputs [][]string
	for _, topo := range []*topology.Topology{hand, viaDSL} {
		td := testdriver.New(t, topo, testdriver.WithWallClock(time.UnixMilli(0)))
		in := testdriver.InputTopic(td, "streams-plaintext-input", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "streams-wordcount-output", serde.String, serde.Int64)
		in.PipeValue("Hello Kafka hello")
		in.PipeValue("streams")
		var got []string
		for _, kv := range out.ReadKeyValuesToList() {
			got = append(got, kv.Key+"="+strconv.FormatInt(kv.Value, 10))
		}
		outputs = append(outputs, got)
	}
	if !slices.Equal(outputs[0], outputs[1]) || len(outputs[0]) != 4 {
		t.Fatalf("hand-built counts %q, DSL counts %q", outputs[0], outputs[1])
	}
}
