package state

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"
)

func TestTimestampedKeyValueStore(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			now := int64(0)
			env := kind.env(t)
			env.RecordTime = func() int64 { return now }
			h, s := buildKV(t, env, TimestampedKeyValueStoreBuilder("table", stringSerde{}, stringSerde{}))
			if err := s.Put("k", ValueAndTimestamp[string]{Value: "v", Timestamp: -5}); err != nil {
				t.Fatal(err)
			}
			if err := s.Put("empty", ValueAndTimestamp[string]{Timestamp: 7}); err != nil {
				t.Fatal(err)
			}
			if vt, found, err := s.Get("k"); err != nil || !found || vt != (ValueAndTimestamp[string]{"v", -5}) {
				t.Fatalf("Get(k) = %+v, %v, %v", vt, found, err)
			}
			if vt, found, err := s.Get("empty"); err != nil || !found || vt != (ValueAndTimestamp[string]{"", 7}) {
				t.Fatalf("Get(empty) = %+v, %v, %v", vt, found, err)
			}

			// The same store with plain values, as GetKeyValueStore gives
			// it: reads drop the timestamp, writes take the record time.
			g := getter{"table": h.Typed()}
			plain, err := GetKeyValueStore[string, string](g, "table")
			if err != nil {
				t.Fatal(err)
			}
			if v, found, err := plain.Get("k"); err != nil || !found || v != "v" {
				t.Fatalf("plain Get(k) = %q, %v, %v", v, found, err)
			}
			now = 42
			if err := plain.Put("p", "w"); err != nil {
				t.Fatal(err)
			}
			if vt, _, err := s.Get("p"); err != nil || vt != (ValueAndTimestamp[string]{"w", 42}) {
				t.Fatalf("Get(p) written through the plain store = %+v, %v", vt, err)
			}
			ts, err := GetTimestampedKeyValueStore[string, string](g, "table")
			if err != nil || ts != s {
				t.Fatalf("GetTimestampedKeyValueStore = %p, %v; want %p", ts, err, s)
			}
			if _, err := GetKeyValueStore[string, int64](g, "table"); !errors.Is(err, ErrWrongStoreType) {
				t.Fatalf("GetKeyValueStore with other types = %v", err)
			}

			// A value in another format is an error naming the format byte.
			if err := h.Bytes().Put([]byte("old"), []byte("plain bytes")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Get("old"); err == nil || !strings.Contains(err.Error(), "format byte 0x70") || !strings.Contains(err.Error(), `"table"`) {
				t.Fatalf("Get of a value in another format = %v", err)
			}
			if err := h.Bytes().Put([]byte("short"), []byte{0x01, 0}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := plain.Get("short"); err == nil || !strings.Contains(err.Error(), "header") {
				t.Fatalf("Get of a truncated value = %v", err)
			}
		})
	}
}

func TestGetTimestampedOfPlainStore(t *testing.T) {
	s := buildCounts(t, storeKinds[1], KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}))
	_, err := GetTimestampedKeyValueStore[string, int64](getter{"counts": s}, "counts")
	if !errors.Is(err, ErrWrongStoreType) {
		t.Fatalf("err = %v, want ErrWrongStoreType", err)
	}
}

func TestChangelogConfigs(t *testing.T) {
	b := KeyValueStoreBuilder("s", stringSerde{}, int64Serde{})
	if got := b.ChangelogConfigs(); !maps.Equal(got, map[string]string{"cleanup.policy": "compact"}) {
		t.Fatalf("default changelog configs %v", got)
	}
	b.WithLoggingDisabled().WithLoggingEnabled(CompactDeleteChangelogConfigs(25 * time.Hour))
	want := map[string]string{"cleanup.policy": "compact,delete", "retention.ms": "90000000"}
	if got := b.ChangelogConfigs(); !b.Logged() || !maps.Equal(got, want) {
		t.Fatalf("logged %v, changelog configs %v; want %v", b.Logged(), got, want)
	}
	// The builder keeps its own copy, and hands out copies.
	b.ChangelogConfigs()["cleanup.policy"] = "delete"
	if got := b.ChangelogConfigs(); !maps.Equal(got, want) {
		t.Fatalf("changelog configs changed through a returned map: %v", got)
	}
	ts := TimestampedKeyValueStoreBuilder("t", stringSerde{}, int64Serde{}).WithLoggingEnabled(map[string]string{"min.compaction.lag.ms": "10"})
	if got := ts.ChangelogConfigs(); !maps.Equal(got, map[string]string{"cleanup.policy": "compact", "min.compaction.lag.ms": "10"}) {
		t.Fatalf("timestamped store's changelog configs %v", got)
	}
}
