package engine_test

import (
	"fmt"
	"testing"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KeyPartition agrees with the partitioner the runtime's producer uses,
// franz-go's murmur2 StickyKeyPartitioner, itself Java's.
func TestKeyPartitionMatchesProducer(t *testing.T) {
	p := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	for _, n := range []int32{1, 2, 3, 4, 7, 12, 100} {
		for i := range 500 {
			key := []byte(fmt.Sprintf("key-%d", i))
			if i%50 == 0 {
				key = key[:i%5] // short keys: every tail length of murmur2
			}
			want := int32(p.Partition(&kgo.Record{Key: key}, int(n)))
			if got := engine.KeyPartition(key, n); got != want {
				t.Fatalf("KeyPartition(%q, %d) = %d, the producer's %d", key, n, got, want)
			}
		}
	}
}
