package main

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestZZRestoreIdle(t *testing.T) {
	n := 30
	if os.Getenv("DBG") != "" {
		n = 1
	}
	for i := 0; i < n; i++ {
		c, _ := kfake.NewCluster(kfake.NumBrokers(1))
		cl, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
		adm := kadm.NewClient(cl)
		ctx := context.Background()
		adm.CreateTopics(ctx, 1, 1, nil, "w6-src", "w6-counts-changelog")
		for j := 0; j < 100; j++ {
			cl.Produce(ctx, &kgo.Record{Topic: "w6-counts-changelog", Key: key(j), Value: make([]byte, 100)}, nil)
		}
		cl.Flush(ctx)
		b := dsl.NewBuilder()
		dsl.Table(b, "w6-src", serde.Bytes, serde.Bytes, dsl.Materialized("counts"))
		topo, _ := b.Build()
		sink := newLogSink(slog.LevelInfo)
		dir := t.TempDir()
		var opts []runtime.Option
		if os.Getenv("DBG") != "" {
			opts = append(opts, runtime.KgoOpts(kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil))))
		}
		app, _ := runtime.New(topo, append(opts, runtime.ApplicationID("w6"), runtime.Brokers(c.ListenAddrs()...), runtime.StateDir(dir), runtime.CommitInterval(100*time.Millisecond), runtime.Logger(slog.New(sink.handler())))...)
		actx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- app.Run(actx) }()
		start := time.Now()
		select {
		case d := <-sink.restore:
			t.Logf("run %d: restore done after %v (took %v)", i, time.Since(start), d.took)
		case <-time.After(8 * time.Second):
			t.Errorf("run %d: no restore after 8s", i)
		}
		cancel()
		<-done
		cl.Close()
		c.Close()
	}
}
