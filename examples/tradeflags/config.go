package main

import (
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
	EnvVariant    = "SAMSA_VARIANT"
	EnvPartitions = "SAMSA_PARTITIONS"
)

// config is what the flags and the environment set.
type config struct {
	brokers        flagenv.BrokerList
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
	session := flagenv.Millis{D: &c.sessionTimeout}
	fs.Var(session, "session-timeout", "consumer group session `timeout` (default 45s, the runtime's)")
	fs.DurationVar(&c.maxTaskIdle, "max-task-idle", 0, "`duration` a task of the join variant waits for records of an empty input partition before it processes the other's (max.task.idle.ms; default 0, the runtime's)")
	fs.StringVar(&c.stateDir, "state-dir", "", "state `directory` (default: a temporary directory, removed on exit)")
	fs.IntVar(&c.players, "players", 30, "`number` of players the generator plays")
	fs.IntVar(&c.cheaters, "cheaters", 3, "`number` of them who cheat")
	fs.IntVar(&c.events, "events", 3000, "stop generating after this `number` of logins and trades; 0: no limit")
	fs.DurationVar(&c.duration, "duration", 0, "stop generating after this `duration`; 0: no limit")
	fs.IntVar(&c.rate, "rate", 1000, "`number` of logins and trades a second; 0: as fast as the broker takes them")
	fs.Uint64Var(&c.seed, "seed", 1, "`seed` of the generator: the same seed plays the same game")

	settings := []flagenv.Setting{
		{Flag: "brokers", Env: runtime.EnvBrokers, Want: "a comma-separated host:port list"},
		{Flag: "application-id", Env: runtime.EnvApplicationID},
		{Flag: "variant", Env: EnvVariant, Want: VariantTopic + " or " + VariantJoin},
		{Flag: "partitions", Env: EnvPartitions, Want: "a number of partitions"},
		{Flag: "processing-guarantee", Env: runtime.EnvGuarantee, Want: "at_least_once or exactly_once_v2"},
		{Flag: "session-timeout", Env: runtime.EnvSessionTimeoutMillis, Want: "a positive number of milliseconds", FromEnv: session.SetMillis},
		{Flag: "state-dir", Env: runtime.EnvStateDir},
	}
	fs.Usage = func() { usage(fs, settings) }
	if err := flagenv.Parse(fs, args, settings, getenv); err != nil {
		return nil, err
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

func usage(fs *flag.FlagSet, settings []flagenv.Setting) {
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
	flagenv.PrintVariables(w, settings)
	fmt.Fprint(w, "\nThe runtime also reads SAMSA_THREADS and SAMSA_COMMIT_INTERVAL_MS.\n\nFlags:\n")
	fs.PrintDefaults()
}
