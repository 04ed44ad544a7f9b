package dsl_test

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// tableJoin builds left ⋈ right of the given kind ("inner", "left",
// "outer") with the guide's joiner, writing the result to "joined".
func tableJoin(kind string, opts ...dsl.Materialized[string, string]) *dsl.Builder {
	b := dsl.NewBuilder()
	left := dsl.Table(b, "left", serde.String, serde.String)
	right := dsl.Table(b, "right", serde.String, serde.String)
	var joined dsl.KTable[string, string]
	switch kind {
	case "inner":
		joined = left.Join(right, func(l, r string) string { return pair(l, true, r, true) }, opts...)
	case "left":
		joined = left.LeftJoin(right, func(l, r string, ok bool) string { return pair(l, true, r, ok) }, opts...)
	default:
		joined = left.OuterJoin(right, pair, opts...)
	}
	joined.ToStream().To("joined")
	return b
}

// TestTableTableJoinSemantics runs every row of the developer guide's
// table-table join semantics table for the three joins, record for record:
// each result has the later timestamp of the two rows joined, here the
// time of the record that caused it.
func TestTableTableJoinSemantics(t *testing.T) {
	for _, kind := range []string{"inner", "left", "outer"} {
		t.Run(kind, func(t *testing.T) {
			eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
				td := newDriver(t, tableJoin(kind), opts...)
				l := testdriver.InputTopic(td, "left", serde.String, serde.String)
				r := testdriver.InputTopic(td, "right", serde.String, serde.String)
				out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
				for _, st := range semantics {
					pipeStep(l, r, st)
					want := map[string][]string{"inner": st.inner, "left": st.lft, "outer": st.outer}[kind]
					expectStep(t, out, st, st.ts, want)
				}
			})
		})
	}
}

// Materialized, the result is kept in a store and a delete is forwarded
// only for a row it held: the guide's rows are the same, for these joins
// never delete a row that is not there.
func TestTableTableJoinMaterialized(t *testing.T) {
	for _, kind := range []string{"inner", "left", "outer"} {
		t.Run(kind, func(t *testing.T) {
			td := newDriver(t, tableJoin(kind, dsl.MaterializedAs[string, string]("joined-store")))
			l := testdriver.InputTopic(td, "left", serde.String, serde.String)
			r := testdriver.InputTopic(td, "right", serde.String, serde.String)
			out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
			for _, st := range semantics {
				pipeStep(l, r, st)
				want := map[string][]string{"inner": st.inner, "left": st.lft, "outer": st.outer}[kind]
				expectStep(t, out, st, st.ts, want)
			}
			if got := storeContents[string, string](t, td, "joined-store"); !maps.Equal(got, map[string]string{"k": "[D, d]"}) {
				t.Fatalf("store = %v", got)
			}
		})
	}
}

// Out of order: a result takes the later of the two rows' timestamps, so
// an update older than the other side's row is stamped with that row's.
func TestTableTableJoinOutOfOrder(t *testing.T) {
	td := newDriver(t, tableJoin("inner"))
	l := testdriver.InputTopic(td, "left", serde.String, serde.String)
	r := testdriver.InputTopic(td, "right", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
	r.PipeRecord(at("k", "a", 10))
	l.PipeRecord(at("k", "A", 5))
	l.PipeRecord(at("k", "B", 12))
	r.PipeRecord(at("k", "b", 7))
	expect(t, out, "k:[A, a]@10", "k:[B, a]@12", "k:[B, b]@12")
}

// A join reads the other side through its value getter: an unmaterialized
// filter or mapping upstream is applied to the rows it reads.
func TestTableTableJoinThroughGetters(t *testing.T) {
	b := dsl.NewBuilder()
	users := dsl.Table(b, "users", serde.String, serde.String).
		Filter(func(_, name string) bool { return name != "banned" })
	scores := dsl.Table(b, "scores", serde.String, serde.Int64).
		MapValues(func(n int64) string { return fmt.Sprint("score ", n) })
	users.Join(scores, func(name, score string) string { return name + ": " + score }).
		ToStream().To("board")
	td := newDriver(t, b)
	u := testdriver.InputTopic(td, "users", serde.String, serde.String)
	s := testdriver.InputTopic(td, "scores", serde.String, serde.Int64)
	out := testdriver.OutputTopic(td, "board", serde.String, serde.String)
	u.PipeRecord(at("u1", "banned", 1))
	s.PipeRecord(at("u1", int64(3), 2)) // the filtered user is not found
	u.PipeRecord(at("u2", "bea", 3))
	s.PipeRecord(at("u2", int64(7), 4)) // the mapped score joins
	u.PipeRecord(at("u1", "ann", 5))    // passes now: joins the score
	expect(t, out, "u2:bea: score 7@4", "u1:ann: score 3@5")
}

// A join's result can be re-grouped, which asks it for old values: the
// join computes them from both sides' old values, and the count follows
// users as they change team.
func TestTableTableJoinOldValues(t *testing.T) {
	b := dsl.NewBuilder()
	users := dsl.Table(b, "users", serde.String, serde.String) // user → team
	teams := dsl.Table(b, "teams", serde.String, serde.String) // user → league
	users.Join(teams, func(team, league string) string { return league + "/" + team }).
		GroupBy(func(_, lt string) (string, string) { return lt, lt }).
		Count().
		ToStream().To("per-team")
	td := newDriver(t, b)
	u := testdriver.InputTopic(td, "users", serde.String, serde.String)
	l := testdriver.InputTopic(td, "teams", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "per-team", serde.String, serde.Int64)
	u.PipeRecord(at("ann", "red", 1))
	l.PipeRecord(at("ann", "east", 2))
	u.PipeRecord(at("bob", "red", 3))
	l.PipeRecord(at("bob", "east", 4))
	u.PipeRecord(at("ann", "blue", 5))                // out of east/red, into east/blue
	l.PipeRecord(at("bob", "west", 6))                // out of east/red, into west/red
	u.PipeRecord(tombstone[string, string]("ann", 7)) // out of east/blue
	expect(t, out, "east/red:1@2", "east/red:2@4", "east/red:1@5", "east/blue:1@5",
		"east/red:0@6", "west/red:1@6", "east/blue:0@7")
}

// A stream joins a table-table join that keeps no store by reading both
// sides.
func TestStreamJoinsUnmaterializedTableJoin(t *testing.T) {
	b := dsl.NewBuilder()
	left := dsl.Table(b, "left", serde.String, serde.String)
	right := dsl.Table(b, "right", serde.String, serde.String)
	joined := left.OuterJoin(right, pair)
	dsl.Stream(b, "lookups", serde.String, serde.String).
		LeftJoinTable(joined, func(v, row string, found bool) string { return pair(v, true, row, found) }).
		To("found")
	td := newDriver(t, b)
	l := testdriver.InputTopic(td, "left", serde.String, serde.String)
	r := testdriver.InputTopic(td, "right", serde.String, serde.String)
	q := testdriver.InputTopic(td, "lookups", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "found", serde.String, serde.String)
	q.PipeRecord(at("k", "q1", 1))
	r.PipeRecord(at("k", "a", 2))
	q.PipeRecord(at("k", "q2", 3))
	l.PipeRecord(at("k", "A", 4))
	q.PipeRecord(at("k", "q3", 5))
	expect(t, out, "k:[q1, null]@1", "k:[q2, [null, a]]@3", "k:[q3, [A, a]]@5")
}

// Suppress works on a join's result as on any table: the updates of a key
// within the time limit fold into the last one.
func TestTableJoinSuppressed(t *testing.T) {
	b := dsl.NewBuilder()
	left := dsl.Table(b, "left", serde.String, serde.String)
	right := dsl.Table(b, "right", serde.String, serde.String)
	left.Join(right, func(l, r string) string { return l + r }).
		Suppress(dsl.UntilTimeLimit[string](10*time.Millisecond, dsl.Unbounded())).
		ToStream().To("joined")
	td := newDriver(t, b)
	l := testdriver.InputTopic(td, "left", serde.String, serde.String)
	r := testdriver.InputTopic(td, "right", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "joined", serde.String, serde.String)
	l.PipeRecord(at("k", "A", 1))
	r.PipeRecord(at("k", "a", 2))
	l.PipeRecord(at("k", "B", 3))
	expect(t, out)
	// A result of another key at 20 moves the suppression's stream time
	// past the limit.
	l.PipeRecord(at("other", "X", 20))
	r.PipeRecord(at("other", "x", 20))
	expect(t, out, "k:Ba@3")
}
