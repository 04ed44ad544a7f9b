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
	EnvVariant    = "SAMSA_VARIANT"
	EnvPartitions = "SAMSA_PARTITIONS"
)

// errUsage is a flag error the flag package has already printed, with the
// usage.
var errUsage = errors.New("usage error")

// config is what the flags and the environment set.
type config struct {
	brokers        brokerList
	appID          string
	variant        string // VariantTopic or VariantJoin
	partitions     int
	guarantee      runtime.Guarantee
	sessionTimeout time.Duration // 0: the runtime's default
	maxTaskIdle    time.Duration
	stateDir       string // empty: a temporary directory

	// The generator's.
	players, cheaters int
	events            int           // 0: no limit
	duration          time.Duration // 0: no limit
	rate              int           // events per second; 0: as fast as the broker takes them
	seed              uint64

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

// variant is VariantTopic or VariantJoin.
type variant string

func (v *variant) String() string { return string(*v) }

func (v *variant) Set(s string) error {
	if s != VariantTopic && s != VariantJoin {
		return fmt.Errorf("not %s or %s", VariantTopic, VariantJoin)
	}
	*v = variant(s)
	return nil
}

// millis sets a duration from a flag as a Go duration, and from the
// environment in milliseconds, as the runtime's *_MS variables are.
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
	fs := flag.NewFlagSet("tradeflags", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	fs.Var(&c.brokers, "brokers", "comma-separated `host:port` list of Kafka brokers; empty starts an in-process broker")
	fs.StringVar(&c.appID, "application-id", "tradeflags", "application `id`: consumer group, prefix of internal topics, state directory")
	c.variant = VariantTopic
	fs.Var((*variant)(&c.variant), "variant", "`topology`: one-topic (logins and trades on "+EventsTopic+") or join (a "+LoginsTopic+" table joined by a "+TradesTopic+" stream)")
	fs.IntVar(&c.partitions, "partitions", 3, "`number` of partitions of the topics, when this program creates them")
	fs.TextVar(&c.guarantee, "processing-guarantee", runtime.AtLeastOnce, "`guarantee`: at_least_once or exactly_once_v2")
	session := millis{&c.sessionTimeout}
	fs.Var(session, "session-timeout", "consumer group session `timeout` (default 45s, the runtime's)")
	fs.DurationVar(&c.maxTaskIdle, "max-task-idle", 0, "`duration` a task of the join variant waits for records of an empty input partition before it processes the other's (max.task.idle.ms; default 0, the runtime's)")
	fs.StringVar(&c.stateDir, "state-dir", "", "state `directory` (default: a temporary directory, removed on exit)")
	fs.IntVar(&c.players, "players", 30, "`number` of players the generator plays")
	fs.IntVar(&c.cheaters, "cheaters", 3, "`number` of them who cheat")
	fs.IntVar(&c.events, "events", 3000, "stop generating after this `number` of logins and trades; 0: no limit")
	fs.DurationVar(&c.duration, "duration", 0, "stop generating after this `duration`; 0: no limit")
	fs.IntVar(&c.rate, "rate", 1000, "`number` of logins and trades a second; 0: as fast as the broker takes them")
	fs.Uint64Var(&c.seed, "seed", 1, "`seed` of the generator: the same seed plays the same game")

	settings := []setting{
		{flag: "brokers", env: runtime.EnvBrokers, want: "a comma-separated host:port list"},
		{flag: "application-id", env: runtime.EnvApplicationID},
		{flag: "variant", env: EnvVariant, want: VariantTopic + " or " + VariantJoin},
		{flag: "partitions", env: EnvPartitions, want: "a number of partitions"},
		{flag: "processing-guarantee", env: runtime.EnvGuarantee, want: "at_least_once or exactly_once_v2"},
		{flag: "session-timeout", env: runtime.EnvSessionTimeoutMillis, want: "a positive number of milliseconds", fromEnv: session.setMillis},
		{flag: "state-dir", env: runtime.EnvStateDir},
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
	case c.players < 1:
		return nil, fmt.Errorf("-players %d: need at least one", c.players)
	case c.cheaters < 0 || c.cheaters > c.players:
		return nil, fmt.Errorf("-cheaters %d: want 0 to -players (%d)", c.cheaters, c.players)
	case c.events < 0:
		return nil, fmt.Errorf("-events %d is negative", c.events)
	case c.duration < 0:
		return nil, fmt.Errorf("-duration %v is negative", c.duration)
	case c.rate < 0:
		return nil, fmt.Errorf("-rate %d is negative", c.rate)
	case c.maxTaskIdle < 0:
		return nil, fmt.Errorf("-max-task-idle %v is negative", c.maxTaskIdle)
	}
	return c, nil
}

func usage(fs *flag.FlagSet, settings []setting) {
	w := fs.Output()
	fmt.Fprintf(w, `usage: tradeflags [flags]

Tradeflags flags suspicious trades of an online game. A generator plays
players, a few of them cheaters, who log in and trade; their events go to
%q keyed by player id. The application keeps each player's
last %d trades and logins in a state store and writes an alert to %q
for every trade of more than %d times the mean of the player's last %d
trades from an address none of the last %d logins came from. Each alert is
printed as it arrives; at the end, who was flagged, cheater or not.

With -variant join, logins go to %q and trades to %q, and
the trades are joined with a table of each player's last login.

Without -brokers it starts an in-process Kafka broker. It stops once the
generator has stopped (-events, -duration) and the application has
processed every event; Ctrl-C or SIGTERM closes the application cleanly
first, and a second signal exits at once.

Each flag not given is read from its environment variable:

`, EventsTopic, HistoryLen, AlertsTopic, Factor, HistoryLen, HistoryLen, LoginsTopic, TradesTopic)
	for _, s := range settings {
		fmt.Fprintf(w, "  -%-22s %s\n", s.flag, s.env)
	}
	fmt.Fprint(w, "\nThe runtime also reads SAMSA_THREADS and SAMSA_COMMIT_INTERVAL_MS.\n\nFlags:\n")
	fs.PrintDefaults()
}
