package harness

import (
	"fmt"
	"slices"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
)

// joined: each input left-joined with the row of its key in the table read
// from TableTopic (a stream–table join: a lookup of the table's current
// row, not a join in time).
//
// The row an input finds depends on how far its task had read the table
// partition when it processed the input, which the order the task picks
// records across its two partitions decides, and the verifier cannot know
// that order. What it can check exactly follows from two facts: a table
// value is a pure function of key and version (see Generator), so each
// output names the version it found; and the task reads the table
// partition in offset order, each record once, exactly once. So, under
// exactly-once:
//
//   - per key, the outputs carry the key's inputs once each, in order,
//     with the inputs' timestamps;
//   - a value found is a version of that key the generator wrote;
//   - the outputs of one task, in the order it wrote them, saw a table
//     partition read further and further: output o finding version v of
//     its key means the task had read the table partition past the offset
//     of version v and not yet to the offset of version v+1 (finding no row
//     means not yet to version 1). Those intervals, taken in the order of
//     the outputs, must allow a position that never moves back. This ties
//     the keys of one task together: a restored table ahead of or behind
//     the restored offsets, or a row seen before an older row of another
//     key, breaks it.
//
// The outputs of one task are those of keys whose input partition is the
// task's, and their order is their offset order within one output
// partition: the check runs per output partition and input partition.
// Under at_least_once it checks that every input appears and every value
// found was written.

// JoinedRow is an output of the join: the input value, and the table's
// value when a row was found.
type JoinedRow struct {
	Value int64 `json:"v"`
	Table int64 `json:"t"`
	Found bool  `json:"found"`
}

func (j JoinedRow) String() string {
	if !j.Found {
		return fmt.Sprintf("{%d, no row}", j.Value)
	}
	return fmt.Sprintf("{%d, %d}", j.Value, j.Table)
}

var joinedSerde = serde.JSON[JoinedRow]()

func buildJoined(b *dsl.Builder, data dsl.KStream[string, int64]) {
	table := dsl.Table(b, TableTopic, serde.String, serde.Int64, dsl.MaterializedAs[string, int64]("table-store"))
	data.LeftJoinTable(table, func(v, t int64, found bool) JoinedRow {
		return JoinedRow{Value: v, Table: t, Found: found}
	}).To("joined", dsl.ProducedWith(serde.String, joinedSerde))
}

// joinedOut is one output of the join with the version of the row it
// found (0 for none).
type joinedOut struct {
	rec Record
	row JoinedRow
	ver int
}

func checkJoined(f *findings, in *Input, recs map[string][]Record, g Guarantee) int {
	for _, k := range unknownKeys(recs, in.Keys) {
		f.add("key %q was never written to %s (first at %v)", k, InputTopic, recs[k][0])
	}
	dups := 0
	outs := map[string][]joinedOut{}
	for _, k := range in.Keys {
		var got []int64
		for _, r := range recs[k] {
			row, err := joinedSerde.Deserialize("joined", r.Value)
			if err != nil {
				f.add("key %q at %v: %v", k, r, err)
				continue
			}
			o := joinedOut{rec: r, row: row}
			if row.Found {
				ver, ok := in.tableVersion(k, row.Table)
				if !ok {
					f.add("key %q: output %v at %v found table value %d, which is no update of %q written to %s", k, row, r, row.Table, k, TableTopic)
					continue
				}
				o.ver = ver
			}
			got = append(got, row.Value)
			outs[k] = append(outs[k], o)
		}
		want := in.Values[k]
		if g == AtLeastOnce {
			dups += checkNothingLost(f, k, want, got)
			continue
		}
		if slices.Equal(got, want) {
			// The join keeps the input's timestamp.
			for i, o := range outs[k] {
				if o.rec.Timestamp != in.Times[k][i] {
					f.add("key %q: output #%d at %v has timestamp %d, but its input's is %d", k, i+1, o.rec, o.rec.Timestamp, in.Times[k][i])
					break
				}
			}
		} else {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			switch {
			case i < len(got) && i < len(want):
				f.add("key %q: output #%d at %v joins input %d, but input #%d is %d (%d outputs for %d inputs)", k, i+1, outs[k][i].rec, got[i], i+1, want[i], len(got), len(want))
			case i < len(got):
				f.add("key %q: %d outputs for %d inputs; the first extra one, %v at %v, follows no input", k, len(got), len(want), outs[k][i].row, outs[k][i].rec)
			default:
				f.add("key %q: %d outputs for %d inputs: the last %d inputs were not joined", k, len(got), len(want), len(want)-len(got))
			}
		}
	}
	if g == ExactlyOnce {
		checkJoinOrder(f, in, outs)
	}
	return dups
}

// checkJoinOrder checks, per task, that the table rows its outputs found
// allow a reading of the table partition that never moves back (see the
// comment on joined).
func checkJoinOrder(f *findings, in *Input, outs map[string][]joinedOut) {
	type group struct{ out, in int32 }
	type item struct {
		key string
		joinedOut
	}
	groups := map[group][]item{}
	for k, os := range outs {
		for _, o := range os {
			gk := group{o.rec.Partition, in.Partition[k]}
			groups[gk] = append(groups[gk], item{k, o})
		}
	}
	gks := make([]group, 0, len(groups))
	for gk := range groups {
		gks = append(gks, gk)
	}
	slices.SortFunc(gks, func(a, b group) int {
		if a.out != b.out {
			return int(a.out - b.out)
		}
		return int(a.in - b.in)
	})
	const none = int64(1) << 62
	for _, gk := range gks {
		items := groups[gk]
		slices.SortFunc(items, func(a, b item) int { return compareInt(a.rec.Offset, b.rec.Offset) })
		// pos is the least table position (the next table offset to read)
		// that the outputs so far allow; since is the output that forced it.
		pos := int64(0)
		var since *item
		for i := range items {
			it := &items[i]
			offs := in.TableOffsets[it.key]
			lo, hi := int64(0), none
			if it.ver > 0 {
				lo = offs[it.ver-1] + 1
			}
			if it.ver < len(offs) {
				hi = offs[it.ver]
			}
			if lo > pos {
				pos, since = lo, it
			}
			if pos > hi {
				f.add("table partition %d: output %v of key %q at %v found %s, replaced at offset %d, after output %v of key %q at %v had found a row that the table partition had past offset %d",
					gk.in, it.row, it.key, it.rec, versionName(it.ver), hi, since.row, since.key, since.rec, pos-1)
				// Go on from this output, so that one step back is one
				// finding.
				pos, since = lo, it
			}
		}
	}
}

func versionName(ver int) string {
	if ver == 0 {
		return "no row"
	}
	return fmt.Sprintf("version %d", ver)
}
