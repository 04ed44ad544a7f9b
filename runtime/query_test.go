package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/twmb/franz-go/pkg/kgo"
)

var vocab = strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu")

// retriable reports whether a query error is one a caller retries.
func retriable(err error) bool {
	return errors.Is(err, runtime.ErrRebalancing) || errors.Is(err, runtime.ErrStoreMoved)
}

// waitQueried waits until q answers want for every word, from whichever
// of the apps' queries holds it.
func waitQueried(t *testing.T, want map[string]int64, qs ...*runtime.KeyValueQuery[string, int64]) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := map[string]int64{}
		for w := range want {
			for _, q := range qs {
				n, ok, err := q.Get(w)
				if err == nil && ok {
					got[w] = n
				}
			}
		}
		if maps.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queries answer %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestQueryErrors(t *testing.T) {
	c := testfix.WordCountBroker(t, 2)
	app, err := runtime.New(testfix.WordCount(t), runtime.ApplicationID("q"), runtime.Brokers(c.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runtime.QueryKeyValue[string, int64](app, "nope"); !errors.Is(err, runtime.ErrUnknownStore) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown store: %v, want ErrUnknownStore naming it", err)
	}
	q, err := runtime.QueryKeyValue[string, int64](app, testfix.CountsStore)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := q.Get("alpha"); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("Get before Run: %v, want ErrNotRunning", err)
	}
	if _, err := q.All(); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("All before Run: %v, want ErrNotRunning", err)
	}

	app, done := startApp(t, c, t.TempDir(), runtime.ApplicationID("q2"))
	waitState(t, app, runtime.Running)
	testfix.ProduceLines(t, c, "alpha beta")
	q, _ = runtime.QueryKeyValue[string, int64](app, testfix.CountsStore)
	waitQueried(t, map[string]int64{"alpha": 1, "beta": 1}, q)
	wrong, _ := runtime.QueryKeyValue[int64, string](app, testfix.CountsStore)
	if _, _, err := wrong.Get(1); !errors.Is(err, state.ErrWrongStoreType) {
		t.Errorf("Get with the wrong types: %v, want ErrWrongStoreType", err)
	}
	closeApp(t, app, done)
	if _, _, err := q.Get("alpha"); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("Get after Close: %v, want ErrNotRunning", err)
	}
}

// TestQueryWhileProcessing reads the counts from several goroutines while
// the app counts: every answer is a count the word had, never going back,
// and the answers end at the final counts. Run it with -race.
func TestQueryWhileProcessing(t *testing.T) {
	c := testfix.WordCountBroker(t, 4)
	app, done := startApp(t, c, t.TempDir(), runtime.ApplicationID("qproc"))
	q, err := runtime.QueryKeyValue[string, int64](app, testfix.CountsStore)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, app, runtime.Running)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	var reads sync.Map // goroutine's successful reads
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := map[string]int64{}
			n := 0
			for {
				select {
				case <-stop:
					reads.Store(g, n)
					return
				default:
				}
				for _, w := range vocab {
					got, _, err := q.Get(w)
					if err != nil {
						if !retriable(err) {
							errs <- err
							return
						}
						continue
					}
					n++
					if got < last[w] {
						errs <- errors.New("count of " + w + " went back")
						return
					}
					last[w] = got
				}
				if g == 0 {
					it, err := q.All()
					if err != nil {
						if !retriable(err) {
							errs <- err
							return
						}
						continue
					}
					for it.Next() {
						_ = it.Key()
					}
					if err := it.Err(); err != nil && !retriable(err) {
						errs <- err
					}
					it.Close()
				}
			}
		}()
	}
	want := map[string]int64{}
	for i := range 5 {
		lines, w := testfix.Corpus(i*200, 200)
		testfix.ProduceLines(t, c, lines...)
		want = testfix.Add(want, w)
	}
	testfix.ReadCounts(t, c, want, 60*time.Second)
	waitQueried(t, want, q)
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	reads.Range(func(g, n any) bool {
		if n.(int) == 0 {
			t.Errorf("reader %v read nothing", g)
		}
		return true
	})

	it, err := q.All()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for it.Next() {
		got[it.Key()] = it.Value()
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	it.Close()
	if !maps.Equal(got, want) {
		t.Errorf("All = %v, want %v", got, want)
	}
	if n, err := q.ApproximateNumEntries(); err != nil || n < int64(len(want)/2) {
		t.Errorf("ApproximateNumEntries = %d, %v", n, err)
	}
	closeApp(t, app, done)
}

// TestQueryRoutesToLocalTask: with two instances, each word is answered by
// exactly one, the one running its task; the other says it moved.
func TestQueryRoutesToLocalTask(t *testing.T) {
	c := testfix.WordCountBroker(t, 4)
	root := t.TempDir()
	a, aDone := startApp(t, c, root+"/a", runtime.ApplicationID("qroute"))
	b, bDone := startApp(t, c, root+"/b", runtime.ApplicationID("qroute"))
	waitSpread(t, 4, 0, a, b)
	lines, want := testfix.Corpus(0, 300)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 60*time.Second)
	qa, _ := runtime.QueryKeyValue[string, int64](a, testfix.CountsStore)
	qb, _ := runtime.QueryKeyValue[string, int64](b, testfix.CountsStore)
	waitQueried(t, want, qa, qb)
	for w := range want {
		_, okA, errA := qa.Get(w)
		_, okB, errB := qb.Get(w)
		if (errA == nil) == (errB == nil) || !okA && !okB {
			t.Errorf("%q: a says %v, %v; b says %v, %v; want one answer and one ErrStoreMoved", w, okA, errA, okB, errB)
		}
		for _, err := range []error{errA, errB} {
			if err != nil && !errors.Is(err, runtime.ErrStoreMoved) {
				t.Errorf("%q: %v, want ErrStoreMoved", w, err)
			}
		}
	}
	closeApp(t, a, aDone)
	closeApp(t, b, bDone)
}

// TestQueryWindowAndSessionStores counts events per key in tumbling
// windows and in sessions and reads both stores.
func TestQueryWindowAndSessionStores(t *testing.T) {
	c := testfix.WordCountBroker(t, 2)
	b := dsl.NewBuilder()
	events := dsl.Stream(b, "events", serde.String, serde.String).GroupByKey()
	dsl.WindowedBy(events, dsl.TimeWindowsOfSizeAndGrace(time.Minute, time.Hour)).
		Count(dsl.MaterializedAs[string, int64]("per-minute"))
	dsl.WindowedBySession(events, dsl.SessionWindowsOfInactivityGapAndGrace(10*time.Second, time.Hour)).
		Count(dsl.MaterializedAs[string, int64]("sessions"))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTopic("events", 2); err != nil {
		t.Fatal(err)
	}
	app, done := runApp(t, c, topo, t.TempDir(), runtime.ApplicationID("qwin"))
	waitState(t, app, runtime.Running)

	cl, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	base := time.UnixMilli(600_000)
	var recs []*kgo.Record
	// u: three events in minute 10, one in minute 11, sessions [0s,5s] and
	// [70s,70s]; v: one event.
	for _, e := range []struct {
		key string
		at  time.Duration
	}{{"u", 0}, {"u", 2 * time.Second}, {"u", 5 * time.Second}, {"u", 70 * time.Second}, {"v", time.Second}} {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(e.key), Value: []byte("x"), Timestamp: base.Add(e.at)})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	wq, err := runtime.QueryWindow[string, int64](app, "per-minute")
	if err != nil {
		t.Fatal(err)
	}
	sq, err := runtime.QuerySession[string, int64](app, "sessions")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		why := func() string {
			it, err := wq.Fetch("u", 0, 1<<40)
			if err != nil {
				return err.Error()
			}
			defer it.Close()
			var got []string
			for it.Next() {
				got = append(got, time.UnixMilli(it.Start()).Sub(base).String()+"="+itoa(it.Value()))
			}
			if err := it.Err(); err != nil {
				return err.Error()
			}
			if strings.Join(got, " ") != "0s=3 1m0s=1" {
				return "windows of u: " + strings.Join(got, " ")
			}
			if n, ok, err := wq.Get("v", base.UnixMilli()); err != nil || !ok || n != 1 {
				return "window of v: " + itoa(n) + errString(err)
			}
			all, err := wq.All()
			if err != nil {
				return err.Error()
			}
			defer all.Close()
			windows := 0
			for all.Next() {
				windows++
			}
			if windows != 3 {
				return "all windows: " + itoa(int64(windows))
			}
			sit, err := sq.Fetch("u")
			if err != nil {
				return err.Error()
			}
			defer sit.Close()
			got = got[:0]
			for sit.Next() {
				k := sit.Key()
				got = append(got, time.UnixMilli(k.Start).Sub(base).String()+"-"+time.UnixMilli(k.End).Sub(base).String()+"="+itoa(sit.Value()))
			}
			if strings.Join(got, " ") != "0s-5s=3 1m10s-1m10s=1" {
				return "sessions of u: " + strings.Join(got, " ")
			}
			if n, ok, err := sq.FetchSession("v", base.UnixMilli()+1000, base.UnixMilli()+1000); err != nil || !ok || n != 1 {
				return "session of v: " + itoa(n) + errString(err)
			}
			return ""
		}()
		if why == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(why)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The HTTP layer fetches the windows of a key.
	qs := runtime.NewQueryServer(app)
	if err := qs.Window[string, int64]("per-minute", serde.String, nil); err != nil {
		t.Fatal(err)
	}
	if err := qs.KeyValue[int64, int64]("sessions", serde.Int64, nil); err == nil {
		t.Error("KeyValue with int64 keys and no parser: no error")
	}
	srv := httptest.NewServer(qs)
	defer srv.Close()
	from, to := base.UnixMilli(), base.Add(time.Minute).UnixMilli()
	resp, err := http.Get(fmt.Sprintf("%s/stores/per-minute/keys/u?from=%d&to=%d", srv.URL, from, to))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Windows []struct {
			Start int64 `json:"start"`
			Value int64 `json:"value"`
		} `json:"windows"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(body.Windows) != 2 ||
		body.Windows[0].Start != from || body.Windows[0].Value != 3 || body.Windows[1].Start != to || body.Windows[1].Value != 1 {
		t.Errorf("window fetch: status %d, %+v, %v; want u's two windows, 3 and 1", resp.StatusCode, body, err)
	}
	resp, err = http.Get(srv.URL + "/stores/per-minute/keys/u?from=soon")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("from=soon: status %d, want 400", resp.StatusCode)
	}
	closeApp(t, app, done)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error()
}
