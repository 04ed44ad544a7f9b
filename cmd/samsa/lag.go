package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
)

// lagRow is the lag of one input partition of one task.
type lagRow struct {
	Task      string `json:"task,omitempty"` // "" when unknown
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Internal is true for the application's own repartition topics.
	Internal  bool  `json:"internal"`
	Committed int64 `json:"committed"`
	End       int64 `json:"end"`
	Lag       int64 `json:"lag"`
}

func runLag(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("samsa lag", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c cluster
	c.register(fs, "application-id")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	topo := fs.String("topology", "", "`file` with the application's topology as JSON (app -describe json; - reads standard input), to name tasks")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: samsa lag -brokers host:port -application-id APP [-topology FILE] [-json]\n\n"+
			"Lag prints, for every input partition the application has committed an\n"+
			"offset for, the task that reads it, the committed offset, the end offset\n"+
			"and the lag between them. Repartition topics are marked internal.\n\n"+
			"Task ids (<sub-topology>_<partition>) need -topology, the JSON an\n"+
			"application prints with -describe json: the group does not say which\n"+
			"sub-topology reads a topic. Without it the TASK column shows -.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := c.check(fs, "application-id"); !ok {
		return code
	}
	var names taskNames
	if *topo != "" {
		d, err := readDescription(*topo, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "samsa lag: -topology: %v\n", err)
			return exitFail
		}
		names = fromDescription(d, c.appID)
	}
	rows, err := lag(ctx, &c, names)
	if err != nil {
		fmt.Fprintf(stderr, "samsa lag: %v\n", err)
		return exitFail
	}
	if *asJSON {
		if rows == nil {
			rows = []lagRow{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			fmt.Fprintf(stderr, "samsa lag: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	if len(rows) == 0 {
		fmt.Fprintf(stdout, "application %q has committed no offsets\n", c.appID)
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tTOPIC\tPARTITION\tCOMMITTED\tEND\tLAG")
	var total int64
	for _, r := range rows {
		task, topic := r.Task, r.Topic
		if task == "" {
			task = "-"
		}
		if r.Internal {
			topic += " (internal)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", task, topic, r.Partition, r.Committed, r.End, r.Lag)
		total += r.Lag
	}
	tw.Flush()
	fmt.Fprintf(stdout, "total lag %d\n", total)
	return exitOK
}

// lag reads the group's committed offsets and the end offsets of their
// partitions; names names the tasks.
func lag(ctx context.Context, c *cluster, names taskNames) ([]lagRow, error) {
	adm, ctx, done, err := c.admin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	committed, err := adm.FetchOffsets(ctx, c.appID)
	if err != nil {
		return nil, fmt.Errorf("fetch the offsets of group %q: %w", c.appID, err)
	}
	if err := committed.Error(); err != nil {
		return nil, fmt.Errorf("fetch the offsets of group %q: %w", c.appID, err)
	}
	var topics []string
	for t := range committed {
		topics = append(topics, t)
	}
	if len(topics) == 0 {
		return nil, nil
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	var rows []lagRow
	var errs []error
	committed.Each(func(o kadm.OffsetResponse) {
		end, ok := ends.Lookup(o.Topic, o.Partition)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("no end offset for %s/%d", o.Topic, o.Partition))
			return
		case end.Err != nil:
			errs = append(errs, fmt.Errorf("end offset of %s/%d: %w", o.Topic, o.Partition, end.Err))
			return
		}
		rows = append(rows, lagRow{
			Task:      names.task(o.Topic, o.Partition),
			Topic:     o.Topic,
			Partition: o.Partition,
			Internal:  isInternalTopic(c.appID, o.Topic),
			Committed: o.At,
			End:       end.Offset,
			// A commit past the end (a topic truncated or recreated) is
			// no lag, not a negative one.
			Lag: max(end.Offset-o.At, 0),
		})
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(rows, func(a, b lagRow) int {
		return cmp.Or(compareTasks(a.Task, b.Task), strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return rows, nil
}

// compareTasks orders task ids numerically, unknown ones last.
func compareTasks(a, b string) int {
	pa, pb := taskKey(a), taskKey(b)
	return cmp.Or(cmp.Compare(pa[0], pb[0]), cmp.Compare(pa[1], pb[1]))
}

func taskKey(id string) [2]int {
	s, p, ok := strings.Cut(id, "_")
	if !ok {
		return [2]int{1 << 31, 0}
	}
	si, _ := strconv.Atoi(s)
	pi, _ := strconv.Atoi(p)
	return [2]int{si, pi}
}
