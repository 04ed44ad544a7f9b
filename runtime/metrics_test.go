package runtime_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

// scrape gets /metrics from the app's HTTP server and parses it.
func scrape(t testing.TB, app *runtime.App) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr(t, app) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s: %s", resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sum adds the values of every series of fam: counters and gauges by
// value, histograms by their count of observations.
func sum(fam *dto.MetricFamily) float64 {
	if fam == nil {
		return 0
	}
	var n float64
	for _, m := range fam.Metric {
		switch {
		case m.Counter != nil:
			n += m.Counter.GetValue()
		case m.Gauge != nil:
			n += m.Gauge.GetValue()
		case m.Histogram != nil:
			n += float64(m.Histogram.GetSampleCount())
		}
	}
	return n
}

func labelsOf(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.Label {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

// wordCountWithDrops is word count with a cached store, and a second
// subtopology that reads Java longs from "numbers" and drops what is not
// one, so that an app running it has every kind of series.
func wordCountWithDrops(t testing.TB) *topology.Topology {
	t.Helper()
	b := dsl.NewBuilder()
	testfix.AddWordCountCached(b, 1<<20)
	dsl.Stream(b, "numbers", serde.String, serde.Int64).To("numbers-out", dsl.ProducedWith(serde.String, serde.Int64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// wantFamilies are the metric families an app running word count with
// drops exposes once records have flowed, and the labels of each besides
// application.
var wantFamilies = map[string][]string{
	"samsa_app_state":                           {"state"},
	"samsa_thread_state":                        {"thread", "state"},
	"samsa_thread_poll_latency_seconds":         {"thread"},
	"samsa_thread_commit_latency_seconds":       {"thread"},
	"samsa_thread_commits_total":                {"thread"},
	"samsa_thread_rebalances_total":             {"thread"},
	"samsa_thread_rebalance_duration_seconds":   {"thread"},
	"samsa_task_records_processed_total":        {"task"},
	"samsa_task_process_latency_seconds":        {"task"},
	"samsa_task_records_lag":                    {"task", "topic", "partition"},
	"samsa_task_dropped_records_total":          {"task", "reason"},
	"samsa_store_put_latency_seconds":           {"task", "store"},
	"samsa_store_get_latency_seconds":           {"task", "store"},
	"samsa_store_flush_latency_seconds":         {"task", "store"},
	"samsa_store_cache_hits_total":              {"task", "store"},
	"samsa_store_cache_misses_total":            {"task", "store"},
	"samsa_thread_punctuate_latency_seconds":    {"thread"},
	"samsa_store_range_latency_seconds":         {"task", "store"},
	"samsa_restore_records_total":               {"task", "store"},
	"samsa_restore_records_remaining":           {"task", "store"},
	"samsa_restore_duration_seconds":            {"store"},
	"samsa_thread_transactions_committed_total": {"thread"},
	"samsa_thread_transactions_aborted_total":   {"thread"},
}

// seenWhileFlowing are the families of wantFamilies that have series once
// word count with drops has processed records under at-least-once, with
// no punctuator, range or restore.
func seenWhileFlowing(name string) bool {
	switch name {
	case "samsa_thread_punctuate_latency_seconds", "samsa_store_range_latency_seconds",
		"samsa_restore_records_total", "samsa_restore_records_remaining", "samsa_restore_duration_seconds",
		"samsa_thread_transactions_committed_total", "samsa_thread_transactions_aborted_total":
		return false
	}
	return true
}

func TestMetricsScrapedWhileRecordsFlow(t *testing.T) {
	c := kafkatest.NewBroker(t,
		kafkatest.Topics(2, testfix.InputTopic, testfix.OutputTopic, "numbers", "numbers-out"),
		kafkatest.Partitions(2))
	reg := prometheus.NewRegistry()
	app, _ := runApp(t, c, wordCountWithDrops(t), t.TempDir(),
		runtime.ApplicationID("metered"),
		runtime.Metrics(reg),
		runtime.HTTP("127.0.0.1:0"),
		runtime.DeserializationHandler(processor.LogAndContinue))
	waitState(t, app, runtime.Running)

	lines, want := testfix.Corpus(0, 200)
	testfix.ProduceLines(t, c, lines...)
	produceValues(t, c, "numbers", []byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte("bad"), []byte{0, 0, 0, 0, 0, 0, 0, 2})
	testfix.ReadCounts(t, c, want, 60*time.Second)
	first := waitFamilies(t, app, func(fams map[string]*dto.MetricFamily) bool {
		return sum(fams["samsa_task_dropped_records_total"]) == 1 && sum(fams["samsa_task_records_processed_total"]) >= 200+3
	})

	for name, labels := range wantFamilies {
		fam := first[name]
		if !seenWhileFlowing(name) {
			continue
		}
		if fam == nil || len(fam.Metric) == 0 {
			t.Errorf("%s: no series", name)
			continue
		}
		for _, m := range fam.Metric {
			got := labelsOf(m)
			if got["application"] != "metered" {
				t.Errorf("%s%v: application label %q, want metered", name, got, got["application"])
			}
			delete(got, "application")
			var names []string
			for k := range got {
				names = append(names, k)
			}
			slices.Sort(names)
			wantNames := slices.Sorted(slices.Values(labels))
			if !slices.Equal(names, wantNames) {
				t.Errorf("%s: labels %v, want %v", name, names, wantNames)
			}
			checkBounded(t, name, got)
		}
	}
	for name := range first {
		if _, ok := wantFamilies[name]; !ok && strings.HasPrefix(name, "samsa_") {
			t.Errorf("unexpected family %s", name)
		}
	}
	// Word count has 2 subtopologies of 2 partitions, plus the numbers.
	if tasks := distinct(first["samsa_task_records_processed_total"], "task"); len(tasks) != 6 {
		t.Errorf("processed records of tasks %v, want 6 tasks", tasks)
	}
	if lag := distinct(first["samsa_task_records_lag"], "topic"); !slices.Equal(lag, []string{"metered-counts-repartition", "numbers", testfix.InputTopic}) {
		t.Errorf("lag of topics %v", lag)
	}
	if v := sum(first["samsa_task_records_lag"]); v != 0 {
		t.Errorf("lag %v after every count was read, want 0", v)
	}
	dropped := first["samsa_task_dropped_records_total"]
	if r := distinct(dropped, "reason"); !slices.Equal(r, []string{processor.DropDeserializationError}) {
		t.Errorf("dropped records by reasons %v", r)
	}
	if sum(first["samsa_store_cache_hits_total"])+sum(first["samsa_store_cache_misses_total"]) == 0 {
		t.Error("the cache counted no reads")
	}
	if v := gaugeOf(first["samsa_app_state"], "state", "RUNNING"); v != 1 {
		t.Errorf("samsa_app_state{state=RUNNING} = %v", v)
	}

	// More records move the counters and the histograms.
	lines2, want2 := testfix.Corpus(200, 200)
	testfix.ProduceLines(t, c, lines2...)
	testfix.ReadCounts(t, c, testfix.Add(want, want2), 60*time.Second)
	second := waitFamilies(t, app, func(fams map[string]*dto.MetricFamily) bool {
		return sum(fams["samsa_task_records_processed_total"]) >= sum(first["samsa_task_records_processed_total"])+200
	})
	for _, name := range []string{
		"samsa_task_process_latency_seconds", "samsa_thread_poll_latency_seconds", "samsa_thread_commit_latency_seconds",
		"samsa_thread_commits_total", "samsa_store_put_latency_seconds", "samsa_store_get_latency_seconds",
		"samsa_store_flush_latency_seconds",
	} {
		if a, b := sum(first[name]), sum(second[name]); b <= a {
			t.Errorf("%s did not move: %v, then %v", name, a, b)
		}
	}
	for _, name := range []string{"samsa_task_process_latency_seconds", "samsa_store_put_latency_seconds", "samsa_thread_commit_latency_seconds"} {
		for _, m := range second[name].Metric {
			if h := m.Histogram; h.GetSampleCount() > 0 && h.GetSampleSum() <= 0 {
				t.Errorf("%s%v: %d observations summing to %v", name, labelsOf(m), h.GetSampleCount(), h.GetSampleSum())
			}
		}
	}
}

// waitFamilies scrapes until ok says the metrics are there, for the
// commit that publishes them to have happened.
func waitFamilies(t testing.TB, app *runtime.App, ok func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		fams := scrape(t, app)
		if ok(fams) {
			return fams
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for name, f := range fams {
				fmt.Fprintf(&b, "%s %v\n", name, sum(f))
			}
			t.Fatalf("metrics not there after 30s:\n%s", b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var (
	taskLabel      = regexp.MustCompile(`^(-1_-1|\d+_\d+)$`)
	partitionLabel = regexp.MustCompile(`^\d+$`)
)

// checkBounded checks that each label value is one of a bounded set: no
// key, offset or free text can be a label.
func checkBounded(t testing.TB, name string, labels map[string]string) {
	t.Helper()
	for k, v := range labels {
		ok := false
		switch k {
		case "task":
			ok = taskLabel.MatchString(v)
		case "partition":
			ok = partitionLabel.MatchString(v)
		case "thread":
			ok = strings.HasPrefix(v, "metered-StreamThread-")
		case "store":
			ok = v == testfix.CountsStore
		case "topic":
			ok = slices.Contains([]string{testfix.InputTopic, "numbers", "metered-counts-repartition"}, v)
		case "reason":
			ok = slices.Contains([]string{processor.DropDeserializationError, processor.DropProcessingError, processor.DropProductionError, processor.DropNullKey}, v)
		case "state":
			ok = v == strings.ToUpper(v) && !strings.ContainsAny(v, " \t")
		}
		if !ok {
			t.Errorf("%s: label %s=%q is not of the bounded set", name, k, v)
		}
	}
}

func distinct(fam *dto.MetricFamily, label string) []string {
	var out []string
	if fam == nil {
		return nil
	}
	for _, m := range fam.Metric {
		if v, ok := labelsOf(m)[label]; ok && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

func gaugeOf(fam *dto.MetricFamily, label, value string) float64 {
	if fam == nil {
		return -1
	}
	for _, m := range fam.Metric {
		if labelsOf(m)[label] == value {
			return m.Gauge.GetValue()
		}
	}
	return -1
}

func TestMetricsCountTransactions(t *testing.T) {
	c := testfix.WordCountBroker(t, 2)
	reg := prometheus.NewRegistry()
	app, _ := startApp(t, c, t.TempDir(), runtime.ExactlyOnce(), runtime.Metrics(reg), runtime.HTTP("127.0.0.1:0"))
	waitState(t, app, runtime.Running)
	lines, want := testfix.Corpus(0, 100)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 60*time.Second)
	fams := waitFamilies(t, app, func(fams map[string]*dto.MetricFamily) bool {
		return sum(fams["samsa_thread_transactions_committed_total"]) > 0
	})
	if n := sum(fams["samsa_thread_transactions_aborted_total"]); n != 0 {
		t.Errorf("%v transactions aborted in a run without failures", n)
	}
	// Under exactly-once the lag is from the last stable offset: once the
	// counts are read, every input is caught up.
	if n := sum(fams["samsa_task_records_lag"]); n != 0 {
		t.Errorf("lag %v after every count was read", n)
	}
}
