package runtime

import (
	"bytes"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Records carved from the thread's blocks keep null apart from empty, never
// share bytes, and survive the block they came from being used up.
func TestOutAlloc(t *testing.T) {
	o := outAlloc{th: &thread{}}
	r, _ := o.record([]byte{}, nil)
	if r.Key == nil || len(r.Key) != 0 || r.Value != nil {
		t.Fatalf("empty key, null value: key %v (nil %v), value %v", r.Key, r.Key == nil, r.Value)
	}
	r, _ = o.record(nil, []byte{})
	if r.Key != nil || r.Value == nil || len(r.Value) != 0 {
		t.Fatalf("null key, empty value: key %v, value %v (nil %v)", r.Key, r.Value, r.Value == nil)
	}
	big := bytes.Repeat([]byte{7}, maxBlockBytes)
	if r, _ = o.record([]byte("k"), big); !bytes.Equal(r.Value, big) || string(r.Key) != "k" {
		t.Fatal("large value not copied")
	}
	var seen []*[]byte
	keys := make([][]byte, 3*recordBlock)
	for i := range keys {
		k := []byte{byte(i), byte(i >> 8)}
		v := bytes.Repeat([]byte{byte(i)}, 300)
		r, _ := o.record(k, v)
		k[0], v[0] = 0xEE, 0xEE // the record holds copies
		keys[i] = r.Key
		seen = append(seen, &r.Value)
		// Appending to a key must not run into its value.
		if cap(r.Key) != len(r.Key) {
			t.Fatalf("key capacity %d beyond its length %d", cap(r.Key), len(r.Key))
		}
	}
	for i, k := range keys {
		if k[0] != byte(i) || k[1] != byte(i>>8) || (*seen[i])[0] != byte(i) || len(*seen[i]) != 300 {
			t.Fatalf("record %d: key %v value[0] %d len %d", i, k, (*seen[i])[0], len(*seen[i]))
		}
	}
}

// A block is used again only once every record carved from it was
// acknowledged and nothing pins it; a refused record keeps its block out of
// use for good.
func TestOutAllocReuse(t *testing.T) {
	o := outAlloc{th: &thread{}}
	carve := func() ([]*kgo.Record, *outBlock) {
		var recs []*kgo.Record
		var first *outBlock
		for len(recs) < recordBlock {
			r, b := o.record([]byte("k"), []byte("v"))
			if first == nil {
				first = b
			} else if b != first {
				t.Fatalf("record %d came from another block", len(recs))
			}
			recs = append(recs, r)
		}
		return recs, first
	}
	// ack calls the records' promise as franz-go does.
	ack := func(recs []*kgo.Record, b *outBlock, err error) {
		for _, r := range recs {
			b.done(r, err)
		}
	}
	a, blockA := carve()
	// Acknowledged while still the current block: not free yet.
	ack(a[:recordBlock-1], blockA, nil)
	b, blockB := carve()
	if blockB == blockA {
		t.Fatal("a block was used again while a record of it was unacknowledged")
	}
	blockA.pin()
	ack(a[recordBlock-1:], blockA, nil)
	b[0].Topic, b[0].Offset = "out", 5
	ack(b, blockB, nil)
	// B, all acknowledged, is free once C is taken; A is pinned.
	c, blockC := carve()
	if blockC != blockB {
		t.Fatal("an acknowledged block was not used again")
	}
	for i, r := range c {
		if r.Offset != 0 || r.Topic != "" || string(r.Key) != "k" {
			t.Fatalf("record %d of a block used again was not made anew: %+v", i, r)
		}
	}
	blockA.unpin()
	ack(c, blockC, nil)
	if _, blockD := carve(); blockD != blockA && blockD != blockC {
		t.Fatal("an unpinned block was not used again")
	}
	// A refusal keeps the block: the refused record stays as it was.
	e, blockE := carve()
	e[0].Topic = "refused"
	ack(e[:1], blockE, errors.New("refused"))
	ack(e[1:], blockE, nil)
	for range 2 * freeBlocks {
		f, blockF := carve()
		if blockF == blockE {
			t.Fatal("a block with a refused record was used again")
		}
		ack(f, blockF, nil)
	}
	if e[0].Topic != "refused" || len(o.th.refused) != 1 {
		t.Fatal("the refused record was overwritten or not queued")
	}
	if n := len(o.free.blocks); n > freeBlocks {
		t.Fatalf("%d free blocks kept, want at most %d", n, freeBlocks)
	}
}
