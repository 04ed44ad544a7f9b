package engine

import "encoding/binary"

// KeyPartition returns the partition of n that a record with the serialized
// key goes to: the murmur2 hash of the key made positive, modulo n, as Java's
// producer (DefaultPartitioner, BuiltInPartitioner) and franz-go's
// StickyKeyPartitioner compute it, so that Samsa, Java clients and the test
// driver agree on where a key lives. The key must not be nil: a null key has
// no partition of its own.
func KeyPartition(key []byte, n int32) int32 {
	return int32(murmur2(key)&0x7fffffff) % n
}

// murmur2 is the 32-bit MurmurHash2 with Kafka's seed.
func murmur2(b []byte) uint32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	h := uint32(seed) ^ uint32(len(b))
	for len(b) >= 4 {
		k := binary.LittleEndian.Uint32(b)
		k *= m
		k ^= k >> r
		k *= m
		h = h*m ^ k
		b = b[4:]
	}
	switch len(b) {
	case 3:
		h ^= uint32(b[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(b[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(b[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}
