package engine_test

import (
	"strconv"
	"testing"
	"unsafe"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// keeper records what a KeepingCollector is handed.
type keeper struct {
	nopCollector
	topic      string
	key, value []byte
	kept       engine.Kept
	plain      int
}

func (k *keeper) Send(string, []byte, []byte, int64, []processor.Header) error {
	k.plain++
	return nil
}

func (k *keeper) Sender(topic string) engine.KeptSender {
	return func(key, value []byte, kept engine.Kept, _ int64, _ []processor.Header) error {
		k.topic, k.key, k.value, k.kept = topic, key, value, kept
		return nil
	}
}

// A sink writing strings hands a KeepingCollector the strings' own bytes
// and says it may keep them; a part of another serde is encoded into the
// sink's buffer and not kept; an empty string stays apart from a null.
func TestSinkHandsKeeperStringBytes(t *testing.T) {
	var word string
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		Map(func(_, v string) (string, int64) {
			word = v[1:]
			n, _ := strconv.ParseInt(v[:1], 10, 64)
			return word, n
		}).
		To("out", dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	k := &keeper{}
	task, err := engine.NewTask(engine.GraphOf(topo), 0, 0, engine.Config{Collector: k, InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close() })
	if err := task.Process(&engine.RawRecord{Topic: "in", Key: []byte("k"), Value: []byte("7seven")}); err != nil {
		t.Fatal(err)
	}
	if k.plain != 0 {
		t.Fatalf("%d records sent with Send, want the topic's Sender", k.plain)
	}
	if k.topic != "out" {
		t.Fatalf("sent to %q, want out", k.topic)
	}
	if k.kept != engine.KeptKey {
		t.Fatalf("kept = %b, want the key alone", k.kept)
	}
	if string(k.key) != "seven" || unsafe.SliceData(k.key) != unsafe.StringData(word) {
		t.Fatalf("key %q is not the bytes of the string %q", k.key, word)
	}
	if len(k.value) != 8 || k.value[7] != 7 {
		t.Fatalf("value = %x, want 7 as a Java long", k.value)
	}
	if err := task.Process(&engine.RawRecord{Topic: "in", Key: []byte("k"), Value: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	if k.key == nil || len(k.key) != 0 || k.kept != engine.KeptKey {
		t.Fatalf("empty key = %v (kept %b), want a kept empty key, not null", k.key, k.kept)
	}
}
