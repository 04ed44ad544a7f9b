package harness

import (
	"slices"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
)

// The checks must catch what they are for; these tests feed them outputs
// computed from an input, then spoiled on purpose.

func testInput() *Input {
	in := newInput(3)
	// Values are seq*3+i, as the generator writes them; timestamps advance
	// 4s per round, a little out of order, so that each key has inputs in
	// the windows [0,10s), [10s,20s) and [20s,30s), of which only the
	// first has closed at the end (the latest timestamp is 24s).
	for seq := 1; seq <= 6; seq++ {
		for i, k := range in.Keys {
			in.Values[k] = append(in.Values[k], int64(seq*3+i))
			in.Times[k] = append(in.Times[k], int64(seq*4000-(seq%2)*700+i*10))
			in.Partition[k] = partitionOf(k)
		}
	}
	// Table updates: k0 twice, k1 once, k2 never; each key has a
	// partition of its own, so their offsets start at 0. truth applies
	// them before the inputs at tableAt.
	for _, k := range []string{"k0", "k0", "k1"} {
		if err := in.addTableUpdate(k, partitionOf(k), int64(len(in.TableOffsets[k]))); err != nil {
			panic(err)
		}
	}
	return in
}

// tableAt says, per key, before which input (0-based) each table update
// of testInput is applied in truth.
var tableAt = map[string][]int{"k0": {1, 3}, "k1": {2}}

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
	cached := map[string]SumCount{}
	counts := map[window]int64{}
	latest := map[window]int64{}
	version := map[string]int{}
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
			// A cache may forward every update: each one rises.
			ck := cachedKey(v)
			cached[ck] = SumCount{Sum: cached[ck].Sum + v, Count: cached[ck].Count + 1}
			b, _ = sumCountSerde.Serialize(nil, "agg-cached", cached[ck])
			add("agg-cached", ck, b)
			ts := in.Times[k][seq]
			w := window{k, windowStart(ts)}
			counts[w]++
			latest[w] = max(latest[w], ts)
			r := windowedRecord("windowed", w, counts[w], latest[w])
			add("windowed", r.Key, r.Value)
			out["windowed"][len(out["windowed"])-1].Timestamp = r.Timestamp
			for _, at := range tableAt[k] {
				if at == seq {
					version[k]++
				}
			}
			add("joined", k, joinedValue(in, k, v, version[k]))
			out["joined"][len(out["joined"])-1].Timestamp = in.Times[k][seq]
		}
	}
	// Emitted on close: the windows that ended at least the grace before
	// the latest timestamp of their key's partition (each key of
	// testInput has a partition of its own).
	for _, k := range in.Keys {
		for w, n := range counts {
			if w.key != k || w.start+WindowSize.Milliseconds() > slices.Max(in.Times[k])-WindowGrace.Milliseconds() {
				continue
			}
			r := windowedRecord("windowed-final", w, n, latest[w])
			add("windowed-final", r.Key, r.Value)
			out["windowed-final"][len(out["windowed-final"])-1].Timestamp = r.Timestamp
		}
	}
	return out
}

// joinedValue is the join's output for input v of key k finding version
// ver of its row (0 for none).
func joinedValue(in *Input, k string, v int64, ver int) []byte {
	row := JoinedRow{Value: v}
	if ver > 0 {
		row.Table, row.Found = int64(ver*len(in.Keys)+slices.Index(in.Keys, k)), true
	}
	b, _ := joinedSerde.Serialize(nil, "joined", row)
	return b
}

// rejoin replaces the value of the i-th output of key k in recs with v
// joined with version ver.
func rejoin(in *Input, recs []Record, k string, i int, ver int) []Record {
	out := append([]Record(nil), recs...)
	n := 0
	for j, r := range out {
		if r.Key == k {
			if n == i {
				row, _ := joinedSerde.Deserialize("joined", r.Value)
				out[j].Value = joinedValue(in, k, row.Value, ver)
				return out
			}
			n++
		}
	}
	panic("no such record")
}

// rawWindow is the key bytes of window w in the windowed outputs.
func rawWindow(key string, start int64) string {
	return windowedRecord("", window{key, start}, 0, 0).Key
}

// windowedRecord is the output record of a count of window w.
func windowedRecord(topic string, w window, n, ts int64) Record {
	wk, _ := windowedKeySerde.Serialize(nil, topic, dsl.Windowed[string]{Key: w.key, Start: w.start, End: w.start + WindowSize.Milliseconds()})
	b, _ := serde.Int64.Serialize(nil, topic, n)
	return Record{Key: string(wk), Value: b, Timestamp: ts}
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

// stamp sets the timestamp of the i-th record of key to ts.
func stamp(recs []Record, key string, i int, ts int64) []Record {
	out := append([]Record(nil), recs...)
	n := 0
	for j, r := range out {
		if r.Key == key {
			if n == i {
				out[j].Timestamp = ts
				return out
			}
			n++
		}
	}
	panic("no such record")
}

// A task's outputs tie its keys together: here k1's first output finds
// the row written after k0's, so k0's later output cannot find no row.
func TestJoinOrderAcrossKeys(t *testing.T) {
	in := newInput(2)
	for _, k := range in.Keys {
		in.Values[k] = []int64{int64(2 + slices.Index(in.Keys, k))}
		in.Times[k] = []int64{0}
		in.Partition[k] = 0
	}
	for _, k := range []string{"k0", "k1"} {
		if err := in.addTableUpdate(k, 0, int64(slices.Index(in.Keys, k))); err != nil {
			t.Fatal(err)
		}
	}
	row := func(k string, off int64, ver int) Record {
		v := in.Values[k][0]
		return Record{Key: k, Value: joinedValue(in, k, v, ver), Partition: 1, Offset: off}
	}
	for _, tc := range []struct {
		name string
		recs []Record
		want string
	}{
		{"consistent", []Record{row("k0", 0, 0), row("k1", 1, 1)}, ""},
		{"consistent after both", []Record{row("k1", 0, 1), row("k0", 1, 1)}, ""},
		{"k0 behind k1", []Record{row("k1", 0, 1), row("k0", 1, 0)}, `table partition 0: output {2, no row} of key "k0" at partition 1 offset 1 found no row, replaced at offset 0, after output {3, 3} of key "k1" at partition 1 offset 0 had found a row that the table partition had past offset 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := check(in, "joined", tc.recs, ExactlyOnce)
			switch {
			case tc.want == "" && len(v) > 0:
				t.Errorf("violations %q, want none", v)
			case tc.want != "" && (len(v) == 0 || !strings.Contains(v[0], tc.want)):
				t.Errorf("violations %q, want the first to contain %q", v, tc.want)
			}
		})
	}
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
	// A count from one again, after the last true one: a task restored
	// ahead of its offsets counts a window it has expired afresh.
	afresh := windowedRecord("windowed", window{"k1", 10000}, 1, 11310)
	afresh.Partition = partitionOf(afresh.Key)
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
		{"cached duplicate", "agg-cached", dup(tr["agg-cached"], "10", 0), ExactlyOnce, `key "10": aggregate #2 at partition`, 0},
		{"cached lost at the end", "agg-cached", drop(tr["agg-cached"], "12", 0), ExactlyOnce, `key "12": no aggregate for 1 inputs`, 0},
		{"cached duplicate at-least-once", "agg-cached", dup(tr["agg-cached"], "10", 0), AtLeastOnce, "", 0},
		{"cached short at-least-once", "agg-cached", append(append([]Record(nil), tr["agg-cached"]...), sumCount("agg-cached", "10", 1, 1)), AtLeastOnce, `key "10": the last aggregate {sum 1 count 1}`, 0},
		{"windowed duplicate update", "windowed", dup(tr["windowed"], rawWindow("k0", 0), 1), ExactlyOnce, `window k0@[0,10000): update #3 at partition`, 0},
		{"windowed duplicate update at-least-once", "windowed", dup(tr["windowed"], rawWindow("k0", 0), 1), AtLeastOnce, "", 0},
		{"windowed lost", "windowed", drop(tr["windowed"], rawWindow("k1", 10000), 0), ExactlyOnce, `window k1@[10000,20000): update #1 at partition`, 0},
		{"windowed lost at the end", "windowed", drop(tr["windowed"], rawWindow("k1", 10000), 2), ExactlyOnce, `window k1@[10000,20000): 2 updates for 3 inputs`, 0},
		{"windowed lost at-least-once", "windowed", drop(tr["windowed"], rawWindow("k1", 10000), 2), AtLeastOnce, `window k1@[10000,20000): no count reflects its 3 inputs: the largest is 2 (at partition`, 0},
		{"windowed counted afresh at-least-once", "windowed", append(append([]Record(nil), tr["windowed"]...), afresh), AtLeastOnce, "", 0},
		{"windowed wrong timestamp", "windowed", stamp(tr["windowed"], rawWindow("k2", 10000), 1, 1), ExactlyOnce, `window k2@[10000,20000): update #2 at partition 2 offset 11 has timestamp 1, want 16020`, 0},
		{"windowed unknown window", "windowed", append(append([]Record(nil), tr["windowed"]...), windowedRecord("windowed", window{"k0", 90000}, 1, 90000)), ExactlyOnce, `window k0@[90000,100000) (at partition 0 offset 0) holds no input`, 0},
		{"final twice", "windowed-final", dup(tr["windowed-final"], rawWindow("k0", 0), 0), ExactlyOnce, `window k0@[0,10000): 2 final counts, want one`, 0},
		{"final twice at-least-once", "windowed-final", dup(tr["windowed-final"], rawWindow("k0", 0), 0), AtLeastOnce, "", 1},
		{"final before close", "windowed-final", append(append([]Record(nil), tr["windowed-final"]...), windowedRecord("windowed-final", window{"k1", 10000}, 2, 16010)), ExactlyOnce, `window k1@[10000,20000): emitted at partition 0 offset 0, but it has not closed`, 0},
		{"final missing", "windowed-final", drop(tr["windowed-final"], rawWindow("k2", 0), 0), AtLeastOnce, `window k2@[0,10000) closed without its final count (2 inputs)`, 0},
		{"final wrong count", "windowed-final", append(drop(tr["windowed-final"], rawWindow("k2", 0), 0), windowedRecord("windowed-final", window{"k2", 0}, 1, 8020)), AtLeastOnce, `window k2@[0,10000): final count 1 at partition 0 offset 0, but 2 inputs fall in the window`, 0},
		{"joined duplicate", "joined", dup(tr["joined"], "k0", 2), ExactlyOnce, `key "k0": 7 outputs for 6 inputs; the first extra one, {9, 3} at`, 0},
		{"joined duplicate at-least-once", "joined", dup(tr["joined"], "k0", 2), AtLeastOnce, "", 1},
		{"joined wrong timestamp", "joined", stamp(tr["joined"], "k2", 3, 7), ExactlyOnce, `key "k2": output #4 at partition 0 offset`, 0},
		{"joined lost", "joined", drop(tr["joined"], "k1", 3), ExactlyOnce, `key "k1": output #4 at`, 0},
		{"joined lost at-least-once", "joined", drop(tr["joined"], "k1", 3), AtLeastOnce, `key "k1": 1 of 6 inputs are missing (the first is input #4`, 0},
		{"joined unwritten version", "joined", rejoin(in, tr["joined"], "k1", 4, 2), AtLeastOnce, `key "k1": output {16, 7} at partition 3 offset`, 0},
		{"joined row of no update", "joined", rejoin(in, tr["joined"], "k2", 0, 1), ExactlyOnce, `found table value 5, which is no update of "k2"`, 0},
		{"joined older row later", "joined", rejoin(in, tr["joined"], "k0", 4, 1), ExactlyOnce, `table partition 2: output {15, 3} of key "k0" at partition 2 offset`, 0},
		{"joined row before its update", "joined", rejoin(in, tr["joined"], "k1", 0, 1), ExactlyOnce, `table partition 3: output {7, no row} of key "k1" at partition 3 offset 4 found no row, replaced at offset 0, after output {4, 4} of key "k1"`, 0},
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

// sumCount is a record of key with aggregate {sum, count}.
func sumCount(topic, key string, sum, count int64) Record {
	b, _ := sumCountSerde.Serialize(nil, topic, SumCount{Sum: sum, Count: count})
	return Record{Key: key, Value: b, Partition: partitionOf(key)}
}
