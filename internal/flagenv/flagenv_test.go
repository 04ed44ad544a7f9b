package flagenv

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	var brokers BrokerList
	var name string
	var d time.Duration
	settings := []Setting{
		{Flag: "brokers", Env: "B", Want: "a host:port list"},
		{Flag: "name", Env: "N"},
		{Flag: "wait", Env: "W_MS", Want: "a positive number of milliseconds", FromEnv: Millis{D: &d}.SetMillis},
	}
	fs := func() *flag.FlagSet {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		brokers, name, d = nil, "default", 0
		fs.Var(&brokers, "brokers", "")
		fs.StringVar(&name, "name", "default", "")
		fs.Var(Millis{D: &d}, "wait", "")
		return fs
	}
	env := map[string]string{"B": "a:1, b:2", "N": "from-env", "W_MS": "250"}
	if err := Parse(fs(), []string{"-name", "from-flag"}, settings, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(brokers, ",") != "a:1,b:2" || name != "from-flag" || d != 250*time.Millisecond {
		t.Fatalf("got brokers %v, name %q, wait %v; want the flag to beat its variable and the variables to set the rest", brokers, name, d)
	}
	err := Parse(fs(), nil, settings, func(k string) string { return map[string]string{"W_MS": "soon"}[k] })
	if err == nil || !strings.Contains(err.Error(), `W_MS="soon"`) {
		t.Fatalf("bad variable: %v; want an error naming it and its value", err)
	}
	if err := Parse(fs(), []string{"-wait", "-3s"}, settings, func(string) string { return "" }); !errors.Is(err, ErrUsage) {
		t.Fatalf("bad flag: %v; want ErrUsage", err)
	}
	if err := Parse(fs(), []string{"extra"}, settings, func(string) string { return "" }); err == nil {
		t.Fatal("an argument left over was accepted")
	}
}
