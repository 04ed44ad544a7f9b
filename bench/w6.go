package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
)

func (b *bench) w6(ctx context.Context) error {
	const appID, src, changelog = "w6", "w6-src", "w6-counts-changelog"
	n := b.cfg.w6Records
	compact := "compact"
	if err := b.createTopics(ctx, 1, map[string]*string{"cleanup.policy": &compact}, changelog); err != nil {
		return err
	}
	if err := b.createTopics(ctx, 1, nil, src); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(6, 6))
	var want recordSum
	err := b.produceAll(ctx, changelog, n, func(i int) ([]byte, []byte) {
		v := randomValue(rng)
		want.add(key(i), v)
		return key(i), v
	})
	if err != nil {
		return err
	}
	tb := dsl.NewBuilder()
	dsl.Table(tb, src, serde.Bytes, serde.Bytes, dsl.MaterializedAs[[]byte, []byte]("counts"))
	topo, err := tb.Build()
	if err != nil {
		return fmt.Errorf("w6 topology: %w", err)
	}
	// verify reads the restored store back from the task's database once
	// the app has closed it.
	verify := func(dir string) error {
		got, err := readTableStore(filepath.Join(dir, appID, "0_0"), "counts")
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("restored store holds %d keys, digest %x; want %d keys, digest %x", got.n, got.sum, want.n, want.sum)
		}
		return nil
	}

	b.tableHead(fmt.Sprintf("W6 restore: %d records (1 partition of %q) into an empty Pebble store\n"+
		"  (samsa-restore: elapsed = app start → the \"restore done\" log; took = the restore's own duration as the runtime logs it,\n"+
		"  until the store's tables are written, synced and ingested; after the app closed, its store is read back and must hold\n"+
		"  every key with its value. raw-consume: a consumer with the restore consumer's settings that digests every key and value)", n, changelog))
	med, err := b.compare(ctx, "w6", int64(n), []side{
		{label: "raw-consume", run: func(ctx context.Context, _ int) (outcome, error) { return b.rawConsume(ctx, changelog, int64(n), want) }},
		{label: "samsa-restore", run: func(ctx context.Context, _ int) (outcome, error) {
			// A new state directory each time: the restore starts from
			// an empty store.
			logs := newLogSink(slog.LevelInfo)
			p, stop, err := b.startApp(topo, appID, logs, verify)
			if err != nil {
				return outcome{}, err
			}
			select {
			case d := <-logs.restore:
				if d.records != int64(n) {
					return outcome{stop: stop}, fmt.Errorf("restore done with %d records, want %d", d.records, n)
				}
				note := fmt.Sprintf("took %s → %.0f rec/s", fmtDur(d.took), float64(n)/d.took.Seconds())
				if r := logs.report(); r != "" {
					note += "; " + r
				}
				return outcome{end: d.at, took: d.took, note: note, stop: stop}, nil
			case <-p.done:
				return outcome{stop: stop}, fmt.Errorf("app stopped before restore was done: %v", p.err)
			case <-ctx.Done():
				return outcome{stop: stop}, fmt.Errorf("no \"restore done\" log: %w", context.Cause(ctx))
			}
		}},
	})
	if err != nil {
		return err
	}
	raw, restore := med[0], med[1]
	ratio := restore.primaryRate() / raw.rate()
	fmt.Fprintf(b.out, "  ratio restore (records/took) ÷ raw %.2f (target ≥ 0.9); end to end, with app start and group join: %.2f\n", ratio, restore.rate()/raw.rate())
	// A restore writes the store to disk besides reading what the raw
	// side reads: where other processes keep the CPUs busy, the work of
	// the two sides, more than their parallelism, sets the wall ratio.
	fmt.Fprintf(b.out, "  CPU per record: raw %.2f, restore %.2f s/1M (app start included): raw ÷ restore %.2f; load average %s\n",
		raw.cpuPerMillion(), restore.cpuPerMillion(), raw.cpuPerMillion()/restore.cpuPerMillion(), loadAvg())
	b.summary = append(b.summary, fmt.Sprintf("W6 restore     samsa %.0f rec/s (took %s)  raw consume %.0f rec/s  ratio %.2f (target ≥ 0.9) %s",
		restore.primaryRate(), fmtDur(restore.took), raw.rate(), ratio, verdict(ratio, 0.9)))
	return b.dropTopics(ctx, []string{src, changelog}, appID+"-")
}

// readTableStore opens the Pebble database in dir and digests the table
// store called name in it, as the DSL's tables keep it: keys and values,
// without the timestamps.
func readTableStore(dir, name string) (recordSum, error) {
	var sum recordSum
	db, err := state.OpenDB(dir, state.DBOptions{})
	if err != nil {
		return sum, err
	}
	st, err := state.TimestampedKeyValueStoreBuilder(name, serde.Bytes, serde.Bytes).WithLoggingDisabled().
		Build(&state.Env{DB: func() (*state.DB, error) { return db, nil }})
	if err != nil {
		return sum, errors.Join(err, db.Close())
	}
	s := st.Typed().(*state.TimestampedKeyValueStore[[]byte, []byte])
	it, err := s.All()
	if err != nil {
		return sum, errors.Join(err, st.Close(), db.Close())
	}
	for it.Next() {
		sum.add(it.Key(), it.Value().Value)
	}
	return sum, errors.Join(it.Err(), it.Close(), st.Close(), db.Close())
}

// rawConsume reads partition 0 of topic from the start until it has seen
// offset n-1, with the settings of the runtime's restore consumer
// (read_committed, control records kept and skipped), and reads every
// record's key and value into a digest, which must be want's: a baseline
// that fetched records without looking at them would not be reading what
// a restore has to.
func (b *bench) rawConsume(ctx context.Context, topic string, n int64, want recordSum) (outcome, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(b.addrs...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)
	if err != nil {
		return outcome{}, err
	}
	stop := func() error { cl.Close(); return nil }
	var got recordSum
	var first time.Time
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return outcome{stop: stop}, fmt.Errorf("read %d of %d records: %w", got.n, n, context.Cause(ctx))
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if ferr == nil {
				ferr = fmt.Errorf("consume %q partition %d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return outcome{stop: stop}, ferr
		}
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= n-1 {
				done = true
			}
			if !r.Attrs.IsControl() {
				got.add(r.Key, r.Value)
			}
		})
		if got.n > 0 && first.IsZero() {
			first = time.Now()
		}
		if done {
			end := time.Now()
			if got != want {
				return outcome{stop: stop}, fmt.Errorf("read %d records up to offset %d, digest %x; want %d records, digest %x", got.n, n-1, got.sum, want.n, want.sum)
			}
			return outcome{end: end, first: first, stop: stop}, nil
		}
	}
}
