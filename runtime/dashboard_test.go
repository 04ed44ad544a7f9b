package runtime_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/runtime"
)

// describedRegisterer is a registry that notes the name and labels of
// every metric registered with it, from the collectors' descriptions:
// what an app registers, whether or not it has series yet.
type describedRegisterer struct {
	*prometheus.Registry
	mu     sync.Mutex
	labels map[string][]string // by metric name
}

var (
	descName   = regexp.MustCompile(`fqName: "([^"]+)"`)
	descLabels = regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
	descConst  = regexp.MustCompile(`constLabels: \{([^}]*)\}`)
)

func (r *describedRegisterer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	r.mu.Lock()
	defer r.mu.Unlock()
	for d := range ch {
		s := d.String()
		name := descName.FindStringSubmatch(s)
		vars := descLabels.FindStringSubmatch(s)
		consts := descConst.FindStringSubmatch(s)
		if name == nil || vars == nil || consts == nil {
			panic("cannot read the description " + s)
		}
		var labels []string
		for _, l := range strings.Split(vars[1]+","+consts[1], ",") {
			if l, _, _ = strings.Cut(l, "="); l != "" {
				labels = append(labels, strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")"))
			}
		}
		r.labels[name[1]] = labels
	}
	return r.Registry.Register(c)
}

func (r *describedRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// dashboardQueries returns every query of the dashboard: the targets'
// expressions and the templating queries.
func dashboardQueries(t *testing.T, v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch s := x.(type) {
			case string:
				if k == "expr" || k == "query" || k == "definition" {
					out = append(out, s)
				}
			default:
				out = append(out, dashboardQueries(t, x)...)
			}
		}
	case []any:
		for _, x := range v {
			out = append(out, dashboardQueries(t, x)...)
		}
	}
	return out
}

var (
	metricRef = regexp.MustCompile(`\bsamsa_[a-z0-9_]+\b`)
	// Labels a query names: in by (...) and without (...) clauses, in
	// {...} matchers, and label_values' second argument.
	byClause       = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	matcherClause  = regexp.MustCompile(`\{([^}]*)\}`)
	matcherLabel   = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	labelValuesArg = regexp.MustCompile(`label_values\(\s*[a-z0-9_]+\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)`)
)

// The dashboard's queries use only metric names, and labels of them, that
// a running app registers, so that it cannot drift from the metrics.
func TestDashboardUsesRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "grafana", "samsa.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("samsa.json: %v", err)
	}
	queries := dashboardQueries(t, dash)
	if len(queries) < 10 {
		t.Fatalf("the dashboard has %d queries: %q", len(queries), queries)
	}

	reg := &describedRegisterer{Registry: prometheus.NewRegistry(), labels: map[string][]string{}}
	c := testfix.WordCountBroker(t, 2)
	app, _ := startApp(t, c, t.TempDir(), runtime.Metrics(reg))
	waitState(t, app, runtime.Running)
	lines, want := testfix.Corpus(0, 50)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 60*time.Second)
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if len(reg.labels) < 20 {
		t.Fatalf("the app registered %d metrics: %v", len(reg.labels), reg.labels)
	}

	used := map[string]bool{}
	for _, q := range queries {
		var labels []string
		for _, name := range metricRef.FindAllString(q, -1) {
			base := name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if _, ok := reg.labels[name]; !ok && strings.HasSuffix(name, suffix) {
					base = strings.TrimSuffix(name, suffix)
					labels = append(labels, "le")
				}
			}
			l, ok := reg.labels[base]
			if !ok {
				t.Errorf("query %q uses %s, which the app does not register", q, name)
				continue
			}
			used[base] = true
			labels = append(labels, l...)
		}
		var named []string
		for _, m := range byClause.FindAllStringSubmatch(q, -1) {
			for _, l := range strings.Split(m[1], ",") {
				named = append(named, strings.TrimSpace(l))
			}
		}
		for _, m := range matcherClause.FindAllStringSubmatch(q, -1) {
			for _, l := range matcherLabel.FindAllStringSubmatch(m[1], -1) {
				named = append(named, l[1])
			}
		}
		for _, m := range labelValuesArg.FindAllStringSubmatch(q, -1) {
			named = append(named, m[1])
		}
		for _, l := range named {
			if l != "" && !slices.Contains(labels, l) {
				t.Errorf("query %q names label %q, which none of its metrics has (%v)", q, l, labels)
			}
		}
	}
	// The panels the dashboard is for.
	for _, name := range []string{
		"samsa_task_records_processed_total", "samsa_task_records_lag",
		"samsa_thread_commit_latency_seconds", "samsa_task_process_latency_seconds",
		"samsa_restore_records_remaining", "samsa_restore_records_total",
		"samsa_thread_rebalances_total", "samsa_task_dropped_records_total",
	} {
		if !used[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
}
