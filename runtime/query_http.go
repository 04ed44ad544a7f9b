package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/samsa-go/samsa/internal/engine"
	"github.com/samsa-go/samsa/serde"
)

// QueryServer is the opt-in HTTP query layer: an http.Handler that answers
//
//	GET /stores/{store}/keys/{key}                 a key-value store's value
//	GET /stores/{store}/keys/{key}?stale=true      the same, or a standby's
//	GET /stores/{store}/keys/{key}?from=ms&to=ms   a window store's windows of key
//
// on any instance of the application: from this instance's tasks when one
// of them holds the key, else by forwarding the request once to the
// instance App.MetadataForKey names (so every instance must set
// ApplicationServer to the address it serves the QueryServer on). Answers
// are JSON: {"store", "key", "value", "host"} for a value (host is the
// instance that answered), a list of {"start", "value"} as "windows" for a
// window fetch; with stale=true an instance keeping a standby of the key's
// task answers from it, adding "stale": true and the standby's "lag" in
// records (KeyValueQuery.GetStale). Errors are {"error", "retriable"}:
// 404 for a key or store not found, 400 for a key that does not parse, and
// 503 with a Retry-After header while the group rebalances, a task
// restores or the owner cannot be reached: a retriable error instead of a
// stale answer, unless stale=true asked for one.
//
// Register the stores to serve (KeyValue, Window) before serving; the
// server is safe for concurrent requests after that.
type QueryServer struct {
	app    *App
	client *http.Client
	stores map[string]endpoint
	mux    *http.ServeMux
}

// forwardedHeader marks a request one instance forwarded to another, which
// answers it locally or not at all: forwarding again could loop while the
// instances disagree on the assignment.
const forwardedHeader = "Samsa-Forwarded-By"

// endpoint answers the requests for one store.
type endpoint interface {
	// local answers key from this instance's tasks: the JSON of the
	// answer's "value" or "windows", and whether the key was found.
	local(key string, params url.Values) (body map[string]any, found bool, err error)
	// keyBytes serializes key as the store is partitioned by.
	keyBytes(key string) ([]byte, error)
	query() *storeQuery
}

// NewQueryServer returns a QueryServer for app with no stores registered.
func NewQueryServer(app *App) *QueryServer {
	s := &QueryServer{
		app:    app,
		client: &http.Client{Timeout: 10 * time.Second},
		stores: map[string]endpoint{},
		mux:    http.NewServeMux(),
	}
	s.mux.HandleFunc("GET /stores/{store}/keys/{key}", s.serveKey)
	return s
}

// KeyValue serves the key-value store called store, with keys K, which
// parse turns the key of a request's path into, serialized by ks (the
// store's key serde, by which the store is partitioned), and values V, sent
// as their encoding/json form. A nil parse takes the path's key as it is,
// for string keys. It errors for a store the topology lacks, or a nil parse
// with keys other than strings.
func (s *QueryServer) KeyValue[K, V any](store string, ks serde.Serde[K], parse func(string) (K, error)) error {
	q, err := QueryKeyValue[K, V](s.app, store)
	if err != nil {
		return err
	}
	if parse, err = parser(store, parse); err != nil {
		return err
	}
	s.stores[store] = &kvEndpoint[K, V]{q: q, ks: ks, parse: parse, topic: engine.ChangelogTopic(s.app.cfg.appID, store)}
	return nil
}

// Window serves the window store called store as KeyValue serves a
// key-value store: a request's from and to parameters (ms, both included;
// defaults 0 and the largest time) bound the start of the windows fetched.
func (s *QueryServer) Window[K, V any](store string, ks serde.Serde[K], parse func(string) (K, error)) error {
	q, err := QueryWindow[K, V](s.app, store)
	if err != nil {
		return err
	}
	if parse, err = parser(store, parse); err != nil {
		return err
	}
	s.stores[store] = &windowEndpoint[K, V]{q: q, ks: ks, parse: parse, topic: engine.ChangelogTopic(s.app.cfg.appID, store)}
	return nil
}

func parser[K any](store string, parse func(string) (K, error)) (func(string) (K, error), error) {
	if parse != nil {
		return parse, nil
	}
	if _, ok := any(*new(K)).(string); !ok {
		return nil, fmt.Errorf("runtime: query server: store %q has keys of type %T: give a function that parses them", store, *new(K))
	}
	return func(s string) (K, error) { return any(s).(K), nil }, nil
}

// ServeHTTP implements http.Handler.
func (s *QueryServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *QueryServer) serveKey(w http.ResponseWriter, r *http.Request) {
	store, key := r.PathValue("store"), r.PathValue("key")
	ep := s.stores[store]
	if ep == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no store %q is served here", store), false)
		return
	}
	body, found, err := ep.local(key, r.URL.Query())
	switch {
	case err == nil && found:
		body["store"], body["key"], body["host"] = store, key, s.app.cfg.appServer
		writeJSON(w, http.StatusOK, body)
	case err == nil:
		writeError(w, http.StatusNotFound, fmt.Sprintf("key %q not found in store %q", key, store), false)
	case errors.Is(err, ErrStoreMoved) && r.Header.Get(forwardedHeader) == "":
		s.forward(w, r, ep, store, key)
	case errors.Is(err, ErrStoreMoved), errors.Is(err, ErrRebalancing), errors.Is(err, ErrNotRunning):
		writeError(w, http.StatusServiceUnavailable, err.Error(), true)
	case errors.Is(err, errBadKey):
		writeError(w, http.StatusBadRequest, err.Error(), false)
	default:
		writeError(w, http.StatusInternalServerError, err.Error(), false)
	}
}

// forward asks the instance running the key's task.
func (s *QueryServer) forward(w http.ResponseWriter, r *http.Request, ep endpoint, store, key string) {
	kb, err := ep.keyBytes(key)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), false)
		return
	}
	md, err := ep.query().metadata(kb)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error(), true)
		return
	}
	if md.Active == s.app.cfg.appServer {
		// The assignment says here, but the task is not open yet.
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("runtime: query store %q: the task of partition %d is coming to this instance", store, md.Partition), true)
		return
	}
	u := url.URL{Scheme: "http", Host: md.Active, Path: "/stores/" + url.PathEscape(store) + "/keys/" + url.PathEscape(key), RawQuery: r.URL.RawQuery}
	ctx, cancel := context.WithTimeout(r.Context(), s.client.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), false)
		return
	}
	req.Header.Set(forwardedHeader, s.app.cfg.appServer)
	resp, err := s.client.Do(req)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("runtime: query store %q: the instance %s running the key's task did not answer: %v", store, md.Active, err), true)
		return
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", "Retry-After"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

var errBadKey = errors.New("runtime: bad key")

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]any{"error": "runtime: encode the answer: " + err.Error(), "retriable": false})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string, retriable bool) {
	if retriable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, map[string]any{"error": msg, "retriable": retriable})
}

type kvEndpoint[K, V any] struct {
	q     *KeyValueQuery[K, V]
	ks    serde.Serde[K]
	parse func(string) (K, error)
	topic string
}

func (e *kvEndpoint[K, V]) query() *storeQuery { return e.q.q }

func (e *kvEndpoint[K, V]) keyBytes(key string) ([]byte, error) {
	return keyBytes(e.ks, e.parse, e.topic, key)
}

func (e *kvEndpoint[K, V]) local(key string, params url.Values) (map[string]any, bool, error) {
	k, err := e.parse(key)
	if err != nil {
		return nil, false, fmt.Errorf("%w %q: %v", errBadKey, key, err)
	}
	if params.Get("stale") == "true" {
		a, err := e.q.GetStale(k)
		if err != nil || !a.Found {
			return nil, false, err
		}
		body := map[string]any{"value": a.Value}
		if a.Standby {
			body["stale"], body["lag"] = true, a.Lag
		}
		return body, true, nil
	}
	v, found, err := e.q.Get(k)
	if err != nil || !found {
		return nil, false, err
	}
	return map[string]any{"value": v}, true, nil
}

type windowEndpoint[K, V any] struct {
	q     *WindowQuery[K, V]
	ks    serde.Serde[K]
	parse func(string) (K, error)
	topic string
}

func (e *windowEndpoint[K, V]) query() *storeQuery { return e.q.q }

func (e *windowEndpoint[K, V]) keyBytes(key string) ([]byte, error) {
	return keyBytes(e.ks, e.parse, e.topic, key)
}

// window is one window of a fetch's answer.
type window[V any] struct {
	Start int64 `json:"start"`
	Value V     `json:"value"`
}

func (e *windowEndpoint[K, V]) local(key string, params url.Values) (map[string]any, bool, error) {
	k, err := e.parse(key)
	if err != nil {
		return nil, false, fmt.Errorf("%w %q: %v", errBadKey, key, err)
	}
	from, to := int64(0), int64(1<<62)
	for name, p := range map[string]*int64{"from": &from, "to": &to} {
		if v := params.Get(name); v != "" {
			if *p, err = strconv.ParseInt(v, 10, 64); err != nil {
				return nil, false, fmt.Errorf("%w: parameter %s=%q is not a time in milliseconds", errBadKey, name, v)
			}
		}
	}
	it, err := e.q.Fetch(k, from, to)
	if err != nil {
		return nil, false, err
	}
	defer it.Close()
	windows := []window[V]{}
	for it.Next() {
		windows = append(windows, window[V]{Start: it.Start(), Value: it.Value()})
	}
	if err := it.Err(); err != nil {
		return nil, false, e.q.q.failed(err)
	}
	return map[string]any{"windows": windows}, true, nil
}

func keyBytes[K any](ks serde.Serde[K], parse func(string) (K, error), topic, key string) ([]byte, error) {
	k, err := parse(key)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", errBadKey, key, err)
	}
	kb, err := ks.Serialize(nil, topic, k)
	if err != nil {
		return nil, fmt.Errorf("%w %q: serialize: %v", errBadKey, key, err)
	}
	if kb == nil {
		return nil, fmt.Errorf("%w %q: it serializes to null", errBadKey, key)
	}
	return kb, nil
}
