package runtime_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/twmb/franz-go/pkg/kgo"
)

// served is an instance of word count serving queries over HTTP.
type served struct {
	app  *runtime.App
	done chan error
	addr string
}

func startServed(t *testing.T, c *kafkatest.Broker, dir string, opts ...runtime.Option) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	app, done := startApp(t, c, dir, append([]runtime.Option{runtime.ApplicationID("qhttp"), runtime.ApplicationServer(addr)}, opts...)...)
	qs := runtime.NewQueryServer(app)
	if err := qs.KeyValue[string, int64](testfix.CountsStore, serde.String, nil); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: qs}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &served{app: app, done: done, addr: addr}
}

// answer is a response of the query layer.
type answer struct {
	status int
	Value  int64  `json:"value"`
	Host   string `json:"host"`
	Error  string `json:"error"`
	Retry  bool   `json:"retriable"`
}

func get(t *testing.T, addr, store, key string) answer {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/stores/" + url.PathEscape(store) + "/keys/" + url.PathEscape(key))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("GET %s %s: status %d, body not JSON: %v", store, key, resp.StatusCode, err)
	}
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After: %+v", a)
	}
	return a
}

// checkAnswer reports what is wrong with an answer for a word whose count
// is want: "" for the right count, "retry" for a 503 saying why.
func checkAnswer(a answer, want int64) string {
	switch {
	case a.status == http.StatusOK && a.Value == want:
		return ""
	case a.status == http.StatusServiceUnavailable && a.Retry && a.Error != "":
		return "retry"
	}
	return fmt.Sprintf("%+v, want %d", a, want)
}

// TestQueryHTTPThreeInstances asks each of three instances for every word:
// each answers, itself or through the instance running the word's task,
// with the word's count; MetadataForKey agrees on every instance. When one
// instance leaves, answers are the right count or a 503, until every
// instance answers again.
func TestQueryHTTPThreeInstances(t *testing.T) {
	const parts = 6
	c := testfix.WordCountBroker(t, parts)
	root := t.TempDir()
	var ss []*served
	for _, name := range []string{"a", "b", "c"} {
		ss = append(ss, startServed(t, c, root+"/"+name, runtime.Standbys(1)))
	}
	waitSpread(t, parts, 1, ss[0].app, ss[1].app, ss[2].app)
	lines, want := testfix.Corpus(0, 300)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 60*time.Second)

	// Settled: every instance answers every word right.
	deadline := time.Now().Add(60 * time.Second)
	for settled := false; !settled; {
		settled = true
		for w, n := range want {
			for _, s := range ss {
				if why := checkAnswer(get(t, s.addr, testfix.CountsStore, w), n); why != "" {
					settled = false
					if why != "retry" && time.Now().After(deadline) {
						t.Fatalf("%s asked for %q: %s", s.addr, w, why)
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("instances still answer 503 after a minute")
		}
	}
	hosts := map[string]bool{}
	for w, n := range want {
		var md runtime.KeyQueryMetadata
		for i, s := range ss {
			m, err := s.app.MetadataForKey[string](testfix.CountsStore, w, serde.String)
			if err != nil {
				t.Fatal(err)
			}
			if i > 0 && (m.Active != md.Active || !slices.Equal(m.Standbys, md.Standbys) || m.Partition != md.Partition) {
				t.Fatalf("%q: %s says %+v, %s says %+v", w, ss[0].addr, md, s.addr, m)
			}
			md = m
		}
		if len(md.Standbys) != 1 || md.Standbys[0] == md.Active {
			t.Errorf("%q: standbys %v beside active %s, want one other", w, md.Standbys, md.Active)
		}
		hosts[md.Active] = true
		for _, s := range ss {
			a := get(t, s.addr, testfix.CountsStore, w)
			if a.Host != md.Active {
				t.Errorf("%q asked of %s was answered by %s, want %s, the instance running its task", w, s.addr, a.Host, md.Active)
			}
			q, _ := runtime.QueryKeyValue[string, int64](s.app, testfix.CountsStore)
			got, _, err := q.Get(w)
			if local := s.addr == md.Active; local != (err == nil) || local && got != n {
				t.Errorf("%q on %s (active %s): local query %d, %v", w, s.addr, md.Active, got, err)
			}
		}
	}
	if len(hosts) < 2 {
		t.Errorf("the words live on %v only: the test routes nothing", hosts)
	}

	// Stale reads: the instance keeping a word's standby answers from it,
	// saying so; the active's answer is not marked. A standby may still
	// be catching up, or move in a rebalance a warm-up asks for: each
	// check is retried for a while.
	for w, n := range want {
		deadline := time.Now().Add(30 * time.Second)
		for {
			why := staleWrong(t, ss, w, n)
			if why == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("stale reads of %q: %s", w, why)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	if a := get(t, ss[0].addr, "nope", "x"); a.status != http.StatusNotFound || a.Retry {
		t.Errorf("unknown store: %+v, want 404", a)
	}
	if a := get(t, ss[0].addr, testfix.CountsStore, "no-such-word"); a.status != http.StatusNotFound {
		t.Errorf("missing key: %+v, want 404", a)
	}

	// One instance leaves: the others answer right or say to retry.
	closeApp(t, ss[2].app, ss[2].done)
	retries := 0
	deadline = time.Now().Add(60 * time.Second)
	for settled := false; !settled; {
		settled = true
		for w, n := range want {
			for _, s := range ss[:2] {
				switch why := checkAnswer(get(t, s.addr, testfix.CountsStore, w), n); why {
				case "":
				case "retry":
					retries++
					settled = false
				default:
					t.Fatalf("%s asked for %q during the rebalance: %s", s.addr, w, why)
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("instances still answer 503 a minute after one left")
		}
	}
	t.Logf("%d answers said to retry while the group rebalanced", retries)
	for _, s := range ss[:2] {
		if _, err := s.app.MetadataForKey[string](testfix.CountsStore, "alpha", serde.String); err != nil && !errors.Is(err, runtime.ErrRebalancing) {
			t.Error(err)
		}
	}
	closeApp(t, ss[0].app, ss[0].done)
	closeApp(t, ss[1].app, ss[1].done)
}

// restoreGate holds restores, once armed, until released.
type restoreGate struct {
	armed   atomic.Bool
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *restoreGate) OnRestoreStart(runtime.RestoreProgress) {
	if !g.armed.Load() {
		return
	}
	g.once.Do(func() { close(g.started) })
	select {
	case <-g.release:
	case <-time.After(60 * time.Second):
	}
}
func (g *restoreGate) OnBatchRestored(runtime.RestoreProgress) {}
func (g *restoreGate) OnRestoreEnd(runtime.RestoreProgress)    {}

// TestQueryHTTPRestoring: while the task holding a key restores, its
// instance answers 503, saying so; once restored, the right count.
func TestQueryHTTPRestoring(t *testing.T) {
	const parts = 4
	c := testfix.WordCountBroker(t, parts)
	root := t.TempDir()
	newGate := func() *restoreGate { return &restoreGate{started: make(chan struct{}), release: make(chan struct{})} }
	ga, gb := newGate(), newGate()
	a := startServed(t, c, root+"/a", runtime.RestoreListener(ga))
	b := startServed(t, c, root+"/b", runtime.RestoreListener(gb))
	waitSpread(t, parts, 0, a.app, b.app)
	lines, want := testfix.Corpus(0, 200)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 60*time.Second)

	// The instance with counting tasks leaves; the other restores them.
	victim, survivor, gate := b, a, ga
	if !slices.ContainsFunc(b.app.ActiveTasks(), func(id processor.TaskID) bool { return id.Subtopology == 1 }) {
		victim, survivor, gate = a, b, gb
	}
	// The survivor keeps its own counting tasks through the cooperative
	// rebalance; only those of the victim restore.
	kept := survivor.app.ActiveTasks()
	byKey := kgo.StickyKeyPartitioner(nil).ForTopic("")
	gate.armed.Store(true)
	closeApp(t, victim.app, victim.done)
	select {
	case <-gate.started:
	case <-time.After(60 * time.Second):
		t.Fatal("the survivor restored nothing")
	}
	restoring := 0
	for w, n := range want {
		ans := get(t, survivor.addr, testfix.CountsStore, w)
		task := processor.TaskID{Subtopology: 1, Partition: int32(byKey.Partition(&kgo.Record{Key: []byte(w)}, parts))}
		stays := slices.Contains(kept, task)
		switch why := checkAnswer(ans, n); {
		case why == "" && stays:
		case why == "":
			t.Errorf("%q answered while its task %v restores", w, task)
		case why == "retry" && stays:
			t.Errorf("%q: 503 saying %q, though its task %v stayed on the instance", w, ans.Error, task)
		case why == "retry":
			restoring++
			if !strings.Contains(ans.Error, "restoring") && !strings.Contains(ans.Error, "rebalancing") {
				t.Errorf("%q: 503 saying %q, want it to say the task restores", w, ans.Error)
			}
		default:
			t.Fatalf("%q while restoring: %s", w, why)
		}
	}
	if restoring == 0 {
		t.Fatalf("all %d words answered while the survivor's new tasks restored", len(want))
	}
	close(gate.release)
	deadline := time.Now().Add(60 * time.Second)
	for w, n := range want {
		for {
			why := checkAnswer(get(t, survivor.addr, testfix.CountsStore, w), n)
			if why == "" {
				break
			}
			if why != "retry" || time.Now().After(deadline) {
				t.Fatalf("%q after the restore: %s", w, why)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("%d of %d words answered 503 while their task restored; the others, of tasks that stayed, were answered", restoring, len(want))
	closeApp(t, survivor.app, survivor.done)
}

// staleWrong reports what is wrong with stale reads of w, whose count is
// n: through GetStale on every instance, and over HTTP from the standby.
func staleWrong(t *testing.T, ss []*served, w string, n int64) string {
	md, err := ss[0].app.MetadataForKey[string](testfix.CountsStore, w, serde.String)
	if err != nil {
		return err.Error()
	}
	if len(md.Standbys) != 1 {
		return fmt.Sprintf("metadata %+v", md)
	}
	for _, s := range ss {
		q, _ := runtime.QueryKeyValue[string, int64](s.app, testfix.CountsStore)
		standby := s.addr == md.Standbys[0]
		a, err := q.GetStale(w)
		switch {
		case s.addr != md.Active && !standby:
			if !errors.Is(err, runtime.ErrStoreMoved) {
				return fmt.Sprintf("on %s, neither active nor standby: %+v, %v; want ErrStoreMoved", s.addr, a, err)
			}
		case err != nil || !a.Found || a.Standby != standby || a.Standby && a.Lag < 0 || a.Value != n:
			return fmt.Sprintf("on %s (standby %v): %+v, %v; want %d", s.addr, standby, a, err, n)
		}
	}
	resp, err := http.Get("http://" + md.Standbys[0] + "/stores/" + testfix.CountsStore + "/keys/" + w + "?stale=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Value int64  `json:"value"`
		Host  string `json:"host"`
		Stale bool   `json:"stale"`
		Lag   *int64 `json:"lag"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	if err != nil || resp.StatusCode != http.StatusOK || body.Host != md.Standbys[0] || !body.Stale || body.Lag == nil || body.Value != n {
		return fmt.Sprintf("over HTTP from the standby %s: status %d, %+v, %v", md.Standbys[0], resp.StatusCode, body, err)
	}
	return ""
}
