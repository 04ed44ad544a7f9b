package runtime_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
)

// probe GETs path from the app's HTTP server and returns the status code
// and body.
func probe(t testing.TB, app *runtime.App, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr(t, app) + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// httpAddr waits for Run to start the app's HTTP server and returns its
// address.
func httpAddr(t testing.TB, app *runtime.App) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for app.HTTPAddr() == "" {
		if time.Now().After(deadline) {
			t.Fatal("no HTTP server after 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return app.HTTPAddr()
}

// waitProbe GETs path until it answers code.
func waitProbe(t testing.TB, app *runtime.App, path string, code int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, body := probe(t, app, path)
		if got == code {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %q after 30s, want %d", path, got, body, code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holdRestore is a restore listener that holds the first restore until
// released.
type holdRestore struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (h *holdRestore) OnRestoreStart(runtime.RestoreProgress) {
	h.once.Do(func() { close(h.started) })
	<-h.release
}
func (h *holdRestore) OnBatchRestored(runtime.RestoreProgress) {}
func (h *holdRestore) OnRestoreEnd(runtime.RestoreProgress)    {}

func TestReadinessDuringRestore(t *testing.T) {
	c := testfix.WordCountBroker(t, 2)
	lines, want := testfix.Corpus(0, 300)
	testfix.ProduceLines(t, c, lines...)
	first, done := startApp(t, c, t.TempDir())
	testfix.ReadCounts(t, c, want, 60*time.Second)
	closeApp(t, first, done)

	// A new instance on an empty state directory restores the counts
	// from the changelog before it processes.
	hold := &holdRestore{started: make(chan struct{}), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	app, _ := startApp(t, c, t.TempDir(), runtime.HTTP("127.0.0.1:0"), runtime.Metrics(reg), runtime.RestoreListener(hold))
	select {
	case <-hold.started:
	case <-time.After(30 * time.Second):
		close(hold.release)
		t.Fatal("no restore started")
	}
	code, body := probe(t, app, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "PARTITIONS_ASSIGNED") {
		t.Errorf("/readyz while restoring: %d %q, want 503 naming the thread restoring (PARTITIONS_ASSIGNED)", code, body)
	}
	if code, body := probe(t, app, "/livez"); code != http.StatusOK {
		t.Errorf("/livez while restoring: %d %q, want 200", code, body)
	}
	close(hold.release)
	waitProbe(t, app, "/readyz", http.StatusOK)
	if code, body := probe(t, app, "/livez"); code != http.StatusOK {
		t.Errorf("/livez while running: %d %q, want 200", code, body)
	}

	fams := scrape(t, app)
	if n := sum(fams["samsa_restore_records_total"]); n == 0 {
		t.Error("samsa_restore_records_total is 0 after a restore")
	}
	if n := sum(fams["samsa_restore_records_remaining"]); n != 0 {
		t.Errorf("samsa_restore_records_remaining is %v after the restore ended", n)
	}
	if n := sum(fams["samsa_restore_duration_seconds"]); n == 0 {
		t.Error("samsa_restore_duration_seconds observed no restore")
	}
}

func TestReadinessDuringRebalance(t *testing.T) {
	c := testfix.WordCountBroker(t, 4)
	app, _ := startApp(t, c, t.TempDir(), runtime.HTTP("127.0.0.1:0"))
	waitProbe(t, app, "/readyz", http.StatusOK)

	// The handler is asked at each state change, from the goroutine that
	// makes it: at that moment the app must say what it is.
	var mu sync.Mutex
	var seen []string
	h := app.Handler()
	app.SetStateListener(func(_, s runtime.State) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		mu.Lock()
		seen = append(seen, s.String()+" "+rec.Result().Status)
		mu.Unlock()
	})
	// A second instance joins: the group rebalances.
	second, _ := startApp(t, c, t.TempDir())
	waitState(t, second, runtime.Running)
	waitProbe(t, app, "/readyz", http.StatusOK)
	mu.Lock()
	defer mu.Unlock()
	rebalanced := false
	for _, s := range seen {
		switch {
		case strings.HasPrefix(s, "REBALANCING "):
			rebalanced = true
			if !strings.HasSuffix(s, " 503 Service Unavailable") {
				t.Errorf("/readyz while rebalancing: %s, want 503", s)
			}
		}
	}
	if !rebalanced {
		t.Errorf("the first instance did not rebalance: %v", seen)
	}
}

func TestLivenessFailsInError(t *testing.T) {
	c := kafkatest.NewBroker(t, kafkatest.Topics(1, "numbers", "numbers-out"))
	b := dsl.NewBuilder()
	dsl.Stream(b, "numbers", serde.String, serde.Int64).To("numbers-out", dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, done := runApp(t, c, topo, t.TempDir(), runtime.ApplicationID("fails"), runtime.HTTP("127.0.0.1:0"))
	waitProbe(t, app, "/readyz", http.StatusOK)
	if code, _ := probe(t, app, "/livez"); code != http.StatusOK {
		t.Fatalf("/livez while running: %d", code)
	}
	// Not a long: the default handler fails the app.
	produceValues(t, c, "numbers", []byte("bad"))
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run returned nil, want the deserialization error")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the app did not fail")
	}
	if code, body := probe(t, app, "/livez"); code != http.StatusServiceUnavailable || body != "ERROR" {
		t.Errorf("/livez after the failure: %d %q, want 503 ERROR", code, body)
	}
	if code, _ := probe(t, app, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz after the failure: %d, want 503", code)
	}
	addr := app.HTTPAddr()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/livez"); err == nil {
		t.Error("the HTTP server still answers after Close")
	}
}

func TestHTTPNeedsAGatherer(t *testing.T) {
	reg := prometheus.WrapRegistererWith(prometheus.Labels{"x": "y"}, prometheus.NewRegistry())
	_, err := runtime.New(testfix.WordCount(t), runtime.ApplicationID("a"), runtime.Brokers("localhost:9092"),
		runtime.Metrics(reg), runtime.HTTP(":0"))
	if err == nil || !strings.Contains(err.Error(), "Gatherer") {
		t.Errorf("New = %v, want an error saying the registerer must be a Gatherer", err)
	}
	_, err = runtime.New(testfix.WordCount(t), runtime.ApplicationID("a"), runtime.Brokers("localhost:9092"), runtime.HTTP("8080"))
	if err == nil || !strings.Contains(err.Error(), "HTTP") {
		t.Errorf("New with HTTP(\"8080\") = %v, want an error naming HTTP", err)
	}
}
