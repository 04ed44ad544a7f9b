package dsl_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/testdriver"
)

// tally counts the records of each key in the store "tally-store" and
// forwards each new count to its child "counts" only. A wall-clock
// punctuator sends every count to the child "report"; a stream-time
// punctuator only notes that it fired. Everything it sees goes to log.
type tally struct {
	ctx   processor.Context[string, int64]
	store *state.KeyValueStore[string, int64]
	log   *[]string
}

func (p *tally) Init(ctx processor.Context[string, int64]) error {
	p.ctx = ctx
	var err error
	if p.store, err = state.GetKeyValueStore[string, int64](ctx, "tally-store"); err != nil {
		return err
	}
	if _, err := ctx.Schedule(time.Second, processor.WallClockTime, p.report); err != nil {
		return err
	}
	_, err = ctx.Schedule(10*time.Millisecond, processor.StreamTime, func(ts int64) error {
		p.logf("stream-time punctuation at %d", ts)
		return nil
	})
	return err
}

func (p *tally) logf(format string, args ...any) {
	*p.log = append(*p.log, fmt.Sprintf(format, args...))
}

func (p *tally) Process(rec processor.Record[string, string]) error {
	md, ok := p.ctx.RecordMetadata()
	p.logf("process %s/%d/%d %v", md.Topic, md.Partition, md.Offset, ok)
	n, _, err := p.store.Get(rec.Key)
	if err != nil {
		return err
	}
	n++
	if err := p.store.Put(rec.Key, n); err != nil {
		return err
	}
	return p.ctx.ForwardTo("counts", rec.WithValue(n))
}

func (p *tally) report(ts int64) error {
	_, ok := p.ctx.RecordMetadata()
	p.logf("wall-clock punctuation at %d, metadata %v", ts, ok)
	it, err := p.store.All()
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		if err := p.ctx.ForwardTo("report", processor.NewRecord(it.Key(), it.Value(), ts)); err != nil {
			return err
		}
	}
	return it.Err()
}

func (p *tally) Close() error { return nil }

func TestKStreamProcess(t *testing.T) {
	var log []string
	checkLog := func(want ...string) {
		t.Helper()
		if !slices.Equal(log, want) {
			t.Fatalf("log:\n got %q\nwant %q", log, want)
		}
		log = nil
	}
	b := dsl.NewBuilder()
	b.AddStateStore(state.KeyValueStoreBuilder("tally-store", serde.String, serde.Int64))
	counted := dsl.Stream(b, "in", serde.String, serde.String).
		Process(processor.SupplierFunc[string, string, string, int64](func() processor.Processor[string, string, string, int64] {
			return &tally{log: &log}
		}), dsl.Named("tally"), dsl.WithStores("tally-store"))
	if counted.Name() != "tally" {
		t.Fatalf("Process node is %q, want tally", counted.Name())
	}
	counted.To("counts", dsl.Named("counts"))
	counted.To("report", dsl.Named("report"))
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	counts := testdriver.OutputTopic(td, "counts", serde.String, serde.Int64)
	report := testdriver.OutputTopic(td, "report", serde.String, serde.Int64)

	in.PipeRecord(at("a", "x", 0, header("h", "1")))
	in.PipeRecord(at("b", "y", 5))
	in.PipeRecord(at("a", "z", 12))
	in.PipeRecord(at("c", "w", 3)) // out of order: stream time stays at 12
	// Stream-time punctuation is aligned to 0, so the first record fires
	// it; then it fires once stream time reaches the next multiple of 10.
	checkLog(
		"process in/0/0 true", "stream-time punctuation at 0",
		"process in/0/1 true",
		"process in/0/2 true", "stream-time punctuation at 12",
		"process in/0/3 true",
	)
	// ForwardTo reached "counts" only; timestamps and headers are kept by
	// Record.WithValue.
	expect(t, counts, "a:1@0 h=1", "b:1@5", "a:2@12", "c:1@3")
	expect(t, report)

	td.AdvanceWallClockTime(999 * time.Millisecond)
	checkLog()
	td.AdvanceWallClockTime(time.Millisecond)
	checkLog("wall-clock punctuation at 1000, metadata false")
	expect(t, report, "a:2@1000", "b:1@1000", "c:1@1000")
	expect(t, counts)

	// Missed intervals fire once.
	td.AdvanceWallClockTime(2500 * time.Millisecond)
	checkLog("wall-clock punctuation at 3500, metadata false")
	expect(t, report, "a:2@3500", "b:1@3500", "c:1@3500")

	store := testdriver.KeyValueStore[string, int64](td, "tally-store")
	if n, ok, err := store.Get("a"); err != nil || !ok || n != 2 {
		t.Fatalf("tally-store a = %d, %v, %v; want 2", n, ok, err)
	}
}

// changes forwards, per key, "old->new" when a value differs from the last
// one stored for the key in "last-value", and nothing when it repeats.
type changes struct {
	ctx   processor.Context[string, string]
	store *state.KeyValueStore[string, string]
}

func (p *changes) Init(ctx processor.Context[string, string]) error {
	p.ctx = ctx
	var err error
	p.store, err = state.GetKeyValueStore[string, string](ctx, "last-value")
	return err
}

func (p *changes) Process(rec processor.Record[string, string]) error {
	old, found, err := p.store.Get(rec.Key)
	if err != nil || (found && old == rec.Value) {
		return err
	}
	if err := p.store.Put(rec.Key, rec.Value); err != nil {
		return err
	}
	return p.ctx.Forward(rec.WithValue(old + "->" + rec.Value))
}

func (p *changes) Close() error { return nil }

func TestKStreamProcessValues(t *testing.T) {
	b := dsl.NewBuilder()
	b.AddStateStore(state.KeyValueStoreBuilder("last-value", serde.String, serde.String))
	dsl.Stream(b, "in", serde.String, serde.String).
		ProcessValues(processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] {
			return &changes{}
		}), dsl.WithStores("last-value")).
		To("out")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)
	out := testdriver.OutputTopic(td, "out", serde.String, serde.String)

	in.PipeRecord(at("a", "1", 1, header("h", "x")))
	in.PipeRecord(at("a", "1", 2))
	in.PipeRecord(at("b", "1", 3))
	in.PipeRecord(at("a", "2", 4))
	expect(t, out, "a:->1@1 h=x", "b:->1@3", "a:1->2@4")
}

// TestProcessSeesNulls checks that custom processors, unlike the DSL's own
// operations, receive null keys and values as they are.
func TestProcessSeesNulls(t *testing.T) {
	flags := func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		return ctx.Forward(rec.WithValue(fmt.Sprintf("%q nullKey=%v nullValue=%v", rec.Value, rec.NullKey, rec.NullValue)))
	}
	b := dsl.NewBuilder()
	s := dsl.Stream(b, "in", serde.String, serde.String)
	s.Process(processor.Func[string, string, string, string](flags)).To("process")
	s.ProcessValues(processor.Func[string, string, string, string](flags)).To("values")
	td := newDriver(t, b)
	in := testdriver.InputTopic(td, "in", serde.String, serde.String)

	in.PipeRecordList(statelessInput())
	want := []string{
		`k1:"a b" nullKey=false nullValue=false@10`,
		`k2:"c" nullKey=false nullValue=false@20 h=1`,
		`k3:"" nullKey=false nullValue=true@30 h=2`,
		`<null>:"d" nullKey=true nullValue=false@40`,
	}
	expect(t, testdriver.OutputTopic(td, "process", serde.String, serde.String), want...)
	expect(t, testdriver.OutputTopic(td, "values", serde.String, serde.String), want...)
}

// TestProcessRepartitions checks that an aggregation after Process, which
// may change keys, reads through a repartition topic, and one after
// ProcessValues does not.
func TestProcessRepartitions(t *testing.T) {
	pass := processor.Func[string, string, string, string](func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		return ctx.Forward(rec)
	})
	var viaProcess, viaValues []string
	b := dsl.NewBuilder()
	s := dsl.Stream(b, "in", serde.String, serde.String)
	s.Process(pass).GroupByKey().Count(dsl.MaterializedAs[string, int64]("p")).ToStream().
		ProcessValues(metadataTopics[string, int64](&viaProcess))
	s.ProcessValues(pass).GroupByKey().Count(dsl.MaterializedAs[string, int64]("v")).ToStream().
		ProcessValues(metadataTopics[string, int64](&viaValues))
	td := newDriver(t, b)
	testdriver.InputTopic(td, "in", serde.String, serde.String).PipeInput("k", "v")
	if !slices.Equal(viaProcess, []string{"p-repartition"}) {
		t.Fatalf("count after Process read from %q, want p-repartition", viaProcess)
	}
	if !slices.Equal(viaValues, []string{"in"}) {
		t.Fatalf("count after ProcessValues read from %q, want in", viaValues)
	}
}
