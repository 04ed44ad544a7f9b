package dsl_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// streamStep is a row of the developer guide's stream-stream join
// semantics table, its time in seconds, and what each join emits for it,
// "[A, a]@4" meaning the joiner's arguments and the result's timestamp in
// seconds.
type streamStep struct {
	s                 int64
	left, right       string
	inner, lft, outer []string
}

func both(xs ...string) []string { return xs }

// streamSemantics is the guide's table (windows of 15s each way, 5s of
// grace), and the rows it elides after 100 given one more record, at 121,
// so that the last windows close. The inner results are the guide's. So
// are the left and outer results joined with nothing, with the timestamps
// of the records they keep, but each comes out one row later than the
// guide shows: a record's window closes only once stream time passes its
// end plus the grace period (for E at 40: 40 + 15 + 5 = 60), so F at 60
// does not close it, f at 80 does, as in Kafka Streams'
// KStreamKStreamJoin. At 60 a record of the other side at 55, five seconds
// late, could still join E; the guide's rows leave out the records between
// theirs.
var streamSemantics = []streamStep{
	{s: 1, left: "null"},
	{s: 2, right: "null"},
	{s: 3, left: "A"},
	{s: 4, right: "a", inner: both("[A, a]@4")},
	{s: 5, left: "B", inner: both("[B, a]@5")},
	{s: 6, right: "b", inner: both("[A, b]@6", "[B, b]@6")},
	{s: 7, left: "null"},
	{s: 8, right: "null"},
	{s: 9, left: "C", inner: both("[C, a]@9", "[C, b]@9")},
	{s: 10, right: "c", inner: both("[A, c]@10", "[B, c]@10", "[C, c]@10")},
	{s: 11, right: "null"},
	{s: 12, left: "null"},
	{s: 13, right: "null"},
	{s: 14, right: "d", inner: both("[A, d]@14", "[B, d]@14", "[C, d]@14")},
	{s: 15, left: "D", inner: both("[D, a]@15", "[D, b]@15", "[D, c]@15", "[D, d]@15")},
	{s: 40, left: "E"},
	{s: 60, left: "F"},
	{s: 80, right: "f", lft: both("[E, null]@40"), outer: both("[E, null]@40")},
	{s: 100, left: "G", lft: both("[F, null]@60"), outer: both("[F, null]@60")},
	{s: 121, left: "H", lft: both("[G, null]@100"), outer: both("[null, f]@80", "[G, null]@100")},
}

func streamJoin(kind string, windows dsl.JoinWindows) *dsl.Builder {
	b := dsl.NewBuilder()
	left := dsl.Stream(b, "left", serde.String, serde.String)
	right := dsl.Stream(b, "right", serde.String, serde.String)
	var joined dsl.KStream[string, string]
	switch kind {
	case "inner":
		joined = left.Join(right, func(l, r string) string { return pair(l, true, r, true) }, windows)
	case "left":
		joined = left.LeftJoin(right, func(l, r string, ok bool) string { return pair(l, true, r, ok) }, windows)
	default:
		joined = left.OuterJoin(right, pair, windows)
	}
	joined.To("joined")
	return b
}

// secs renders what out holds as "value@seconds", every record keyed k.
func secs(t *testing.T, out *testdriver.TestOutputTopic[string, string]) []string {
	t.Helper()
	var got []string
	for _, r := range out.ReadRecordsToList() {
		if r.Key != "k" || r.NullKey || r.NullValue {
			t.Fatalf("result %s", show(r))
		}
		got = append(got, fmt.Sprintf("%s@%d", r.Value, r.Timestamp/1000))
	}
	return got
}

// TestStreamStreamJoinSemantics runs the rows of the developer guide's
// stream-stream join semantics table through the three joins, record for
// record with timestamps.
func TestStreamStreamJoinSemantics(t *testing.T) {
	windows := dsl.JoinWindowsOfTimeDifferenceAndGrace(15*time.Second, 5*time.Second)
	for _, kind := range []string{"inner", "left", "outer"} {
		t.Run(kind, func(t *testing.T) {
			eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
				td := newDriver(t, streamJoin(kind, windows), opts...)
				l := testdriver.InputTopic(td, "left", serde.String, serde.String)
				r := testdriver.InputTopic(td, "right", serde.String, serde.String)
				out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
				for _, st := range streamSemantics {
					pipeStep(l, r, joinStep{ts: st.s * 1000, left: st.left, right: st.right})
					want := slices.Concat(st.inner, map[string][]string{"left": st.lft, "outer": st.outer}[kind])
					if got := secs(t, out); !slices.Equal(got, want) {
						t.Fatalf("at %ds (left %q, right %q):\n got %q\nwant %q", st.s, st.left, st.right, got, want)
					}
				}
			})
		})
	}
}

// A record of a left join that finds its partner within the grace period
// after its window's end is joined, not emitted alone; a record whose own
// window closed before it arrived is emitted alone at once.
func TestStreamStreamJoinGrace(t *testing.T) {
	td := newDriver(t, streamJoin("left", dsl.JoinWindowsOfTimeDifferenceAndGrace(10*time.Millisecond, 5*time.Millisecond)))
	l := testdriver.InputTopic(td, "left", serde.String, serde.String)
	r := testdriver.InputTopic(td, "right", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
	l.PipeRecord(at("k", "A", 100))
	l.PipeRecord(at("k", "B", 115)) // stream time 115: A's window [90, 110] + 5 of grace is still open
	r.PipeRecord(at("k", "a", 108)) // late, within the grace period: joins A and B
	expect(t, out, "k:[A, a]@108", "k:[B, a]@115")
	l.PipeRecord(at("k", "C", 200)) // closes B's window: B had a partner
	expect(t, out)
	l.PipeRecord(at("k", "D", 150)) // D's window closed before it arrived
	expect(t, out, "k:[D, null]@150")
	l.PipeRecord(at("k", "E", 300)) // closes C's
	expect(t, out, "k:[C, null]@200")
}

// Records with a null key: a left join emits them at once joined with
// nothing, keeping the null key; an inner join drops them; both drop null
// values.
func TestStreamStreamJoinNulls(t *testing.T) {
	windows := dsl.JoinWindowsOfTimeDifferenceWithNoGrace(time.Second)
	for _, kind := range []string{"inner", "left"} {
		t.Run(kind, func(t *testing.T) {
			td := newDriver(t, streamJoin(kind, windows))
			l := testdriver.InputTopic(td, "left", serde.String, serde.String)
			out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
			l.PipeRecordList([]processor.Record[string, string]{keyless[string]("A", 1), tombstone[string, string]("k", 2)})
			if kind == "left" {
				expect(t, out, "<null>:[A, null]@1")
				expectDropped(t, td, map[string]int64{"null-value": 1})
			} else {
				expect(t, out)
				expectDropped(t, td, map[string]int64{"null-key": 1, "null-value": 1})
			}
		})
	}
}

// Asymmetric windows: before and after apply from the left stream's view,
// reversed from the right's.
func TestStreamStreamJoinAsymmetricWindows(t *testing.T) {
	windows := dsl.JoinWindowsOfTimeDifferenceWithNoGrace(0).After(10 * time.Millisecond)
	td := newDriver(t, streamJoin("inner", windows))
	l := testdriver.InputTopic(td, "left", serde.String, serde.String)
	r := testdriver.InputTopic(td, "right", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
	l.PipeRecord(at("k", "A", 100))
	r.PipeRecord(at("k", "early", 99)) // before A: out of its window
	r.PipeRecord(at("k", "late", 110)) // 10 after A: in
	l.PipeRecord(at("k", "B", 105))    // "late" is 5 after B: in; "early" before: out
	expect(t, out, "k:[A, late]@110", "k:[B, late]@110")
}

// The stores of a join can be named, and a stream whose key changed is
// repartitioned before it joins.
func TestStreamStreamJoinRepartitionsAndNames(t *testing.T) {
	var topics []string
	b := dsl.NewBuilder()
	left := dsl.Stream(b, "left", serde.String, serde.String).
		SelectKey(func(_, v string) string { return v[:1] })
	right := dsl.Stream(b, "right", serde.String, serde.String)
	left.Join(right, func(l, r string) string { return l + r }, dsl.JoinWindowsOfTimeDifferenceWithNoGrace(time.Second),
		dsl.StreamJoinedWith(serde.String, serde.String, serde.String).WithName("pairs").WithStoreName("pair-stores")).
		ProcessValues(metadataTopics[string, string](&topics)).
		To("joined")
	td := newDriver(t, b)
	l := testdriver.InputTopic(td, "left", serde.String, serde.String)
	r := testdriver.InputTopic(td, "right", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
	r.PipeRecord(at("x", "1", 1))
	l.PipeRecord(at("any", "x2", 2))
	expect(t, out, "x:x21@2")
	if !slices.Equal(topics, []string{"pairs-left-repartition"}) {
		t.Fatalf("the join read from %q", topics)
	}
	for _, store := range []string{"pair-stores-this-join-store", "pair-stores-other-join-store"} {
		if td.StateStore(store) == nil {
			t.Errorf("no store %q", store)
		}
	}
}

// The records waiting for their window to close survive a crash: the
// outer store is restored from its changelog, and the record is emitted
// once a later one closes its window.
func TestStreamStreamJoinRestores(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		td := newDriver(t, streamJoin("outer", dsl.JoinWindowsOfTimeDifferenceWithNoGrace(10*time.Millisecond)), opts...)
		l := testdriver.InputTopic(td, "left", serde.String, serde.String)
		r := testdriver.InputTopic(td, "right", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
		l.PipeRecord(at("k", "A", 100))
		r.PipeRecord(at("k", "b", 200))
		expect(t, out, "k:[A, null]@100")
		td.Crash()
		r.PipeRecord(at("k", "c", 205)) // joins nothing: A's gone, b is on its side
		l.PipeRecord(at("k", "D", 300))
		expect(t, out, "k:[null, b]@200", "k:[null, c]@205")
	})
}

// Out of order, within the grace period and beyond it, on both sides: a
// late record joins what its window holds, every result stamped with the
// later of its two records; a record whose window closed before it came
// and one whose window ended before stream time are emitted alone at once
// by the left and outer joins; held non-matches come out when stream time
// passes their window's end plus grace.
func TestStreamStreamJoinOutOfOrder(t *testing.T) {
	steps := []joinStep{
		{ts: 100, left: "A"},
		{ts: 115, right: "a"},
		{ts: 95, right: "b", inner: both("[A, b]@100"), lft: both("[A, b]@100"), outer: both("[A, b]@100")},
		{ts: 105, left: "B", inner: both("[B, b]@105", "[B, a]@115"), lft: both("[B, b]@105", "[B, a]@115"), outer: both("[B, b]@105", "[B, a]@115")},
		{ts: 150, right: "c"},
		{ts: 160, left: "C", inner: both("[C, c]@160"), lft: both("[C, c]@160"), outer: both("[C, c]@160")},
		// d's window [120, 140] ends before stream time (160): as in
		// Kafka Streams (KStreamKStreamJoin), a non-match out of order
		// by more than its window is emitted at once, not held for the
		// grace period.
		{ts: 130, right: "d", outer: both("[null, d]@130")},
		{ts: 300, left: "E"},
		// F's window [240, 260] closed at 280.
		{ts: 250, left: "F", lft: both("[F, null]@250"), outer: both("[F, null]@250")},
		{ts: 400, left: "G", lft: both("[E, null]@300"), outer: both("[E, null]@300")},
	}
	windows := dsl.JoinWindowsOfTimeDifferenceAndGrace(10*time.Millisecond, 20*time.Millisecond)
	for _, kind := range []string{"inner", "left", "outer"} {
		t.Run(kind, func(t *testing.T) {
			eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
				td := newDriver(t, streamJoin(kind, windows), opts...)
				l := testdriver.InputTopic(td, "left", serde.String, serde.String)
				r := testdriver.InputTopic(td, "right", serde.String, serde.String)
				out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
				for _, st := range steps {
					pipeStep(l, r, st)
					want := map[string][]string{"inner": st.inner, "left": st.lft, "outer": st.outer}[kind]
					var got []string
					for _, rec := range out.ReadRecordsToList() {
						got = append(got, fmt.Sprintf("%s@%d", rec.Value, rec.Timestamp))
					}
					if !slices.Equal(got, want) {
						t.Fatalf("at %d (left %q, right %q):\n got %q\nwant %q", st.ts, st.left, st.right, got, want)
					}
				}
				expectDropped(t, td, map[string]int64{})
			})
		})
	}
}
