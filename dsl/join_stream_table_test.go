package dsl_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
)

// streamTableSemantics are the results of the developer guide's
// stream-table join table: only stream records join, and a result keeps
// the stream record's timestamp.
var streamTableSemantics = map[int64][2][]string{
	3:  {nil, {"[A, null]"}},
	5:  {{"[B, a]"}, {"[B, a]"}},
	9:  {nil, {"[C, null]"}},
	15: {{"[D, d]"}, {"[D, d]"}},
}

// TestStreamTableJoinSemantics runs every row of the developer guide's
// stream-table join semantics table, record for record with timestamps.
func TestStreamTableJoinSemantics(t *testing.T) {
	for _, left := range []bool{false, true} {
		name := map[bool]string{false: "JoinTable", true: "LeftJoinTable"}[left]
		t.Run(name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
				b := dsl.NewBuilder()
				stream := dsl.Stream(b, "left", serde.String, serde.String)
				table := dsl.Table(b, "right", serde.String, serde.String)
				var joined dsl.KStream[string, string]
				if left {
					joined = stream.LeftJoinTable(table, func(v, o string, found bool) string { return pair(v, true, o, found) })
				} else {
					joined = stream.JoinTable(table, func(v, o string) string { return pair(v, true, o, true) })
				}
				joined.To("joined")
				td := newDriver(t, b, opts...)
				l := testdriver.InputTopic(td, "left", serde.String, serde.String)
				r := testdriver.InputTopic(td, "right", serde.String, serde.String)
				out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
				nulls := int64(0)
				for _, st := range semantics {
					pipeStep(l, r, st)
					want := streamTableSemantics[st.ts][0]
					if left {
						want = streamTableSemantics[st.ts][1]
					}
					expectStep(t, out, st, st.ts, want)
					if st.left == "null" {
						nulls++
					}
				}
				expectDropped(t, td, map[string]int64{"null-value": nulls})
			})
		})
	}
}

// The stream's key, value serdes and a changed key: the join repartitions
// the stream first, named after the join, and the result carries the
// stream record's timestamp and headers.
func TestStreamTableJoinRepartitions(t *testing.T) {
	var topics []string
	b := dsl.NewBuilder()
	users := dsl.Table(b, "users", serde.String, serde.String)
	dsl.Stream(b, "clicks", serde.String, serde.String).
		SelectKey(func(_, user string) string { return user }).
		JoinTable(users, func(user, region string) string { return user + " in " + region },
			dsl.JoinedWith(serde.String, serde.String, serde.String).WithName("clicks-by-user")).
		ProcessValues(metadataTopics[string, string](&topics)).
		To("enriched")
	td := newDriver(t, b)
	clicks := testdriver.InputTopic(td, "clicks", serde.String, serde.String)
	in := testdriver.InputTopic(td, "users", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "enriched", serde.String, serde.String)
	in.PipeRecord(at("alice", "EU", 1))
	clicks.PipeRecord(at("c1", "alice", 5, header("h", "1")))
	clicks.PipeRecord(at("c2", "bob", 6))
	expect(t, out, "alice:alice in EU@5 h=1")
	if len(topics) != 1 || topics[0] != "clicks-by-user-repartition" {
		t.Fatalf("the join read from %q", topics)
	}
}

// A left join keeps records with a null key, joined with no row; an inner
// join drops them. Records with a null value are dropped by both.
func TestStreamTableJoinNulls(t *testing.T) {
	b := dsl.NewBuilder()
	table := dsl.Table(b, "right", serde.String, serde.String)
	stream := dsl.Stream(b, "left", serde.String, serde.String)
	stream.JoinTable(table, func(v, o string) string { return pair(v, true, o, true) }).To("inner-joined")
	stream.LeftJoinTable(table, func(v, o string, found bool) string { return pair(v, true, o, found) }).To("left-joined")
	td := newDriver(t, b)
	l := testdriver.InputTopic(td, "left", serde.String, serde.String)
	r := testdriver.InputTopic(td, "right", serde.String, serde.String)
	inner := testdriver.OutputTopic(td, "inner-joined", serde.String, serde.String)
	left := testdriver.OutputTopic(td, "left-joined", serde.String, serde.String)
	r.PipeRecord(at("k", "a", 1))
	l.PipeRecordList([]processor.Record[string, string]{
		keyless[string]("A", 2),
		tombstone[string, string]("k", 3),
		at("k", "B", 4),
	})
	expect(t, inner, "k:[B, a]@4")
	expect(t, left, "<null>:[A, null]@2", "k:[B, a]@4")
	expectDropped(t, td, map[string]int64{"null-key": 1, "null-value": 2})
}

// Out of order: the stream record joins the row the table holds when it
// arrives, whatever their timestamps (a table that is not versioned has
// no history to look back in).
func TestStreamTableJoinOutOfOrder(t *testing.T) {
	b := dsl.NewBuilder()
	table := dsl.Table(b, "right", serde.String, serde.String)
	dsl.Stream(b, "left", serde.String, serde.String).
		LeftJoinTable(table, func(v, o string, found bool) string { return pair(v, true, o, found) }).
		To("joined")
	td := newDriver(t, b)
	l := testdriver.InputTopic(td, "left", serde.String, serde.String)
	r := testdriver.InputTopic(td, "right", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
	r.PipeRecord(at("k", "late", 10))
	l.PipeRecord(at("k", "A", 5))
	r.PipeRecord(at("k", "early", 3))
	l.PipeRecord(at("k", "B", 4))
	expect(t, out, "k:[A, late]@5", "k:[B, early]@4")
}

// Build rejects a join of inputs that cannot be co-partitioned, naming
// both topics and their partition counts.
func TestJoinNotCopartitioned(t *testing.T) {
	b := dsl.NewBuilder()
	totals := dsl.Stream(b, "payments", serde.String, serde.Int64).
		Repartition(dsl.RepartitionedWith(serde.String, serde.Int64).WithName("payments-by-user").WithNumberOfPartitions(3)).
		GroupByKey().
		Count()
	dsl.Stream(b, "clicks", serde.String, serde.String).
		Repartition(dsl.RepartitionedWith(serde.String, serde.String).WithName("clicks-by-user").WithNumberOfPartitions(4)).
		JoinTable(totals, func(page string, n int64) string { return page }).
		To("out")
	err := buildError(t, b, []error{topology.ErrNotCopartitioned}, `"clicks-by-user-repartition" (4)`, `"payments-by-user-repartition" (3)`)
	if n := strings.Count(err.Error(), "must have the same number of partitions"); n != 1 {
		t.Errorf("the mistake is reported %d times:\n%v", n, err)
	}
}

// A windowed table keeps its rows in a window store, which names it and
// which a join reads by windowed key.
func TestJoinWindowedTable(t *testing.T) {
	b := dsl.NewBuilder()
	grouped := dsl.Stream(b, "clicks", serde.String, serde.String).GroupByKey()
	counts := dsl.WindowedBy(grouped, dsl.TimeWindowsOfSizeWithNoGrace(10*time.Millisecond)).
		Count(dsl.MaterializedAs[string, int64]("per-window"))
	if counts.StoreName() != "per-window" {
		t.Fatalf("StoreName = %q", counts.StoreName())
	}
	// A lookup at time t asks for the window t falls in.
	dsl.Stream(b, "lookups", serde.String, serde.String).
		Process(processor.Func[string, string, dsl.Windowed[string], string](func(ctx processor.Context[dsl.Windowed[string], string], rec processor.Record[string, string]) error {
			start := rec.Timestamp / 10 * 10
			return ctx.Forward(processor.Record[dsl.Windowed[string], string]{Key: dsl.Windowed[string]{Key: rec.Key, Start: start, End: start + 10}, Value: rec.Value, Timestamp: rec.Timestamp})
		})).
		LeftJoinTable(counts, func(v string, n int64, ok bool) string { return fmt.Sprint(v, "=", n, ok) },
			dsl.JoinedWith(serde.TimeWindowed(serde.String, 10*time.Millisecond), serde.String, serde.Int64)).
		Map(func(w dsl.Windowed[string], v string) (string, string) { return fmt.Sprint(w.Key, "@", w.Start), v }).
		To("out")
	td := newDriver(t, b)
	clicks := testdriver.InputTopic(td, "clicks", serde.String, serde.String)
	lookups := testdriver.InputTopic(td, "lookups", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.String)
	clicks.PipeRecord(at("ann", "x", 1))
	clicks.PipeRecord(at("ann", "x", 2))
	lookups.PipeRecord(at("ann", "q", 5))
	lookups.PipeRecord(at("ann", "q", 15))
	expect(t, out, "ann@0:q=2 true@5", "ann@10:q=0 false@15")
}
