package dsl_test

import (
	"testing"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/testdriver"
)

// TestTableStoresKeepTimestamps checks that a table's store keeps each row
// with its record's timestamp, and an aggregation's the later of its
// records' timestamps, which is also the timestamp of the update it
// forwards, as in Kafka Streams.
func TestTableStoresKeepTimestamps(t *testing.T) {
	eachStore(t, func(t *testing.T, opts ...testdriver.Option) {
		b := dsl.NewBuilder()
		dsl.Table(b, "users", serde.String, serde.String, dsl.MaterializedAs[string, string]("users"))
		dsl.Stream(b, "clicks", serde.String, serde.String).
			GroupByKey().
			Count(dsl.MaterializedAs[string, int64]("clicks")).
			ToStream().
			To("click-counts", dsl.ProducedWith(serde.String, serde.Int64))
		td := newDriver(t, b, opts...)
		users := testdriver.InputTopic(td, "users", serde.String, serde.String)
		clicks := testdriver.InputTopic(td, "clicks", serde.String, serde.String)
		out := testdriver.OutputTopic(td, "click-counts", serde.String, serde.Int64)

		users.PipeRecordList([]processor.Record[string, string]{at("ann", "v1", 10), at("bob", "v1", 20), at("ann", "v2", 5)})
		rows := storeContents[string, state.ValueAndTimestamp[string]](t, td, "users")
		if rows["ann"] != (state.ValueAndTimestamp[string]{Value: "v2", Timestamp: 5}) || rows["bob"] != (state.ValueAndTimestamp[string]{Value: "v1", Timestamp: 20}) {
			t.Fatalf("users store = %+v", rows)
		}

		// An older record does not move an aggregate back in time.
		clicks.PipeRecordList([]processor.Record[string, string]{at("ann", "x", 100), at("ann", "x", 50), at("ann", "x", 120)})
		expect(t, out, "ann:1@100", "ann:2@100", "ann:3@120")
		counts := storeContents[string, state.ValueAndTimestamp[int64]](t, td, "clicks")
		if counts["ann"] != (state.ValueAndTimestamp[int64]{Value: 3, Timestamp: 120}) {
			t.Fatalf("clicks store = %+v", counts)
		}
		// The store still reads as a plain key-value store.
		if n, _, err := testdriver.KeyValueStore[string, int64](td, "clicks").Get("ann"); err != nil || n != 3 {
			t.Fatalf("plain read of clicks = %d, %v", n, err)
		}
	})
}
