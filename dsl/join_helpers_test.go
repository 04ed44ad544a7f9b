package dsl_test

import (
	"fmt"
	"testing"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/testdriver"
)

// A joinStep is one row of a join semantics table of the Kafka Streams
// developer guide: at time ts, a record on the left or the right input
// (value "null" is a null value, a tombstone for a table), and what each
// join variant emits for it, as the joiner's arguments ("[A, null]"),
// "null" for a delete, nothing when the cell is empty.
type joinStep struct {
	ts                int64
	left, right       string
	inner, lft, outer []string
}

// semantics is the developer guide's table of stream-table and table-table
// joins: the inputs every row of both tables shares, with the table-table
// results (the stream-table ones differ and are given where used).
var semantics = []joinStep{
	{ts: 1, left: "null"},
	{ts: 2, right: "null"},
	{ts: 3, left: "A", lft: []string{"[A, null]"}, outer: []string{"[A, null]"}},
	{ts: 4, right: "a", inner: []string{"[A, a]"}, lft: []string{"[A, a]"}, outer: []string{"[A, a]"}},
	{ts: 5, left: "B", inner: []string{"[B, a]"}, lft: []string{"[B, a]"}, outer: []string{"[B, a]"}},
	{ts: 6, right: "b", inner: []string{"[B, b]"}, lft: []string{"[B, b]"}, outer: []string{"[B, b]"}},
	{ts: 7, left: "null", inner: []string{"null"}, lft: []string{"null"}, outer: []string{"[null, b]"}},
	{ts: 8, right: "null", outer: []string{"null"}},
	{ts: 9, left: "C", lft: []string{"[C, null]"}, outer: []string{"[C, null]"}},
	{ts: 10, right: "c", inner: []string{"[C, c]"}, lft: []string{"[C, c]"}, outer: []string{"[C, c]"}},
	{ts: 11, right: "null", inner: []string{"null"}, lft: []string{"[C, null]"}, outer: []string{"[C, null]"}},
	{ts: 12, left: "null", lft: []string{"null"}, outer: []string{"null"}},
	{ts: 13, right: "null"},
	{ts: 14, right: "d", outer: []string{"[null, d]"}},
	{ts: 15, left: "D", inner: []string{"[D, d]"}, lft: []string{"[D, d]"}, outer: []string{"[D, d]"}},
}

// pair renders joiner arguments as the guide does.
func pair(l string, lok bool, r string, rok bool) string {
	if !lok {
		l = "null"
	}
	if !rok {
		r = "null"
	}
	return fmt.Sprintf("[%s, %s]", l, r)
}

// pipeStep feeds one step's record to its input, key "k".
func pipeStep(left, right *testdriver.TestInputTopic[string, string], st joinStep) {
	in, v := left, st.left
	if st.right != "" {
		in, v = right, st.right
	}
	rec := processor.Record[string, string]{Key: "k", Value: v, Timestamp: st.ts}
	if v == "null" {
		rec = processor.Record[string, string]{Key: "k", NullValue: true, Timestamp: st.ts}
	}
	in.PipeRecord(rec)
}

// expectStep checks what one step emitted: want values, keyed "k", at the
// time given ("null" a delete).
func expectStep(t *testing.T, out *testdriver.TestOutputTopic[string, string], st joinStep, ts int64, want []string) {
	t.Helper()
	var lines []string
	for _, w := range want {
		if w == "null" {
			w = "<null>"
		}
		lines = append(lines, fmt.Sprintf("k:%s@%d", w, ts))
	}
	if got := read(out); fmt.Sprint(got) != fmt.Sprint(lines) {
		t.Fatalf("at %d (left %q, right %q):\n got %q\nwant %q", st.ts, st.left, st.right, got, lines)
	}
}
