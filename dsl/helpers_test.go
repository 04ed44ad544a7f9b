package dsl_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/testdriver"
)

// epoch is the drivers' start time, so that record timestamps piped without
// one are 0 and tests do not depend on the clock.
var epoch = time.UnixMilli(0)

// newDriver builds b and starts a test driver for it.
func newDriver(t testing.TB, b *dsl.Builder, opts ...testdriver.Option) *testdriver.Driver {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return testdriver.New(t, topo, append([]testdriver.Option{testdriver.WithWallClock(epoch)}, opts...)...)
}

// eachStore runs f once with in-memory stores and once with Pebble stores.
func eachStore(t *testing.T, f func(t *testing.T, opts ...testdriver.Option)) {
	t.Run("memory", func(t *testing.T) { f(t) })
	t.Run("pebble", func(t *testing.T) { f(t, testdriver.WithPebbleStores()) })
}

// show renders a record as key:value@timestamp followed by its headers,
// with <null> for a null key or value, so that tests compare what a
// consumer of the topic would see.
func show[K, V any](r processor.Record[K, V]) string {
	k, v := fmt.Sprint(r.Key), fmt.Sprint(r.Value)
	if r.NullKey {
		k = "<null>"
	}
	if r.NullValue {
		v = "<null>"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s:%s@%d", k, v, r.Timestamp)
	for _, h := range r.HeaderList() {
		fmt.Fprintf(&sb, " %s=%s", h.Key, h.Value)
	}
	return sb.String()
}

// read renders every unread record of out.
func read[K, V any](out *testdriver.TestOutputTopic[K, V]) []string {
	var lines []string
	for _, r := range out.ReadRecordsToList() {
		lines = append(lines, show(r))
	}
	return lines
}

// expect checks that out holds exactly want, in order, and consumes it.
func expect[K, V any](t *testing.T, out *testdriver.TestOutputTopic[K, V], want ...string) {
	t.Helper()
	if got := read(out); !slices.Equal(got, want) {
		t.Fatalf("output:\n got %q\nwant %q", got, want)
	}
}

// expectDropped checks the driver's dropped-record counters.
func expectDropped(t *testing.T, td *testdriver.Driver, want map[string]int64) {
	t.Helper()
	if got := td.DroppedRecords(); !maps.Equal(got, want) {
		t.Fatalf("dropped records = %v, want %v", got, want)
	}
}

func header(k, v string) processor.Header { return processor.Header{Key: k, Value: []byte(v)} }

// headers is nil for no headers, as on records read back.
func headers(hs []processor.Header) *processor.Headers {
	if len(hs) == 0 {
		return nil
	}
	return processor.NewHeaders(hs...)
}

// at is a record with a present key and value.
func at[K, V any](k K, v V, ts int64, hs ...processor.Header) processor.Record[K, V] {
	return processor.Record[K, V]{Key: k, Value: v, Timestamp: ts, Headers: headers(hs)}
}

// tombstone is a record with a present key and a null value.
func tombstone[K, V any](k K, ts int64, hs ...processor.Header) processor.Record[K, V] {
	return processor.Record[K, V]{Key: k, NullValue: true, Timestamp: ts, Headers: headers(hs)}
}

// keyless is a record with a null key and a present value.
func keyless[K, V any](v V, ts int64, hs ...processor.Header) processor.Record[K, V] {
	return processor.Record[K, V]{Value: v, NullKey: true, Timestamp: ts, Headers: headers(hs)}
}

// calls records what a user function was called with.
type calls []string

func (c *calls) add(k, v any) { *c = append(*c, fmt.Sprintf("%v:%v", k, v)) }

func (c *calls) check(t *testing.T, want ...string) {
	t.Helper()
	if !slices.Equal(*c, want) {
		t.Fatalf("function called with %q, want %q", *c, want)
	}
	*c = nil
}
