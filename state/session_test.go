package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/serde"
)

func buildSession(t testing.TB, env *Env, b *SessionBuilder[string, int64]) (Store, *SessionStore[string, int64]) {
	t.Helper()
	st, err := b.Build(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, st.Typed().(*SessionStore[string, int64])
}

func session(k string, start, end int64) serde.Windowed[string] {
	return serde.Windowed[string]{Key: k, Start: start, End: end}
}

func TestSessionStore(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			logger := &recordingLogger{}
			now := int64(0)
			b := SessionStoreBuilder("s", time.Hour, stringSerde{}, int64Serde{}).WithSegmentInterval(100 * time.Millisecond)
			st, s := buildSession(t, loggedEnv(t, kind, logger, &now), b)
			for _, w := range []struct {
				s serde.Windowed[string]
				v int64
			}{
				{session("a", 0, 10), 1},
				{session("a", 50, 50), 2},
				{session("a", 120, 250), 3},
				{session("ab", 40, 60), 4},
				{session("b", 5, 5), 5},
			} {
				if err := s.Put(w.s, w.v); err != nil {
					t.Fatal(err)
				}
			}
			list := windows[int64](t)
			// A record at 55 with gap 10 falls into sessions ending at 45 or
			// later that start at 65 or earlier.
			if got, want := list(s.FindSessions("a", 45, 65)), []string{"a@50/50=2"}; !slices.Equal(got, want) {
				t.Fatalf("FindSessions(a, 45, 65) = %q, want %q", got, want)
			}
			if got, want := list(s.FindSessions("a", 5, 130)), []string{"a@0/10=1", "a@50/50=2", "a@120/250=3"}; !slices.Equal(got, want) {
				t.Fatalf("FindSessions(a, 5, 130) = %q, want %q", got, want)
			}
			if got, want := list(s.BackwardFindSessions("a", 5, 130)), []string{"a@120/250=3", "a@50/50=2", "a@0/10=1"}; !slices.Equal(got, want) {
				t.Fatalf("BackwardFindSessions = %q, want %q", got, want)
			}
			if got, want := list(s.FindSessions("a", 11, 49)), []string(nil); !slices.Equal(got, want) {
				t.Fatalf("FindSessions(a, 11, 49) = %q, want nothing", got)
			}
			if got, want := list(s.Fetch("ab")), []string{"ab@40/60=4"}; !slices.Equal(got, want) {
				t.Fatalf("Fetch(ab) = %q, want %q", got, want)
			}
			if got, want := list(s.FindSessionsKeyRange("a", "b", 0, 100)), []string{"a@0/10=1", "a@50/50=2", "ab@40/60=4", "b@5/5=5"}; !slices.Equal(got, want) {
				t.Fatalf("FindSessionsKeyRange(a, b) = %q, want %q", got, want)
			}
			if v, ok, err := s.FetchSession("a", 120, 250); err != nil || !ok || v != 3 {
				t.Fatalf("FetchSession = %d %v %v", v, ok, err)
			}
			if err := s.Remove(session("a", 50, 50)); err != nil {
				t.Fatal(err)
			}
			if err := s.Remove(session("a", 51, 51)); err != nil {
				t.Fatal(err)
			}
			if got, want := list(s.Fetch("a")), []string{"a@0/10=1", "a@120/250=3"}; !slices.Equal(got, want) {
				t.Fatalf("after Remove: %q, want %q", got, want)
			}
			// The changelog gets the last write of each session at the
			// flush. Removing an absent session logs nothing; the present
			// one is a tombstone keyed as Kafka Streams' SessionKeySchema:
			// key, end, start.
			if err := st.Flush(); err != nil {
				t.Fatal(err)
			}
			want := "a" + string(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, 50), 50))
			tombstones := 0
			for _, r := range logger.records {
				if r.value == nil {
					tombstones++
					if r.key != want {
						t.Fatalf("tombstone for %q, want only %q", r.key, want)
					}
				}
			}
			if tombstones != 1 || len(logger.records) != 5 {
				t.Fatalf("changelog has %d records and %d tombstones, want 5 and 1: %v", len(logger.records), tombstones, logger.records)
			}
			if err := s.Put(session("a", 20, 10), 1); err == nil || !strings.Contains(err.Error(), "before its start") {
				t.Fatalf("Put of an inverted session: %v", err)
			}

			h2, s2 := buildSession(t, kind.env(t), b)
			if err := h2.RestoreBatch(changelogOf(logger)); err != nil {
				t.Fatal(err)
			}
			if got, want := list(s2.All()), list(s.All()); !slices.Equal(got, want) {
				t.Fatalf("restored: %q, want %q", got, want)
			}
		})
	}
}

// TestSessionStoreRetention checks that sessions expire by their end.
func TestSessionStoreRetention(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			logger := &recordingLogger{}
			now := int64(0)
			h, s := buildSession(t, loggedEnv(t, kind, logger, &now), SessionStoreBuilder("s", 100*time.Millisecond, stringSerde{}, int64Serde{}).WithSegmentInterval(50*time.Millisecond))
			for i := int64(0); i < 20; i++ {
				if err := s.Put(session(fmt.Sprint("k", i%4), i*10, i*10+5), i); err != nil {
					t.Fatal(err)
				}
			}
			// Observed end 195: sessions ending at 95 or before expired.
			got := windows[int64](t)(s.All())
			for _, w := range got {
				var k string
				var start, end, v int64
				fmt.Sscanf(strings.Replace(strings.Replace(strings.Replace(w, "@", " ", 1), "/", " ", 1), "=", " ", 1), "%s %d %d %d", &k, &start, &end, &v)
				if end <= 95 {
					t.Fatalf("expired session %s returned", w)
				}
			}
			if len(got) != 10 {
				t.Fatalf("%d live sessions, want 10: %q", len(got), got)
			}
			if n, _ := h.Bytes().ApproximateNumEntries(); n >= 20 {
				t.Fatalf("%d entries: no segment was dropped", n)
			}
			for _, r := range logger.records {
				if r.value == nil {
					t.Fatal("expiry logged a tombstone")
				}
			}
			if _, ok, _ := s.FetchSession("k0", 0, 5); ok {
				t.Fatal("FetchSession returned an expired session")
			}
		})
	}
}

func TestSessionStoreView(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h, s := buildSession(t, kind.env(t), SessionStoreBuilder("s", time.Hour, stringSerde{}, int64Serde{}))
			if err := s.Put(session("u", 1, 2), 9); err != nil {
				t.Fatal(err)
			}
			v, err := h.View()
			if err != nil {
				t.Fatal(err)
			}
			ro, err := GetReadOnlySessionStore[string, int64](getter{"s": v}, "s")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := windows[int64](t)(ro.Fetch("u")), []string{"u@1/2=9"}; !slices.Equal(got, want) {
				t.Fatalf("view Fetch = %q, want %q", got, want)
			}
			if _, err := GetSessionStore[string, string](getter{"s": s}, "s"); !errors.Is(err, ErrWrongStoreType) {
				t.Fatalf("wrong value type: %v", err)
			}
		})
	}
}
