package runtime_test

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/runtime"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestConfigValidation(t *testing.T) {
	topo := testfix.WordCount(t)
	base := []runtime.Option{runtime.ApplicationID("wc"), runtime.Brokers("localhost:9092"), runtime.StateDir(t.TempDir())}
	for _, tc := range []struct {
		name string
		opts []runtime.Option
		// option is the ConfigError.Option New must blame, and mention
		// what its message must contain besides; option "" means New
		// accepts the configuration.
		option, mention string
	}{
		{"defaults", nil, "", ""},

		{"no application id", []runtime.Option{runtime.ApplicationID("")}, "ApplicationID", "application id"},
		{"application id with space", []runtime.Option{runtime.ApplicationID("word count")}, "ApplicationID", `"word count"`},
		{"application id with slash", []runtime.Option{runtime.ApplicationID("a/b")}, "ApplicationID", `"/"`},
		{"application id not a topic name", []runtime.Option{runtime.ApplicationID("wc@prod")}, "ApplicationID", `"@"`},
		{"application id too long", []runtime.Option{runtime.ApplicationID(strings.Repeat("a", 250))}, "ApplicationID", "249"},
		{"application id all topic characters", []runtime.Option{runtime.ApplicationID("Word_count-2.v1")}, "", ""},

		{"no brokers", []runtime.Option{runtime.Brokers()}, "Brokers", "no brokers"},
		{"empty broker", []runtime.Option{runtime.Brokers("")}, "Brokers", `Brokers("")`},
		{"broker with too many colons", []runtime.Option{runtime.Brokers("not a host:port:99")}, "Brokers", `"not a host:port:99"`},
		{"broker port too large", []runtime.Option{runtime.Brokers("127.0.0.1:99999")}, "Brokers", "99999"},
		{"broker port zero", []runtime.Option{runtime.Brokers("127.0.0.1:0")}, "Brokers", "port 0"},
		{"broker port negative", []runtime.Option{runtime.Brokers("127.0.0.1:-1")}, "Brokers", `"-1"`},
		{"broker port not a number", []runtime.Option{runtime.Brokers("kafka:http")}, "Brokers", `"http"`},
		{"broker without port", []runtime.Option{runtime.Brokers("kafka")}, "Brokers", "no port"},
		{"broker empty port", []runtime.Option{runtime.Brokers("kafka:")}, "Brokers", "no port"},
		{"broker without host", []runtime.Option{runtime.Brokers(":9092")}, "Brokers", "no host"},
		{"broker host with space", []runtime.Option{runtime.Brokers("not a host:9092")}, "Brokers", `"not a host"`},
		{"second broker bad", []runtime.Option{runtime.Brokers("a:1", "b:70000")}, "Brokers", `"b:70000"`},
		{"ipv6 without brackets", []runtime.Option{runtime.Brokers("::1:9092")}, "Brokers", "brackets"},
		{"brackets around a name", []runtime.Option{runtime.Brokers("[kafka]:9092")}, "Brokers", "IPv6"},
		{"brackets around ipv4", []runtime.Option{runtime.Brokers("[127.0.0.1]:9092")}, "Brokers", "IPv6"},
		{"ipv6 in brackets", []runtime.Option{runtime.Brokers("[::1]:9092")}, "", ""},
		{"ipv6 with zone", []runtime.Option{runtime.Brokers("[fe80::1%eth0]:9092")}, "", ""},
		{"ports at the bounds", []runtime.Option{runtime.Brokers("a.example.com:1", "10.0.0.1:65535", "kafka_0:9092")}, "", ""},

		{"zero threads", []runtime.Option{runtime.Threads(0)}, "Threads", "Threads(0)"},
		{"negative threads", []runtime.Option{runtime.Threads(-2)}, "Threads", "Threads(-2)"},
		{"empty state dir", []runtime.Option{runtime.StateDir("")}, "StateDir", `StateDir("")`},

		{"zero commit interval", []runtime.Option{runtime.CommitInterval(0)}, "CommitInterval", "CommitInterval(0s)"},
		{"negative commit interval", []runtime.Option{runtime.CommitInterval(-time.Second)}, "CommitInterval", "-1s"},
		{"zero commit interval under exactly-once", []runtime.Option{runtime.ExactlyOnce(), runtime.CommitInterval(0)}, "CommitInterval", "0s"},

		{"guarantee out of range", []runtime.Option{runtime.ProcessingGuarantee(7)}, "ProcessingGuarantee", "ProcessingGuarantee(7)"},
		{"negative guarantee", []runtime.Option{runtime.ProcessingGuarantee(-1)}, "ProcessingGuarantee", "(-1)"},
		{"exactly once", []runtime.Option{runtime.ExactlyOnce()}, "", ""},

		{"zero startup timeout", []runtime.Option{runtime.StartupTimeout(0)}, "StartupTimeout", "0s"},
		{"negative startup timeout", []runtime.Option{runtime.StartupTimeout(-time.Second)}, "StartupTimeout", "StartupTimeout(-1s)"},

		{"zero session timeout", []runtime.Option{runtime.SessionTimeout(0)}, "SessionTimeout", "0s"},
		{"negative session timeout", []runtime.Option{runtime.SessionTimeout(-time.Minute)}, "SessionTimeout", "-1m0s"},
		{"session timeout too long", []runtime.Option{runtime.SessionTimeout(30 * 24 * time.Hour)}, "SessionTimeout", "720h0m0s"},
		{"session timeout below the heartbeat", []runtime.Option{runtime.SessionTimeout(time.Second)}, "SessionTimeout", "heartbeat"},
		{"short session timeout with a shorter heartbeat", []runtime.Option{runtime.SessionTimeout(time.Second),
			runtime.KgoOpts(kgo.HeartbeatInterval(300 * time.Millisecond))}, "", ""},

		{"negative cleanup delay", []runtime.Option{runtime.StateCleanupDelay(-time.Second)}, "StateCleanupDelay", "-1s"},
		{"zero cleanup delay", []runtime.Option{runtime.StateCleanupDelay(0)}, "", ""},

		{"zero transaction timeout", []runtime.Option{runtime.TransactionTimeout(0)}, "TransactionTimeout", "0s"},
		{"sub-millisecond transaction timeout", []runtime.Option{runtime.TransactionTimeout(time.Microsecond)}, "TransactionTimeout", "1µs"},
		{"transaction timeout too long", []runtime.Option{runtime.TransactionTimeout(30 * 24 * time.Hour)}, "TransactionTimeout", "720h0m0s"},

		{"zero uncommitted bound", []runtime.Option{runtime.UncommittedMaxBytes(0)}, "UncommittedMaxBytes", "0"},
		{"uncommitted bound below -1", []runtime.Option{runtime.UncommittedMaxBytes(-2)}, "UncommittedMaxBytes", "-2"},
		{"no uncommitted bound", []runtime.Option{runtime.UncommittedMaxBytes(-1)}, "", ""},

		{"zero block cache", []runtime.Option{runtime.BlockCacheBytes(0)}, "BlockCacheBytes", "0"},
		{"negative row cache", []runtime.Option{runtime.RowCacheBytes(-1)}, "RowCacheBytes", "-1"},

		{"replication factor below -1", []runtime.Option{runtime.ReplicationFactor(-2)}, "ReplicationFactor", "(-2)"},
		{"replication factor -1", []runtime.Option{runtime.ReplicationFactor(-1)}, "", ""},
		{"replication factor 0", []runtime.Option{runtime.ReplicationFactor(0)}, "", ""},
		{"replication factor 3", []runtime.Option{runtime.ReplicationFactor(3)}, "", ""},

		{"kgo option out of range", []runtime.Option{runtime.KgoOpts(kgo.MetadataMinAge(time.Nanosecond))}, "KgoOpts", "metadata min age"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runtime.New(topo, append(append([]runtime.Option(nil), base...), tc.opts...)...)
			if tc.option == "" {
				if err != nil {
					t.Fatalf("New = %v, want no error", err)
				}
				return
			}
			if !errors.Is(err, runtime.ErrInvalidConfig) {
				t.Fatalf("New = %v, want an error matching ErrInvalidConfig", err)
			}
			var ce *runtime.ConfigError
			if !errors.As(err, &ce) || ce.Option != tc.option {
				t.Fatalf("New = %v, want a ConfigError for %s", err, tc.option)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "runtime: "+tc.option+"(") || !strings.Contains(msg, tc.mention) {
				t.Errorf("New = %q, want it to start with %q and mention %q", msg, "runtime: "+tc.option+"(", tc.mention)
			}
		})
	}
}

// TestConfigErrorsJoined checks that New reports every bad option at once,
// so a user fixes a configuration in one round.
func TestConfigErrorsJoined(t *testing.T) {
	_, err := runtime.New(testfix.WordCount(t), runtime.ApplicationID("wc"), runtime.Brokers("127.0.0.1:99999"),
		runtime.ProcessingGuarantee(7), runtime.StartupTimeout(-time.Second))
	for _, want := range []string{"Brokers(", "ProcessingGuarantee(7)", "StartupTimeout(-1s)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New = %v, want it to mention %s", err, want)
		}
	}
	if !errors.Is(err, runtime.ErrInvalidConfig) {
		t.Errorf("New = %v, want it to match ErrInvalidConfig", err)
	}
}

func TestConfigErrorFromKgo(t *testing.T) {
	_, err := runtime.New(testfix.WordCount(t), runtime.ApplicationID("wc"), runtime.Brokers("a:1"),
		runtime.SessionTimeout(time.Second))
	var ce *runtime.ConfigError
	if !errors.As(err, &ce) || ce.Err == nil || !errors.Is(err, ce.Err) {
		t.Fatalf("New = %v, want a ConfigError wrapping franz-go's error", err)
	}
}

func TestGuaranteeString(t *testing.T) {
	for g, want := range map[runtime.Guarantee]string{
		runtime.AtLeastOnce: "at_least_once", runtime.ExactlyOnceV2: "exactly_once_v2", 7: "Guarantee(7)",
	} {
		if got := g.String(); got != want {
			t.Errorf("Guarantee(%d).String() = %q, want %q", int(g), got, want)
		}
	}
}

// FuzzBrokerAddress feeds New the broker addresses an environment variable
// or a flag could carry. New accepts an address only if it is host:port
// with a port in 1-65535 that franz-go accepts too; anything else is a
// ConfigError blaming Brokers and quoting the address.
func FuzzBrokerAddress(f *testing.F) {
	topo := testfix.WordCount(f)
	f.Fuzz(func(t *testing.T, addr string) {
		_, err := runtime.New(topo, runtime.ApplicationID("wc"), runtime.Brokers(addr))
		if err != nil {
			var ce *runtime.ConfigError
			if !errors.As(err, &ce) || ce.Option != "Brokers" || ce.Value != strconv.Quote(addr) {
				t.Fatalf("New with broker %q = %v, want a ConfigError for Brokers quoting it", addr, err)
			}
			return
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			t.Fatalf("New accepted broker %q, which is not host:port: %v", addr, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			t.Fatalf("New accepted broker %q with port %q", addr, port)
		}
		if err := kgo.ValidateOpts(kgo.SeedBrokers(addr)); err != nil {
			t.Fatalf("New accepted broker %q, which franz-go refuses: %v", addr, err)
		}
	})
}
