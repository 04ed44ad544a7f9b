package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/samsa-go/samsa/kafkatest"
)

// Three instances with -serve: any of them answers any word's count.
func TestServeAnswersFromAnyInstance(t *testing.T) {
	b := kafkatest.NewBroker(t)
	env := []string{"SAMSA_BROKERS=" + strings.Join(b.Addrs(), ",")}
	r, w := pipe(t)
	var procs []*proc
	var addrs []string
	for i := range 3 {
		addr := freeAddr(t)
		args := []string{"-idle", "0", "-partitions", "6", "-serve", addr, "-standbys", "1", "-session-timeout", "6s"}
		if i == 0 {
			procs = append(procs, start(t, r, env, args...))
		} else {
			procs = append(procs, start(t, nil, env, args...))
		}
		addrs = append(addrs, addr)
	}
	for _, p := range procs {
		p.waitFor(t, &p.stderr, "answering queries on", 60*time.Second)
	}
	if _, err := w.WriteString("kafka streams kafka\nhello kafka\n"); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"kafka": 3, "streams": 1, "hello": 1}
	deadline := time.Now().Add(90 * time.Second)
	for _, addr := range addrs {
		for word, n := range want {
			for {
				got, status := askCount(t, addr, word)
				if status == http.StatusOK && got == n {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s answers %q: status %d, count %d; want %d\nstderr:\n%s", addr, word, status, got, n, procs[0].stderr.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	for _, p := range procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		if code := p.exit(t, 60*time.Second); code != 0 {
			t.Errorf("exit code %d\nstderr:\n%s", code, p.stderr.String())
		}
	}
}

func askCount(t *testing.T, addr, word string) (int64, int) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/stores/counts/keys/" + word)
	if err != nil {
		return 0, 0 // not listening yet
	}
	defer resp.Body.Close()
	var body struct {
		Value int64 `json:"value"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
	}
	return body.Value, resp.StatusCode
}
