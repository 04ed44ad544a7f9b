package conformance_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
)

// A stepCase is a case fed one record at a time: the runtime gets the next
// record only once it has processed everything the last one caused, as the
// test driver does. Joins need it: which rows a record meets depends on
// the order in which records of several topics, some of them written by
// the topology itself (a foreign-key join's subscriptions and answers),
// are processed, and a run with everything produced up front would leave
// that order to timing.
type stepCase struct {
	name     string
	topology func(t testing.TB) *topology.Topology
	sources  []string
	// before are produced before the application starts: the records of
	// global tables, which the runtime reads outside the group, whose
	// commits cannot tell when it has read them.
	before []stepInput
	inputs []stepInput
	read   []topicSpec
	want   map[string][]string
}

// stepInput is a record fed to the topology; key "" is a null key, value
// tombstone a null value.
type stepInput struct {
	topic, key, value string
	ts                int64
}

const tombstone = "\x00tombstone"

func (in stepInput) bytes() (key, value []byte) {
	if in.key != "" {
		key = []byte(in.key)
	}
	if in.value != tombstone {
		value = []byte(in.value)
	}
	return key, value
}

// joinInputs feeds the rows of the developer guide's stream-table and
// table-table join semantics tables, all with key k, to "left" and
// "right".
func joinInputs() []stepInput {
	return []stepInput{
		{"left", "k", tombstone, 1}, {"right", "k", tombstone, 2}, {"left", "k", "A", 3}, {"right", "k", "a", 4},
		{"left", "k", "B", 5}, {"right", "k", "b", 6}, {"left", "k", tombstone, 7}, {"right", "k", tombstone, 8},
		{"left", "k", "C", 9}, {"right", "k", "c", 10}, {"right", "k", tombstone, 11}, {"left", "k", tombstone, 12},
		{"right", "k", tombstone, 13}, {"right", "k", "d", 14}, {"left", "k", "D", 15},
	}
}

func pair(l string, lok bool, r string, rok bool) string {
	if !lok {
		l = "null"
	}
	if !rok {
		r = "null"
	}
	return fmt.Sprintf("[%s, %s]", l, r)
}

// streamJoinInputs are the rows of the developer guide's stream-stream
// join table, in milliseconds, and one more to close the last windows.
func streamJoinInputs() []stepInput {
	rows := []stepInput{
		{"left", "k", tombstone, 1}, {"right", "k", tombstone, 2}, {"left", "k", "A", 3}, {"right", "k", "a", 4},
		{"left", "k", "B", 5}, {"right", "k", "b", 6}, {"left", "k", tombstone, 7}, {"right", "k", tombstone, 8},
		{"left", "k", "C", 9}, {"right", "k", "c", 10}, {"right", "k", tombstone, 11}, {"left", "k", tombstone, 12},
		{"right", "k", tombstone, 13}, {"right", "k", "d", 14}, {"left", "k", "D", 15}, {"left", "k", "E", 40},
		{"left", "k", "F", 60}, {"right", "k", "f", 80}, {"left", "k", "G", 100}, {"left", "k", "H", 121},
	}
	for i := range rows {
		rows[i].ts *= 1000
	}
	return rows
}

var stepCases = []stepCase{
	{
		// Two grouped streams of other value types, one re-keyed, fold
		// into one count per key: the number of clicks plus the sum of
		// the purchases.
		name: "cogroup",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			clicks := dsl.Stream(b, "clicks", serde.String, serde.String).GroupByKey()
			purchases := dsl.Stream(b, "purchases", serde.String, serde.String).
				Map(func(order, user string) (string, int64) { return user, int64(len(order)) }).
				GroupByKey(dsl.GroupedWith(serde.String, serde.Int64))
			dsl.Cogroup(clicks, func(_, _ string, n int64) int64 { return n + 1 }).
				Cogroup(purchases, func(_ string, v, n int64) int64 { return n + v }).
				Aggregate(func() int64 { return 0 }, dsl.MaterializedAs[string, int64]("activity")).
				ToStream().To("activity", dsl.ProducedWith(serde.String, serde.Int64))
			return build(t, b)
		},
		sources: []string{"clicks", "purchases"},
		inputs: []stepInput{
			{"clicks", "ann", "/home", 1}, {"purchases", "order-1", "ann", 2}, {"clicks", "bob", "/home", 3},
			{"purchases", "o-2", "bob", 4}, {"clicks", "ann", "/cart", 5},
		},
		read: []topicSpec{{"activity", long}, {changelog("activity"), long}},
		want: map[string][]string{
			"activity":            {"ann:1@1", "ann:8@2", "bob:1@3", "bob:4@4", "ann:9@5"},
			changelog("activity"): {"ann:1@1", "ann:8@2", "bob:1@3", "bob:4@4", "ann:9@5"},
		},
	},
	{
		name: "stream-stream joins",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			left := dsl.Stream(b, "left", serde.String, serde.String)
			right := dsl.Stream(b, "right", serde.String, serde.String)
			w := dsl.JoinWindowsOfTimeDifferenceAndGrace(15*time.Second, 5*time.Second)
			left.Join(right, func(l, r string) string { return pair(l, true, r, true) }, w).To("inner-joined")
			left.OuterJoin(right, pair, w, dsl.StreamJoined[string, string, string]{}.WithStoreName("outer")).To("outer-joined")
			return build(t, b)
		},
		sources: []string{"left", "right"},
		inputs:  streamJoinInputs(),
		read:    []topicSpec{{"inner-joined", text}, {"outer-joined", text}},
		want: map[string][]string{
			"inner-joined": streamInner,
			"outer-joined": append(slices.Clone(streamInner), "k:[E, null]@40000", "k:[F, null]@60000", "k:[null, f]@80000", "k:[G, null]@100000"),
		},
	},
	{
		name: "stream-table joins",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			table := dsl.Table(b, "right", serde.String, serde.String, dsl.MaterializedAs[string, string]("right-store"))
			stream := dsl.Stream(b, "left", serde.String, serde.String)
			stream.JoinTable(table, func(l, r string) string { return pair(l, true, r, true) }).To("inner-joined")
			stream.LeftJoinTable(table, func(l, r string, ok bool) string { return pair(l, true, r, ok) }).To("left-joined")
			return build(t, b)
		},
		sources: []string{"left", "right"},
		inputs:  joinInputs(),
		read:    []topicSpec{{"inner-joined", text}, {"left-joined", text}, {changelog("right-store"), text}},
		want: map[string][]string{
			"inner-joined":           {"k:[B, a]@5", "k:[D, d]@15"},
			"left-joined":            {"k:[A, null]@3", "k:[B, a]@5", "k:[C, null]@9", "k:[D, d]@15"},
			changelog("right-store"): {"k:a@4", "k:b@6", "k:<null>@8", "k:c@10", "k:<null>@11", "k:d@14"},
		},
	},
	{
		name: "table-table joins",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			left := dsl.Table(b, "left", serde.String, serde.String)
			right := dsl.Table(b, "right", serde.String, serde.String)
			left.Join(right, func(l, r string) string { return pair(l, true, r, true) }).ToStream().To("inner-joined")
			left.LeftJoin(right, func(l, r string, ok bool) string { return pair(l, true, r, ok) }).ToStream().To("left-joined")
			left.OuterJoin(right, pair, dsl.MaterializedAs[string, string]("outer-store")).ToStream().To("outer-joined")
			return build(t, b)
		},
		sources: []string{"left", "right"},
		inputs:  joinInputs(),
		read:    []topicSpec{{"inner-joined", text}, {"left-joined", text}, {"outer-joined", text}, {changelog("outer-store"), text}},
		want: map[string][]string{
			"inner-joined": {"k:[A, a]@4", "k:[B, a]@5", "k:[B, b]@6", "k:<null>@7", "k:[C, c]@10", "k:<null>@11", "k:[D, d]@15"},
			"left-joined": {"k:[A, null]@3", "k:[A, a]@4", "k:[B, a]@5", "k:[B, b]@6", "k:<null>@7", "k:[C, null]@9",
				"k:[C, c]@10", "k:[C, null]@11", "k:<null>@12", "k:[D, d]@15"},
			"outer-joined": {"k:[A, null]@3", "k:[A, a]@4", "k:[B, a]@5", "k:[B, b]@6", "k:[null, b]@7", "k:<null>@8",
				"k:[C, null]@9", "k:[C, c]@10", "k:[C, null]@11", "k:<null>@12", "k:[null, d]@14", "k:[D, d]@15"},
			changelog("outer-store"): {"k:[A, null]@3", "k:[A, a]@4", "k:[B, a]@5", "k:[B, b]@6", "k:[null, b]@7", "k:<null>@8",
				"k:[C, null]@9", "k:[C, c]@10", "k:[C, null]@11", "k:<null>@12", "k:[null, d]@14", "k:[D, d]@15"},
		},
	},
	{
		// The guide's foreign-key table: left values are the foreign keys.
		name: "foreign-key joins",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			left := dsl.Table(b, "left", serde.String, serde.String)
			right := dsl.Table(b, "right", serde.String, serde.String)
			fk := func(v string) (string, bool) { return v, true }
			left.JoinForeignKey(right, fk, func(l, r string) string { return l + "," + r }).ToStream().To("inner-joined")
			left.LeftJoinForeignKey(right, fk, func(l, r string, ok bool) string {
				if !ok {
					r = "null"
				}
				return l + "," + r
			}).ToStream().To("left-joined")
			return build(t, b)
		},
		sources: []string{"left", "right"},
		inputs: []stepInput{
			{"right", "1", "foo", 1}, {"left", "k", "1", 1}, {"left", "k", "2", 2}, {"left", "k", "3", 3},
			{"right", "3", "bar", 4}, {"left", "k", tombstone, 5}, {"left", "k", "1", 6}, {"left", "q", "10", 7},
			{"left", "r", "10", 8}, {"right", "10", "baz", 9},
		},
		read: []topicSpec{{"inner-joined", text}, {"left-joined", text}},
		want: map[string][]string{
			"inner-joined": {"k:1,foo@1", "k:<null>@2", "k:<null>@3", "k:3,bar@4", "k:<null>@5", "k:1,foo@6", "q:10,baz@9", "r:10,baz@9"},
			"left-joined": {"k:1,foo@1", "k:2,null@2", "k:3,null@3", "k:3,bar@4", "k:<null>@5", "k:1,foo@6",
				"q:10,null@7", "r:10,null@8", "q:10,baz@9", "r:10,baz@9"},
		},
	},
	{
		name: "stream-global joins",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			products := dsl.GlobalTable(b, "products", serde.String, serde.String, dsl.MaterializedAs[string, string]("products"))
			orders := dsl.Stream(b, "orders", serde.String, serde.String)
			byProduct := func(_, p string) string { return p }
			orders.JoinGlobal(products, byProduct, func(p, name string) string { return pair(p, true, name, true) }).To("inner-joined")
			orders.LeftJoinGlobal(products, byProduct, func(p, name string, ok bool) string { return pair(p, true, name, ok) }).To("left-joined")
			return build(t, b)
		},
		sources: []string{"products", "orders"},
		before: []stepInput{
			{"products", "p1", "tea", 1}, {"products", "p2", "cake", 2}, {"products", "p3", "jam", 3}, {"products", "p3", tombstone, 4},
		},
		inputs: []stepInput{
			{"orders", "o1", "p1", 5}, {"orders", "o2", "p3", 6}, {"orders", "o3", tombstone, 7}, {"orders", "", "p2", 8},
		},
		read: []topicSpec{{"inner-joined", text}, {"left-joined", text}},
		want: map[string][]string{
			"inner-joined": {"o1:[p1, tea]@5"},
			"left-joined":  {"o1:[p1, tea]@5", "o2:[p3, null]@6", "<null>:[p2, cake]@8"},
		},
	},
	{
		// The guide's KGroupedTable example: users re-grouped by region,
		// the value the length of the name; and the same table filtered
		// and mapped into stores of their own.
		name: "table re-grouping and materialized operations",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			users := dsl.Table(b, "user-profiles", serde.String, serde.String)
			users.GroupBy(func(user, region string) (string, int64) { return region, int64(len(user)) }).
				Aggregate(func() int64 { return 0 },
					func(_ string, v, agg int64) int64 { return agg + v },
					func(_ string, v, agg int64) int64 { return agg - v },
					dsl.MaterializedAs[string, int64]("aggregated-table-store")).
				ToStream().To("aggregated", dsl.ProducedWith(serde.String, serde.Int64))
			users.Filter(func(_, region string) bool { return region == "A" }, dsl.MaterializedAs[string, string]("in-asia")).
				MapValues(func(region string) string { return "in " + region }, dsl.MaterializedAs[string, string]("labels")).
				ToStream().To("labels")
			return build(t, b)
		},
		sources: []string{"user-profiles"},
		inputs: []stepInput{
			{"user-profiles", "alice", "E", 1}, {"user-profiles", "bob", "A", 2}, {"user-profiles", "charlie", "A", 3},
			{"user-profiles", "alice", "A", 4}, {"user-profiles", "charlie", tombstone, 5}, {"user-profiles", "", "E", 6},
			{"user-profiles", "bob", "E", 7},
		},
		read: []topicSpec{{"aggregated", long}, {changelog("aggregated-table-store"), long}, {"labels", text}, {changelog("in-asia"), text}},
		want: map[string][]string{
			"aggregated":                        {"E:5@1", "A:3@2", "A:10@3", "E:0@4", "A:15@4", "A:8@5", "A:5@7", "E:3@7"},
			changelog("aggregated-table-store"): {"E:5@1", "A:3@2", "A:10@3", "E:0@4", "A:15@4", "A:8@5", "A:5@7", "E:3@7"},
			"labels":                            {"bob:in A@2", "charlie:in A@3", "alice:in A@4", "charlie:<null>@5", "bob:<null>@7"},
			changelog("in-asia"):                {"bob:A@2", "charlie:A@3", "alice:A@4", "charlie:<null>@5", "bob:<null>@7"},
		},
	},
}

// streamInner are the inner results of the guide's stream-stream table.
var streamInner = []string{
	"k:[A, a]@4000", "k:[B, a]@5000", "k:[A, b]@6000", "k:[B, b]@6000", "k:[C, a]@9000", "k:[C, b]@9000",
	"k:[A, c]@10000", "k:[B, c]@10000", "k:[C, c]@10000", "k:[A, d]@14000", "k:[B, d]@14000", "k:[C, d]@14000",
	"k:[D, a]@15000", "k:[D, b]@15000", "k:[D, c]@15000", "k:[D, d]@15000",
}

func TestTableConformance(t *testing.T) {
	for _, tc := range stepCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("testdriver", func(t *testing.T) {
				t.Parallel()
				checkStep(t, tc, runDriverSteps(t, tc))
			})
			t.Run("runtime", func(t *testing.T) {
				t.Parallel()
				checkStep(t, tc, runRuntimeSteps(t, tc))
			})
		})
	}
}

func checkStep(t *testing.T, tc stepCase, got map[string][]string) {
	t.Helper()
	for _, spec := range tc.read {
		g, want := got[spec.name], tc.want[spec.name]
		if isChangelog(spec.name) {
			// One input record can write a key twice in a commit (a row
			// moving within its group), which the changelog folds.
			g, want = compacted(g), compacted(want)
		}
		if !slices.Equal(g, want) {
			t.Errorf("%s:\n got %q\nwant %q", spec.name, g, want)
		}
	}
}

// runDriverSteps pipes the inputs one by one, each processed to the end
// of what it causes.
func runDriverSteps(t *testing.T, tc stepCase) map[string][]string {
	td := testdriver.New(t, tc.topology(t),
		testdriver.WithApplicationID(appID),
		testdriver.WithWallClock(time.UnixMilli(0)))
	ins := map[string]*testdriver.TestInputTopic[[]byte, []byte]{}
	for _, in := range slices.Concat(tc.before, tc.inputs) {
		it := ins[in.topic]
		if it == nil {
			it = testdriver.InputTopic(td, in.topic, serde.Bytes, serde.Bytes)
			ins[in.topic] = it
		}
		key, value := in.bytes()
		if err := it.TryPipeBytes(key, value, time.UnixMilli(in.ts)); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string][]string{}
	for _, spec := range tc.read {
		out := testdriver.OutputTopic(td, spec.name, serde.Bytes, serde.Bytes)
		for _, r := range out.ReadOutputRecordsToList() {
			var k, v []byte
			if !r.NullKey {
				k = r.Key
			}
			if !r.NullValue {
				v = r.Value
			}
			got[spec.name] = append(got[spec.name], show(spec, k, v, r.Timestamp))
		}
	}
	return got
}

// runRuntimeSteps runs the topology with the runtime on kfake and produces
// the inputs one by one, each once the application has consumed, and
// committed, every record of every topic it reads, its repartition topics
// included.
func runRuntimeSteps(t *testing.T, tc stepCase) map[string][]string {
	topo := tc.topology(t)
	var seed []string
	seed = append(seed, tc.sources...)
	for _, spec := range tc.read {
		if len(spec.name) < len(appID)+1 || spec.name[:len(appID)+1] != appID+"-" {
			seed = append(seed, spec.name)
		}
	}
	var read []string
	for _, s := range tc.sources {
		if !slices.ContainsFunc(tc.before, func(in stepInput) bool { return in.topic == s }) {
			read = append(read, s)
		}
	}
	for _, rt := range topo.RepartitionTopics() {
		read = append(read, appID+"-"+rt.Name)
	}
	c := kafkatest.NewBroker(t, kafkatest.Topics(1, seed...), kafkatest.Partitions(1))
	cl, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, in := range tc.before {
		key, value := in.bytes()
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: in.topic, Key: key, Value: value, Timestamp: time.UnixMilli(in.ts)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	app, err := runtime.New(topo,
		runtime.ApplicationID(appID),
		runtime.Brokers(c.Addrs()...),
		runtime.StateDir(t.TempDir()),
		runtime.CommitInterval(20*time.Millisecond),
		runtime.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(context.Background()) }()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := app.Close(closeCtx); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	for i, in := range tc.inputs {
		key, value := in.bytes()
		r := &kgo.Record{Topic: in.topic, Key: key, Value: value, Timestamp: time.UnixMilli(in.ts)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := caughtUp(ctx, adm, read); err != nil {
			t.Fatalf("after input %d (%+v): %v", i, in, err)
		}
	}
	got := map[string][]string{}
	for _, spec := range tc.read {
		got[spec.name] = consume(ctx, t, c, spec, tc.want[spec.name])
	}
	return got
}

// caughtUp waits until the application's group has committed the end
// offset of every partition of topics. A commit follows the flush of what
// the committed records caused, so once an input's offset is committed the
// records it wrote to repartition topics are there, and counted in their
// end offsets.
func caughtUp(ctx context.Context, adm *kadm.Client, topics []string) error {
	for {
		ends, err := adm.ListEndOffsets(ctx, topics...)
		if err == nil {
			committed, cerr := adm.FetchOffsets(ctx, appID)
			if cerr == nil && done(topics, ends, committed) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the application did not catch up on %v: %w", topics, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func done(topics []string, ends kadm.ListedOffsets, committed kadm.OffsetResponses) bool {
	for _, t := range topics {
		if len(ends[t]) == 0 {
			return false
		}
	}
	ok := true
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			ok = false
			return
		}
		if o.Offset == 0 {
			return
		}
		c, found := committed.Lookup(o.Topic, o.Partition)
		if !found || c.Err != nil || c.At < o.Offset {
			ok = false
		}
	})
	return ok
}
