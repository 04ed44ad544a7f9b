package main

import (
	"strings"
	"testing"
)

// Every command answers -h with its usage on stderr and exit 0, and help
// <command> with the same on stdout; bad invocations exit 2 and say why on
// stderr.
func TestOpsUsage(t *testing.T) {
	t.Setenv("SAMSA_BROKERS", "")
	t.Setenv("SAMSA_APPLICATION_ID", "")
	for _, name := range []string{"describe", "lag", "reset"} {
		code, out, errOut := samsa(t, "", name, "-h")
		if code != exitOK || out != "" || !strings.Contains(errOut, "usage: samsa "+name) {
			t.Errorf("%s -h: exit %d, stdout %q, stderr:\n%s", name, code, out, errOut)
		}
		code, out, _ = samsa(t, "", "help", name)
		if code != exitOK || !strings.Contains(out, "usage: samsa "+name) || !strings.Contains(out, "-brokers") {
			t.Errorf("help %s: exit %d, stdout:\n%s", name, code, out)
		}
	}
	code, out, _ := samsa(t, "", "help")
	for _, name := range []string{"broker", "describe", "lag", "reset"} {
		if code != exitOK || !strings.Contains(out, "\t"+name+" ") {
			t.Errorf("help does not list %s:\n%s", name, out)
		}
	}
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"lag", "-application-id", "app"}, "no brokers: pass -brokers or set SAMSA_BROKERS"},
		{[]string{"lag", "-brokers", "localhost:9092"}, "no application id: pass -application-id or set SAMSA_APPLICATION_ID"},
		{[]string{"lag", "-brokers", "localhost:9092", "-application-id", "app", "extra"}, "unexpected arguments: extra"},
		{[]string{"lag", "-nope"}, "-nope"},
		{[]string{"reset", "-brokers", "localhost:9092", "-application-id", "app", "-to-earliest", "-to-latest"}, "exclude each other"},
		{[]string{"reset", "-brokers", "localhost:9092", "-application-id", "app", "-to-datetime", "yesterday"}, `-to-datetime "yesterday"`},
		{[]string{"reset", "-brokers", "localhost:9092", "-application-id", "app", "-input-topics", " , "}, "lists no topics"},
		{[]string{"reset", "-brokers", "localhost:9092", "-application-id", "app", "-timeout", "0s"}, "-timeout must be positive"},
	} {
		code, out, errOut := samsa(t, "", tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.stderr) {
			t.Errorf("%v: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and %q", tc.args, code, out, errOut, tc.stderr)
		}
	}
	// The variables stand in for the flags, as in an application's pod.
	t.Setenv("SAMSA_BROKERS", "127.0.0.1:1")
	t.Setenv("SAMSA_APPLICATION_ID", "app")
	code, _, errOut := samsa(t, "", "lag", "-timeout", "200ms")
	if code != exitFail || !strings.Contains(errOut, "samsa lag: ") {
		t.Errorf("lag against nothing: exit %d, stderr:\n%s\nwant exit 1 and an error", code, errOut)
	}
}

func TestParseDatetime(t *testing.T) {
	for _, v := range []string{"2026-12-01T10:00:00Z", "2026-12-01T10:00:00.123+01:00", "2026-12-01T10:00:00.000", "2026-12-01T10:00:00"} {
		if _, err := parseDatetime(v); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	got, _ := parseDatetime("2026-12-01T11:00:00.500+01:00")
	if want := int64(1796119200500); got.UnixMilli() != want {
		t.Errorf("UnixMilli = %d, want %d", got.UnixMilli(), want)
	}
}
