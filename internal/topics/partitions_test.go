package topics

import (
	"errors"
	"reflect"
	"testing"

	"github.com/samsa-go/samsa/internal/engine"
)

// rawGraph builds a graph of bare nodes: each sub-topology is a list of
// source topics joined by a processor, writing to sink topics. The DSL
// cannot yet build some of these shapes (joins, cycles through topics).
func rawGraph(t *testing.T, internal map[string]int32, subs ...[2][]string) *engine.Graph {
	t.Helper()
	g := engine.NewGraph()
	for name, n := range internal {
		g.AddInternalTopic(name, n)
	}
	for i, sub := range subs {
		var sources []string
		for _, topic := range sub[0] {
			name := "src-" + topic
			g.Add(&engine.Node{Name: name, Kind: engine.KindSource, Topics: []string{topic}})
			sources = append(sources, name)
		}
		proc := "proc-" + string(rune('a'+i))
		g.Add(&engine.Node{Name: proc, Kind: engine.KindProcessor}, sources...)
		for _, topic := range sub[1] {
			g.Add(&engine.Node{Name: proc + "-sink-" + topic, Kind: engine.KindSink, Topic: topic}, proc)
		}
	}
	if err := g.Build(); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestResolve(t *testing.T) {
	type sub = [2][]string
	tests := []struct {
		name     string
		internal map[string]int32
		subs     []sub
		external map[string]int32
		counts   map[string]int32
		tasks    []int32
		err      error
	}{{
		name:     "max of upstream sources",
		internal: map[string]int32{"r": 0},
		subs:     []sub{{{"a"}, {"r"}}, {{"b"}, {"r"}}, {{"r"}, {"out"}}},
		external: map[string]int32{"a": 2, "b": 6},
		counts:   map[string]int32{"a": 2, "b": 6, "r": 6},
		tasks:    []int32{2, 6, 6},
	}, {
		name:     "chain through repartition topics",
		internal: map[string]int32{"r1": 0, "r2": 0},
		subs:     []sub{{{"r1"}, {"r2"}}, {{"a"}, {"r1"}}, {{"r2"}, {"out"}}},
		external: map[string]int32{"a": 4},
		counts:   map[string]int32{"a": 4, "r1": 4, "r2": 4},
		tasks:    []int32{4, 4, 4},
	}, {
		name:     "co-partitioned with an external topic",
		internal: map[string]int32{"r": 0},
		subs:     []sub{{{"a"}, {"r"}}, {{"r", "t"}, {"out"}}},
		external: map[string]int32{"a": 2, "t": 7},
		counts:   map[string]int32{"a": 2, "t": 7, "r": 7},
		tasks:    []int32{2, 7},
	}, {
		name:     "cycle",
		internal: map[string]int32{"x": 0, "y": 0},
		subs:     []sub{{{"x"}, {"y"}}, {{"y"}, {"x"}}},
		err:      ErrUnresolved,
	}, {
		name:     "explicit count against an external topic",
		internal: map[string]int32{"r": 3},
		subs:     []sub{{{"a"}, {"r"}}, {{"r", "t"}, {"out"}}},
		external: map[string]int32{"a": 2, "t": 7},
		err:      ErrNotCopartitioned,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := rawGraph(t, tt.internal, tt.subs...)
			external := tt.external
			if external == nil {
				external = map[string]int32{}
			}
			counts, tasks, err := resolve(g, external)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(counts, tt.counts) || !reflect.DeepEqual(tasks, tt.tasks) {
				t.Fatalf("counts %v tasks %v, want %v %v", counts, tasks, tt.counts, tt.tasks)
			}
		})
	}
}
