package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

// The serde package is written elsewhere; these local serdes keep the tests
// independent of it.

type stringSerde struct{}

func (stringSerde) Serialize(dst []byte, _ string, v string) ([]byte, error) {
	return append(dst, v...), nil
}

func (stringSerde) Deserialize(_ string, data []byte) (string, error) { return string(data), nil }

type int64Serde struct{}

func (int64Serde) Serialize(dst []byte, _ string, v int64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(dst, uint64(v)), nil
}

func (int64Serde) Deserialize(_ string, data []byte) (int64, error) {
	if len(data) != 8 {
		return 0, fmt.Errorf("int64 needs 8 bytes, got %d", len(data))
	}
	return int64(binary.BigEndian.Uint64(data)), nil
}

var (
	_ serde.Serde[string] = stringSerde{}
	_ serde.Serde[int64]  = int64Serde{}
)

// logRecord is one call to a recording ChangeLogger.
type logRecord struct {
	key   string
	value []byte // nil for a delete
}

type recordingLogger struct {
	records []logRecord
	// times holds the timestamp of each record.
	times []int64
	err   error
}

func (l *recordingLogger) LogChange(key, value []byte, ts int64, _ []processor.Header) error {
	if l.err != nil {
		return l.err
	}
	l.times = append(l.times, ts)
	var v []byte
	if value != nil {
		v = append([]byte{}, value...)
	}
	l.records = append(l.records, logRecord{key: string(key), value: v})
	return nil
}

// countingStore counts the writes reaching the store it wraps.
type countingStore struct {
	KeyValueBytesStore
	puts, deletes, flushes int
}

func (s *countingStore) Put(key, value []byte) error {
	s.puts++
	return s.KeyValueBytesStore.Put(key, value)
}

func (s *countingStore) Delete(key []byte) error {
	s.deletes++
	return s.KeyValueBytesStore.Delete(key)
}

func (s *countingStore) Flush() error {
	s.flushes++
	return s.KeyValueBytesStore.Flush()
}

// openMemDB opens a DB on an in-memory filesystem, closed when t ends.
func openMemDB(t testing.TB) *DB {
	t.Helper()
	db, err := OpenDB("db", DBOptions{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// storeKind makes fresh bytes stores of one implementation.
type storeKind struct {
	name string
	new  func(t testing.TB, store string) KeyValueBytesStore
	env  func(t testing.TB) *Env
}

var storeKinds = []storeKind{
	{
		name: "pebble",
		new:  func(t testing.TB, store string) KeyValueBytesStore { return openMemDB(t).Store(store) },
		env: func(t testing.TB) *Env {
			db := openMemDB(t)
			return &Env{ApplicationID: "app", DB: func() (*DB, error) { return db, nil }}
		},
	},
	{
		name: "memory",
		new:  func(_ testing.TB, store string) KeyValueBytesStore { return NewMemoryStore(store) },
		env:  func(testing.TB) *Env { return &Env{ApplicationID: "app", InMemory: true} },
	},
}

// readAll drains it into "key=value" strings and closes it.
func readAll(t testing.TB, it BytesIterator) []string {
	t.Helper()
	var got []string
	for it.Next() {
		got = append(got, string(it.Key())+"="+string(it.Value()))
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterator: %v", err)
	}
	if err := it.Close(); err != nil {
		t.Fatalf("close iterator: %v", err)
	}
	return got
}

func mustPut(t testing.TB, s KeyValueBytesStore, kvs ...string) {
	t.Helper()
	for i := 0; i+1 < len(kvs); i += 2 {
		if err := s.Put([]byte(kvs[i]), []byte(kvs[i+1])); err != nil {
			t.Fatal(err)
		}
	}
}

func wantClosed(t testing.TB, err error, store string) {
	t.Helper()
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
	if want := fmt.Sprintf("state: store %q is closed", store); err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
}

// getter is a processor.StoreGetter over a fixed set of stores.
type getter map[string]processor.StateStore

func (g getter) StateStore(name string) (processor.StateStore, error) {
	s, ok := g[name]
	if !ok {
		return nil, &StoreError{Store: name, Err: ErrUnknownStore}
	}
	return s, nil
}
