package dsl_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// The null rules these tests check are those of the package documentation:
// operations that keep the key pass null values on without calling the
// user's function; operations that compute a new key or value from the value
// drop them and count them; a null key reaches functions as the zero key and
// stays null while the key is kept.

// statelessInput is what most stateless tests pipe: two ordinary records
// (the second with a header), a tombstone and a record with a null key.
func statelessInput() []processor.Record[string, string] {
	return []processor.Record[string, string]{
		at("k1", "a b", 10),
		at("k2", "c", 20, header("h", "1")),
		tombstone[string, string]("k3", 30, header("h", "2")),
		keyless[string]("d", 40),
	}
}

func TestKStreamFilter(t *testing.T) {
	for _, not := range []bool{false, true} {
		name := "Filter"
		if not {
			name = "FilterNot"
		}
		t.Run(name, func(t *testing.T) {
			var seen calls
			pred := func(k, v string) bool { seen.add(k, v); return v == "c" || v == "d" }
			b := dsl.NewBuilder()
			s := dsl.Stream(b, "in", serde.String, serde.String)
			if not {
				s = s.FilterNot(pred)
			} else {
				s = s.Filter(pred)
			}
			s.To("out")
			td := newDriver(t, b)
			in := testdriver.InputTopic(td, "in", serde.String, serde.String)
			out := testdriver.OutputTopic(td, "out", serde.String, serde.String)

			in.PipeRecordList(statelessInput())
			// The tombstone passes either way, the predicate unasked; the
			// null key is seen as "" and stays null.
			if not {
				expect(t, out, "k1:a b@10", "k3:<null>@30 h=2")
			} else {
				expect(t, out, "k2:c@20 h=1", "k3:<null>@30 h=2", "<null>:d@40")
			}
			seen.check(t, "k1:a b", "k2:c", ":d")
			expectDropped(t, td, map[string]int64{})
		})
	}
}

func TestKStreamMapValues(t *testing.T) {
	var seen calls
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		MapValues(func(v string) int64 { seen.add("", v); return int64(len(v)) }).
		To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)

	in.PipeRecordList(statelessInput())
	in.PipeInput("k5", "")
	expect(t, out, "k1:3@10", "k2:1@20 h=1", "k3:<null>@30 h=2", "<null>:1@40", "k5:0@0")
	seen.check(t, ":a b", ":c", ":d", ":")
	expectDropped(t, td, map[string]int64{})
}

func TestKStreamFlatMapValues(t *testing.T) {
	var seen calls
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		FlatMapValues(func(v string) []string { seen.add("", v); return strings.Fields(v) }).
		To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.String)

	in.PipeRecordList(statelessInput())
	in.PipeInput("k5", "   ") // no values: no records
	expect(t, out, "k1:a@10", "k1:b@10", "k2:c@20 h=1", "k3:<null>@30 h=2", "<null>:d@40")
	seen.check(t, ":a b", ":c", ":d", ":   ")
	expectDropped(t, td, map[string]int64{})
}

func TestKStreamMap(t *testing.T) {
	var seen calls
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		Map(func(k, v string) (string, int64) { seen.add(k, v); return v, int64(len(k)) }).
		To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.Int64)

	in.PipeRecordList(statelessInput())
	// The tombstone is dropped and counted; the null key is seen as "" and
	// the new key is present.
	expect(t, out, "a b:2@10", "c:2@20 h=1", "d:0@40")
	seen.check(t, "k1:a b", "k2:c", ":d")
	expectDropped(t, td, map[string]int64{"null-value": 1})
}

func TestKStreamFlatMap(t *testing.T) {
	var seen calls
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		FlatMap(func(k, v string) []dsl.KeyValue[string, string] {
			seen.add(k, v)
			var out []dsl.KeyValue[string, string]
			for _, w := range strings.Fields(v) {
				out = append(out, dsl.KV(w, k))
			}
			return out
		}).
		To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.String)

	in.PipeRecordList(statelessInput())
	in.PipeInput("k5", "")
	expect(t, out, "a:k1@10", "b:k1@10", "c:k2@20 h=1", "d:@40")
	seen.check(t, "k1:a b", "k2:c", ":d", "k5:")
	expectDropped(t, td, map[string]int64{"null-value": 1})
}

func TestKStreamSelectKey(t *testing.T) {
	var seen calls
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		SelectKey(func(k, v string) int64 { seen.add(k, v); return int64(len(v)) }).
		To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.Int64, serde.String)

	in.PipeRecordList(statelessInput())
	expect(t, out, "3:a b@10", "1:c@20 h=1", "1:d@40")
	seen.check(t, "k1:a b", "k2:c", ":d")
	expectDropped(t, td, map[string]int64{"null-value": 1})
}

func TestKStreamPeek(t *testing.T) {
	var seen calls
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		Peek(func(k, v string) { seen.add(k, v) }).
		To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.String)

	in.PipeRecordList(statelessInput())
	expect(t, out, "k1:a b@10", "k2:c@20 h=1", "k3:<null>@30 h=2", "<null>:d@40")
	seen.check(t, "k1:a b", "k2:c", ":d")
}

func TestKStreamForeach(t *testing.T) {
	var seen calls
	b := dsl.NewBuilder()
	s := dsl.Stream(b, "in", serde.String, serde.String)
	s.Foreach(func(k, v string) { seen.add(k, v) })
	s.To("out") // a sibling of Foreach still sees every record
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.String)

	in.PipeRecordList(statelessInput())
	seen.check(t, "k1:a b", "k2:c", ":d")
	if n := out.QueueSize(); n != 4 {
		t.Fatalf("sibling sink got %d records, want 4", n)
	}
}

func TestKStreamSplit(t *testing.T) {
	t.Run("named", func(t *testing.T) {
		b := dsl.NewBuilder()
		branches := dsl.Stream(b, "in", serde.String, serde.Int64).
			Split(dsl.Named("sign-")).
			Branch(func(_ string, v int64) bool { return v < 0 }, dsl.Named("negative")).
			Branch(func(_ string, v int64) bool { return v != 0 }, dsl.Named("nonzero")).
			DefaultBranch(dsl.Named("zero"))
		if len(branches) != 3 {
			t.Fatalf("branches = %v, want 3", branches)
		}
		for name, topic := range map[string]string{"sign-negative": "neg", "sign-nonzero": "pos", "sign-zero": "zero"} {
			s, ok := branches[name]
			if !ok {
				t.Fatalf("no branch %q in %v", name, branches)
			}
			if s.Name() != name {
				t.Fatalf("branch %q is produced by %q", name, s.Name())
			}
			s.To(topic)
		}
		td := newDriver(t, b)
		in := testdriver.InputTopic(td, "in", serde.String, serde.Int64)
		neg := testdriver.OutputTopic(td, "neg", serde.String, serde.Int64)
		pos := testdriver.OutputTopic(td, "pos", serde.String, serde.Int64)
		zero := testdriver.OutputTopic(td, "zero", serde.String, serde.Int64)

		in.PipeRecordList([]processor.Record[string, int64]{
			at("a", int64(-3), 1, header("h", "x")), // both first branches accept: the first wins
			at("b", int64(4), 2),
			at("c", int64(0), 3),
			tombstone[string, int64]("d", 4), // no predicate sees a null: default
			keyless[string](int64(5), 5),
		})
		expect(t, neg, "a:-3@1 h=x")
		expect(t, pos, "b:4@2", "<null>:5@5")
		expect(t, zero, "c:0@3", "d:<null>@4")
	})

	t.Run("generated", func(t *testing.T) {
		b := dsl.NewBuilder()
		branches := dsl.Stream(b, "in", serde.String, serde.Int64).
			Split().
			Branch(func(_ string, v int64) bool { return v > 0 }).
			Branch(func(_ string, v int64) bool { return v < 0 }).
			DefaultBranch()
		// Kafka Streams' names: the splitter's, a dash, the branch number,
		// 0 for the default.
		for _, name := range []string{"KSTREAM-BRANCH-0000000001-1", "KSTREAM-BRANCH-0000000001-2", "KSTREAM-BRANCH-0000000001-0"} {
			if _, ok := branches[name]; !ok {
				t.Fatalf("no branch %q in %v", name, branches)
			}
		}
	})

	t.Run("no default branch", func(t *testing.T) {
		var seen calls
		b := dsl.NewBuilder()
		branches := dsl.Stream(b, "in", serde.String, serde.Int64).
			Split(dsl.Named("s-")).
			Branch(func(k string, v int64) bool { seen.add(k, v); return v > 0 }, dsl.Named("pos")).
			NoDefaultBranch()
		if len(branches) != 1 {
			t.Fatalf("branches = %v, want only s-pos", branches)
		}
		branches["s-pos"].To("pos")
		td := newDriver(t, b)
		in := testdriver.InputTopic(td, "in", serde.String, serde.Int64)
		pos := testdriver.OutputTopic(td, "pos", serde.String, serde.Int64)

		in.PipeInput("a", 1)
		in.PipeInput("b", -1) // no branch takes it: dropped
		in.PipeTombstone("c") // null values go to the missing default branch: dropped
		expect(t, pos, "a:1@0")
		seen.check(t, "a:1", "b:-1")
		// Kafka Streams does not count records no branch takes.
		expectDropped(t, td, map[string]int64{})
	})
}

func TestKStreamMerge(t *testing.T) {
	b := dsl.NewBuilder()
	left := dsl.Stream(b, "left", serde.String, serde.String)
	right := dsl.Stream(b, "right", serde.String, serde.String).MapValues(strings.ToUpper)
	left.Merge(right).To("out")
	td := newDriver(t, b)
	l := testdriver.InputTopic(td, "left", serde.String, serde.String)
	r := testdriver.InputTopic(td, "right", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.String)

	l.PipeRecord(at("a", "x", 3, header("from", "left")))
	r.PipeRecord(at("b", "y", 1, header("from", "right")))
	l.PipeRecord(tombstone[string, string]("c", 2))
	r.PipeRecord(keyless[string]("z", 4))
	expect(t, out, "a:x@3 from=left", "b:Y@1 from=right", "c:<null>@2", "<null>:Z@4")
}

func TestStreams(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.Streams(b, []string{"eu", "us"}, serde.String, serde.String).To("all")
	td := newDriver(t, b)
	eu := testdriver.InputTopic(td, "eu", serde.String, serde.String)
	us := testdriver.InputTopic(td, "us", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "all", serde.String, serde.String)

	eu.PipeInput("a", "1")
	us.PipeInput("b", "2")
	eu.PipeInput("c", "3")
	expect(t, out, "a:1@0", "b:2@0", "c:3@0")
}

// metadataTopics is a pass-through processor that records the topic of the
// input record behind each record it sees: after a repartition, that is the
// repartition topic.
func metadataTopics[K, V any](topics *[]string) processor.Supplier[K, V, K, V] {
	return processor.Func[K, V, K, V](func(ctx processor.Context[K, V], rec processor.Record[K, V]) error {
		md, _ := ctx.RecordMetadata()
		*topics = append(*topics, md.Topic)
		return ctx.Forward(rec)
	})
}

func TestKStreamRepartition(t *testing.T) {
	t.Run("named", func(t *testing.T) {
		var topics []string
		b := dsl.NewBuilder()
		dsl.Stream(b, "in", serde.String, serde.String).
			SelectKey(func(_, v string) string { return v }).
			Repartition(dsl.Named("by-value")).
			ProcessValues(metadataTopics[string, string](&topics)).
			To("out")
		td := newDriver(t, b)
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.String, serde.String)

		in.PipeRecord(at("k1", "a", 7, header("h", "1")))
		in.PipeRecord(keyless[string]("b", 8))
		expect(t, out, "a:a@7 h=1", "b:b@8")
		if want := []string{"by-value-repartition", "by-value-repartition"}; !slices.Equal(topics, want) {
			t.Fatalf("records came from %q, want %q", topics, want)
		}
		if q := testdriver.OutputTopic(td, "by-value-repartition", serde.String, serde.String); !q.IsEmpty() {
			t.Fatalf("the repartition topic is visible as output: %q", read(q))
		}
	})

	t.Run("null keys", func(t *testing.T) {
		b := dsl.NewBuilder()
		dsl.Stream(b, "in", serde.String, serde.String).Repartition().To("out")
		td := newDriver(t, b)
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.String, serde.String)

		in.PipeRecordList(statelessInput())
		// A null key cannot be partitioned: the record is dropped before the
		// topic. A null value can.
		expect(t, out, "k1:a b@10", "k2:c@20 h=1", "k3:<null>@30 h=2")
		expectDropped(t, td, map[string]int64{"null-key": 1})
	})

	t.Run("number of partitions", func(t *testing.T) {
		var topics []string
		b := dsl.NewBuilder()
		dsl.Stream(b, "in", serde.String, serde.String).
			Repartition(dsl.Repartitioned[string, string]{}.WithNumberOfPartitions(4)).
			ProcessValues(metadataTopics[string, string](&topics)).
			To("out")
		topo, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		// Source 0, then the repartition's own index.
		const topic = "KSTREAM-REPARTITION-0000000001-repartition"
		if got := internalTopics(topo); !slices.Equal(got, []string{topic + " (4 partitions)"}) {
			t.Fatalf("internal topics = %q", got)
		}
		td := testdriver.New(t, topo, testdriver.WithWallClock(epoch))
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "out", serde.String, serde.String)
		in.PipeInput("k", "v")
		expect(t, out, "k:v@0")
		if !slices.Equal(topics, []string{topic}) {
			t.Fatalf("records came from %q, want %q", topics, topic)
		}
		if q := testdriver.OutputTopic(td, topic, serde.String, serde.String); !q.IsEmpty() {
			t.Fatalf("the repartition topic is visible as output: %q", read(q))
		}
	})
}

type order struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
}

func TestKStreamTo(t *testing.T) {
	b := dsl.NewBuilder()
	s := dsl.Stream(b, "in", serde.String, serde.Int64)
	s.To("carried") // the source's serdes
	s.Map(func(k string, v int64) (string, order) { return k, order{ID: k, Amount: v} }).
		To("orders", dsl.ProducedWith(serde.String, serde.JSON[order]()))
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.Int64)
	carried := testdriver.OutputTopic(td, "carried", serde.String, serde.Int64)
	orders := testdriver.OutputTopic(td, "orders", serde.String, serde.String)

	in.PipeRecord(at("o1", int64(0), 5, header("h", "1")))
	in.PipeRecord(tombstone[string, int64]("o2", 6))
	expect(t, carried, "o1:0@5 h=1", "o2:<null>@6")
	expect(t, orders, `o1:{"id":"o1","amount":0}@5 h=1`)
}

func TestKStreamToDynamic(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.Int64).
		ToDynamic(func(r processor.Record[string, int64]) string {
			if v, ok := r.Header("route"); ok {
				return string(v)
			}
			if r.NullValue || r.Value >= 0 {
				return "positive"
			}
			return "negative"
		})
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.Int64)
	pos := testdriver.OutputTopic(td, "positive", serde.String, serde.Int64)
	neg := testdriver.OutputTopic(td, "negative", serde.String, serde.Int64)
	audit := testdriver.OutputTopic(td, "audit", serde.String, serde.Int64)

	in.PipeRecordList([]processor.Record[string, int64]{
		at("a", int64(1), 1),
		at("b", int64(-1), 2),
		at("c", int64(-2), 3, header("route", "audit")),
		tombstone[string, int64]("d", 4),
	})
	expect(t, pos, "a:1@1", "d:<null>@4")
	expect(t, neg, "b:-1@2")
	expect(t, audit, "c:-2@3 route=audit")
}
