package state

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSegmentedMemoryStoreMatchesMemoryStore runs the same random writes,
// deletes and range deletions on the segmented in-memory store and on the
// plain one, and checks that every range reads the same from both, forward
// and backward: splitting keys into segments must not change order or
// bounds. Keys include ones shorter than a segment id, which pad into a
// segment and sort first in it.
func TestSegmentedMemoryStoreMatchesMemoryStore(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			seg := newSegmentedMemoryStore("w")
			plain := NewMemoryStore("w")
			key := func() []byte {
				switch rng.IntN(4) {
				case 0:
					// Short: pads into segment 0 or a segment of its bytes.
					b := make([]byte, rng.IntN(8))
					for i := range b {
						b[i] = byte(rng.IntN(3))
					}
					return b
				default:
					b := binary.BigEndian.AppendUint64(nil, uint64(rng.IntN(5)))
					return append(b, byte('a'+rng.IntN(4)), byte(rng.IntN(3)))
				}
			}
			bound := func() []byte {
				if rng.IntN(6) == 0 {
					return nil
				}
				if rng.IntN(3) == 0 {
					return binary.BigEndian.AppendUint64(nil, uint64(rng.IntN(6)))
				}
				return key()
			}
			for op := 0; op < 400; op++ {
				switch r := rng.IntN(10); {
				case r < 6:
					k, v := key(), []byte(fmt.Sprint(op))
					mustNil(t, seg.Put(k, v))
					mustNil(t, plain.Put(k, v))
				case r < 8:
					k := key()
					mustNil(t, seg.Delete(k))
					mustNil(t, plain.Delete(k))
				default:
					from, to := bound(), bound()
					mustNil(t, seg.DeleteRange(from, to))
					mustNil(t, plain.DeleteRange(from, to))
				}
				from, to := bound(), bound()
				for _, reverse := range []bool{false, true} {
					open := func(s KeyValueBytesStore) BytesIterator {
						var it BytesIterator
						var err error
						if reverse {
							it, err = s.ReverseRange(from, to)
						} else {
							it, err = s.Range(from, to)
						}
						mustNil(t, err)
						return it
					}
					got, want := readAll(t, open(seg)), readAll(t, open(plain))
					if !slices.Equal(got, want) {
						t.Fatalf("op %d: range [%x, %x) reverse %v:\n got %q\nwant %q", op, from, to, reverse, got, want)
					}
				}
				n, _ := seg.ApproximateNumEntries()
				m, _ := plain.ApproximateNumEntries()
				if n != m {
					t.Fatalf("op %d: %d entries, plain store has %d", op, n, m)
				}
			}
		})
	}
}

func mustNil(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSegmentedMemoryStoreDropsWholeSegments checks that a DeleteRange
// over whole segments unlinks them rather than deleting key by key, and
// that an iterator open on a dropped segment finishes on what it held.
func TestSegmentedMemoryStoreDropsWholeSegments(t *testing.T) {
	s := newSegmentedMemoryStore("w")
	for id := uint64(0); id < 4; id++ {
		for k := 0; k < 1000; k++ {
			key := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, id), uint32(k))
			mustNil(t, s.Put(key, []byte{1}))
		}
	}
	it, err := s.Range(nil, nil)
	mustNil(t, err)
	seg1 := s.segs[1].s
	mustNil(t, s.DeleteRange(nil, binary.BigEndian.AppendUint64(nil, 2)))
	if len(s.segs) != 2 || s.segs[0].id != 2 {
		t.Fatalf("segments left: %v", s.segs)
	}
	if seg1.tree.Len() != 1000 {
		t.Fatalf("the dropped segment was emptied key by key (%d keys left), not unlinked", seg1.tree.Len())
	}
	n := 0
	for it.Next() {
		n++
	}
	mustNil(t, it.Close())
	if n != 4000 {
		t.Fatalf("an iterator opened before the drop read %d keys, want 4000", n)
	}
	if c, _ := s.ApproximateNumEntries(); c != 2000 {
		t.Fatalf("%d entries after dropping two segments", c)
	}
}
