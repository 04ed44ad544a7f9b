package state

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkWindowSegmentExpiry fills one segment of a logged window store
// with 100k windows, then times the put that makes the segment expire:
// the expiry is one DeleteRange, whatever the segment holds. It reports
// the time of that put (expiry-ns) and the changelog records it wrote
// (changelog-records: the put's own, 1; a store deleting key by key would
// write 100k tombstones).
func BenchmarkWindowSegmentExpiry(b *testing.B) {
	const keys = 100_000
	for _, kind := range storeKinds {
		b.Run(kind.name, func(b *testing.B) {
			var expiry time.Duration
			var logged int
			for b.Loop() {
				b.StopTimer()
				logger := &recordingLogger{}
				now := int64(0)
				env := loggedEnv(b, kind, logger, &now)
				h, s := buildWindow(b, env, WindowStoreBuilder("w", time.Minute, time.Minute, stringSerde{}, int64Serde{}))
				for k := 0; k < keys; k++ {
					put(b, s, fmt.Sprintf("key-%06d", k), int64(k), 0)
				}
				before := len(logger.records)
				b.StartTimer()
				start := time.Now()
				// The segment interval is a minute: a window at three
				// minutes leaves everything before two minutes expired.
				put(b, s, "key-000000", 1, 3*time.Minute.Milliseconds())
				expiry += time.Since(start)
				b.StopTimer()
				logged += len(logger.records) - before
				if n, _ := h.Bytes().ApproximateNumEntries(); n != 1 {
					b.Fatalf("%d entries left after expiry, want 1", n)
				}
				h.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(expiry.Nanoseconds())/float64(b.N), "expiry-ns")
			b.ReportMetric(float64(logged)/float64(b.N), "changelog-records")
		})
	}
}
