package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
)

// The -serve flag answers interactive queries over HTTP: each instance
// advertises its address to the group (runtime.ApplicationServer), and
//
//	curl localhost:8081/stores/counts/keys/kafka
//
// asked of any instance answers the word's count, forwarded to the instance
// that counts it. Run several instances with -brokers, -idle 0, their own
// -state-dir and -serve, and ask any of them.

// serveFlags adds -serve and -standbys to fs.
func serveFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.serve, "serve", "", "answer queries of the counts over HTTP on `host:port`, advertised to the other instances (GET /stores/counts/keys/{word})")
	fs.IntVar(&c.standbys, "standbys", 0, "`number` of standby replicas of each counting task, kept warm on other instances")
}

// serveOptions are the runtime options the flags ask for.
func serveOptions(cfg *config) []runtime.Option {
	opts := []runtime.Option{runtime.Standbys(cfg.standbys)}
	if cfg.serve != "" {
		opts = append(opts, runtime.ApplicationServer(advertised(cfg.serve)))
	}
	return opts
}

// advertised is the address other instances reach -serve at: one without
// a host listens everywhere and is reached on localhost.
func advertised(addr string) string {
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		return net.JoinHostPort("localhost", port)
	}
	return addr
}

// serve starts answering queries on cfg.serve, if set; stop ends it.
func serve(cfg *config, app *runtime.App, stderr io.Writer) (stop func(), err error) {
	if cfg.serve == "" {
		return func() {}, nil
	}
	qs := runtime.NewQueryServer(app)
	if err := qs.KeyValue[string, int64](CountsStore, serde.String, nil); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.serve)
	if err != nil {
		return nil, fmt.Errorf("-serve: %w", err)
	}
	srv := &http.Server{Handler: qs}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(stderr, "wordcount: query server:", err)
		}
	}()
	fmt.Fprintf(stderr, "wordcount: answering queries on http://%s/stores/%s/keys/{word}\n", advertised(cfg.serve), CountsStore)
	return func() { srv.Close() }, nil
}
