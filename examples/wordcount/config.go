package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/samsa-go/samsa/internal/flagenv"
	"github.com/samsa-go/samsa/runtime"
)

// Environment variables of the example's own settings; the others are the
// runtime's (runtime.EnvBrokers, ...).
const (
	EnvInputTopic  = "SAMSA_INPUT_TOPIC"
	EnvOutputTopic = "SAMSA_OUTPUT_TOPIC"
	EnvPartitions  = "SAMSA_PARTITIONS"
)

// config is what the flags and the environment set.
type config struct {
	brokers        flagenv.BrokerList
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
	session := flagenv.Millis{D: &c.sessionTimeout}
	fs.Var(session, "session-timeout", "consumer group session `timeout` (default 45s, the runtime's)")
	fs.StringVar(&c.stateDir, "state-dir", "", "state `directory` (default: a temporary directory, removed on exit)")
	fs.StringVar(&c.describe, "describe", "", "print the topology and exit, as `format` json (for samsa describe and samsa lag), text (Kafka's), mermaid or dot")
	fs.StringVar(&c.httpAddr, "http", "", "serve /metrics, /livez and /readyz on `address` host:port (such as :8080); empty serves nothing")
	fs.StringVar(&c.instanceID, "instance-id", "", "static group membership: this instance's `id`, stable across its restarts (a StatefulSet pod's name)")
	fs.DurationVar(&c.idle, "idle", 3*time.Second, "stop once the input has ended and the counts have not changed for this `duration`; 0 runs until interrupted")
	serveFlags(fs, c)

	settings := []flagenv.Setting{
		{Flag: "brokers", Env: runtime.EnvBrokers, Want: "a comma-separated host:port list"},
		{Flag: "application-id", Env: runtime.EnvApplicationID},
		{Flag: "input-topic", Env: EnvInputTopic},
		{Flag: "output-topic", Env: EnvOutputTopic},
		{Flag: "partitions", Env: EnvPartitions, Want: "a number of partitions"},
		{Flag: "processing-guarantee", Env: runtime.EnvGuarantee, Want: "at_least_once or exactly_once_v2"},
		{Flag: "session-timeout", Env: runtime.EnvSessionTimeoutMillis, Want: "a positive number of milliseconds", FromEnv: session.SetMillis},
		{Flag: "state-dir", Env: runtime.EnvStateDir},
		{Flag: "http", Env: runtime.EnvHTTPAddr},
		{Flag: "instance-id", Env: runtime.EnvInstanceID},
	}
	fs.Usage = func() { usage(fs, settings) }
	if err := flagenv.Parse(fs, args, settings, getenv); err != nil {
		return nil, err
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

func usage(fs *flag.FlagSet, settings []flagenv.Setting) {
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
	flagenv.PrintVariables(w, settings)
	fmt.Fprint(w, "\nThe runtime also reads SAMSA_THREADS and SAMSA_COMMIT_INTERVAL_MS.\n\nFlags:\n")
	fs.PrintDefaults()
}
