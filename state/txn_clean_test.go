package state

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestCleanRingAgainstMap checks the ring against a map of what was set
// last: a key it knows has its last value, it stays within its bound, and
// the keys set most recently, as many as fit, are all known.
func TestCleanRingAgainstMap(t *testing.T) {
	for _, max := range []int{64, 1 << 10, 16 << 10, 256 << 10} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(max), 7))
			r := newCleanRing(max, nil)
			model := map[string][]byte{}
			var recent []string
			for i := range 50_000 {
				key := fmt.Appendf(nil, "k%d", rng.IntN(2_000))
				var value []byte
				deleted := rng.IntN(8) == 0
				if !deleted {
					// Mostly one length, so that values are overwritten
					// in place; sometimes another, or empty.
					n := 8
					switch rng.IntN(6) {
					case 0:
						n = rng.IntN(40)
					case 1:
						n = 0
					}
					value = make([]byte, n)
					for j := range value {
						value[j] = byte(rng.Uint32())
					}
				}
				r.set(key, value, deleted)
				if deleted {
					model[string(key)] = nil
				} else {
					model[string(key)] = append([]byte{}, value...)
				}
				recent = append(recent, string(key))
				if r.bytes() > max {
					t.Fatalf("step %d: ring holds %d bytes, over %d", i, r.bytes(), max)
				}
				if i%97 != 0 {
					continue
				}
				for k, want := range model {
					v, ok := r.get([]byte(k))
					if !ok {
						continue
					}
					if (want == nil) != (v == nil) || !bytes.Equal(v, want) {
						t.Fatalf("step %d: %s = %x (nil %v), want %x (nil %v)", i, k, v, v == nil, want, want == nil)
					}
				}
			}
			// The last keys set, up to a tenth of the ring's room, are
			// known whatever came before them.
			ringMax, slotMax := r.limits()
			seen := map[string]bool{}
			room := 0
			for j := len(recent) - 1; j >= 0 && len(seen) < slotMax/4; j-- {
				k := recent[j]
				if seen[k] {
					continue
				}
				if room += 3 + len(k) + 40; room > ringMax/10 {
					break
				}
				seen[k] = true
				if _, ok := r.get([]byte(k)); !ok {
					t.Fatalf("%s, set among the last %d keys, not known", k, len(seen))
				}
			}
			r.reset()
			for k := range model {
				if _, ok := r.get([]byte(k)); ok {
					t.Fatalf("%s known after reset", k)
				}
			}
		})
	}
}

// TestCleanRingLargeRecord checks that a record too large to keep drops
// the key's older value rather than leaving it to be read.
func TestCleanRingLargeRecord(t *testing.T) {
	r := newCleanRing(16<<10, nil)
	r.set([]byte("k"), []byte("small"), false)
	r.set([]byte("k"), make([]byte, 8<<10), false)
	if v, ok := r.get([]byte("k")); ok {
		t.Fatalf("k = %q after a value too large to keep, want unknown", v)
	}
	r.set([]byte("e"), []byte{}, false)
	if v, ok := r.get([]byte("e")); !ok || v == nil || len(v) != 0 {
		t.Fatalf("e = %q %v, want present and empty", v, ok)
	}
	r.set([]byte("e"), nil, true)
	if v, ok := r.get([]byte("e")); !ok || v != nil {
		t.Fatalf("e = %q %v, want known deleted", v, ok)
	}
}
