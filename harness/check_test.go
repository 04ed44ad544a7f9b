package harness

import (
	"strings"
	"testing"

	"github.com/samsa-go/samsa/serde"
)

// The checks must catch what they are for; these tests feed them outputs
// computed from an input, then spoiled on purpose.

func testInput() *Input {
	in := newInput(3)
	// Values are seq*3+i, as the generator writes them.
	for seq := 1; seq <= 6; seq++ {
		for i, k := range in.Keys {
			in.Values[k] = append(in.Values[k], int64(seq*3+i))
		}
	}
	return in
}

// partitionOf keeps every key in one partition, as a real partitioner does.
func partitionOf(k string) int32 { return int32(len(k)+int(k[len(k)-1])) % 4 }

// truth computes what an exactly-once application writes for in, in a
// processing order that interleaves keys.
func truth(in *Input) map[string][]Record {
	out := map[string][]Record{}
	offs := map[string]int64{}
	add := func(topic, key string, value []byte) {
		out[topic] = append(out[topic], Record{Key: key, Value: value, Partition: partitionOf(key), Offset: offs[topic]})
		offs[topic]++
	}
	aggs := map[string]Agg{}
	sums := map[string]SumCount{}
	for seq := 0; seq < 6; seq++ {
		for _, k := range in.Keys {
			v := in.Values[k][seq]
			b, _ := serde.Int64.Serialize(nil, "echo", v)
			add("echo", k, b)
			aggs[k] = aggs[k].add(v)
			b, _ = aggSerde.Serialize(nil, "agg", aggs[k])
			add("agg", k, b)
			nk := rekey(v)
			sums[nk] = SumCount{Sum: sums[nk].Sum + v, Count: sums[nk].Count + 1}
			b, _ = sumCountSerde.Serialize(nil, "agg-rekeyed", sums[nk])
			add("agg-rekeyed", nk, b)
		}
	}
	return out
}

func check(in *Input, topic string, recs []Record, g Guarantee) ([]string, int) {
	for _, o := range Outputs {
		if o.Topic == topic {
			f := &findings{prefix: topic + ": "}
			d := o.Check(f, in, byKey(f, recs), g)
			return f.result(), d
		}
	}
	panic("no output " + topic)
}

// dup repeats the i-th record of key k at the end of the topic, as a
// reprocessed record would appear.
func dup(recs []Record, key string, i int) []Record {
	n := 0
	for _, r := range recs {
		if r.Key == key {
			if n == i {
				return append(append([]Record(nil), recs...), r)
			}
			n++
		}
	}
	panic("no such record")
}

func drop(recs []Record, key string, i int) []Record {
	var out []Record
	n := 0
	for _, r := range recs {
		if r.Key == key {
			if n == i {
				n++
				continue
			}
			n++
		}
		out = append(out, r)
	}
	return out
}

func TestChecksPassTheTruth(t *testing.T) {
	in := testInput()
	for topic, recs := range truth(in) {
		for _, g := range []Guarantee{ExactlyOnce, AtLeastOnce} {
			if v, d := check(in, topic, recs, g); len(v) > 0 || d != 0 {
				t.Errorf("%s under %s: violations %q, %d duplicates", topic, g, v, d)
			}
		}
	}
}

func TestChecksCatch(t *testing.T) {
	in := testInput()
	tr := truth(in)
	// A recomputed aggregate: the running aggregate with input #3 of k1
	// counted twice, as a store restored ahead of its offsets would give.
	reagg := func() []Record {
		var out []Record
		var a Agg
		for _, r := range tr["agg"] {
			if r.Key != "k1" {
				out = append(out, r)
			}
		}
		for i, v := range in.Values["k1"] {
			a = a.add(v)
			if i == 2 {
				a = a.add(v)
			}
			b, _ := aggSerde.Serialize(nil, "agg", a)
			out = append(out, Record{Key: "k1", Value: b, Partition: partitionOf("k1")})
		}
		return out
	}()
	// Key "3" gets inputs 3, 10 and 17; here the third aggregate adds 3
	// again instead of 17, with counts still 1, 2, 3.
	var twice []Record
	for i, sum := range []int64{3, 13, 16} {
		b, _ := sumCountSerde.Serialize(nil, "agg-rekeyed", SumCount{Sum: sum, Count: int64(i + 1)})
		twice = append(twice, Record{Key: "3", Value: b, Offset: int64(i)})
	}
	for _, r := range tr["agg-rekeyed"] {
		if r.Key != "3" {
			twice = append(twice, r)
		}
	}
	for _, tc := range []struct {
		name, topic string
		recs        []Record
		g           Guarantee
		want        string // in the first violation; "" for none
		dups        int
	}{
		{"echo duplicate", "echo", dup(tr["echo"], "k0", 2), ExactlyOnce, `key "k0": 7 records for 6 inputs (1 duplicated, 0 lost)`, 0},
		{"echo lost", "echo", drop(tr["echo"], "k2", 5), ExactlyOnce, `key "k2": 5 records for 6 inputs (0 duplicated, 1 lost)`, 0},
		{"echo duplicate at-least-once", "echo", dup(tr["echo"], "k0", 2), AtLeastOnce, "", 1},
		{"echo lost at-least-once", "echo", drop(tr["echo"], "k2", 0), AtLeastOnce, `key "k2": 1 of 6 inputs are missing (the first is input #1`, 0},
		{"agg extra", "agg", dup(tr["agg"], "k0", 5), ExactlyOnce, `key "k0": 7 aggregates for 6 inputs`, 0},
		{"agg lost", "agg", drop(tr["agg"], "k1", 5), ExactlyOnce, `key "k1": 5 aggregates for 6 inputs`, 0},
		{"agg counted twice", "agg", reagg, ExactlyOnce, `(it counts input 10 twice)`, 0},
		{"agg counted twice at-least-once", "agg", reagg, AtLeastOnce, "", 1},
		{"agg lost at-least-once", "agg", drop(tr["agg"], "k1", 5), AtLeastOnce, `key "k1": the last aggregate`, 0},
		{"rekeyed extra", "agg-rekeyed", dup(tr["agg-rekeyed"], "1", 0), ExactlyOnce, `has count 1, want`, 0},
		{"rekeyed lost", "agg-rekeyed", drop(tr["agg-rekeyed"], "3", 1), ExactlyOnce, `key "3": aggregate #2`, 0},
		{"rekeyed lost at the end", "agg-rekeyed", drop(tr["agg-rekeyed"], "1", 1), ExactlyOnce, `key "1": 1 aggregates for 2 inputs`, 0},
		{"rekeyed lost at-least-once", "agg-rekeyed", drop(tr["agg-rekeyed"], "1", 1), AtLeastOnce, `key "1": the last aggregate`, 0},
		{"rekeyed counted twice", "agg-rekeyed", twice, ExactlyOnce, `key "3": aggregate #3 at partition 0 offset 2 adds input 3 (key "k0" #1) a second time`, 0},
		{"key in two partitions", "echo", append(append([]Record(nil), tr["echo"]...), Record{Key: "k0", Partition: partitionOf("k0") + 1}), ExactlyOnce, `key "k0" is in partitions`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, d := check(in, tc.topic, tc.recs, tc.g)
			switch {
			case tc.want == "" && len(v) > 0:
				t.Errorf("violations %q, want none", v)
			case tc.want != "" && (len(v) == 0 || !strings.Contains(v[0], tc.want)):
				t.Errorf("violations %q, want the first to contain %q", v, tc.want)
			}
			if d != tc.dups {
				t.Errorf("%d duplicates, want %d", d, tc.dups)
			}
		})
	}
}
