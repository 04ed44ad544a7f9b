package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
)

// committedOn returns the group's committed offsets on topic.
func committedOn(t *testing.T, adm *kadm.Client, group, topic string) map[int32]int64 {
	t.Helper()
	os, err := adm.FetchOffsets(t.Context(), group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for p, o := range os[topic] {
		out[p] = o.At
	}
	return out
}

// topicExists asks with a new client each time: kgo answers metadata
// requests from a cache of recent ones, which would still list a topic
// just deleted.
func topicExists(t *testing.T, b *kafkatest.Broker, topic string) bool {
	t.Helper()
	td, err := adminFor(t, b).ListTopics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return td.Has(topic)
}

// countsAfter reads the output topic from the given offsets until the
// latest count of every word is want, and fails after timeout.
func countsAfter(t *testing.T, b *kafkatest.Broker, from map[int32]int64, want map[string]int64, timeout time.Duration) {
	t.Helper()
	ps := map[int32]kgo.Offset{}
	for p, o := range from {
		ps[p] = kgo.NewOffset().At(o)
	}
	cl, err := b.Client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{testfix.OutputTopic: ps}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	got := map[string]int64{}
	for !maps.Equal(got, want) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("after %v, counts written after the reset = %v, want %v", timeout, got, want)
		}
		fs.EachRecord(func(r *kgo.Record) { got[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value)) })
	}
}

// reset refuses while the application runs; stopped, it moves the input
// offsets to the start and deletes the internal topics, and a rerun counts
// the input again from scratch.
func TestResetReprocesses(t *testing.T) {
	const appID = "resetapp"
	repartition, changelog := appID+"-counts-repartition", appID+"-counts-changelog"
	b := testfix.WordCountBroker(t, 3)
	adm := adminFor(t, b)
	lines, want := testfix.Corpus(0, 24)
	testfix.ProduceLines(t, b, lines...)
	ap := startApp(t, b, appID, t.TempDir())
	testfix.ReadCounts(t, b, want, 30*time.Second)
	brokers := b.Addrs()[0]

	// Wait for the input's offsets to be committed in full.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var sum int64
		for _, o := range committedOn(t, adm, appID, testfix.InputTopic) {
			sum += o
		}
		if sum == int64(len(lines)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("input offsets committed add up to %d, want %d", sum, len(lines))
		}
		time.Sleep(50 * time.Millisecond)
	}
	before := committedOn(t, adm, appID, testfix.InputTopic)

	code, out, errOut := samsa(t, "", "reset", "-brokers", brokers, "-application-id", appID)
	if code != exitFail || !strings.Contains(errOut, `group "resetapp" has 1 active members`) || !strings.Contains(errOut, "stop every instance") {
		t.Fatalf("reset with the app running: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 1 and a refusal", code, out, errOut)
	}
	if got := committedOn(t, adm, appID, testfix.InputTopic); !maps.Equal(got, before) || !topicExists(t, b, repartition) || !topicExists(t, b, changelog) {
		t.Fatalf("a refused reset changed something: offsets %v (were %v)", got, before)
	}

	ap.stop(t)
	waitGroupEmpty(t, adm, appID)

	// A dry run prints the plan and changes nothing.
	code, out, errOut = samsa(t, "", "reset", "-brokers", brokers, "-application-id", appID, "-dry-run")
	if code != exitOK {
		t.Fatalf("dry run: exit %d, stderr:\n%s", code, errOut)
	}
	for _, want := range []string{"dry run", "move to the start", testfix.InputTopic + "/0 -> 0", "internal topics deleted:\n  " + changelog + "\n  " + repartition + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if got := committedOn(t, adm, appID, testfix.InputTopic); !maps.Equal(got, before) || !topicExists(t, b, repartition) || !topicExists(t, b, changelog) {
		t.Fatalf("a dry run changed something: offsets %v (were %v)", got, before)
	}
	// -to-latest plans the end offsets, which are where the app is.
	code, out, _ = samsa(t, "", "reset", "-brokers", brokers, "-application-id", appID, "-dry-run", "-to-latest")
	for p, o := range before {
		if want := fmt.Sprintf("%s/%d -> %d\n", testfix.InputTopic, p, o); code != exitOK || !strings.Contains(out, want) {
			t.Errorf("dry run -to-latest lacks %q:\n%s", want, out)
		}
	}

	// -to-datetime finds the first record at or after the time: all of
	// them for a time before the input, none (the end) for one after it.
	for when, offsets := range map[string]map[int32]int64{
		"2000-01-01T00:00:00Z":                         {0: 0, 1: 0, 2: 0},
		time.Now().Add(time.Hour).Format(time.RFC3339): before,
	} {
		code, out, errOut := samsa(t, "", "reset", "-brokers", brokers, "-application-id", appID, "-dry-run", "-to-datetime", when)
		for p, o := range offsets {
			if want := fmt.Sprintf("%s/%d -> %d\n", testfix.InputTopic, p, o); code != exitOK || !strings.Contains(out, want) {
				t.Errorf("dry run -to-datetime %s lacks %q:\n%s%s", when, want, out, errOut)
			}
		}
	}

	ends, err := adm.ListEndOffsets(t.Context(), testfix.OutputTopic)
	if err != nil {
		t.Fatal(err)
	}
	outputEnd := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { outputEnd[o.Partition] = o.Offset })

	code, out, errOut = samsa(t, "", "reset", "-brokers", brokers, "-application-id", appID)
	if code != exitOK || !strings.Contains(out, "done:") {
		t.Fatalf("reset: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for p, o := range committedOn(t, adm, appID, testfix.InputTopic) {
		if o != 0 {
			t.Errorf("after reset, %s/%d is committed at %d, want 0", testfix.InputTopic, p, o)
		}
	}
	if len(committedOn(t, adm, appID, testfix.InputTopic)) != 3 {
		t.Errorf("after reset, committed input offsets %v; want all 3 partitions at 0", committedOn(t, adm, appID, testfix.InputTopic))
	}
	if topicExists(t, b, repartition) || topicExists(t, b, changelog) {
		t.Errorf("after reset, internal topics remain:\n%s", out)
	}
	if got := committedOn(t, adm, appID, repartition); len(got) != 0 {
		t.Errorf("after reset, offsets on %s remain: %v", repartition, got)
	}
	if !topicExists(t, b, testfix.InputTopic) || !topicExists(t, b, testfix.OutputTopic) {
		t.Error("reset deleted an input or output topic")
	}

	// A rerun with empty state counts the input again from the start: the
	// counts it writes after the old ones are the same counts, not double.
	startApp(t, b, appID, t.TempDir())
	countsAfter(t, b, outputEnd, want, 30*time.Second)
}
