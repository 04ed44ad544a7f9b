package main

import (
	"maps"
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

func TestWordCount(t *testing.T) {
	for _, pebble := range []bool{false, true} {
		name := "memory"
		var opts []testdriver.Option
		if pebble {
			name = "pebble"
			opts = append(opts, testdriver.WithPebbleStores())
		}
		t.Run(name, func(t *testing.T) {
			topo, err := Topology(InputTopic, OutputTopic)
			if err != nil {
				t.Fatal(err)
			}
			td := testdriver.New(t, topo, opts...)
			in := testdriver.InputTopic(td, InputTopic, serde.String, serde.String)
			out := testdriver.OutputTopic(td, OutputTopic, serde.String, serde.Int64)

			in.PipeValue("Hello Kafka hello")
			got := out.ReadKeyValuesToList()
			want := []dsl.KeyValue[string, int64]{dsl.KV("hello", int64(1)), dsl.KV("kafka", int64(1)), dsl.KV("hello", int64(2))}
			if !slicesEqual(got, want) {
				t.Fatalf("updates = %v, want %v", got, want)
			}

			in.PipeValueList([]string{"all streams lead to kafka", "join kafka summit", ""})
			counts := testdriver.ReadKeyValuesToMap(out)
			wantCounts := map[string]int64{"all": 1, "streams": 1, "lead": 1, "to": 1, "kafka": 3, "join": 1, "summit": 1}
			if !maps.Equal(counts, wantCounts) {
				t.Fatalf("counts = %v, want %v", counts, wantCounts)
			}
			store := testdriver.KeyValueStore[string, int64](td, CountsStore)
			if n, ok, err := store.Get("hello"); err != nil || !ok || n != 2 {
				t.Fatalf("store hello = %d, %v, %v", n, ok, err)
			}
		})
	}
}

func slicesEqual[K, V comparable](a, b []dsl.KeyValue[K, V]) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
