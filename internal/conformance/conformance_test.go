package conformance_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A testCase is a topology, the records fed to it, and what it must write.
type testCase struct {
	name     string
	topology func(t testing.TB) *topology.Topology
	// sources are the topics inputs go to, created before the app starts.
	sources []string
	inputs  []input
	// read are the topics compared: outputs and changelogs
	// ("conformance-<store>-changelog").
	read        []topicSpec
	maxTaskIdle time.Duration
	// deserialization, processing and deadLetter configure the handlers
	// and the dead-letter topic, on both hosts alike; headers lists, per
	// topic read, the headers shown with its records.
	deserialization, processing processor.ErrorHandler
	deadLetter                  string
	headers                     map[string][]string
	// want holds, per topic read, its records in order as show renders
	// them. Both runs must match it, so neither passes by writing nothing.
	want map[string][]string
}

// input is a record fed to the topology; key "" is a null key.
type input struct {
	topic, key, value string
	ts                int64
}

// topicSpec is a topic compared, and how its values read.
type topicSpec struct {
	name  string
	value func([]byte) string
}

const appID = "conformance"

func changelog(store string) string { return appID + "-" + store + "-changelog" }

func text(b []byte) string { return string(b) }

func long(b []byte) string {
	if len(b) != 8 {
		return fmt.Sprintf("<%d bytes>", len(b))
	}
	return fmt.Sprint(int64(binary.BigEndian.Uint64(b)))
}

func longOrText(b []byte) string {
	if len(b) == 8 {
		return long(b)
	}
	return text(b)
}

// show renders a record as key:value@timestamp.
func show(spec topicSpec, key, value []byte, ts int64) string {
	k, v := "<null>", "<null>"
	if key != nil {
		k = string(key)
	}
	if value != nil {
		v = spec.value(value)
	}
	return fmt.Sprintf("%s:%s@%d", k, v, ts)
}

// showHeaders renders a record as show does, followed by the headers
// names as [name=value ...], looked up with header.
func showHeaders(spec topicSpec, key, value []byte, ts int64, names []string, header func(string) (string, bool)) string {
	out := show(spec, key, value, ts)
	if len(names) == 0 {
		return out
	}
	var hs []string
	for _, h := range names {
		if hv, ok := header(h); ok {
			hs = append(hs, h+"="+hv)
		}
	}
	return out + fmt.Sprint(hs)
}

// The headers of dead-letter records compared: all but the stack trace,
// which names goroutines and addresses.
var deadLetterHeaders = []string{processor.DeadLetterException, processor.DeadLetterMessage, processor.DeadLetterTopic,
	processor.DeadLetterPartition, processor.DeadLetterOffset, processor.DeadLetterNode, processor.DeadLetterTask}

var cases = []testCase{
	{
		name: "word count",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			dsl.Stream(b, "text-lines", serde.String, serde.String).
				FlatMapValues(strings.Fields).
				GroupBy(func(_, w string) string { return w }, dsl.GroupedWith(serde.String, serde.String)).
				Count(dsl.MaterializedAs[string, int64]("counts")).
				ToStream().
				To("word-counts", dsl.ProducedWith(serde.String, serde.Int64))
			return build(t, b)
		},
		sources: []string{"text-lines"},
		inputs: []input{
			{"text-lines", "", "a b a", 10},
			{"text-lines", "", "c b", 20},
			{"text-lines", "", "a", 30},
		},
		read: []topicSpec{{"word-counts", long}, {changelog("counts"), long}},
		want: map[string][]string{
			"word-counts":       {"a:1@10", "b:1@10", "a:2@10", "c:1@20", "b:2@20", "a:3@30"},
			changelog("counts"): {"a:1@10", "b:1@10", "a:2@10", "c:1@20", "b:2@20", "a:3@30"},
		},
	},
	{
		name: "repartition",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			dsl.Stream(b, "orders", serde.String, serde.String).
				SelectKey(func(_, item string) string { return item }).
				Repartition(dsl.RepartitionedWith(serde.String, serde.String).WithName("by-item")).
				MapValues(strings.ToUpper).
				To("orders-by-item")
			return build(t, b)
		},
		sources: []string{"orders"},
		inputs: []input{
			{"orders", "ann", "tea", 1},
			{"orders", "bob", "cake", 2},
			{"orders", "ann", "cake", 3},
		},
		read: []topicSpec{{"orders-by-item", text}},
		want: map[string][]string{
			"orders-by-item": {"tea:TEA@1", "cake:CAKE@2", "cake:CAKE@3"},
		},
	},
	{
		// Fed all of "left" first, then all of "right": the task merges
		// them in timestamp order, waiting for the empty side.
		name: "merge in time order",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			dsl.Stream(b, "left", serde.String, serde.String).
				Merge(dsl.Stream(b, "right", serde.String, serde.String)).
				To("merged")
			return build(t, b)
		},
		sources:     []string{"left", "right"},
		maxTaskIdle: time.Second,
		inputs: []input{
			{"left", "k", "l1", 1}, {"left", "k", "l3", 3}, {"left", "k", "l5", 5}, {"left", "k", "l6", 6},
			{"right", "k", "r2", 2}, {"right", "k", "r4", 4}, {"right", "k", "r7", 7},
		},
		read: []topicSpec{{"merged", text}},
		want: map[string][]string{
			"merged": {"k:l1@1", "k:r2@2", "k:l3@3", "k:r4@4", "k:l5@5", "k:l6@6", "k:r7@7"},
		},
	},
	{
		// Updates of a key between commits fold into one, with the time of
		// the last.
		name: "cached table",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			dsl.Table(b, "profiles", serde.String, serde.String,
				dsl.MaterializedAs[string, string]("profiles-store").WithCachingEnabled(1<<20)).
				ToStream().
				To("profile-updates")
			return build(t, b)
		},
		sources: []string{"profiles"},
		inputs: []input{
			{"profiles", "ann", "v1", 1},
			{"profiles", "bob", "v1", 2},
			{"profiles", "ann", "v2", 3},
			{"profiles", "ann", "v3", 4},
		},
		read: []topicSpec{{"profile-updates", text}, {changelog("profiles-store"), text}},
		want: map[string][]string{
			"profile-updates":           {"ann:v3@4", "bob:v1@2"},
			changelog("profiles-store"): {"ann:v3@4", "bob:v1@2"},
		},
	},
	{
		name: "stream-time punctuator",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			b.AddStateStore(state.KeyValueStoreBuilder("totals", serde.String, serde.Int64))
			dsl.Stream(b, "events", serde.String, serde.String).
				Process(processor.SupplierFunc[string, string, string, int64](func() processor.Processor[string, string, string, int64] {
					return &totals{}
				}), dsl.WithStores("totals")).
				To("totals-report", dsl.ProducedWith(serde.String, serde.Int64))
			return build(t, b)
		},
		sources: []string{"events"},
		inputs: []input{
			{"events", "a", "x", 0},
			{"events", "b", "x", 4},
			{"events", "a", "x", 9},
			{"events", "a", "x", 12},
			{"events", "b", "x", 31},
		},
		read: []topicSpec{{"totals-report", long}, {changelog("totals"), long}},
		want: map[string][]string{
			"totals-report":     {"a:1@0", "a:3@12", "b:1@12", "a:3@31", "b:2@31"},
			changelog("totals"): {"a:1@0", "b:1@4", "a:2@9", "a:3@12", "b:2@31"},
		},
	},
	{
		// An empty key is a key: counted, logged and written as the empty
		// key, never as a null one (inputs here have null keys; the value
		// is the key counted).
		name:     "empty key",
		topology: emptyKeyCount,
		sources:  []string{"names"},
		inputs: []input{
			{"names", "", "", 1}, {"names", "", "x", 2}, {"names", "", "", 3},
		},
		read: []topicSpec{{"name-counts", long}, {changelog("name-count"), long}},
		want: map[string][]string{
			"name-counts":           {":1@1", "x:1@2", ":2@3"},
			changelog("name-count"): {":1@1", "x:1@2", ":2@3"},
		},
	},
	{
		// A record the source serde cannot read and one a user function
		// panics on are dropped, under LogAndContinue, to the dead-letter
		// topic, with the same headers from both hosts.
		name: "handlers and dead letters",
		topology: func(t testing.TB) *topology.Topology {
			b := dsl.NewBuilder()
			dsl.Stream(b, "scores", serde.String, serde.Int64, dsl.Named("scores-source")).
				MapValues(func(v int64) int64 {
					if v == 13 {
						panic("unlucky")
					}
					return v * 10
				}, dsl.Named("times-ten")).
				To("scores-out", dsl.ProducedWith(serde.String, serde.Int64))
			return build(t, b)
		},
		sources: []string{"scores"},
		inputs: []input{
			{"scores", "a", string(binary.BigEndian.AppendUint64(nil, 1)), 1},
			{"scores", "b", "bad", 2},
			{"scores", "c", string(binary.BigEndian.AppendUint64(nil, 13)), 3},
			{"scores", "d", string(binary.BigEndian.AppendUint64(nil, 2)), 4},
		},
		deserialization: processor.LogAndContinue,
		processing:      processor.LogAndContinue,
		deadLetter:      "dead-letters",
		read:            []topicSpec{{"scores-out", long}, {"dead-letters", longOrText}},
		headers:         map[string][]string{"dead-letters": deadLetterHeaders},
		want: map[string][]string{
			"scores-out": {"a:10@1", "d:20@4"},
			"dead-letters": {
				"b:bad@2[__streams.errors.exception=*serde.serdeError __streams.errors.message=cannot deserialize value: serde: Int64 needs 8 bytes, got 3 (topic \"scores\") " +
					"__streams.errors.topic=scores __streams.errors.partition=0 __streams.errors.offset=1 __streams.errors.processor.node.id=scores-source __streams.errors.task.id=0_0]",
				"c:13@3[__streams.errors.exception=panic(string) __streams.errors.message=panic: unlucky " +
					"__streams.errors.topic=scores __streams.errors.partition=0 __streams.errors.offset=2 __streams.errors.processor.node.id=times-ten __streams.errors.task.id=0_0]",
			},
		},
	},
}

// emptyKeyCount counts the values of "names", the empty one too.
func emptyKeyCount(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	dsl.Stream(b, "names", serde.String, serde.String).
		GroupBy(func(_, v string) string { return v }, dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.MaterializedAs[string, int64]("name-count")).
		ToStream().
		To("name-counts", dsl.ProducedWith(serde.String, serde.Int64))
	return build(t, b)
}

// TestEmptyKeyRestores restores a store holding the empty key from its
// changelog alone, in the test driver: the key comes back empty, and
// counting goes on from it.
func TestEmptyKeyRestores(t *testing.T) {
	td := testdriver.New(t, emptyKeyCount(t), testdriver.WithApplicationID(appID), testdriver.WithWallClock(time.UnixMilli(0)))
	in := testdriver.InputTopic(td, "names", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "name-counts", serde.String, serde.Int64)
	log := testdriver.OutputTopic(td, changelog("name-count"), serde.String, serde.Int64)
	in.PipeRecord(processor.Record[string, string]{NullKey: true, Value: "", Timestamp: 1})
	in.PipeRecord(processor.Record[string, string]{NullKey: true, Value: "x", Timestamp: 2})
	td.Commit()
	td.CrashLosingState()
	in.PipeRecord(processor.Record[string, string]{NullKey: true, Value: "", Timestamp: 3})
	var got []string
	for _, r := range out.ReadRecordsToList() {
		got = append(got, fmt.Sprintf("%q null=%v:%d", r.Key, r.NullKey, r.Value))
	}
	if want := []string{`"" null=false:1`, `"x" null=false:1`, `"" null=false:2`}; !slices.Equal(got, want) {
		t.Errorf("counts %q, want %q", got, want)
	}
	for _, r := range log.ReadRecordsToList() {
		if r.NullKey {
			t.Errorf("changelog record with a null key: %+v", r)
		}
	}
	if n, ok, err := testdriver.KeyValueStore[string, int64](td, "name-count").Get(""); err != nil || !ok || n != 2 {
		t.Errorf("restored store: Get(\"\") = %d, %v, %v; want 2", n, ok, err)
	}
}

// totals counts records per key in the store "totals" and, every 10ms of
// stream time, reports every key's total.
type totals struct {
	ctx   processor.Context[string, int64]
	store *state.KeyValueStore[string, int64]
}

func (p *totals) Init(ctx processor.Context[string, int64]) error {
	p.ctx = ctx
	var err error
	if p.store, err = state.GetKeyValueStore[string, int64](ctx, "totals"); err != nil {
		return err
	}
	_, err = ctx.Schedule(10*time.Millisecond, processor.StreamTime, p.report)
	return err
}

func (p *totals) Process(rec processor.Record[string, string]) error {
	n, _, err := p.store.Get(rec.Key)
	if err != nil {
		return err
	}
	return p.store.Put(rec.Key, n+1)
}

func (p *totals) report(ts int64) error {
	it, err := p.store.All()
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		if err := p.ctx.Forward(processor.NewRecord(it.Key(), it.Value(), ts)); err != nil {
			return err
		}
	}
	return it.Err()
}

func (p *totals) Close() error { return nil }

func build(t testing.TB, b *dsl.Builder) *topology.Topology {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestConformance(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("testdriver", func(t *testing.T) {
				t.Parallel()
				check(t, tc, runDriver(t, tc))
			})
			t.Run("runtime", func(t *testing.T) {
				t.Parallel()
				check(t, tc, runRuntime(t, tc))
			})
		})
	}
}

func check(t *testing.T, tc testCase, got map[string][]string) {
	t.Helper()
	for _, spec := range tc.read {
		g, want := got[spec.name], tc.want[spec.name]
		if isChangelog(spec.name) {
			g, want = compacted(g), compacted(want)
		}
		if !slices.Equal(g, want) {
			t.Errorf("%s:\n got %q\nwant %q", spec.name, g, want)
		}
	}
}

// isChangelog reports whether topic is a store's changelog.
func isChangelog(topic string) bool {
	return strings.HasPrefix(topic, appID+"-") && strings.HasSuffix(topic, "-changelog")
}

// compacted keeps the last record of each key, in key order: what a
// changelog holds for a restore. Stores send a changelog only the last
// write of each key per commit, and where commits fall differs between
// runs, so changelogs compare as a restore reads them. A key is what show
// renders before the first ':', so keys in cases hold no ':'.
func compacted(recs []string) []string {
	last := map[string]string{}
	for _, r := range recs {
		k, _, _ := strings.Cut(r, ":")
		last[k] = r
	}
	out := make([]string, 0, len(last))
	for _, k := range slices.Sorted(maps.Keys(last)) {
		out = append(out, last[k])
	}
	return out
}

// runDriver feeds the inputs through the test driver, committing once at
// the end, as the runtime does when it has caught up.
func runDriver(t *testing.T, tc testCase) map[string][]string {
	td := testdriver.New(t, tc.topology(t),
		testdriver.WithApplicationID(appID),
		testdriver.WithWallClock(time.UnixMilli(0)),
		testdriver.WithCommitEvery(0),
		testdriver.WithMaxTaskIdle(tc.maxTaskIdle),
		testdriver.WithDeserializationHandler(tc.deserialization),
		testdriver.WithProcessingHandler(tc.processing),
		testdriver.WithDeadLetterQueue(tc.deadLetter))
	ins := map[string]*testdriver.TestInputTopic[[]byte, []byte]{}
	for _, in := range tc.inputs {
		it := ins[in.topic]
		if it == nil {
			it = testdriver.InputTopic(td, in.topic, serde.Bytes, serde.Bytes)
			ins[in.topic] = it
		}
		var key []byte
		if in.key != "" {
			key = []byte(in.key)
		}
		if err := it.TryPipeBytes(key, []byte(in.value), time.UnixMilli(in.ts)); err != nil {
			t.Fatal(err)
		}
	}
	if tc.maxTaskIdle > 0 {
		td.AdvanceWallClockTime(tc.maxTaskIdle)
	}
	td.Commit()
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
			got[spec.name] = append(got[spec.name], showHeaders(spec, k, v, r.Timestamp, tc.headers[spec.name], func(h string) (string, bool) {
				hv, ok := r.Header(h)
				return string(hv), ok
			}))
		}
	}
	return got
}

// runRuntime produces the inputs to a kfake cluster, runs the topology on
// it with the runtime, and reads back the topics compared.
func runRuntime(t *testing.T, tc testCase) map[string][]string {
	var seed []string
	seed = append(seed, tc.sources...)
	for _, spec := range tc.read {
		if !strings.HasPrefix(spec.name, appID+"-") {
			seed = append(seed, spec.name)
		}
	}
	c := kafkatest.NewBroker(t, kafkatest.Topics(1, seed...), kafkatest.Partitions(1))
	cl, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, in := range tc.inputs {
		r := &kgo.Record{Topic: in.topic, Value: []byte(in.value), Timestamp: time.UnixMilli(in.ts)}
		if in.key != "" {
			r.Key = []byte(in.key)
		}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	app, err := runtime.New(tc.topology(t),
		runtime.ApplicationID(appID),
		runtime.Brokers(c.Addrs()...),
		runtime.StateDir(t.TempDir()),
		runtime.MaxTaskIdle(tc.maxTaskIdle),
		runtime.DeserializationHandler(tc.deserialization),
		runtime.ProcessingHandler(tc.processing),
		runtime.DeadLetterQueue(tc.deadLetter),
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

	got := map[string][]string{}
	for _, spec := range tc.read {
		got[spec.name] = consumeHeaders(ctx, t, c, spec, tc.headers[spec.name], tc.want[spec.name])
	}
	return got
}

// consume reads topic from the start, read_committed, until it has as many
// records as want (a changelog: until it holds want's last record of each
// key), then for a moment more, to catch any beyond them.
func consume(ctx context.Context, t *testing.T, c *kafkatest.Broker, spec topicSpec, want []string) []string {
	t.Helper()
	return consumeHeaders(ctx, t, c, spec, nil, want)
}

// consumeHeaders is consume, showing the records' headers named.
func consumeHeaders(ctx context.Context, t *testing.T, c *kafkatest.Broker, spec topicSpec, headers []string, want []string) []string {
	t.Helper()
	cl, err := c.Client(kgo.ConsumeTopics(spec.name),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []string
	var extra time.Time
	for {
		enough := len(got) >= len(want)
		if isChangelog(spec.name) {
			enough = slices.Equal(compacted(got), compacted(want))
		}
		if enough && extra.IsZero() {
			extra = time.Now().Add(500 * time.Millisecond)
		}
		if !extra.IsZero() && time.Now().After(extra) {
			return got
		}
		pollCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fs := cl.PollFetches(pollCtx)
		cancel()
		if ctx.Err() != nil {
			t.Fatalf("%s: after the deadline got %q, want %q", spec.name, got, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got = append(got, showHeaders(spec, r.Key, r.Value, r.Timestamp.UnixMilli(), headers, func(h string) (string, bool) {
				for i := len(r.Headers) - 1; i >= 0; i-- {
					if r.Headers[i].Key == h {
						return string(r.Headers[i].Value), true
					}
				}
				return "", false
			}))
		})
	}
}

// Word count on four partitions: the test driver lays out the same tasks
// as the runtime on a four-partition topic, and each partition of the
// output holds the same records. Which line a task counts first is not
// fixed when several tasks feed one partition of the repartition topic, so
// per partition the counts of each key compare as sets, and a count's
// timestamp, the largest of the records counted so far, compares for the
// last count of each key.
func TestPartitionedWordCount(t *testing.T) {
	const partitions = 4
	topo := func(t testing.TB) *topology.Topology { return cases[0].topology(t) }
	var inputs []input
	words := strings.Fields("the quick brown fox jumps over the lazy dog while the cat naps and the dog barks")
	for i := 0; i < len(words); i += 3 {
		line := strings.Join(words[i:min(i+3, len(words))], " ")
		inputs = append(inputs, input{"text-lines", fmt.Sprint("line-", i), line, int64(10 * i)})
	}
	n := len(words)

	// The driver.
	td := testdriver.New(t, topo(t), testdriver.WithApplicationID(appID),
		testdriver.WithWallClock(time.UnixMilli(0)), testdriver.WithPartitions(partitions))
	in := testdriver.InputTopic(td, "text-lines", serde.String, serde.String)
	for _, r := range inputs {
		in.PipeInputAt(r.key, r.value, time.UnixMilli(r.ts))
	}
	driverOut := map[int32][]string{}
	for _, r := range testdriver.OutputTopic(td, "word-counts", serde.String, serde.Int64).ReadOutputRecordsToList() {
		driverOut[r.Partition] = append(driverOut[r.Partition], fmt.Sprintf("%s:%d@%d", r.Key, r.Value, r.Timestamp))
	}
	driverTasks := fmt.Sprint(td.Tasks())

	// The runtime.
	c := kafkatest.NewBroker(t, kafkatest.Topics(partitions, "text-lines", "word-counts"), kafkatest.Partitions(partitions))
	cl, err := c.Client(kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, r := range inputs {
		rec := &kgo.Record{Topic: r.topic, Key: []byte(r.key), Value: []byte(r.value), Timestamp: time.UnixMilli(r.ts)}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	app, err := runtime.New(topo(t), runtime.ApplicationID(appID), runtime.Brokers(c.Addrs()...),
		runtime.StateDir(t.TempDir()), runtime.Logger(slog.New(slog.DiscardHandler)))
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
	runtimeOut := map[int32][]string{}
	spec := topicSpec{"word-counts", long}
	rc, err := c.Client(kgo.ConsumeTopics(spec.name),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	for got := 0; got < n; {
		fs := rc.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d records of %d after the deadline: %v", got, n, runtimeOut)
		}
		fs.EachRecord(func(r *kgo.Record) {
			runtimeOut[r.Partition] = append(runtimeOut[r.Partition], show(spec, r.Key, r.Value, r.Timestamp.UnixMilli()))
			got++
		})
	}
	runtimeTasks := fmt.Sprint(app.ActiveTasks())

	if want := "[0_0 0_1 0_2 0_3 1_0 1_1 1_2 1_3]"; driverTasks != want || runtimeTasks != want {
		t.Errorf("tasks: driver %s, runtime %s; want %s", driverTasks, runtimeTasks, want)
	}
	used := 0
	for p := int32(0); p < partitions; p++ {
		d, r := sets(driverOut[p]), sets(runtimeOut[p])
		if d != r {
			t.Errorf("partition %d:\n driver  %s\n runtime %s", p, d, r)
		}
		if len(driverOut[p]) > 0 {
			used++
		}
	}
	if used < 2 {
		t.Errorf("the words went to %d partitions: %v", used, driverOut)
	}
	if got := len(driverOut[0]) + len(driverOut[1]) + len(driverOut[2]) + len(driverOut[3]); got != n {
		t.Errorf("the driver wrote %d counts, want %d", got, n)
	}
}

// sets renders records "key:value@ts" as the sorted key:value pairs and
// the last record of each key.
func sets(recs []string) string {
	var values []string
	last := map[string]string{}
	for _, r := range recs {
		kv, _, _ := strings.Cut(r, "@")
		k, _, _ := strings.Cut(kv, ":")
		values = append(values, kv)
		last[k] = r
	}
	slices.Sort(values)
	lasts := slices.Sorted(maps.Values(last))
	return fmt.Sprint(values, lasts)
}
