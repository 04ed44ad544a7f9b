package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal and returns its terminal side, which a
// child takes as its standard input, and its controlling side.
func openPTY(t *testing.T) (tty, ptmx *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty, ptmx
}

// With a terminal on standard input nobody is piping text in, so the
// program counts its sample text.
func TestTerminalInputCountsSample(t *testing.T) {
	tty, _ := openPTY(t)
	p := start(t, tty, nil, "-idle", "1s")
	if code := p.exit(t, 90*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0\nstderr:\n%s", code, p.stderr.String())
	}
	out := p.stdout.String()
	for _, want := range []string{"  kafka        4\n", "  streams      4\n", "  hello        2\n", "  samsa        2\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("final table lacks %q of the sample text:\n%s", want, out)
		}
	}
	if !strings.Contains(p.stderr.String(), "sample text") {
		t.Errorf("stderr does not say it counts a sample text:\n%s", p.stderr.String())
	}
}
