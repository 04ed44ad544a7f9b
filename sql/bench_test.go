package sql

import (
	"strconv"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
	"github.com/samsa-go/samsa/topology"
)

// The same word count twice, over the same bytes: keys are words (KAFKA
// STRING), values a DELIMITED single column (the word again), output counts
// as KAFKA BIGINT. Compare ns/op of the two benchmarks for the SQL ÷ DSL
// ratio.

const benchWords = 1000

func benchRun(b *testing.B, topo *topology.Topology) {
	td := testdriver.New(b, topo, testdriver.WithCommitEvery(1000))
	defer td.Close()
	in := testdriver.InputTopic(td, "words", serde.Bytes, serde.Bytes)
	keys := make([][]byte, benchWords)
	for i := range keys {
		keys[i] = []byte("w" + strconv.Itoa(i))
	}
	out := testdriver.OutputTopic(td, "counts", serde.Bytes, serde.Bytes)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := keys[i%benchWords]
		if err := in.TryPipeBytes(k, k, time.UnixMilli(int64(i))); err != nil {
			b.Fatal(err)
		}
		// Reading the output keeps the driver's topic from growing
		// without bound, which would dominate both benchmarks.
		if i%1000 == 999 {
			for out.QueueSize() > 0 {
				out.ReadRecord()
			}
		}
	}
}

func BenchmarkWordCountSQL(b *testing.B) {
	p, err := Compile(`CREATE STREAM words (word STRING KEY, w STRING) WITH (KAFKA_TOPIC='words', VALUE_FORMAT='DELIMITED');
CREATE TABLE counts WITH (KAFKA_TOPIC='counts', VALUE_FORMAT='KAFKA') AS SELECT word, COUNT(*) AS n FROM words GROUP BY word;`)
	if err != nil {
		b.Fatal(err)
	}
	benchRun(b, p.Topology())
}

func BenchmarkWordCountDSL(b *testing.B) {
	bl := dsl.NewBuilder()
	dsl.Stream(bl, "words", serde.String, serde.String).
		GroupByKey(dsl.GroupedWith(serde.String, serde.String)).
		Count().
		ToStream().
		To("counts", dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := bl.Build()
	if err != nil {
		b.Fatal(err)
	}
	benchRun(b, topo)
}

// A filter and a projection over JSON values, against the DSL's Filter and
// MapValues doing the same work on the same bytes with a JSON serde.

type benchOrder struct {
	ID    int64   `json:"ID"`
	Item  string  `json:"ITEM"`
	Price float64 `json:"PRICE"`
}

type benchOut struct {
	Item  string  `json:"ITEM"`
	Total float64 `json:"TOTAL"`
}

func benchFilterRun(b *testing.B, topo *topology.Topology) {
	td := testdriver.New(b, topo, testdriver.WithCommitEvery(1000))
	defer td.Close()
	in := testdriver.InputTopic(td, "orders", serde.Bytes, serde.Bytes)
	vals := make([][]byte, 100)
	for i := range vals {
		vals[i] = []byte(`{"ID":` + strconv.Itoa(i) + `,"ITEM":"item-` + strconv.Itoa(i) + `","PRICE":` + strconv.Itoa(i) + `.5}`)
	}
	key := []byte("k")
	out := testdriver.OutputTopic(td, "big", serde.Bytes, serde.Bytes)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := in.TryPipeBytes(key, vals[i%len(vals)], time.UnixMilli(int64(i))); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			for out.QueueSize() > 0 {
				out.ReadRecord()
			}
		}
	}
}

func BenchmarkFilterProjectSQL(b *testing.B) {
	p, err := Compile(`CREATE STREAM orders (k STRING KEY, id BIGINT, item STRING, price DOUBLE) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');
CREATE STREAM big WITH (KAFKA_TOPIC='big') AS SELECT k, item, price * 2 AS total FROM orders WHERE price > 50;`)
	if err != nil {
		b.Fatal(err)
	}
	benchFilterRun(b, p.Topology())
}

func BenchmarkFilterProjectDSL(b *testing.B) {
	bl := dsl.NewBuilder()
	dsl.Stream(bl, "orders", serde.String, serde.JSON[benchOrder]()).
		Filter(func(_ string, o benchOrder) bool { return o.Price > 50 }).
		MapValues(func(o benchOrder) benchOut { return benchOut{Item: o.Item, Total: o.Price * 2} }).
		To("big", dsl.ProducedWith(serde.String, serde.JSON[benchOut]()))
	topo, err := bl.Build()
	if err != nil {
		b.Fatal(err)
	}
	benchFilterRun(b, topo)
}
