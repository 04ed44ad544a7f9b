package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/flagenv"
	"github.com/samsa-go/samsa/runtime"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.brokers) != 0 || c.appID != "tradeflags" || c.variant != VariantTopic || c.partitions != 3 || c.guarantee != runtime.AtLeastOnce ||
		c.players != 30 || c.cheaters != 3 || c.events != 3000 || c.duration != 0 || c.rate != 1000 || c.seed != 1 || c.maxTaskIdle != 0 {
		t.Errorf("defaults = %+v", *c)
	}
}

func TestConfigFromEnvAndFlags(t *testing.T) {
	vars := map[string]string{
		"SAMSA_BROKERS":              " k1:9092, k2:9092 ",
		"SAMSA_APPLICATION_ID":       "env-app",
		"SAMSA_VARIANT":              "join",
		"SAMSA_PARTITIONS":           "6",
		"SAMSA_PROCESSING_GUARANTEE": "exactly_once_v2",
		"SAMSA_SESSION_TIMEOUT_MS":   "12000",
		"SAMSA_STATE_DIR":            "/tmp/env-state",
	}
	c, err := parseConfig(nil, env(vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.brokers.String() != "k1:9092,k2:9092" || c.appID != "env-app" || c.variant != VariantJoin || c.partitions != 6 ||
		c.guarantee != runtime.ExactlyOnceV2 || c.sessionTimeout != 12*time.Second || c.stateDir != "/tmp/env-state" {
		t.Errorf("from the environment = %+v", *c)
	}
	args := []string{"-brokers", "f:1", "-application-id", "flag-app", "-variant", "one-topic", "-partitions", "2",
		"-processing-guarantee", "at_least_once", "-session-timeout", "7s", "-state-dir", "/tmp/flag-state",
		"-players", "5", "-cheaters", "0", "-events", "0", "-duration", "1m", "-rate", "0", "-seed", "9", "-max-task-idle", "1s"}
	if c, err = parseConfig(args, env(vars), io.Discard); err != nil {
		t.Fatal(err)
	}
	if c.brokers.String() != "f:1" || c.appID != "flag-app" || c.variant != VariantTopic || c.partitions != 2 ||
		c.guarantee != runtime.AtLeastOnce || c.sessionTimeout != 7*time.Second || c.stateDir != "/tmp/flag-state" ||
		c.players != 5 || c.cheaters != 0 || c.events != 0 || c.duration != time.Minute || c.rate != 0 || c.seed != 9 || c.maxTaskIdle != time.Second {
		t.Errorf("flags over the environment = %+v", *c)
	}
}

func TestConfigBad(t *testing.T) {
	for _, tc := range []struct {
		args []string
		vars map[string]string
		want string
	}{
		{vars: map[string]string{"SAMSA_VARIANT": "both"}, want: `SAMSA_VARIANT="both" is not one-topic or join`},
		{vars: map[string]string{"SAMSA_PARTITIONS": "three"}, want: `SAMSA_PARTITIONS="three"`},
		{vars: map[string]string{"SAMSA_SESSION_TIMEOUT_MS": "10s"}, want: `SAMSA_SESSION_TIMEOUT_MS="10s"`},
		{args: []string{"-cheaters", "4", "-players", "3"}, want: "-cheaters 4: want 0 to -players (3)"},
		{args: []string{"-partitions", "0"}, want: "-partitions 0"},
		{args: []string{"-events", "-1"}, want: "-events -1"},
		{args: []string{"stray"}, want: "unexpected arguments: stray"},
	} {
		if _, err := parseConfig(tc.args, env(tc.vars), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: err = %v, want one saying %q", tc.args, tc.vars, err, tc.want)
		}
	}
	var usage strings.Builder
	if _, err := parseConfig([]string{"-variant", "both"}, env(nil), &usage); !errors.Is(err, flagenv.ErrUsage) || !strings.Contains(usage.String(), "-variant") {
		t.Errorf("-variant both: err = %v, usage output %q", err, usage.String())
	}
}

// -h documents every flag, the variables that stand in for them, and how
// the program stops.
func TestConfigHelp(t *testing.T) {
	var usage strings.Builder
	if _, err := parseConfig([]string{"-h"}, env(nil), &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: err = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{
		"-brokers", "SAMSA_BROKERS", "-application-id", "SAMSA_APPLICATION_ID", "-variant", "SAMSA_VARIANT", "-partitions", "SAMSA_PARTITIONS",
		"-processing-guarantee", "SAMSA_PROCESSING_GUARANTEE", "-session-timeout", "SAMSA_SESSION_TIMEOUT_MS", "-state-dir", "SAMSA_STATE_DIR",
		"-max-task-idle", "-players", "-cheaters", "-events", "-duration", "-rate", "-seed", "SIGTERM", "(default one-topic)",
	} {
		if !strings.Contains(usage.String(), want) {
			t.Errorf("-h output lacks %q:\n%s", want, usage.String())
		}
	}
}
