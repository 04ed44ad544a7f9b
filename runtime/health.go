package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HTTP serves the app's health and metrics over HTTP on addr (host:port;
// ":8080" for every interface) while it runs:
//
//	/metrics  the Prometheus metrics (see Metrics)
//	/livez    200 unless the app failed (ERROR) or closed (NOT_RUNNING): a
//	          Kubernetes liveness probe, which restarts the pod on failure
//	/readyz   200 while the app is RUNNING with every stream thread's tasks
//	          restored and processing; 503 while it starts, rebalances,
//	          restores or shuts down: a readiness probe
//
// Run starts the server before it connects to Kafka and fails if addr
// cannot be listened on. It stops the server when it returns after a clean
// close; after a failure the server stays up, answering /livez with 503,
// until Close is called, so that a pod whose app failed is restarted even
// if the program goes on. Without Metrics, /metrics serves a registry of
// the app's own; with Metrics, reg must also be a prometheus.Gatherer (a
// *prometheus.Registry is one), which /metrics serves, or New fails.
// Default: no server (see App.Handler to mount the same endpoints on a
// server of your own).
func HTTP(addr string) Option { return func(c *config) { c.httpAddr = addr } }

// Handler returns the handler of the endpoints HTTP serves, for a program
// that runs an HTTP server of its own. /metrics is there only when the app
// has metrics (Metrics or HTTP) and can gather them.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	if a.gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(a.gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		s := a.State()
		if s == Error || s == NotRunning {
			http.Error(w, s.String(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, s.String())
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if why := a.notReady(); why != "" {
			http.Error(w, why, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, Running.String())
	})
	return mux
}

// notReady says why the app is not ready, or "" when it is: RUNNING, and
// every stream thread has restored its tasks and processes them.
func (a *App) notReady() string {
	s := a.State()
	if s != Running {
		return s.String()
	}
	var busy []string
	for _, th := range a.health.list() {
		if ts := th.threadState(); ts != threadRunning {
			busy = append(busy, th.name+" "+ts.String())
		}
	}
	if len(busy) > 0 {
		return strings.Join(busy, ", ")
	}
	return ""
}

// health is what the endpoints read: the stream threads, which Run adds as
// it makes them, and the HTTP server.
type health struct {
	mu      sync.Mutex
	threads []*thread
	srv     *http.Server
	srvDone chan struct{}
	addr    string
}

func (h *health) add(th *thread) {
	h.mu.Lock()
	h.threads = append(h.threads, th)
	h.mu.Unlock()
}

func (h *health) list() []*thread {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*thread(nil), h.threads...)
}

// setupHTTP picks the gatherer /metrics serves; New calls it once the
// registerer is known.
func (a *App) setupHTTP() error {
	if a.cfg.registerer == nil && a.cfg.httpAddr != "" {
		reg := prometheus.NewRegistry()
		a.cfg.registerer, a.gatherer = reg, reg
		return nil
	}
	if g, ok := a.cfg.registerer.(prometheus.Gatherer); ok {
		a.gatherer = g
		return nil
	}
	if a.cfg.httpAddr != "" {
		return errors.New("runtime: HTTP serves /metrics from the Metrics registerer, which must then also be a prometheus.Gatherer (a *prometheus.Registry is one)")
	}
	return nil
}

// serveHTTP starts the HTTP server, if the app has one.
func (a *App) serveHTTP() error {
	if a.cfg.httpAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.httpAddr)
	if err != nil {
		return fmt.Errorf("runtime: HTTP server: %w", err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	a.health.mu.Lock()
	a.health.srv, a.health.srvDone, a.health.addr = srv, done, ln.Addr().String()
	a.health.mu.Unlock()
	a.log.Info("serving health and metrics", "addr", ln.Addr().String())
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Warn("HTTP server stopped", "err", err)
		}
	}()
	return nil
}

// HTTPAddr returns the address the HTTP server listens on (with the port
// the system chose for ":0"), or "" when none is up.
func (a *App) HTTPAddr() string {
	a.health.mu.Lock()
	defer a.health.mu.Unlock()
	return a.health.addr
}

// stopHTTP stops the HTTP server, if one is up, by ctx's deadline.
func (a *App) stopHTTP(ctx context.Context) {
	a.health.mu.Lock()
	srv, done := a.health.srv, a.health.srvDone
	a.health.srv, a.health.addr = nil, ""
	a.health.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
	}
	<-done
}
