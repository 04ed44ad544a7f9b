package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(addr, path string) (int, string, error) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// With SAMSA_HTTP_ADDR, as the manifests set it, the program serves the
// probes' paths and its metrics, turns ready once running, and still
// closes cleanly on SIGTERM.
func TestHTTPServesProbesAndMetrics(t *testing.T) {
	addr := freeAddr(t)
	in, w := pipe(t)
	p := start(t, in, []string{"SAMSA_HTTP_ADDR=" + addr}, "-idle", "0")
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body, err := get(addr, "/readyz")
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %q %v after 60s\nstderr:\n%s", code, body, err, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body, err := get(addr, "/livez"); err != nil || code != http.StatusOK {
		t.Errorf("/livez: %d %q %v", code, body, err)
	}
	go io.WriteString(w, "probe probe\n")
	p.waitFor(t, &p.stdout, "probe\t2\n", 60*time.Second)
	code, body, err := get(addr, "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, want := range []string{
		`samsa_app_state{application="wordcount",state="RUNNING"} 1`,
		`samsa_task_records_processed_total{application="wordcount",task=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.exit(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\nstderr:\n%s", code, p.stderr.String())
	}
}
