package main

import (
	"context"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
)

var testStart = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

// driven pipes recs through topo on the test driver and returns every
// output record, bytes as written.
func driven(t *testing.T, topo *topology.Topology, recs []record) []processor.Record[[]byte, []byte] {
	t.Helper()
	td := testdriver.New(t, topo)
	in := map[string]*testdriver.TestInputTopic[string, string]{
		UsersTopic:     testdriver.InputTopic(td, UsersTopic, serde.String, serde.String),
		PageViewsTopic: testdriver.InputTopic(td, PageViewsTopic, serde.String, serde.String),
	}
	for _, r := range recs {
		in[r.topic].PipeRecord(processor.NewRecord(r.key, r.value, r.ts))
	}
	return testdriver.OutputTopic(td, OutputTopic, serde.Bytes, serde.Bytes).ReadRecordsToList()
}

func finalCounts(t *testing.T, out []processor.Record[[]byte, []byte]) map[windowKey]int64 {
	t.Helper()
	keys := serde.TimeWindowed(serde.String, WindowSize)
	vals := serde.JSON[ViewCount]()
	m := map[windowKey]int64{}
	for _, r := range out {
		k, err := keys.Deserialize(OutputTopic, r.Key)
		if err != nil {
			t.Fatal(err)
		}
		v, err := vals.Deserialize(OutputTopic, r.Value)
		if err != nil {
			t.Fatal(err)
		}
		m[windowKey{k.Key, k.Start}] = v.Views
	}
	return m
}

func total(m map[windowKey]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

func topologies(t *testing.T) (sqlTopo, dslTopo *topology.Topology) {
	t.Helper()
	s, err := SQLTopology()
	if err != nil {
		t.Fatal(err)
	}
	d, err := DSLTopology()
	if err != nil {
		t.Fatal(err)
	}
	return s, d
}

// The SQL and the DSL application write the same records, byte for byte
// and in the same order, timestamps included.
func TestSQLAndDSLSameOutputOnDriver(t *testing.T) {
	sqlTopo, dslTopo := topologies(t)
	const views = 2000
	recs := generate(7, 30, views, testStart, 10*time.Minute)
	got, want := driven(t, sqlTopo, recs), driven(t, dslTopo, recs)
	if len(got) != views {
		t.Fatalf("sql wrote %d records for %d views", len(got), views)
	}
	if len(got) != len(want) {
		t.Fatalf("sql wrote %d records, dsl %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if string(g.Key) != string(w.Key) || string(g.Value) != string(w.Value) || g.Timestamp != w.Timestamp {
			t.Fatalf("record %d: sql %q=%s@%d, dsl %q=%s@%d", i, g.Key, g.Value, g.Timestamp, w.Key, w.Value, w.Timestamp)
		}
	}
	counts := finalCounts(t, got)
	if n := total(counts); n != views {
		t.Fatalf("final counts add up to %d, want every one of %d views", n, views)
	}
	// Ten minutes of views in three regions: 30 windows, unless a region
	// went a whole minute without a view.
	if len(counts) < 27 {
		t.Fatalf("%d windows: %v", len(counts), counts)
	}
}

// Views of a user the table does not hold are dropped by the inner join,
// in both languages.
func TestUnknownUserDropped(t *testing.T) {
	sqlTopo, dslTopo := topologies(t)
	recs := []record{
		{topic: UsersTopic, key: "u1", value: `{"REGION":"emea"}`, ts: 1},
		{topic: PageViewsTopic, key: "u2", value: `{"PAGE":"/"}`, ts: 2},
		{topic: PageViewsTopic, key: "u1", value: `{"PAGE":"/"}`, ts: 3},
	}
	for name, topo := range map[string]*topology.Topology{"sql": sqlTopo, "dsl": dslTopo} {
		got := finalCounts(t, driven(t, topo, recs))
		if want := map[windowKey]int64{{"emea", 0}: 1}; !maps.Equal(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

// Both modes of the program, each on an in-process broker, end with the
// counts the test driver computes.
func TestRunBothModesOnBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two applications on in-process brokers")
	}
	const users, views = 12, 300
	sqlTopo, _ := topologies(t)
	want := finalCounts(t, driven(t, sqlTopo, generate(3, users, views, testStart, 4*time.Minute)))
	for _, mode := range []string{"sql", "dsl"} {
		t.Run(mode, func(t *testing.T) {
			cfg, err := parseConfig([]string{"-mode", mode, "-users", "12", "-views", "300", "-span", "4m", "-seed", "3", "-idle", "3s"}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			cfg.start = testStart
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var stdout strings.Builder
			got, err := run(ctx, cfg, &stdout, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, want) {
				t.Fatalf("counts %v, want %v", got, want)
			}
			if !strings.Contains(stdout.String(), "final counts:\n") {
				t.Fatalf("no final table in:\n%s", stdout.String())
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"-mode", "java"}, `-mode "java": want sql or dsl`},
		{[]string{"-partitions", "0"}, "-partitions 0"},
		{[]string{"-users", "0"}, "need a user"},
		{[]string{"extra"}, "unexpected arguments: extra"},
	} {
		_, err := parseConfig(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.err)
		}
	}
	c, err := parseConfig([]string{"-brokers", "a:1, b:2", "-mode", "dsl"}, io.Discard)
	if err != nil || !slices.Equal(c.brokers, []string{"a:1", "b:2"}) || c.mode != "dsl" {
		t.Fatalf("%+v %v", c, err)
	}
}
