package runtime_test

import (
	"bytes"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/runtime"
)

// A stream thread produces through a goroutine of its own: once the app
// closed, none is left, under either guarantee, and everything the threads
// sent reached the brokers.
func TestSenderEndsWithApp(t *testing.T) {
	for _, eos := range []bool{false, true} {
		c := testfix.WordCountBroker(t, 2)
		var opts []runtime.Option
		if eos {
			opts = append(opts, runtime.ExactlyOnce())
		}
		app, done := startApp(t, c, t.TempDir(), opts...)
		lines, want := testfix.Corpus(0, 200)
		testfix.ProduceLines(t, c, lines...)
		testfix.ReadCounts(t, c, want, 30*time.Second)
		if senders() == 0 {
			t.Fatalf("eos %v: no producing goroutine while the app runs", eos)
		}
		closeApp(t, app, done)
		deadline := time.Now().Add(5 * time.Second)
		for senders() > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("eos %v: %d producing goroutines left after the app closed", eos, senders())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// senders counts the goroutines running a thread's producing loop.
func senders() int {
	buf := make([]byte, 1<<20)
	for {
		n := goruntime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Count(buf[:n], []byte("runtime.(*sender).run("))
		}
		buf = make([]byte, 2*len(buf))
	}
}
