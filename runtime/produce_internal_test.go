package runtime

import (
	"bytes"
	"testing"
)

// Records carved from the thread's blocks keep null apart from empty, never
// share bytes, and survive the block they came from being used up.
func TestOutAlloc(t *testing.T) {
	var o outAlloc
	r := o.record([]byte{}, nil)
	if r.Key == nil || len(r.Key) != 0 || r.Value != nil {
		t.Fatalf("empty key, null value: key %v (nil %v), value %v", r.Key, r.Key == nil, r.Value)
	}
	r = o.record(nil, []byte{})
	if r.Key != nil || r.Value == nil || len(r.Value) != 0 {
		t.Fatalf("null key, empty value: key %v, value %v (nil %v)", r.Key, r.Value, r.Value == nil)
	}
	big := bytes.Repeat([]byte{7}, byteBlock)
	if r = o.record([]byte("k"), big); !bytes.Equal(r.Value, big) || string(r.Key) != "k" {
		t.Fatal("large value not copied")
	}
	var seen []*[]byte
	keys := make([][]byte, 3*recordBlock)
	for i := range keys {
		k := []byte{byte(i), byte(i >> 8)}
		v := bytes.Repeat([]byte{byte(i)}, 300)
		r := o.record(k, v)
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
