package dsl_test

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// storeContents reads a whole key-value store of the driver.
func storeContents[K comparable, V any](t *testing.T, td *testdriver.Driver, name string) map[K]V {
	t.Helper()
	it, err := testdriver.KeyValueStore[K, V](td, name).All()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	m := map[K]V{}
	for it.Next() {
		m[it.Key()] = it.Value()
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGroupByKeyCount(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		var topics []string
		b := dsl.NewBuilder()
		counts := dsl.Stream(b, "in", serde.String, serde.String).
			GroupByKey().
			Count(dsl.MaterializedAs[string, int64]("counts"))
		if counts.StoreName() != "counts" {
			t.Fatalf("StoreName = %q", counts.StoreName())
		}
		counts.ToStream().
			ProcessValues(metadataTopics[string, int64](&topics)).
			To("out", dsl.ProducedWith(serde.String, serde.Int64))
		td := newDriver(t, b, opts...)
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)

		in.PipeRecordList([]processor.Record[string, string]{
			at("a", "x", 1, header("h", "1")),
			at("b", "x", 2),
			at("a", "", 3), // an empty value counts
			tombstone[string, string]("a", 4),
			keyless[string]("x", 5),
		})
		// Updates carry the timestamp and headers of the record that caused
		// them.
		expect(t, out, "a:1@1 h=1", "b:1@2", "a:2@3")
		expectDropped(t, td, map[string]int64{"null-key": 1, "null-value": 1})
		// The key was not changed: no repartition topic.
		if !slices.Equal(topics, []string{"in", "in", "in"}) {
			t.Fatalf("count read from %q", topics)
		}
		if got := storeContents[string, int64](t, td, "counts"); !maps.Equal(got, map[string]int64{"a": 2, "b": 1}) {
			t.Fatalf("store = %v", got)
		}
	})
}

func TestGroupByKeyAfterKeyChange(t *testing.T) {
	var topics []string
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		SelectKey(func(_, v string) string { return v }).
		GroupByKey(dsl.Named("by-value")).
		Count().
		ToStream().
		ProcessValues(metadataTopics[string, int64](&topics)).
		To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)

	in.PipeRecord(at("k1", "a", 1, header("h", "1")))
	in.PipeRecord(at("k2", "a", 2))
	expect(t, out, "a:1@1 h=1", "a:2@2")
	if !slices.Equal(topics, []string{"by-value-repartition", "by-value-repartition"}) {
		t.Fatalf("count read from %q, want by-value-repartition", topics)
	}
	if q := testdriver.OutputTopic(td, "by-value-repartition", serde.String, serde.String); !q.IsEmpty() {
		t.Fatalf("the repartition topic is visible as output: %q", read(q))
	}
}

func TestGroupByKeyReduce(t *testing.T) {
	var seen calls
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		GroupByKey().
		Reduce(func(agg, v string) string { seen.add(agg, v); return agg + "," + v }, dsl.MaterializedAs[string, string]("joined")).
		ToStream().
		To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.String)

	in.PipeRecordList([]processor.Record[string, string]{
		at("a", "x", 1),
		at("a", "y", 2, header("h", "1")),
		at("b", "z", 3),
		tombstone[string, string]("a", 4),
		keyless[string]("w", 5),
		at("a", "", 6),
	})
	// The first value of a key is taken as it is, without the reducer.
	expect(t, out, "a:x@1", "a:x,y@2 h=1", "b:z@3", "a:x,y,@6")
	seen.check(t, "x:y", "x,y:")
	expectDropped(t, td, map[string]int64{"null-key": 1, "null-value": 1})
	if got := storeContents[string, string](t, td, "joined"); !maps.Equal(got, map[string]string{"a": "x,y,", "b": "z"}) {
		t.Fatalf("store = %v", got)
	}
}

func TestGroupByKeyAggregate(t *testing.T) {
	var inits int
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		GroupByKey().
		Aggregate(
			func() int64 { inits++; return 100 },
			func(_ string, v string, agg int64) int64 { return agg + int64(len(v)) },
			dsl.MaterializedAs[string, int64]("lengths"),
		).
		ToStream().
		To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)

	in.PipeRecordList([]processor.Record[string, string]{
		at("a", "xyz", 1),
		at("b", "", 2),
		at("a", "w", 3, header("h", "1")),
		tombstone[string, string]("b", 4),
	})
	expect(t, out, "a:103@1", "b:100@2", "a:104@3 h=1")
	if inits != 2 {
		t.Fatalf("initializer called %d times, want once per key", inits)
	}
	expectDropped(t, td, map[string]int64{"null-value": 1})
}

// TestAggregateStructValue checks an aggregate of a type with no built-in
// serde, given with Materialized.
func TestAggregateStructValue(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.Int64).
		GroupByKey().
		Aggregate(
			func() order { return order{} },
			func(k string, v int64, agg order) order { return order{ID: k, Amount: agg.Amount + v} },
			dsl.MaterializedAs[string, order]("totals").WithValueSerde(serde.JSON[order]()),
		).
		ToStream().
		To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.Int64)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.String)
	in.PipeInput("o", 2)
	in.PipeInput("o", 3)
	expect(t, out, `o:{"id":"o","amount":2}@0`, `o:{"id":"o","amount":5}@0`)
}

func TestGroupBy(t *testing.T) {
	var topics []string
	var seen calls
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		GroupBy(func(k, v string) string { seen.add(k, v); return v }, dsl.GroupedWith(serde.String, serde.String)).
		Count().
		ToStream().
		ProcessValues(metadataTopics[string, int64](&topics)).
		To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)

	in.PipeRecordList([]processor.Record[string, string]{
		at("k1", "red", 1, header("h", "1")),
		keyless[string]("red", 2), // the key comes from the value: counted
		tombstone[string, string]("k3", 3),
		at("k4", "blue", 4),
	})
	expect(t, out, "red:1@1 h=1", "red:2@2", "blue:1@4")
	seen.check(t, "k1:red", ":red", "k4:blue")
	expectDropped(t, td, map[string]int64{"null-value": 1})
	// Source 0, key selector 1, store 2: the topic is named after the store.
	const topic = "KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition"
	if !slices.Equal(topics, []string{topic, topic, topic}) {
		t.Fatalf("count read from %q, want %s", topics, topic)
	}
	if q := testdriver.OutputTopic(td, topic, serde.String, serde.String); !q.IsEmpty() {
		t.Fatalf("the repartition topic is visible as output: %q", read(q))
	}
}

// TestKafkaStreamsAggregatingExample reproduces, record for record, the
// "Example of semantics for stream aggregations" (KGroupedStream → KTable)
// of the Kafka Streams developer guide:
// https://kafka.apache.org/documentation/streams/developer-guide/dsl-api.html#aggregating
//
//	KGroupedStream<String, Integer> groupedStream = wordCounts
//	    .groupByKey(Grouped.with(Serdes.String(), Serdes.Integer()));
//	KTable<String, Integer> aggregated = groupedStream.aggregate(
//	    () -> 0, (aggKey, newValue, aggValue) -> aggValue + newValue,
//	    Materialized.as("aggregated-stream-store")...);
//
// The guide's table shows every state change (record caches disabled), which
// is what the test driver forwards.
func TestKafkaStreamsAggregatingExample(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.Stream(b, "word-counts", serde.String, serde.Int32).
		GroupByKey(dsl.GroupedWith(serde.String, serde.Int32)).
		Aggregate(
			func() int32 { return 0 },
			func(_ string, newValue, aggValue int32) int32 { return aggValue + newValue },
			dsl.MaterializedAs[string, int32]("aggregated-stream-store").WithKeySerde(serde.String).WithValueSerde(serde.Int32),
		).
		ToStream().
		To("aggregated")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "word-counts", serde.String, serde.Int32)
	out := testdriver.OutputTopic(td, "aggregated", serde.String, serde.Int32)

	steps := []struct {
		ts     int64
		input  dsl.KeyValue[string, int32]
		update string
		state  map[string]int32
	}{
		{1, dsl.KV("hello", int32(1)), "hello:1@1", map[string]int32{"hello": 1}},
		{2, dsl.KV("kafka", int32(1)), "kafka:1@2", map[string]int32{"hello": 1, "kafka": 1}},
		{3, dsl.KV("streams", int32(1)), "streams:1@3", map[string]int32{"hello": 1, "kafka": 1, "streams": 1}},
		{4, dsl.KV("kafka", int32(1)), "kafka:2@4", map[string]int32{"hello": 1, "kafka": 2, "streams": 1}},
		{5, dsl.KV("kafka", int32(1)), "kafka:3@5", map[string]int32{"hello": 1, "kafka": 3, "streams": 1}},
		{6, dsl.KV("streams", int32(1)), "streams:2@6", map[string]int32{"hello": 1, "kafka": 3, "streams": 2}},
	}
	for _, s := range steps {
		in.PipeRecord(at(s.input.Key, s.input.Value, s.ts))
		expect(t, out, s.update)
		if got := storeContents[string, int32](t, td, "aggregated-stream-store"); !maps.Equal(got, s.state) {
			t.Fatalf("after timestamp %d the table is %v, want %v", s.ts, got, s.state)
		}
	}
}

// TestAggregationNulls checks that aggregations drop, and count, records
// with a null key or a null value, on every path to the aggregation.
func TestAggregationNulls(t *testing.T) {
	pass := processor.Func[string, string, string, string](func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		return ctx.Forward(rec)
	})
	aggregations := map[string]func(dsl.KGroupedStream[string, string]) dsl.KTable[string, int64]{
		"count": func(g dsl.KGroupedStream[string, string]) dsl.KTable[string, int64] { return g.Count() },
		"reduce": func(g dsl.KGroupedStream[string, string]) dsl.KTable[string, int64] {
			return g.Reduce(func(a, v string) string { return a + v }).MapValues(func(v string) int64 { return int64(len(v)) })
		},
		"aggregate": func(g dsl.KGroupedStream[string, string]) dsl.KTable[string, int64] {
			return g.Aggregate(func() int64 { return 0 }, func(_ string, v string, n int64) int64 { return n + int64(len(v)) })
		},
	}
	paths := map[string]struct {
		group func(dsl.KStream[string, string]) dsl.KGroupedStream[string, string]
		// dropped is what the path counts for one keyless record and one
		// tombstone.
		dropped map[string]int64
	}{
		"GroupByKey": {
			func(s dsl.KStream[string, string]) dsl.KGroupedStream[string, string] { return s.GroupByKey() },
			map[string]int64{"null-key": 1, "null-value": 1},
		},
		// Process may change keys: the null key is dropped before the
		// repartition topic, the tombstone by the aggregation after it.
		"Process+GroupByKey": {
			func(s dsl.KStream[string, string]) dsl.KGroupedStream[string, string] {
				return s.Process(pass).GroupByKey()
			},
			map[string]int64{"null-key": 1, "null-value": 1},
		},
		// GroupBy computes the key from the value: a null key does not
		// matter; a null value is dropped by the key selector.
		"GroupBy": {
			func(s dsl.KStream[string, string]) dsl.KGroupedStream[string, string] {
				return s.GroupBy(func(k, v string) string { return "g" })
			},
			map[string]int64{"null-value": 1},
		},
	}
	for aggName, agg := range aggregations {
		for pathName, path := range paths {
			t.Run(pathName+"/"+aggName, func(t *testing.T) {
				b := dsl.NewBuilder()
				agg(path.group(dsl.Stream(b, "in", serde.String, serde.String))).ToStream().To("out")
				td := newDriver(t, b)
				in := testdriver.InputTopic(td, "in", serde.String, serde.String)
				out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)

				in.PipeRecord(keyless[string]("abc", 1))
				in.PipeRecord(tombstone[string, string]("g", 2))
				in.PipeRecord(at("g", "de", 3))
				got := read(out)
				want := []string{"g:2@3"}
				if pathName == "GroupBy" { // the keyless record counts too
					want = []string{"g:3@1", "g:5@3"}
					if aggName == "count" {
						want = []string{"g:1@1", "g:2@3"}
					}
				} else if aggName == "count" {
					want = []string{"g:1@3"}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("output %q, want %q", got, want)
				}
				expectDropped(t, td, path.dropped)
			})
		}
	}
}

// TestZeroIsNotNull checks that an empty or zero value stays a value, end
// to end, through tables, stores, aggregations and sinks: only a Kafka null
// deletes or is dropped. Outputs are read as raw bytes, where a null is nil
// and a value is not.
func TestZeroIsNotNull(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		dsl.Table(b, "profiles", serde.String, serde.String, dsl.MaterializedAs[string, string]("profiles")).
			ToStream().
			To("profile-updates")
		dsl.Stream(b, "amounts", serde.String, serde.Int64).
			GroupByKey().
			Aggregate(func() int64 { return 0 }, func(_ string, v, sum int64) int64 { return sum + v }, dsl.MaterializedAs[string, int64]("sums")).
			ToStream().
			To("sums")
		dsl.Stream(b, "words", serde.String, serde.String).
			GroupByKey().
			Reduce(func(a, v string) string { return a + v }, dsl.MaterializedAs[string, string]("concat")).
			ToStream().
			To("concat")
		td := newDriver(t, b, opts...)

		value := func(out *testdriver.TestOutputTopic[string, []byte], want []byte) {
			t.Helper()
			r := out.ReadRecord()
			if r.NullValue || !bytes.Equal(r.Value, want) {
				t.Fatalf("%s: value %x (null %v), want %x", r.Key, r.Value, r.NullValue, want)
			}
		}

		profiles := testdriver.InputTopic(td, "profiles", serde.String, serde.String)
		updates := testdriver.OutputTopic(td, "profile-updates", serde.String, serde.Bytes)
		profiles.PipeInput("alice", "")
		value(updates, []byte{})
		store := testdriver.KeyValueStore[string, string](td, "profiles")
		if v, ok, err := store.Get("alice"); err != nil || !ok || v != "" {
			t.Fatalf(`profiles["alice"] = %q, %v, %v; want "", true`, v, ok, err)
		}
		profiles.PipeTombstone("alice")
		if r := updates.ReadRecord(); !r.NullValue || r.Value != nil {
			t.Fatalf("a tombstone came out as %x (null %v)", r.Value, r.NullValue)
		}
		if _, ok, _ := store.Get("alice"); ok {
			t.Fatal("the tombstone left the row in the store")
		}

		amounts := testdriver.InputTopic(td, "amounts", serde.String, serde.Int64)
		sums := testdriver.OutputTopic(td, "sums", serde.String, serde.Bytes)
		zero := make([]byte, 8) // Java's Long 0
		amounts.PipeInput("a", 0)
		value(sums, zero)
		amounts.PipeInput("a", 5)
		value(sums, []byte{0, 0, 0, 0, 0, 0, 0, 5})
		amounts.PipeInput("a", -5)
		value(sums, zero)
		if n, ok, err := testdriver.KeyValueStore[string, int64](td, "sums").Get("a"); err != nil || !ok || n != 0 {
			t.Fatalf(`sums["a"] = %d, %v, %v; want 0, true`, n, ok, err)
		}

		words := testdriver.InputTopic(td, "words", serde.String, serde.String)
		concat := testdriver.OutputTopic(td, "concat", serde.String, serde.Bytes)
		words.PipeInput("w", "")
		value(concat, []byte{})
		words.PipeInput("w", "")
		value(concat, []byte{})
		if v, ok, err := testdriver.KeyValueStore[string, string](td, "concat").Get("w"); err != nil || !ok || v != "" {
			t.Fatalf(`concat["w"] = %q, %v, %v; want "", true`, v, ok, err)
		}
		expectDropped(t, td, map[string]int64{})
	})
}
