package harness

import (
	"fmt"
	"slices"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

// Output is one output of the application under test: the part of the
// topology that writes Topic, and the check the verifier runs on what was
// read back from it.
type Output struct {
	Topic string
	// Build adds to the topology the operations that read the input stream
	// data (and, through b, any other input) and write Topic.
	Build func(b *dsl.Builder, data dsl.KStream[string, int64])
	// Check compares recs, the records of Topic split by key in offset
	// order, with the input, under guarantee g. Under at_least_once it
	// checks only that nothing was lost and counts duplicates. It reports
	// through f.
	Check func(f *findings, in *Input, recs map[string][]Record, g Guarantee) (duplicates int)
}

// Outputs is the application's topology and the verifier's checks, one
// entry per output topic. Add an entry to test one more operation.
var Outputs = []Output{
	{Topic: "echo", Build: buildEcho, Check: checkEcho},
	{Topic: "agg", Build: buildAgg, Check: checkAgg},
	{Topic: "agg-rekeyed", Build: buildRekeyed, Check: checkRekeyed},
	{Topic: "agg-cached", Build: buildCached, Check: checkCached},
	{Topic: "windowed", Build: buildWindowed, Check: checkWindowed},
	{Topic: "windowed-final", Build: buildWindowedFinal, Check: checkWindowedFinal},
	{Topic: "joined", Build: buildJoined, Check: checkJoined},
}

// Topics are the topics the application needs before it starts: the
// inputs and every output. Create them with the same number of partitions.
func Topics() []string {
	ts := []string{InputTopic, TableTopic}
	for _, o := range Outputs {
		ts = append(ts, o.Topic)
	}
	return ts
}

// Topology builds the application under test from Outputs.
func Topology() (*topology.Topology, error) {
	b := dsl.NewBuilder()
	data := dsl.Stream(b, InputTopic, serde.String, serde.Int64)
	for _, o := range Outputs {
		o.Build(b, data)
	}
	return b.Build()
}

// echo: the input, unchanged.

func buildEcho(_ *dsl.Builder, data dsl.KStream[string, int64]) { data.To("echo") }

func checkEcho(f *findings, in *Input, recs map[string][]Record, g Guarantee) int {
	dups := 0
	for _, k := range unknownKeys(recs, in.Keys) {
		f.add("key %q was never written to %s (first at %v)", k, InputTopic, recs[k][0])
	}
	for _, k := range in.Keys {
		want := in.Values[k]
		var got []int64
		for _, r := range recs[k] {
			v, err := serde.Int64.Deserialize("echo", r.Value)
			if err != nil {
				f.add("key %q at %v: %v", k, r, err)
				continue
			}
			got = append(got, v)
		}
		if g == AtLeastOnce {
			dups += checkNothingLost(f, k, want, got)
			continue
		}
		if slices.Equal(got, want) {
			continue
		}
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		seen := map[int64]int{}
		for _, v := range got {
			seen[v]++
		}
		dup, lost := 0, 0
		for _, v := range want {
			switch n := seen[v]; {
			case n == 0:
				lost++
			case n > 1:
				dup += n - 1
			}
		}
		at := "the records end"
		if i < len(got) {
			at = fmt.Sprintf("got %d at %v", got[i], recs[k][i])
		}
		wantAt := "no more inputs"
		if i < len(want) {
			wantAt = fmt.Sprintf("input #%d is %d", i+1, want[i])
		}
		f.add("key %q: %d records for %d inputs (%d duplicated, %d lost); they first differ at record #%d: %s, but %s",
			k, len(got), len(want), dup, lost, i+1, at, wantAt)
	}
	return dups
}

// checkNothingLost is the at-least-once check of a stream that copies its
// input: every input appears, and their first appearances are in input
// order. It returns the number of duplicates.
func checkNothingLost(f *findings, key string, want, got []int64) int {
	first := map[int64]bool{}
	var order []int64
	for _, v := range got {
		if !first[v] {
			first[v] = true
			order = append(order, v)
		}
	}
	lost := 0
	firstLost := -1
	for i, v := range want {
		if !first[v] {
			lost++
			if firstLost < 0 {
				firstLost = i
			}
		}
	}
	if lost > 0 {
		f.add("key %q: %d of %d inputs are missing (the first is input #%d, value %d)", key, lost, len(want), firstLost+1, want[firstLost])
	} else if !slices.Equal(order, want) {
		i := 0
		for order[i] == want[i] {
			i++
		}
		f.add("key %q: inputs first appear out of order: input #%d (%d) should come next but %d came first", key, i+1, want[i], order[i])
	}
	return len(got) - len(order)
}

// agg: the running sum, count, minimum and maximum per key.

// Agg is the running aggregate of the values of one key.
type Agg struct {
	Sum   int64 `json:"sum"`
	Count int64 `json:"count"`
	Min   int64 `json:"min"`
	Max   int64 `json:"max"`
}

func (a Agg) add(v int64) Agg {
	if a.Count == 0 || v < a.Min {
		a.Min = v
	}
	if a.Count == 0 || v > a.Max {
		a.Max = v
	}
	a.Sum += v
	a.Count++
	return a
}

func (a Agg) String() string {
	return fmt.Sprintf("{sum %d count %d min %d max %d}", a.Sum, a.Count, a.Min, a.Max)
}

var aggSerde = serde.JSON[Agg]()

func buildAgg(_ *dsl.Builder, data dsl.KStream[string, int64]) {
	data.GroupByKey().
		Aggregate(func() Agg { return Agg{} },
			func(_ string, v int64, a Agg) Agg { return a.add(v) },
			dsl.MaterializedAs[string, Agg]("agg-store").WithValueSerde(aggSerde)).
		ToStream().
		To("agg")
}

func checkAgg(f *findings, in *Input, recs map[string][]Record, g Guarantee) int {
	dups := 0
	for _, k := range unknownKeys(recs, in.Keys) {
		f.add("key %q was never written to %s (first at %v)", k, InputTopic, recs[k][0])
	}
	for _, k := range in.Keys {
		want := in.Values[k]
		got := recs[k]
		var truth Agg
		for _, v := range want {
			truth = truth.add(v)
		}
		if g == AtLeastOnce {
			if len(want) == 0 {
				continue
			}
			if len(got) == 0 {
				f.add("key %q: no aggregate for %d inputs", k, len(want))
				continue
			}
			last, err := aggSerde.Deserialize("agg", got[len(got)-1].Value)
			switch {
			case err != nil:
				f.add("key %q at %v: %v", k, got[len(got)-1], err)
			case last.Count < truth.Count || last.Max != truth.Max || last.Min != truth.Min:
				f.add("key %q: the last aggregate %v (at %v) misses inputs: all %d inputs give %v", k, last, got[len(got)-1], len(want), truth)
			default:
				dups += int(last.Count - truth.Count)
			}
			continue
		}
		var run Agg
		for i, r := range got {
			a, err := aggSerde.Deserialize("agg", r.Value)
			if err != nil {
				f.add("key %q at %v: %v", k, r, err)
				break
			}
			if i >= len(want) {
				f.add("key %q: %d aggregates for %d inputs; the first extra one, %v at %v, follows no input", k, len(got), len(want), a, r)
				break
			}
			run = run.add(want[i])
			if a != run {
				f.add("key %q: aggregate #%d at %v is %v, but after input #%d (%d) the running aggregate is %v%s",
					k, i+1, r, a, i+1, want[i], run, aggHint(a, run, want))
				break
			}
		}
		if len(got) < len(want) {
			f.add("key %q: %d aggregates for %d inputs: the last %d inputs are not reflected", k, len(got), len(want), len(want)-len(got))
		}
	}
	return dups
}

// aggHint names the input a wrong aggregate seems to have counted twice.
func aggHint(got, want Agg, inputs []int64) string {
	if got.Count != want.Count+1 {
		return ""
	}
	extra := got.Sum - want.Sum
	if slices.Contains(inputs[:want.Count], extra) {
		return fmt.Sprintf(" (it counts input %d twice)", extra)
	}
	return ""
}

// agg-rekeyed: sum and count per value mod 7, through a repartition topic.

// SumCount is the running sum and count of the values of one new key.
type SumCount struct {
	Sum   int64 `json:"sum"`
	Count int64 `json:"count"`
}

var sumCountSerde = serde.JSON[SumCount]()

// rekey is the new key of a value in agg-rekeyed.
func rekey(v int64) string { return fmt.Sprint(v % 7) }

func buildRekeyed(_ *dsl.Builder, data dsl.KStream[string, int64]) {
	data.GroupBy(func(_ string, v int64) string { return rekey(v) }, dsl.Grouped[string, int64]{}.WithName("rekeyed")).
		Aggregate(func() SumCount { return SumCount{} },
			func(_ string, v int64, a SumCount) SumCount { return SumCount{Sum: a.Sum + v, Count: a.Count + 1} },
			dsl.MaterializedAs[string, SumCount]("rekeyed-store").WithValueSerde(sumCountSerde)).
		ToStream().
		To("agg-rekeyed")
}

func checkRekeyed(f *findings, in *Input, recs map[string][]Record, g Guarantee) int {
	want, newKeys := regroup(in, rekey)
	for _, k := range unknownKeys(recs, newKeys) {
		f.add("key %q is no input value mod 7 (first at %v)", k, recs[k][0])
	}
	dups := 0
	for _, nk := range newKeys {
		vs := want[nk]
		var sum int64
		for _, v := range vs {
			sum += v
		}
		got := recs[nk]
		if g == AtLeastOnce {
			if len(got) == 0 {
				f.add("key %q: no aggregate for %d inputs", nk, len(vs))
				continue
			}
			last, err := sumCountSerde.Deserialize("agg-rekeyed", got[len(got)-1].Value)
			switch {
			case err != nil:
				f.add("key %q at %v: %v", nk, got[len(got)-1], err)
			case last.Count < int64(len(vs)) || last.Sum < sum:
				f.add("key %q: the last aggregate {sum %d count %d} (at %v) misses inputs: the %d inputs mapped to it sum to %d",
					nk, last.Sum, last.Count, got[len(got)-1], len(vs), sum)
			default:
				dups += int(last.Count) - len(vs)
			}
			continue
		}
		checkRekeyedExactly(f, in, nk, vs, sum, got)
	}
	return dups
}

// checkRekeyedExactly checks the outputs of new key nk under exactly-once:
// counts 1..n in order, each sum one input more than the last, each input
// exactly once and, per input key, in order.
func checkRekeyedExactly(f *findings, in *Input, nk string, vs []int64, sum int64, got []Record) {
	pending := map[int64]bool{}
	for _, v := range vs {
		pending[v] = true
	}
	lastSeq := map[string]int{}
	var prev SumCount
	for i, r := range got {
		sc, err := sumCountSerde.Deserialize("agg-rekeyed", r.Value)
		if err != nil {
			f.add("key %q at %v: %v", nk, r, err)
			return
		}
		if sc.Count != int64(i+1) {
			f.add("key %q: aggregate #%d at %v has count %d, want %d (counts must run 1, 2, ..., %d)", nk, i+1, r, sc.Count, i+1, len(vs))
			return
		}
		step := sc.Sum - prev.Sum
		key, seq, ok := in.origin(step)
		switch {
		case !ok || rekey(step) != nk:
			f.add("key %q: aggregate #%d at %v adds %d to the sum, which is no input mapped to %q", nk, i+1, r, step, nk)
			return
		case !pending[step]:
			f.add("key %q: aggregate #%d at %v adds input %d (key %q #%d) a second time", nk, i+1, r, step, key, seq)
			return
		case seq < lastSeq[key]:
			f.add("key %q: aggregate #%d at %v adds input %q #%d after %q #%d: one input key's records out of order", nk, i+1, r, key, seq, key, lastSeq[key])
			return
		}
		delete(pending, step)
		lastSeq[key] = seq
		prev = sc
	}
	if len(got) != len(vs) {
		f.add("key %q: %d aggregates for %d inputs mapped to it: %d inputs are not reflected", nk, len(got), len(vs), len(vs)-len(got))
		return
	}
	if prev.Sum != sum {
		f.add("key %q: the last sum is %d, but the %d inputs mapped to it sum to %d", nk, prev.Sum, len(vs), sum)
	}
}

// agg-cached: sum and count per value mod cachedKeys, through a
// repartition topic, in a store with a cache too small for its keys. The
// cache forwards the latest aggregate of a key when it flushes or evicts
// it, so the outputs skip updates; with so many keys for its room, its
// entries answer few reads, and it alternates between entries of its own
// and entries in the transaction buffer.

// cachedKeys is the number of keys of agg-cached, and cachedBytes the
// room of its cache: a few dozen entries.
const (
	cachedKeys  = 4001
	cachedBytes = 4 << 10
)

// cachedKey is the new key of a value in agg-cached.
func cachedKey(v int64) string { return fmt.Sprint(v % cachedKeys) }

func buildCached(_ *dsl.Builder, data dsl.KStream[string, int64]) {
	data.GroupBy(func(_ string, v int64) string { return cachedKey(v) }, dsl.Grouped[string, int64]{}.WithName("cached")).
		Aggregate(func() SumCount { return SumCount{} },
			func(_ string, v int64, a SumCount) SumCount { return SumCount{Sum: a.Sum + v, Count: a.Count + 1} },
			dsl.MaterializedAs[string, SumCount]("cached-store").WithValueSerde(sumCountSerde).WithCachingEnabled(cachedBytes)).
		ToStream().
		To("agg-cached")
}

// checkCached checks that the last aggregate of each new key counts every
// input mapped to it: under exactly-once once each, with counts and sums
// rising from output to output (the inputs are positive), under
// at-least-once at least once.
func checkCached(f *findings, in *Input, recs map[string][]Record, g Guarantee) int {
	want, newKeys := regroup(in, cachedKey)
	for _, k := range unknownKeys(recs, newKeys) {
		f.add("key %q is no input value mod %d (first at %v)", k, cachedKeys, recs[k][0])
	}
	dups := 0
	for _, nk := range newKeys {
		vs := want[nk]
		var sum int64
		for _, v := range vs {
			sum += v
		}
		got := recs[nk]
		if len(got) == 0 {
			f.add("key %q: no aggregate for %d inputs", nk, len(vs))
			continue
		}
		var prev SumCount
		var last SumCount
		ok := true
		for i, r := range got {
			sc, err := sumCountSerde.Deserialize("agg-cached", r.Value)
			if err != nil {
				f.add("key %q at %v: %v", nk, r, err)
				ok = false
				break
			}
			if g == ExactlyOnce && (sc.Count <= prev.Count || sc.Sum <= prev.Sum) {
				f.add("key %q: aggregate #%d at %v, {sum %d count %d}, does not rise from the one before, {sum %d count %d}",
					nk, i+1, r, sc.Sum, sc.Count, prev.Sum, prev.Count)
				ok = false
				break
			}
			prev, last = sc, sc
		}
		if !ok {
			continue
		}
		switch {
		case g == AtLeastOnce && (last.Count < int64(len(vs)) || last.Sum < sum):
			f.add("key %q: the last aggregate {sum %d count %d} (at %v) misses inputs: the %d inputs mapped to it sum to %d",
				nk, last.Sum, last.Count, got[len(got)-1], len(vs), sum)
		case g == AtLeastOnce:
			dups += int(last.Count) - len(vs)
		case last.Count != int64(len(vs)) || last.Sum != sum:
			f.add("key %q: the last aggregate {sum %d count %d} (at %v), but the %d inputs mapped to it sum to %d",
				nk, last.Sum, last.Count, got[len(got)-1], len(vs), sum)
		}
	}
	return dups
}

// regroup returns the inputs of each new key newKey gives them, and the new
// keys, sorted. Their order across input keys is not fixed (they come from
// several input partitions), only their multiset and, per input key, their
// order.
func regroup(in *Input, newKey func(int64) string) (map[string][]int64, []string) {
	want := map[string][]int64{}
	var newKeys []string
	for _, k := range in.Keys {
		for _, v := range in.Values[k] {
			nk := newKey(v)
			if want[nk] == nil {
				newKeys = append(newKeys, nk)
			}
			want[nk] = append(want[nk], v)
		}
	}
	slices.Sort(newKeys)
	return want, newKeys
}

// unknownKeys lists, sorted, the keys of recs not in known.
func unknownKeys(recs map[string][]Record, known []string) []string {
	var out []string
	for k := range recs {
		if !slices.Contains(known, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
