package main

import (
	"errors"
	"flag"
	"io"
	"slices"
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
	want := config{appID: "wordcount", inputTopic: InputTopic, outputTopic: OutputTopic, partitions: 3, guarantee: runtime.AtLeastOnce, idle: 3 * time.Second}
	if !equalConfig(*c, want) {
		t.Fatalf("defaults = %+v, want %+v", *c, want)
	}
}

func equalConfig(a, b config) bool {
	return slices.Equal(a.brokers, b.brokers) && a.appID == b.appID && a.inputTopic == b.inputTopic &&
		a.outputTopic == b.outputTopic && a.partitions == b.partitions && a.guarantee == b.guarantee &&
		a.sessionTimeout == b.sessionTimeout && a.stateDir == b.stateDir && a.idle == b.idle
}

func TestConfigFromEnvAndFlags(t *testing.T) {
	vars := map[string]string{
		"SAMSA_BROKERS":              " k1:9092, k2:9092 ",
		"SAMSA_APPLICATION_ID":       "env-app",
		"SAMSA_INPUT_TOPIC":          "env-in",
		"SAMSA_OUTPUT_TOPIC":         "env-out",
		"SAMSA_PARTITIONS":           "6",
		"SAMSA_PROCESSING_GUARANTEE": "exactly_once_v2",
		"SAMSA_SESSION_TIMEOUT_MS":   "12000",
		"SAMSA_STATE_DIR":            "/tmp/env-state",
	}
	c, err := parseConfig(nil, env(vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := config{brokers: flagenv.BrokerList{"k1:9092", "k2:9092"}, appID: "env-app", inputTopic: "env-in", outputTopic: "env-out", partitions: 6,
		guarantee: runtime.ExactlyOnceV2, sessionTimeout: 12 * time.Second, stateDir: "/tmp/env-state", idle: 3 * time.Second}
	if !equalConfig(*c, want) {
		t.Fatalf("from the environment = %+v, want %+v", *c, want)
	}

	args := []string{"-brokers", "f:1", "-application-id", "flag-app", "-input-topic", "flag-in", "-output-topic", "flag-out",
		"-partitions", "2", "-processing-guarantee", "at_least_once", "-session-timeout", "7s", "-state-dir", "/tmp/flag-state", "-idle", "0"}
	c, err = parseConfig(args, env(vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want = config{brokers: flagenv.BrokerList{"f:1"}, appID: "flag-app", inputTopic: "flag-in", outputTopic: "flag-out", partitions: 2,
		guarantee: runtime.AtLeastOnce, sessionTimeout: 7 * time.Second, stateDir: "/tmp/flag-state"}
	if !equalConfig(*c, want) {
		t.Fatalf("flags over the environment = %+v, want %+v", *c, want)
	}
}

func TestConfigBadEnv(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"SAMSA_BROKERS", ", ,"},
		{"SAMSA_PARTITIONS", "three"},
		{"SAMSA_PROCESSING_GUARANTEE", "maybe_once"},
		{"SAMSA_SESSION_TIMEOUT_MS", "10s"},
		{"SAMSA_SESSION_TIMEOUT_MS", "0"},
	} {
		_, err := parseConfig(nil, env(map[string]string{tc.name: tc.value}), io.Discard)
		if want := tc.name + `="` + tc.value + `"`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%q: err = %v, want one naming %s", tc.name, tc.value, err, want)
		}
	}
}

func TestConfigBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-partitions", "zero"},
		{"-processing-guarantee", "twice"},
		{"-session-timeout", "-1s"},
		{"-nope"},
	} {
		var usage strings.Builder
		if _, err := parseConfig(args, env(nil), &usage); !errors.Is(err, flagenv.ErrUsage) || !strings.Contains(usage.String(), args[0]) {
			t.Errorf("%v: err = %v, usage output %q; want a usage error naming %s", args, err, usage.String(), args[0])
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-partitions", "0"}, "-partitions 0"},
		{[]string{"-input-topic", "same", "-output-topic", "same"}, `both "same"`},
		{[]string{"stray"}, "unexpected arguments: stray"},
	} {
		if _, err := parseConfig(tc.args, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want one about %q", tc.args, err, tc.want)
		}
	}
}

// -h documents every flag and the variable that stands in for it.
func TestConfigHelp(t *testing.T) {
	var usage strings.Builder
	if _, err := parseConfig([]string{"-h"}, env(nil), &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: err = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{
		"-brokers", "SAMSA_BROKERS", "-application-id", "SAMSA_APPLICATION_ID", "-input-topic", "SAMSA_INPUT_TOPIC",
		"-output-topic", "SAMSA_OUTPUT_TOPIC", "-partitions", "SAMSA_PARTITIONS", "-processing-guarantee", "SAMSA_PROCESSING_GUARANTEE",
		"-session-timeout", "SAMSA_SESSION_TIMEOUT_MS", "-state-dir", "SAMSA_STATE_DIR", "-idle", "SIGTERM", "standard input",
		"-http", "SAMSA_HTTP_ADDR", "-instance-id", "SAMSA_INSTANCE_ID",
	} {
		if !strings.Contains(usage.String(), want) {
			t.Errorf("-h output lacks %q:\n%s", want, usage.String())
		}
	}
}
