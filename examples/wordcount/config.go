package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/samsa-go/samsa/runtime"
)

// Environment variables of the example's own settings; the others are the
// runtime's (runtime.EnvBrokers, ...).
const (
	EnvInputTopic  = "SAMSA_INPUT_TOPIC"
	EnvOutputTopic = "SAMSA_OUTPUT_TOPIC"
	EnvPartitions  = "SAMSA_PARTITIONS"
)

// errUsage is a flag error the flag package has already printed, with the
// usage.
var errUsage = errors.New("usage error")

// config is what the flags and the environment set.
type config struct {
	brokers        brokerList
	appID          string
	inputTopic     string
	outputTopic    string
	partitions     int
	guarantee      runtime.Guarantee
	sessionTimeout time.Duration // 0: the runtime's default
	stateDir       string        // empty: a temporary directory
	idle           time.Duration
	describe       string // a describeFormats key: print the topology and exit
	httpAddr       string // empty: no health and metrics server
	instanceID     string // empty: a dynamic group member
	serve          string // -serve: the query server's address (serve.go)
	standbys       int

	// envOpts are runtime.FromEnv's options, applied before the flags.
	envOpts []runtime.Option
}

// brokerList is a comma-separated host:port list.
type brokerList []string

func (b *brokerList) String() string { return strings.Join(*b, ",") }

func (b *brokerList) Set(v string) error {
	*b = nil
	for a := range strings.SplitSeq(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			*b = append(*b, a)
		}
	}
	if len(*b) == 0 && strings.TrimSpace(v) != "" {
		return errors.New("lists no brokers")
	}
	return nil
}

// millis reads a duration from the environment in milliseconds, as the
// runtime's *_MS variables are, and from a flag as a Go duration.
type millis struct{ d *time.Duration }

func (m millis) String() string {
	if m.d == nil || *m.d == 0 {
		return ""
	}
	return m.d.String()
}

func (m millis) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return errors.New("not a positive duration such as 10s")
	}
	*m.d = d
	return nil
}

func (m millis) setMillis(v string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 1 {
		return errors.New("not a positive number of milliseconds")
	}
	*m.d = time.Duration(n) * time.Millisecond
	return nil
}

// setting ties a flag to the environment variable read when the flag is
// not given.
type setting struct {
	flag, env string
	want      string // what a valid value is, for errors
	// fromEnv converts the variable's value; nil passes it to the flag.
	fromEnv func(string) error
}

// parseConfig reads args, then getenv for every flag args did not set:
// a flag beats its variable, which beats the default. Errors name the flag
// or the variable, and its value.
func parseConfig(args []string, getenv func(string) string, usageOut io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("wordcount", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	fs.Var(&c.brokers, "brokers", "comma-separated `host:port` list of Kafka brokers; empty starts an in-process broker")
	fs.StringVar(&c.appID, "application-id", "wordcount", "application `id`: consumer group, prefix of internal topics, state directory")
	fs.StringVar(&c.inputTopic, "input-topic", InputTopic, "`topic` the lines are written to and read from")
	fs.StringVar(&c.outputTopic, "output-topic", OutputTopic, "`topic` the counts are written to")
	fs.IntVar(&c.partitions, "partitions", 3, "`number` of partitions of the input and output topics, when this program creates them")
	fs.TextVar(&c.guarantee, "processing-guarantee", runtime.AtLeastOnce, "`guarantee`: at_least_once or exactly_once_v2")
	session := millis{&c.sessionTimeout}
	fs.Var(session, "session-timeout", "consumer group session `timeout` (default 45s, the runtime's)")
	fs.StringVar(&c.stateDir, "state-dir", "", "state `directory` (default: a temporary directory, removed on exit)")
	fs.StringVar(&c.describe, "describe", "", "print the topology and exit, as `format` json (for samsa describe and samsa lag), text (Kafka's), mermaid or dot")
	fs.StringVar(&c.httpAddr, "http", "", "serve /metrics, /livez and /readyz on `address` host:port (such as :8080); empty serves nothing")
	fs.StringVar(&c.instanceID, "instance-id", "", "static group membership: this instance's `id`, stable across its restarts (a StatefulSet pod's name)")
	fs.DurationVar(&c.idle, "idle", 3*time.Second, "stop once the input has ended and the counts have not changed for this `duration`; 0 runs until interrupted")
	serveFlags(fs, c)

	settings := []setting{
		{flag: "brokers", env: runtime.EnvBrokers, want: "a comma-separated host:port list"},
		{flag: "application-id", env: runtime.EnvApplicationID},
		{flag: "input-topic", env: EnvInputTopic},
		{flag: "output-topic", env: EnvOutputTopic},
		{flag: "partitions", env: EnvPartitions, want: "a number of partitions"},
		{flag: "processing-guarantee", env: runtime.EnvGuarantee, want: "at_least_once or exactly_once_v2"},
		{flag: "session-timeout", env: runtime.EnvSessionTimeoutMillis, want: "a positive number of milliseconds", fromEnv: session.setMillis},
		{flag: "state-dir", env: runtime.EnvStateDir},
		{flag: "http", env: runtime.EnvHTTPAddr},
		{flag: "instance-id", env: runtime.EnvInstanceID},
	}
	fs.Usage = func() { usage(fs, settings) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range settings {
		v := getenv(s.env)
		if given[s.flag] || v == "" {
			continue
		}
		set := s.fromEnv
		if set == nil {
			set = func(v string) error { return fs.Set(s.flag, v) }
		}
		if err := set(v); err != nil {
			return nil, fmt.Errorf("%s=%q is not %s", s.env, v, s.want)
		}
	}
	switch {
	case c.partitions < 1:
		return nil, fmt.Errorf("-partitions %d: need at least one", c.partitions)
	case c.inputTopic == "" || c.outputTopic == "":
		return nil, errors.New("-input-topic and -output-topic may not be empty")
	case c.inputTopic == c.outputTopic:
		return nil, fmt.Errorf("-input-topic and -output-topic are both %q", c.inputTopic)
	case c.describe != "" && describeFormats[c.describe] == nil:
		return nil, fmt.Errorf("-describe %q: want json, text, mermaid or dot", c.describe)
	case c.idle < 0:
		return nil, fmt.Errorf("-idle %v is negative", c.idle)
	}
	return c, nil
}

func usage(fs *flag.FlagSet, settings []setting) {
	w := fs.Output()
	fmt.Fprint(w, `usage: wordcount [flags] [< lines]

Wordcount runs the word-count application: it writes lines to the input
topic, counts the words of each line on Kafka and prints every count as it
changes on the output topic, then the final table. The lines are those of
standard input, or a sample text when standard input is a terminal.

Without -brokers it starts an in-process Kafka broker. Ctrl-C or SIGTERM
closes the application cleanly and prints the final table; a second signal
exits at once.

Each flag not given is read from its environment variable:

`)
	for _, s := range settings {
		fmt.Fprintf(w, "  -%-22s %s\n", s.flag, s.env)
	}
	fmt.Fprint(w, "\nThe runtime also reads SAMSA_THREADS and SAMSA_COMMIT_INTERVAL_MS.\n\nFlags:\n")
	fs.PrintDefaults()
}
