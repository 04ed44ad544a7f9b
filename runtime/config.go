package runtime

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// maxWireDuration is the longest duration a Kafka int32-milliseconds field
// can carry (session.timeout.ms, transaction.timeout.ms).
const maxWireDuration = time.Duration(math.MaxInt32) * time.Millisecond

// minSessionTimeout is franz-go's lower bound for the session timeout.
const minSessionTimeout = 100 * time.Millisecond

// validate checks every option once, in New, so that a mistake is an error
// naming the option before anything touches the network or the disk, not a
// timeout or a silently substituted default later. It reports every bad
// option at once, joined.
func (c *config) validate() error {
	var errs []error
	bad := func(option, value, reason string, args ...any) {
		errs = append(errs, &ConfigError{Option: option, Value: value, Reason: fmt.Sprintf(reason, args...)})
	}
	quoted := strconv.Quote

	if c.appID == "" {
		bad("ApplicationID", `""`, "no application id: pass runtime.ApplicationID or set %s", EnvApplicationID)
	} else if err := checkAppID(c.appID); err != nil {
		bad("ApplicationID", quoted(c.appID), "%v", err)
	}

	if len(c.brokers) == 0 {
		bad("Brokers", "", "no brokers: pass runtime.Brokers or set %s", EnvBrokers)
	}
	for _, addr := range c.brokers {
		if err := checkBrokerAddr(addr); err != nil {
			if len(c.brokers) == 1 {
				bad("Brokers", quoted(addr), "%v", err)
			} else {
				bad("Brokers", quotedList(c.brokers), "address %q: %v", addr, err)
			}
		}
	}

	if c.instanceID != "" {
		if err := checkInstanceID(c.instanceID); err != nil {
			bad("InstanceID", quoted(c.instanceID), "%v", err)
		}
	}
	if c.httpAddr != "" {
		if err := checkHTTPAddr(c.httpAddr); err != nil {
			bad("HTTP", quoted(c.httpAddr), "%v", err)
		}
	}

	if c.threads < 1 {
		bad("Threads", strconv.Itoa(c.threads), "the number of threads must be at least 1")
	}
	if c.stateDir == "" {
		bad("StateDir", `""`, "the state directory may not be empty")
	}
	if c.commitInterval <= 0 {
		bad("CommitInterval", c.commitInterval.String(), "the commit interval must be positive")
	}
	if c.uncommittedMax == 0 || c.uncommittedMax < -1 {
		bad("UncommittedMaxBytes", strconv.FormatInt(c.uncommittedMax, 10), "the bound must be positive, or -1 for none")
	}
	if c.blockCache <= 0 {
		bad("BlockCacheBytes", strconv.FormatInt(c.blockCache, 10), "the block cache size must be positive")
	}
	if c.rowCache < 0 {
		bad("RowCacheBytes", strconv.FormatInt(c.rowCache, 10), "the row cache size must not be negative (0 turns it off)")
	}
	if c.guarantee != AtLeastOnce && c.guarantee != ExactlyOnceV2 {
		bad("ProcessingGuarantee", strconv.Itoa(int(c.guarantee)), "not a guarantee: use AtLeastOnce or ExactlyOnceV2")
	}
	if c.timeout <= 0 {
		bad("StartupTimeout", c.timeout.String(), "the startup timeout must be positive")
	}
	if c.sessionTimeout < minSessionTimeout || c.sessionTimeout > maxWireDuration {
		bad("SessionTimeout", c.sessionTimeout.String(), "the session timeout must be between %v and %v", minSessionTimeout, maxWireDuration)
	}
	if c.cleanupDelay < 0 {
		bad("StateCleanupDelay", c.cleanupDelay.String(), "the cleanup delay may not be negative")
	}
	if c.txnTimeout < time.Millisecond || c.txnTimeout > maxWireDuration {
		bad("TransactionTimeout", c.txnTimeout.String(), "the transaction timeout must be between 1ms and %v", maxWireDuration)
	}
	if c.maxTaskIdle < 0 {
		bad("MaxTaskIdle", c.maxTaskIdle.String(), "the idle time may not be negative")
	}
	if c.shutdownTimeout <= 0 {
		bad("ShutdownTimeout", c.shutdownTimeout.String(), "the shutdown timeout must be positive")
	}
	if c.deliveryTimeout <= 0 {
		bad("DeliveryTimeout", c.deliveryTimeout.String(), "the delivery timeout must be positive")
	}
	if c.deadLetter != "" {
		if err := checkTopicName(c.deadLetter); err != nil {
			bad("DeadLetterQueue", quoted(c.deadLetter), "%v", err)
		}
	}
	if c.standbys < 0 {
		bad("Standbys", strconv.Itoa(c.standbys), "the number of standby replicas may not be negative")
	}
	if c.acceptableLag < 0 {
		bad("AcceptableRecoveryLag", strconv.FormatInt(c.acceptableLag, 10), "the lag may not be negative")
	}
	if c.maxWarmups < 1 {
		bad("MaxWarmupReplicas", strconv.Itoa(c.maxWarmups), "at least one warm-up replica is needed for tasks to move")
	}
	if c.probingInterval <= 0 {
		bad("ProbingRebalanceInterval", c.probingInterval.String(), "the interval must be positive")
	}
	if c.appServer != "" {
		if err := checkBrokerAddr(c.appServer); err != nil {
			bad("ApplicationServer", quoted(c.appServer), "%v", err)
		}
	}
	if c.replication < -1 {
		bad("ReplicationFactor", strconv.Itoa(int(c.replication)), "the replication factor must be at least 1, or -1 (or 0) for the broker's default")
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return c.validateClient()
}

// validateClient asks franz-go whether it accepts the client options the
// app's threads will use, so that a conflict (a heartbeat interval longer
// than the session timeout, a bad option in KgoOpts) is an error in New,
// blamed on the option that caused it.
func (c *config) validateClient() error {
	base := []kgo.Opt{
		kgo.SeedBrokers(c.brokers...),
		kgo.ConsumerGroup(c.appID),
		kgo.SessionTimeout(c.sessionTimeout),
		kgo.TransactionTimeout(c.txnTimeout),
	}
	err := kgo.ValidateOpts(append(base, c.kgoOpts...)...)
	if err == nil {
		return nil
	}
	if kgo.ValidateOpts(base...) == nil {
		return &ConfigError{Option: "KgoOpts", Value: "...", Reason: "franz-go rejects them: " + err.Error(), Err: err}
	}
	// The options the app sets itself fail on their own: of those, only the
	// session timeout can still conflict (with franz-go's heartbeat interval).
	return &ConfigError{Option: "SessionTimeout", Value: c.sessionTimeout.String(),
		Reason: "franz-go rejects it: " + err.Error() + " (set a shorter kgo.HeartbeatInterval with KgoOpts)", Err: err}
}

// checkAppID reports why a non-empty id cannot name an application. The id
// names the consumer group and the state directory, and prefixes internal
// topic names, so it must be a legal topic name itself.
func checkAppID(id string) error {
	if len(id) > 249 {
		return fmt.Errorf("it has %d bytes; it prefixes internal topic names, which may have 249", len(id))
	}
	if i := strings.IndexFunc(id, func(r rune) bool { return !topicChar(r) }); i >= 0 {
		return fmt.Errorf("it prefixes internal topic names and may only contain ASCII letters, digits, '.', '_' and '-', not %q", id[i:i+1])
	}
	return nil
}

// checkInstanceID accepts what Kafka accepts as a group.instance.id, the
// characters of a topic name.
func checkInstanceID(id string) error {
	if len(id) > 249 {
		return fmt.Errorf("it has %d bytes; Kafka allows 249", len(id))
	}
	if i := strings.IndexFunc(id, func(r rune) bool { return !topicChar(r) }); i >= 0 {
		return fmt.Errorf("it may only contain ASCII letters, digits, '.', '_' and '-', not %q", id[i:i+1])
	}
	return nil
}

// checkHTTPAddr accepts a listen address: host:port or :port, the port a
// number up to 65535 (0 lets the system choose).
func checkHTTPAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port or :port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// checkBrokerAddr accepts what Kafka's bootstrap.servers accepts: host:port
// with a port in 1-65535, where host is a name, an IPv4 address, or an IPv6
// address in brackets.
func checkBrokerAddr(addr string) error {
	if addr == "" {
		return errors.New("empty address; want host:port")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		switch {
		case !errors.As(err, &ae):
		case ae.Err == "missing port in address":
			return errors.New("no port; want host:port")
		case ae.Err == "too many colons in address" && !strings.HasPrefix(addr, "["):
			return errors.New("not host:port (too many colons; an IPv6 address goes in brackets, as [::1]:9092)")
		}
		return errors.New("not host:port")
	}
	n, err := strconv.ParseUint(port, 10, 32)
	switch {
	case port == "":
		return errors.New("no port; want host:port")
	case err != nil:
		return fmt.Errorf("port %q is not a number", port)
	case n < 1 || n > 65535:
		return fmt.Errorf("port %d is not in 1-65535", n)
	}
	if host == "" {
		return errors.New("no host; want host:port")
	}
	if strings.HasPrefix(addr, "[") {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() {
			return fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
		return nil
	}
	for _, r := range host {
		if !hostChar(r) {
			return fmt.Errorf("host %q may only contain ASCII letters, digits, '.', '_' and '-'", host)
		}
	}
	return nil
}

func hostChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == '_'
}

// checkTopicName reports why name cannot name a Kafka topic.
func checkTopicName(name string) error {
	switch {
	case len(name) > 249:
		return fmt.Errorf("a topic name may have 249 bytes, not %d", len(name))
	case name == "." || name == "..":
		return errors.New(`a topic may not be named "." or ".."`)
	}
	if i := strings.IndexFunc(name, func(r rune) bool { return !topicChar(r) }); i >= 0 {
		return fmt.Errorf("a topic name may only contain ASCII letters, digits, '.', '_' and '-', not %q", name[i:i+1])
	}
	return nil
}

// topicChar is what Kafka allows in a topic name.
func topicChar(r rune) bool { return hostChar(r) }

func quotedList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
