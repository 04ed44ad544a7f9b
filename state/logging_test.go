package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/samsa-go/samsa/processor"
)

// loggedKinds are the stores a changelogging layer sits on: the bytes
// stores, which it folds for itself, and the transaction buffer over each,
// which folds for it.
func loggedKinds() []storeKind {
	kinds := slices.Clone(storeKinds)
	for _, k := range storeKinds {
		kinds = append(kinds, storeKind{
			name: k.name + "+txn",
			new: func(t testing.TB, store string) KeyValueBytesStore {
				return NewTxnStore(k.new(t, store))
			},
		})
	}
	return kinds
}

func mustFlush(t testing.TB, s KeyValueBytesStore) {
	t.Helper()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestChangeLogging checks the folding: nothing is sent before Flush, then
// each key written since the last Flush once, with its last value and the
// time of its last write, in the order the keys were first written.
// loggingVariants are the ways the layer folds over a bytes store: reading
// the last values back at Flush, or keeping them, as it does over a
// key-value store's (see keepValues).
var loggingVariants = []struct {
	name string
	keep bool
}{{"read-back", false}, {"kept", true}}

func newLogging(inner KeyValueBytesStore, logger ChangeLogger, clock func() int64, keep bool) KeyValueBytesStore {
	s := NewChangeLoggingStore(inner, logger, clock)
	s.(*changeLoggingStore).keepValues = keep
	return s
}

func TestChangeLogging(t *testing.T) {
	for _, kind := range loggedKinds() {
		for _, lv := range loggingVariants {
			t.Run(kind.name+"/"+lv.name, func(t *testing.T) {
				logger := &recordingLogger{}
				now := int64(10)
				s := newLogging(kind.new(t, "st"), logger, func() int64 { return now }, lv.keep)
				mustPut(t, s, "a", "1")
				now = 20
				mustPut(t, s, "b", "", "a", "2")
				now = 30
				if err := s.Delete([]byte("b")); err != nil {
					t.Fatal(err)
				}
				now = 40
				mustPut(t, s, "c", "3")
				if len(logger.records) != 0 {
					t.Fatalf("sent before Flush: %v", logger.records)
				}
				mustFlush(t, s)
				want := []logRecord{{"a", []byte("2")}, {"b", nil}, {"c", []byte("3")}}
				if !slices.EqualFunc(logger.records, want, eqRecord) {
					t.Fatalf("log = %v, want %v", logger.records, want)
				}
				if !slices.Equal(logger.times, []int64{20, 30, 40}) {
					t.Fatalf("timestamps %v, want the last write's: [20 30 40]", logger.times)
				}
				// A second Flush has nothing new; the next interval starts over.
				mustFlush(t, s)
				mustPut(t, s, "b", "4")
				mustFlush(t, s)
				want = append(want, logRecord{"b", []byte("4")})
				if !slices.EqualFunc(logger.records, want, eqRecord) {
					t.Fatalf("log = %v, want %v", logger.records, want)
				}
				if got := readAll(t, mustRange(t, s, nil, nil)); !slices.Equal(got, []string{"a=2", "b=4", "c=3"}) {
					t.Fatalf("store holds %q", got)
				}

				boom := errors.New("boom")
				logger.err = boom
				mustPut(t, s, "d", "1")
				err := s.Flush()
				var se *StoreError
				if !errors.Is(err, boom) || !errors.As(err, &se) || se.Store != "st" {
					t.Fatalf("Flush with a failing logger = %v", err)
				}

				logger.err = nil
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				wantClosed(t, s.Put([]byte("e"), []byte("1")), "st")
				if n := len(logger.records); n != 4 {
					t.Fatalf("%d records logged, want 4", n)
				}
			})
		}
	}
}

// TestChangeLoggingOverTxn checks the order the task relies on: a
// transaction buffer refuses to commit writes its changelog has not had,
// and commits them once flushed.
func TestChangeLoggingOverTxn(t *testing.T) {
	logger := &recordingLogger{}
	inner := NewMemoryStore("st")
	tx := NewTxnStore(inner)
	s := NewChangeLoggingStore(tx, logger, nil)
	mustPut(t, s, "a", "1")
	if err := tx.Commit(); err == nil {
		t.Fatal("Commit with an unsent write succeeded")
	}
	if _, found, _ := inner.Get([]byte("a")); found {
		t.Fatal("a failed Commit applied a write")
	}
	mustFlush(t, s)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if v, found, _ := inner.Get([]byte("a")); !found || string(v) != "1" {
		t.Fatalf("after Commit inner a = %q, %v", v, found)
	}
	if len(logger.records) != 1 {
		t.Fatalf("%d records, want 1", len(logger.records))
	}
	// Aborted writes are never sent.
	mustPut(t, s, "b", "2")
	tx.Abort()
	mustFlush(t, s)
	if len(logger.records) != 1 {
		t.Fatalf("an aborted write was sent: %v", logger.records)
	}
}

// TestDirtyUntilSent checks that a store whose changelog layer holds
// unsent writes reports itself dirty, so that the task flushes it again
// when a cache flushed after it forwarded into it (here: a's cache
// listener writes b, which was flushed first).
func TestDirtyUntilSent(t *testing.T) {
	for _, kind := range storeKinds {
		for _, txn := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/txn=%v", kind.name, txn), func(t *testing.T) {
				logger := &recordingLogger{}
				now := int64(0)
				env := loggedEnv(t, kind, logger, &now)
				env.Transactional = txn
				ha, a := buildKV(t, env, KeyValueStoreBuilder("a", stringSerde{}, int64Serde{}).WithCachingEnabled(1<<20))
				hb, b := buildKV(t, env, KeyValueStoreBuilder("b", stringSerde{}, int64Serde{}))
				if _, err := SetFlushListener(ha, func(f Flushed[string, int64]) error {
					return b.Put(f.Key, f.New*10)
				}); err != nil {
					t.Fatal(err)
				}
				if err := a.Put("k", 1); err != nil {
					t.Fatal(err)
				}
				// The engine's loop: flush every store, until none is dirty.
				for pass := 0; ha.Dirty() || hb.Dirty(); pass++ {
					if pass > 2 {
						t.Fatal("still dirty after 3 passes")
					}
					for _, h := range []Store{hb, ha} {
						if err := h.Flush(); err != nil {
							t.Fatal(err)
						}
					}
				}
				want := []logRecord{{"k", binary.BigEndian.AppendUint64(nil, 1)}, {"k", binary.BigEndian.AppendUint64(nil, 10)}}
				if !slices.EqualFunc(logger.records, want, eqRecord) {
					t.Fatalf("changelogs got %v, want %v", logger.records, want)
				}
				if txn {
					for _, h := range []Store{ha, hb} {
						if err := h.Txn().Commit(); err != nil {
							t.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// TestWindowStoreDirtyUntilSent is TestDirtyUntilSent for a window store:
// a write leaves it dirty until a flush sends it.
func TestWindowStoreDirtyUntilSent(t *testing.T) {
	for _, kind := range storeKinds {
		for _, txn := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/txn=%v", kind.name, txn), func(t *testing.T) {
				logger := &recordingLogger{}
				now := int64(0)
				env := loggedEnv(t, kind, logger, &now)
				env.Transactional = txn
				st, err := WindowStoreBuilder("w", time.Hour, time.Minute, stringSerde{}, int64Serde{}).Build(env)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				if st.Dirty() {
					t.Fatal("dirty before any write")
				}
				if err := st.Typed().(*WindowStore[string, int64]).Put("k", 1, 0); err != nil {
					t.Fatal(err)
				}
				if !st.Dirty() {
					t.Fatal("a write not yet sent leaves the store clean")
				}
				if err := st.Flush(); err != nil {
					t.Fatal(err)
				}
				if st.Dirty() || len(logger.records) != 1 {
					t.Fatalf("after Flush: dirty %v, %d records sent", st.Dirty(), len(logger.records))
				}
			})
		}
	}
}

// TestChangeLoggingFoldsMany folds more keys than are looked up by a scan,
// so that the layer's map takes over mid-interval, and drops a range of
// them before the flush.
func TestChangeLoggingFoldsMany(t *testing.T) {
	for _, kind := range loggedKinds() {
		for _, lv := range loggingVariants {
			t.Run(kind.name+"/"+lv.name, func(t *testing.T) {
				logger := &recordingLogger{}
				s := newLogging(kind.new(t, "st"), logger, nil, lv.keep)
				for round := range 2 {
					for i := range 3 * foldScan {
						mustPut(t, s, fmt.Sprintf("k%03d", i), fmt.Sprint(round))
					}
				}
				if err := s.DeleteRange([]byte("k010"), []byte("k020")); err != nil {
					t.Fatal(err)
				}
				mustPut(t, s, "k015", "again")
				mustFlush(t, s)
				// k015, written again after the range deletion, is first written
				// there.
				var want []logRecord
				for i := range 3 * foldScan {
					if k := fmt.Sprintf("k%03d", i); k < "k010" || k >= "k020" {
						want = append(want, logRecord{k, []byte("1")})
					}
				}
				want = append(want, logRecord{"k015", []byte("again")})
				if !slices.EqualFunc(logger.records, want, eqRecord) {
					t.Fatalf("log = %v,\nwant %v", logger.records, want)
				}
			})
		}
	}
}

// TestChangeLoggingEmptyKey checks that an empty key reaches the changelog
// as an empty key, never as a null one (which a compacted topic refuses
// and a consumer reads as a different key), through the plain layer over
// every kind, and through a built store with and without a cache; a
// restore of what was sent gives the empty key back.
func TestChangeLoggingEmptyKey(t *testing.T) {
	type sent struct {
		nullKey bool
		key     string
		value   []byte
	}
	logger := func(got *[]sent) ChangeLogger {
		return ChangeLoggerFunc(func(key, value []byte, _ int64, _ []processor.Header) error {
			*got = append(*got, sent{key == nil, string(key), slices.Clone(value)})
			return nil
		})
	}
	check := func(t *testing.T, got []sent, want ...[]byte) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("sent %d records, want %d: %+v", len(got), len(want), got)
		}
		for i, r := range got {
			if r.nullKey || r.key != "" {
				t.Fatalf("record %d: key %q (null %v), want the empty key", i, r.key, r.nullKey)
			}
			if (r.value == nil) != (want[i] == nil) || !slices.Equal(r.value, want[i]) {
				t.Fatalf("record %d: value %q, want %q", i, r.value, want[i])
			}
		}
	}
	for _, kind := range loggedKinds() {
		t.Run(kind.name, func(t *testing.T) {
			var got []sent
			s := NewChangeLoggingStore(kind.new(t, "st"), logger(&got), nil)
			if err := s.Put(nil, []byte("v")); err != nil {
				t.Fatal(err)
			}
			mustFlush(t, s)
			if err := s.Delete([]byte{}); err != nil {
				t.Fatal(err)
			}
			mustFlush(t, s)
			check(t, got, []byte("v"), nil)
		})
	}
	for _, kind := range storeKinds {
		for _, cached := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/cache=%v", kind.name, cached), func(t *testing.T) {
				var got []sent
				now := int64(0)
				b := KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{})
				if cached {
					b.WithCachingEnabled(1 << 20)
				}
				h, s := buildKV(t, loggedEnv(t, kind, logger(&got), &now), b)
				if err := s.Put("", 7); err != nil {
					t.Fatal(err)
				}
				if err := h.Flush(); err != nil {
					t.Fatal(err)
				}
				check(t, got, binary.BigEndian.AppendUint64(nil, 7))

				h2, s2 := buildKV(t, kind.env(t), KeyValueStoreBuilder("counts", stringSerde{}, int64Serde{}))
				if err := h2.RestoreBatch([]ChangelogRecord{{Key: []byte(got[0].key), Value: got[0].value, Offset: 0}}); err != nil {
					t.Fatal(err)
				}
				if v, ok, err := s2.Get(""); err != nil || !ok || v != 7 {
					t.Fatalf("restored Get(\"\") = %d, %v, %v; want 7", v, ok, err)
				}
			})
		}
	}
}

// TestChangeLoggingKeptValues checks the values the layer keeps between
// flushes: a rewrite of another length, a delete then a put, a put then a
// delete, and an empty value, each sent as last written.
func TestChangeLoggingKeptValues(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			logger := &recordingLogger{}
			s := newLogging(kind.new(t, "st"), logger, nil, true)
			mustPut(t, s, "a", "1", "b", "22", "c", "333", "d", "4")
			mustPut(t, s, "a", "long", "b", "", "c", "3")
			if err := s.Delete([]byte("d")); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete([]byte("a")); err != nil {
				t.Fatal(err)
			}
			mustPut(t, s, "a", "back", "e", "5")
			mustFlush(t, s)
			want := []logRecord{{"a", []byte("back")}, {"b", []byte{}}, {"c", []byte("3")}, {"d", nil}, {"e", []byte("5")}}
			if !slices.EqualFunc(logger.records, want, eqRecord) {
				t.Fatalf("log = %v, want %v", logger.records, want)
			}
			if v := logger.records[1].value; v == nil {
				t.Fatal("the empty value of b was sent as a null")
			}
		})
	}
}

// TestChangeLoggingFoldEdges checks the folding where a store's entries
// mark the keys to send (memory) as where the layer or the buffer folds:
// a tombstone for a key the store never had, a key deleted then covered by
// a DeleteRange (not sent), a delete, put and delete of one key (one
// tombstone), and a Flush whose logger fails part way, after which the
// next Flush sends the rest once.
func TestChangeLoggingFoldEdges(t *testing.T) {
	for _, kind := range loggedKinds() {
		t.Run(kind.name, func(t *testing.T) {
			logger := &failingAfter{left: -1}
			s := newLogging(kind.new(t, "st"), logger, nil, true)
			mustPut(t, s, "a", "1", "m", "2", "z", "3")
			for _, k := range []string{"never", "m", "z"} {
				if err := s.Delete([]byte(k)); err != nil {
					t.Fatal(err)
				}
			}
			mustPut(t, s, "z", "4")
			if err := s.Delete([]byte("z")); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteRange([]byte("l"), []byte("n")); err != nil {
				t.Fatal(err)
			}
			logger.left = 1
			if err := s.Flush(); err == nil {
				t.Fatal("Flush with a logger failing after one record succeeded")
			}
			logger.left = -1
			mustFlush(t, s)
			mustFlush(t, s)
			// In the order first written: z before never.
			want := []logRecord{{"a", []byte("1")}, {"z", nil}, {"never", nil}}
			if !slices.EqualFunc(logger.records, want, eqRecord) {
				t.Fatalf("log = %v, want %v", logger.records, want)
			}
		})
	}
}

// failingAfter records what it is sent, failing once left records were
// (left < 0: never).
type failingAfter struct {
	recordingLogger
	left int
}

func (l *failingAfter) LogChange(key, value []byte, ts int64, hs []processor.Header) error {
	if l.left == 0 {
		return errors.New("boom")
	}
	l.left--
	return l.recordingLogger.LogChange(key, value, ts, hs)
}
