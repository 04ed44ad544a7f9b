package state

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestWindowStoreExpiryShrinksDisk fills three segments of a Pebble window
// store, lets two expire and checks that, once Pebble compacts the range
// deletions, the database takes far less disk: expiring a segment frees
// its space without a write per key, and without a changelog record.
func TestWindowStoreExpiryShrinksDisk(t *testing.T) {
	db := openMemDB(t)
	logger := &recordingLogger{}
	env := &Env{ApplicationID: "app", DB: func() (*DB, error) { return db, nil }, Logger: func(string) ChangeLogger { return logger }}
	minute := time.Minute.Milliseconds()
	h, s := buildWindow(t, env, WindowStoreBuilder("w", 2*time.Minute, time.Minute, stringSerde{}, int64Serde{}))
	for seg := int64(0); seg < 3; seg++ {
		for k := 0; k < 20_000; k++ {
			put(t, s, fmt.Sprintf("key-%06d", k), int64(k), seg*minute)
		}
	}
	size := func() uint64 {
		t.Helper()
		mustNil(t, db.pdb.Flush())
		mustNil(t, db.pdb.Compact(context.Background(), []byte{0}, []byte{0xff}, false))
		// Live tables: the WAL and files awaiting deletion come and go.
		return db.pdb.Metrics().Table.Local.LiveSize
	}
	// What was written so far goes to the changelog at this flush.
	mustNil(t, h.Flush())
	before := size()
	logged := len(logger.records)
	// A window at 4 minutes expires everything before 2 minutes + 1ms:
	// the segments of minutes 0 and 1 (one minute each).
	put(t, s, "key-000000", 1, 4*minute)
	mustNil(t, h.Flush())
	after := size()
	if after*2 > before {
		t.Fatalf("live tables take %d bytes after two of three segments expired, %d before: want it at least halved", after, before)
	}
	if got := len(logger.records) - logged; got != 1 {
		t.Fatalf("expiring two segments of 20k windows wrote %d changelog records, want 1 (the put)", got)
	}
	if n, _ := h.Bytes().ApproximateNumEntries(); n != 20_001 {
		t.Fatalf("%d entries left, want 20001", n)
	}
}
