package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// datetimeLayouts are what -to-datetime accepts: RFC 3339, and Kafka's
// reset tool's YYYY-MM-DDTHH:mm:SS.sss, read in local time without a zone
// as Kafka reads it.
var datetimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.000", "2006-01-02T15:04:05"}

func parseDatetime(v string) (time.Time, error) {
	for _, l := range datetimeLayouts {
		if t, err := time.ParseInLocation(l, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("-to-datetime %q: want RFC 3339 (2026-12-01T10:00:00Z) or Kafka's YYYY-MM-DDTHH:mm:SS.sss", v)
}

// resetPlan is what reset does, worked out before it changes anything so
// that -dry-run prints exactly what a real run would do.
type resetPlan struct {
	position string       // where input offsets go, for people
	offsets  kadm.Offsets // new committed offsets of every input partition
	internal []string     // topics to delete, sorted
	// stale are committed offsets of internal topics, deleted with them.
	stale kadm.TopicsSet
}

func runReset(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("samsa reset", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c cluster
	c.register(fs, "application-id")
	toEarliest := fs.Bool("to-earliest", false, "move input offsets to the start of each partition (the default)")
	toLatest := fs.Bool("to-latest", false, "move input offsets to the end of each partition, skipping what is there")
	toDatetime := fs.String("to-datetime", "", "move input offsets to the first record at or after `time` (RFC 3339, or YYYY-MM-DDTHH:mm:SS.sss in local time)")
	inputs := fs.String("input-topics", "", "comma-separated input `topics` to reset (default: every topic the application has committed offsets for, except its internal ones)")
	dryRun := fs.Bool("dry-run", false, "print what would be done and change nothing")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: samsa reset -brokers host:port -application-id APP [-to-earliest|-to-latest|-to-datetime T] [-input-topics T1,T2] [-dry-run]\n\n"+
			"Reset makes an application reprocess its input from the start, as Kafka's\n"+
			"kafka-streams-application-reset does: it moves the application's committed\n"+
			"offsets on its input topics (all partitions) to the start, the end or a\n"+
			"time, and deletes its internal topics (APP-*-repartition, APP-*-changelog,\n"+
			"and the topics of foreign-key joins) with their committed offsets.\n"+
			"Output topics are left as they are. Internal topics are found by name,\n"+
			"as Kafka's tool finds them, so an application whose id starts with\n"+
			"APP- would lose its own: check with -dry-run first.\n\n"+
			"It refuses while the application's group has members: stop every\n"+
			"instance first. It does not touch the instances' state directories:\n"+
			"remove them, or start the instances with empty ones, before restarting.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := c.check(fs, "application-id"); !ok {
		return code
	}
	n := 0
	for _, b := range []bool{*toEarliest, *toLatest, *toDatetime != ""} {
		if b {
			n++
		}
	}
	if n > 1 {
		return usageError(fs, "-to-earliest, -to-latest and -to-datetime exclude each other")
	}
	var at time.Time
	if *toDatetime != "" {
		var err error
		if at, err = parseDatetime(*toDatetime); err != nil {
			return usageError(fs, "%v", err)
		}
	}
	var topics []string
	if *inputs != "" {
		for t := range strings.SplitSeq(*inputs, ",") {
			if t = strings.TrimSpace(t); t != "" {
				topics = append(topics, t)
			}
		}
		if len(topics) == 0 {
			return usageError(fs, "-input-topics %q lists no topics", *inputs)
		}
	}

	adm, actx, done, err := c.admin(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "samsa reset: %v\n", err)
		return exitFail
	}
	defer done()
	plan, err := planReset(actx, adm, c.appID, topics, *toLatest, at)
	if err != nil {
		fmt.Fprintf(stderr, "samsa reset: %v\n", err)
		return exitFail
	}
	if *dryRun {
		fmt.Fprintf(stdout, "dry run: nothing is changed\n")
	}
	printPlan(stdout, c.appID, plan)
	if *dryRun {
		return exitOK
	}
	if err := applyReset(actx, adm, c.appID, plan); err != nil {
		fmt.Fprintf(stderr, "samsa reset: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "done: application %q will reprocess its input. Remove the state directories of its instances before starting them again.\n", c.appID)
	return exitOK
}

// planReset checks that the group has no members and works out the new
// offsets and the topics to delete.
func planReset(ctx context.Context, adm *kadm.Client, appID string, inputs []string, toLatest bool, at time.Time) (*resetPlan, error) {
	g, err := describeGroup(ctx, adm, appID)
	if err != nil {
		return nil, err
	}
	if len(g.Members) > 0 {
		var who []string
		for _, m := range g.Members {
			who = append(who, m.MemberID+" ("+m.ClientHost+")")
		}
		return nil, fmt.Errorf("group %q has %d active members: %s; stop every instance of the application first",
			appID, len(g.Members), strings.Join(who, ", "))
	}
	committed, err := adm.FetchOffsets(ctx, appID)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("fetch the offsets of group %q: %w", appID, err)
	}
	plan := &resetPlan{offsets: kadm.Offsets{}, stale: kadm.TopicsSet{}}
	for t, ps := range committed {
		if isInternalTopic(appID, t) {
			for p := range ps {
				plan.stale.Add(t, p)
			}
		} else if inputs == nil {
			inputs = append(inputs, t)
		}
	}
	slices.Sort(inputs)
	inputs = slices.Compact(inputs)

	all, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	for _, t := range inputs {
		if isInternalTopic(appID, t) {
			return nil, fmt.Errorf("-input-topics: %q is an internal topic of %q, which reset deletes", t, appID)
		}
		if !all.Has(t) {
			return nil, fmt.Errorf("input topic %q does not exist", t)
		}
	}
	for _, d := range all.Sorted() {
		if isInternalTopic(appID, d.Topic) {
			plan.internal = append(plan.internal, d.Topic)
		}
	}

	if len(inputs) > 0 {
		var listed kadm.ListedOffsets
		switch {
		case toLatest:
			plan.position = "the end"
			listed, err = adm.ListEndOffsets(ctx, inputs...)
		case !at.IsZero():
			plan.position = "the first record at or after " + at.Format(time.RFC3339Nano)
			listed, err = adm.ListOffsetsAfterMilli(ctx, at.UnixMilli(), inputs...)
		default:
			plan.position = "the start"
			listed, err = adm.ListStartOffsets(ctx, inputs...)
		}
		if err == nil {
			err = listed.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("list offsets of %s: %w", strings.Join(inputs, ", "), err)
		}
		listed.Each(func(o kadm.ListedOffset) {
			plan.offsets.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: o.Offset, LeaderEpoch: -1})
		})
	}
	return plan, nil
}

func printPlan(w io.Writer, appID string, plan *resetPlan) {
	if len(plan.offsets) == 0 {
		fmt.Fprintf(w, "no input topics: application %q has committed no offsets and -input-topics is not given\n", appID)
	} else {
		fmt.Fprintf(w, "input offsets of group %q move to %s:\n", appID, plan.position)
		for _, t := range slices.Sorted(maps.Keys(plan.offsets)) {
			ps := plan.offsets[t]
			for _, p := range slices.Sorted(maps.Keys(ps)) {
				fmt.Fprintf(w, "  %s/%d -> %d\n", t, p, ps[p].At)
			}
		}
	}
	if len(plan.internal) == 0 {
		fmt.Fprintln(w, "no internal topics to delete")
		return
	}
	fmt.Fprintln(w, "internal topics deleted:")
	for _, t := range plan.internal {
		fmt.Fprintf(w, "  %s\n", t)
	}
}

// applyReset commits the new offsets, then drops the internal topics'
// offsets and the topics. The order makes a failure half way safe to
// retry: a rerun plans the same offsets and deletes what is left.
func applyReset(ctx context.Context, adm *kadm.Client, appID string, plan *resetPlan) error {
	if len(plan.offsets) > 0 {
		resp, err := adm.CommitOffsets(ctx, appID, plan.offsets)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("commit the new offsets of group %q: %w", appID, err)
		}
	}
	if len(plan.stale) > 0 {
		resp, err := adm.DeleteOffsets(ctx, appID, plan.stale)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("delete the offsets of group %q on its internal topics: %w", appID, err)
		}
	}
	if len(plan.internal) > 0 {
		resp, err := adm.DeleteTopics(ctx, plan.internal...)
		if err == nil {
			var errs []error
			for _, r := range resp.Sorted() {
				if r.Err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", r.Topic, r.Err))
				}
			}
			err = errors.Join(errs...)
		}
		if err != nil {
			return fmt.Errorf("delete internal topics: %w", err)
		}
	}
	return nil
}
