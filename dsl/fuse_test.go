package dsl_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// A task fuses a stateless node that has at most one child with it: as a
// step of a loop when the node keeps its types, else as a function calling
// the rest of the chain. A node with two children is not fused and runs its
// Process. These tests run each stateless operation all three ways over the
// same records, nulls included, and check that the outputs, the calls of the
// user's functions and the dropped records agree.

func TestFusedOperations(t *testing.T) {
	t.Run("Filter", func(t *testing.T) {
		checkFusing(t, func(s dsl.KStream[string, string], c *calls) dsl.KStream[string, string] {
			return s.Filter(func(k, v string) bool { c.add(k, v); return v != "c" })
		})
	})
	t.Run("FilterNot", func(t *testing.T) {
		checkFusing(t, func(s dsl.KStream[string, string], c *calls) dsl.KStream[string, string] {
			return s.FilterNot(func(k, v string) bool { c.add(k, v); return v == "c" })
		})
	})
	t.Run("MapValues/same-type", func(t *testing.T) {
		checkFusing(t, func(s dsl.KStream[string, string], c *calls) dsl.KStream[string, string] {
			return s.MapValues(func(v string) string { c.add("", v); return strings.ToUpper(v) })
		})
	})
	t.Run("MapValues/new-type", func(t *testing.T) {
		checkFusing(t, func(s dsl.KStream[string, string], c *calls) dsl.KStream[string, int64] {
			return s.MapValues(func(v string) int64 { c.add("", v); return int64(len(v)) })
		})
	})
	t.Run("Map/same-types", func(t *testing.T) {
		checkFusing(t, func(s dsl.KStream[string, string], c *calls) dsl.KStream[string, string] {
			return s.Map(func(k, v string) (string, string) { c.add(k, v); return v, k })
		})
	})
	t.Run("Map/new-types", func(t *testing.T) {
		checkFusing(t, func(s dsl.KStream[string, string], c *calls) dsl.KStream[int64, string] {
			return s.Map(func(k, v string) (int64, string) { c.add(k, v); return int64(len(k)), v })
		})
	})
	t.Run("SelectKey/same-type", func(t *testing.T) {
		checkFusing(t, func(s dsl.KStream[string, string], c *calls) dsl.KStream[string, string] {
			return s.SelectKey(func(k, v string) string { c.add(k, v); return v + k })
		})
	})
	t.Run("SelectKey/new-type", func(t *testing.T) {
		checkFusing(t, func(s dsl.KStream[string, string], c *calls) dsl.KStream[int64, string] {
			return s.SelectKey(func(k, v string) int64 { c.add(k, v); return int64(len(v)) })
		})
	})
	t.Run("FlatMapValues", func(t *testing.T) {
		checkFusing(t, func(s dsl.KStream[string, string], c *calls) dsl.KStream[string, string] {
			return s.FlatMapValues(func(v string) []string { c.add("", v); return strings.Fields(v) })
		})
	})
	t.Run("FlatMap", func(t *testing.T) {
		checkFusing(t, func(s dsl.KStream[string, string], c *calls) dsl.KStream[string, int64] {
			return s.FlatMap(func(k, v string) []dsl.KeyValue[string, int64] {
				c.add(k, v)
				return []dsl.KeyValue[string, int64]{dsl.KV(k, int64(len(v))), dsl.KV(v, int64(len(k)))}
			})
		})
	})
	t.Run("Peek", func(t *testing.T) {
		checkFusing(t, func(s dsl.KStream[string, string], c *calls) dsl.KStream[string, string] {
			return s.Peek(func(k, v string) { c.add(k, v) })
		})
	})
	t.Run("Merge", func(t *testing.T) {
		checkFusing(t, func(s dsl.KStream[string, string], c *calls) dsl.KStream[string, string] {
			return s.Filter(func(_, v string) bool { return v != "c" }).Merge(s.Filter(func(_, v string) bool { return v == "c" }))
		})
	})
	t.Run("Branch", func(t *testing.T) {
		checkFusing(t, func(s dsl.KStream[string, string], c *calls) dsl.KStream[string, string] {
			return s.Split(dsl.Named("b-")).
				Branch(func(k, v string) bool { c.add(k, v); return v == "c" }, dsl.Named("c")).
				DefaultBranch(dsl.Named("rest"))["b-rest"]
		})
	})
}

// fuseInput is statelessInput with a record of an empty value, which
// FlatMapValues turns into no record.
func fuseInput() []processor.Record[string, string] {
	return append(statelessInput(), at("k5", "", 50))
}

// checkFusing runs op three ways: alone between source and sink, inside a
// chain of operations that keep the types, and with two sinks after it, so
// that it is not fused. It fails unless all agree.
func checkFusing[KR, VR any](t *testing.T, op func(dsl.KStream[string, string], *calls) dsl.KStream[KR, VR]) {
	t.Helper()
	type result struct {
		out, calls []string
		dropped    string
	}
	shapes := []string{"alone", "chained", "not-fused"}
	results := make([]result, len(shapes))
	for i, shape := range shapes {
		var c calls
		b := dsl.NewBuilder()
		s := dsl.Stream(b, "in", serde.String, serde.String)
		if shape == "chained" {
			s = s.Filter(func(string, string) bool { return true }).Peek(func(string, string) {})
		}
		r := op(s, &c)
		if shape == "chained" {
			r = r.Peek(func(KR, VR) {}).Filter(func(KR, VR) bool { return true })
		}
		r.To("out")
		if shape == "not-fused" {
			r.To("copy")
		}
		td := newDriver(t, b)
		in := testdriver.InputTopic(td, "in", serde.String, serde.String)
		ks, _ := serde.Default[KR]()
		vs, _ := serde.Default[VR]()
		out := testdriver.OutputTopic(td, "out", ks, vs)
		in.PipeRecordList(fuseInput())
		results[i] = result{out: read(out), calls: c, dropped: fmt.Sprint(td.DroppedRecords())}
		if shape == "not-fused" {
			if cp := read(testdriver.OutputTopic(td, "copy", ks, vs)); !slices.Equal(cp, results[i].out) {
				t.Errorf("not-fused: the two sinks differ:\n out %q\ncopy %q", results[i].out, cp)
			}
		}
	}
	want := results[len(results)-1]
	if len(want.out) == 0 {
		t.Fatalf("not-fused: no output; the test checks nothing")
	}
	for i, got := range results[:len(results)-1] {
		if !slices.Equal(got.out, want.out) || !slices.Equal(got.calls, want.calls) || got.dropped != want.dropped {
			t.Errorf("%s differs from not-fused:\n out %q\nwant %q\n calls %q\n want %q\n dropped %s, want %s",
				shapes[i], got.out, want.out, got.calls, want.calls, got.dropped, want.dropped)
		}
	}
}

// failing fails to serialize the value "bad".
type failing struct{ serde.Serde[string] }

var errBad = errors.New("bad value")

func (f failing) Serialize(dst []byte, topic string, v string) ([]byte, error) {
	if v == "bad" {
		return nil, errBad
	}
	return f.Serde.Serialize(dst, topic, v)
}

// TestFusedErrorNode checks that an error raised past a fused chain names
// the node that raised it.
func TestFusedErrorNode(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   func(dsl.KStream[string, string]) dsl.KStream[string, string]
	}{
		{"steps", func(s dsl.KStream[string, string]) dsl.KStream[string, string] {
			return s.Filter(func(string, string) bool { return true }).MapValues(strings.ToLower)
		}},
		{"functions", func(s dsl.KStream[string, string]) dsl.KStream[string, string] {
			return s.MapValues(func(v string) []byte { return []byte(v) }).
				MapValues(func(v []byte) string { return strings.ToLower(string(v)) })
		}},
		{"not-fused", func(s dsl.KStream[string, string]) dsl.KStream[string, string] {
			s = s.MapValues(strings.ToLower)
			s.To("other")
			return s
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			tc.op(dsl.Stream(b, "in", serde.String, serde.String)).
				To("out", dsl.Named("the-sink"), dsl.ProducedWith(serde.String, serde.Serde[string](failing{serde.String})))
			td := newDriver(t, b)
			in := testdriver.InputTopic(td, "in", serde.String, serde.String)
			err := in.TryPipeRecord(at("k", "BAD", 1))
			var pe *processor.Error
			if !errors.As(err, &pe) || pe.Node != "the-sink" || !errors.Is(err, errBad) || !errors.Is(err, serde.ErrSerialize) {
				t.Fatalf("error = %v, want a processor.Error of node %q wrapping %v", err, "the-sink", errBad)
			}
		})
	}
}
