package runtime_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/topology"
)

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("SAMSA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startApp runs word count as application "wordcount".
func startApp(t testing.TB, c *kafkatest.Broker, dir string, opts ...runtime.Option) (*runtime.App, chan error) {
	t.Helper()
	return runApp(t, c, testfix.WordCount(t), dir, append([]runtime.Option{runtime.ApplicationID("wordcount")}, opts...)...)
}

// runApp runs topo on c with test settings; opts come last and win. The app
// is closed when the test ends.
func runApp(t testing.TB, c *kafkatest.Broker, topo *topology.Topology, dir string, opts ...runtime.Option) (*runtime.App, chan error) {
	t.Helper()
	base := []runtime.Option{
		runtime.Brokers(c.Addrs()...),
		runtime.StateDir(dir),
		runtime.CommitInterval(100 * time.Millisecond),
		runtime.Logger(testLogger(t)),
		runtime.SessionTimeout(6 * time.Second),
	}
	app, err := runtime.New(topo, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return app, launch(t, app)
}

// launch runs app until the test ends; the channel gets what Run returned.
func launch(t testing.TB, app *runtime.App) chan error {
	done := make(chan error, 1)
	go func() { done <- app.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		app.Close(ctx)
	})
	return done
}

func TestWordCountEndToEnd(t *testing.T) {
	c := testfix.WordCountBroker(t, 3)
	app, done := startApp(t, c, t.TempDir())
	testfix.ProduceLines(t, c, "hello kafka hello", "all streams lead to kafka", "join kafka summit")
	testfix.ReadCounts(t, c, map[string]int64{"hello": 2, "kafka": 3, "all": 1, "streams": 1, "lead": 1, "to": 1, "join": 1, "summit": 1}, 30*time.Second)
	if s := app.State(); s != runtime.Running {
		t.Errorf("state = %v, want RUNNING", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := app.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s := app.State(); s != runtime.NotRunning {
		t.Errorf("state = %v, want NOT_RUNNING", s)
	}
}
