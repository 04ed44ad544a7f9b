package runtime

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
)

// Every variable FromEnv reads: a value that parses sets its option, one
// that does not is an error naming the variable and the value.
func TestFromEnv(t *testing.T) {
	all := []string{EnvBrokers, EnvApplicationID, EnvStateDir, EnvThreads, EnvGuarantee, EnvCommitMillis, EnvSessionTimeoutMillis, EnvInstanceID, EnvHTTPAddr}
	for _, tc := range []struct {
		name, value string
		check       func(c config) bool // nil: the value must be refused
	}{
		{EnvBrokers, " a:1 , ,b:2,", func(c config) bool { return slices.Equal(c.brokers, []string{"a:1", "b:2"}) }},
		{EnvBrokers, " , ", nil},
		{EnvApplicationID, "orders", func(c config) bool { return c.appID == "orders" }},
		{EnvApplicationID, "my app", nil},
		{EnvApplicationID, "a/b", nil},
		{EnvStateDir, "/var/lib/samsa", func(c config) bool { return c.stateDir == "/var/lib/samsa" }},
		{EnvThreads, "4", func(c config) bool { return c.threads == 4 }},
		{EnvThreads, " 2 ", func(c config) bool { return c.threads == 2 }},
		{EnvThreads, "zero", nil},
		{EnvThreads, "0", nil},
		{EnvThreads, "-3", nil},
		{EnvGuarantee, "exactly_once_v2", func(c config) bool { return c.guarantee == ExactlyOnceV2 }},
		{EnvGuarantee, "EXACTLY_ONCE", func(c config) bool { return c.guarantee == ExactlyOnceV2 }},
		{EnvGuarantee, "at_least_once", func(c config) bool { return c.guarantee == AtLeastOnce }},
		{EnvGuarantee, "at_most_once", nil},
		{EnvCommitMillis, "250", func(c config) bool { return c.commitInterval == 250*time.Millisecond && c.commitSet }},
		{EnvCommitMillis, "1s", nil},
		{EnvCommitMillis, "0", nil},
		{EnvSessionTimeoutMillis, "10000", func(c config) bool { return c.sessionTimeout == 10*time.Second }},
		{EnvSessionTimeoutMillis, "10s", nil},
		{EnvSessionTimeoutMillis, "-1", nil},
		{EnvSessionTimeoutMillis, "99999999999999999999", nil},
		{EnvInstanceID, "wordcount-0", func(c config) bool { return c.instanceID == "wordcount-0" }},
		{EnvInstanceID, "pod 0", nil},
		{EnvHTTPAddr, ":8080", func(c config) bool { return c.httpAddr == ":8080" }},
		{EnvHTTPAddr, "127.0.0.1:0", func(c config) bool { return c.httpAddr == "127.0.0.1:0" }},
		{EnvHTTPAddr, "8080", nil},
		{EnvHTTPAddr, ":http", nil},
		{EnvHTTPAddr, ":70000", nil},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			for _, v := range all {
				t.Setenv(v, "")
			}
			t.Setenv(tc.name, tc.value)
			opts, err := FromEnv()
			if tc.check == nil {
				if err == nil {
					t.Fatalf("FromEnv succeeded, want an error")
				}
				if want := tc.name + "=" + `"` + tc.value + `"`; !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "runtime: ") {
					t.Fatalf("FromEnv = %q, want a runtime error naming %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := defaults()
			for _, o := range opts {
				o(&c)
			}
			if !tc.check(c) {
				t.Fatalf("FromEnv did not set %s=%q: config %+v", tc.name, tc.value, c)
			}
		})
	}
}

func TestFromEnvUnsetKeepsDefaults(t *testing.T) {
	for _, v := range []string{EnvBrokers, EnvApplicationID, EnvStateDir, EnvThreads, EnvGuarantee, EnvCommitMillis, EnvSessionTimeoutMillis, EnvInstanceID, EnvHTTPAddr} {
		t.Setenv(v, "")
	}
	opts, err := FromEnv()
	if err != nil || len(opts) != 0 {
		t.Fatalf("FromEnv with nothing set = %d options, %v; want none", len(opts), err)
	}
}

func TestFromEnvReportsEveryBadVariable(t *testing.T) {
	t.Setenv(EnvThreads, "many")
	t.Setenv(EnvSessionTimeoutMillis, "soon")
	t.Setenv(EnvCommitMillis, "100")
	_, err := FromEnv()
	if err == nil || !strings.Contains(err.Error(), `SAMSA_THREADS="many"`) || !strings.Contains(err.Error(), `SAMSA_SESSION_TIMEOUT_MS="soon"`) {
		t.Fatalf("FromEnv = %v, want both bad variables named", err)
	}
}

func TestGuaranteeText(t *testing.T) {
	for _, g := range []Guarantee{AtLeastOnce, ExactlyOnceV2} {
		b, err := g.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Guarantee = 1 - g
		if err := back.UnmarshalText(b); err != nil || back != g {
			t.Fatalf("%v: text %q reads back as %v, %v", g, b, back, err)
		}
	}
	var g Guarantee
	if err := g.UnmarshalText([]byte("twice")); err == nil || !strings.Contains(err.Error(), `"twice"`) {
		t.Fatalf("UnmarshalText(twice) = %v, want an error naming the value", err)
	}
}

// A static member's process id is its own and the same across restarts,
// so that what it joins the group with does not change when it comes back.
func TestInstanceIDFixesProcessID(t *testing.T) {
	topo := testfix.WordCount(t)
	mk := func(opts ...Option) string {
		a, err := New(topo, append([]Option{ApplicationID("app"), Brokers("localhost:9092")}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return a.processID
	}
	if a, b := mk(InstanceID("pod-0")), mk(InstanceID("pod-0")); a != b {
		t.Errorf("process ids %s and %s for one instance id", a, b)
	}
	if a, b := mk(InstanceID("pod-0")), mk(InstanceID("pod-1")); a == b {
		t.Errorf("process id %s for two instance ids", a)
	}
	if a, b := mk(), mk(); a == b {
		t.Errorf("process id %s for two dynamic instances", a)
	}
}
