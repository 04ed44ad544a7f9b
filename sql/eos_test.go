package sql

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
)

// Queries compiled from SQL run on the runtime under exactly-once like any
// topology: a windowed aggregation and a stream-table join, on an
// in-process broker, read back read_committed.
func TestExactlyOnceOnBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a broker; skipped with -short")
	}
	prog, err := Compile(`
CREATE STREAM clicks (user_id STRING KEY, page STRING) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=2);
CREATE TABLE users (user_id STRING PRIMARY KEY, region STRING) WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON', PARTITIONS=2);
CREATE TABLE per_user WITH (KAFKA_TOPIC='per-user', VALUE_FORMAT='DELIMITED') AS
  SELECT user_id, COUNT(*) AS n FROM clicks WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 0 SECONDS) GROUP BY user_id;
CREATE STREAM enriched WITH (KAFKA_TOPIC='enriched', VALUE_FORMAT='DELIMITED') AS
  SELECT c.user_id AS user_id, page, region FROM clicks c JOIN users u ON c.user_id = u.user_id;`)
	if err != nil {
		t.Fatal(err)
	}
	b := kafkatest.NewBroker(t, kafkatest.Topics(2, "clicks", "users", "per-user", "enriched"))
	// Everything is produced before the app starts, the users first in
	// time: with MaxTaskIdle a task waits for both its partitions and then
	// takes records in timestamp order, so each click finds its user.
	cl, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer pcancel()
	var recs []*kgo.Record
	for _, u := range []string{"alice", "bob"} {
		recs = append(recs, &kgo.Record{Topic: "users", Key: []byte(u), Value: fmt.Appendf(nil, `{"REGION":"r-%s"}`, u), Timestamp: time.UnixMilli(0)})
	}
	for i := 0; i < 6; i++ {
		u := []string{"alice", "bob"}[i%2]
		recs = append(recs, &kgo.Record{Topic: "clicks", Key: []byte(u), Value: fmt.Appendf(nil, `{"PAGE":"/p%d"}`, i), Timestamp: time.UnixMilli(int64(1000 * (i + 1)))})
	}
	if err := cl.ProduceSync(pctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	app, err := runtime.New(prog.Topology(),
		runtime.ApplicationID("sql-eos"),
		runtime.Brokers(b.Addrs()...),
		runtime.StateDir(t.TempDir()),
		runtime.ProcessingGuarantee(runtime.ExactlyOnceV2),
		runtime.CommitInterval(100*time.Millisecond),
		runtime.MaxTaskIdle(2*time.Second),
		runtime.Logger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- app.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	rd, err := b.Client(kgo.ConsumeTopics("per-user", "enriched"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	counts := map[string]string{}
	enriched := map[string]int{}
	rctx, rcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer rcancel()
	for counts["alice"] != "3" || counts["bob"] != "3" || enriched["alice,r-alice"] != 3 || enriched["bob,r-bob"] != 3 {
		fs := rd.PollFetches(rctx)
		if rctx.Err() != nil {
			t.Fatalf("counts %v, enriched %v", counts, enriched)
		}
		fs.EachRecord(func(r *kgo.Record) {
			switch r.Topic {
			case "per-user":
				// A time-windowed KAFKA key: the user, then the window start.
				if len(r.Key) < 8 || binary.BigEndian.Uint64(r.Key[len(r.Key)-8:]) != 0 {
					t.Errorf("bad windowed key %q", r.Key)
					return
				}
				counts[string(r.Key[:len(r.Key)-8])] = string(r.Value)
			case "enriched":
				// DELIMITED PAGE,REGION
				v := string(r.Value)
				enriched[string(r.Key)+","+v[strings.LastIndexByte(v, ',')+1:]]++
			}
		})
	}
	if enriched["alice,r-alice"] != 3 || enriched["bob,r-bob"] != 3 {
		t.Fatalf("enriched %v", enriched)
	}
}
