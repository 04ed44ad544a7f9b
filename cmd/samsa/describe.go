package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"golang.org/x/term"

	"github.com/samsa-go/samsa/internal/assign"
	"github.com/samsa-go/samsa/topology"
)

// renderers draw a topology description for describe -format.
var renderers = map[string]func(topology.Description) (string, error){
	"text":    func(d topology.Description) (string, error) { return d.String(), nil },
	"mermaid": func(d topology.Description) (string, error) { return d.Mermaid(), nil },
	"dot":     func(d topology.Description) (string, error) { return d.DOT(), nil },
	"json": func(d topology.Description) (string, error) {
		b, err := json.MarshalIndent(d, "", "  ")
		return string(b) + "\n", err
	},
}

func runDescribe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("samsa describe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "`format` of a topology: text (Kafka Streams' TopologyDescription), mermaid, dot or json")
	var c cluster
	c.register(fs, "group")
	topo := fs.String("topology", "", "with -group: `file` with the application's topology as JSON (app -describe json; - reads standard input), to name the members' tasks")
	asJSON := fs.Bool("json", false, "with -group: print JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: samsa describe [-format text|mermaid|dot|json] [FILE]\n"+
			"       samsa describe -group APP -brokers host:port [-topology FILE] [-json]\n\n"+
			"Describe prints the topology in FILE, a JSON description an application\n"+
			"writes (wordcount -describe json, or topology.Topology.DescribeJSON), in\n"+
			"Kafka Streams' text format, as a Mermaid flowchart or as Graphviz DOT.\n"+
			"Without FILE, or with -, it reads standard input.\n\n"+
			"With -group it describes the application's consumer group instead: its\n"+
			"state, and each member with its process, its partitions, its tasks\n"+
			"(which need -topology: the group does not say which sub-topology reads\n"+
			"a topic) and the tasks whose state its process has on disk.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage // flag has printed the error and usage
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !given["group"] {
		switch {
		case fs.NArg() > 1:
			return usageError(fs, "unexpected arguments: %s", strings.Join(fs.Args()[1:], " "))
		case renderers[*format] == nil:
			return usageError(fs, "-format %q: want text, mermaid, dot or json", *format)
		case given["topology"] || given["json"]:
			return usageError(fs, "-topology and -json go with -group; a topology to draw is an argument")
		}
		path := "-"
		if fs.NArg() == 1 {
			path = fs.Arg(0)
		}
		if f, ok := stdin.(*os.File); ok && path == "-" && term.IsTerminal(int(f.Fd())) {
			return usageError(fs, "no FILE, and standard input is a terminal: pipe a description in (app -describe json | samsa describe) or name its file")
		}
		d, err := readDescription(path, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "samsa describe: %v\n", err)
			return exitFail
		}
		out, err := renderers[*format](d)
		if err != nil {
			fmt.Fprintf(stderr, "samsa describe: %v\n", err)
			return exitFail
		}
		io.WriteString(stdout, out)
		return exitOK
	}
	switch {
	case fs.NArg() > 0:
		return usageError(fs, "unexpected arguments: %s (-group describes a group, not a topology file)", strings.Join(fs.Args(), " "))
	case given["format"]:
		return usageError(fs, "-format draws a topology; with -group use -json")
	}
	if code, ok := c.check(fs, "group"); !ok {
		return code
	}
	var names taskNames
	if *topo != "" {
		d, err := readDescription(*topo, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "samsa describe: -topology: %v\n", err)
			return exitFail
		}
		names = fromDescription(d, c.appID)
	}
	g, err := describeApp(ctx, &c, names)
	if err != nil {
		fmt.Fprintf(stderr, "samsa describe: %v\n", err)
		return exitFail
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(g); err != nil {
			fmt.Fprintf(stderr, "samsa describe: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	printGroup(stdout, g)
	return exitOK
}

// groupDescription is an application's consumer group as describe -group
// prints it.
type groupDescription struct {
	Group    string              `json:"group"`
	State    string              `json:"state"`
	Protocol string              `json:"protocol"`
	Members  []memberDescription `json:"members"`
}

type memberDescription struct {
	MemberID   string `json:"memberId"`
	InstanceID string `json:"instanceId,omitempty"`
	ClientID   string `json:"clientId"`
	Host       string `json:"host"`
	// ProcessID is the application instance; its threads share it.
	ProcessID string `json:"processId,omitempty"`
	// Tasks are the tasks of the member's assignment; a partition whose
	// task is unknown is in Partitions only.
	Tasks      []string `json:"tasks"`
	Partitions []string `json:"partitions"`
	// StateOnDisk are the tasks whose state the member's process had on
	// disk when it joined.
	StateOnDisk []string `json:"stateOnDisk"`
	// Err says why the member's metadata could not be read: it is not a
	// Samsa member, or a newer one.
	Err string `json:"error,omitempty"`
}

func describeApp(ctx context.Context, c *cluster, names taskNames) (groupDescription, error) {
	adm, ctx, done, err := c.admin(ctx)
	if err != nil {
		return groupDescription{}, err
	}
	defer done()
	g, err := describeGroup(ctx, adm, c.appID)
	if err != nil {
		return groupDescription{}, err
	}
	out := groupDescription{Group: g.Group, State: g.State, Protocol: g.Protocol, Members: []memberDescription{}}
	for _, m := range g.Members {
		out.Members = append(out.Members, describeMember(m, names))
	}
	return out, nil
}

func describeMember(m kadm.DescribedGroupMember, names taskNames) memberDescription {
	md := memberDescription{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost,
		Tasks: []string{}, Partitions: []string{}, StateOnDisk: []string{}}
	if m.InstanceID != nil {
		md.InstanceID = *m.InstanceID
	}
	if meta, ok := m.Join.AsConsumer(); ok {
		var sub assign.Subscription
		if err := sub.ReadFrom(meta.UserData); err != nil {
			md.Err = err.Error()
		} else {
			md.ProcessID = sub.ProcessID
			for _, t := range sub.StateOnDisk {
				md.StateOnDisk = append(md.StateOnDisk, t.String())
			}
		}
	} else {
		md.Err = "join metadata is not a consumer's"
	}
	if a, ok := m.Assigned.AsConsumer(); ok {
		var tasks []assign.TaskID
		for _, t := range a.Topics {
			for _, p := range t.Partitions {
				md.Partitions = append(md.Partitions, t.Topic+"/"+strconv.Itoa(int(p)))
				if id := names.task(t.Topic, p); id != "" {
					tid, _ := assign.ParseTaskID(id)
					tasks = append(tasks, tid)
				}
			}
		}
		slices.SortFunc(tasks, assign.TaskID.Compare)
		for _, t := range slices.Compact(tasks) {
			md.Tasks = append(md.Tasks, t.String())
		}
	}
	return md
}

func printGroup(w io.Writer, g groupDescription) {
	fmt.Fprintf(w, "group %s: state %s, protocol %s, %d members\n", g.Group, g.State, orDash(g.Protocol), len(g.Members))
	if len(g.Members) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nMEMBER\tINSTANCE\tHOST\tPROCESS\tTASKS\tSTATE ON DISK\tPARTITIONS")
	for _, m := range g.Members {
		process := m.ProcessID
		if m.Err != "" {
			process = "(" + m.Err + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.MemberID, orDash(m.InstanceID), m.Host, orDash(process),
			orDash(strings.Join(m.Tasks, " ")), orDash(strings.Join(m.StateOnDisk, " ")), orDash(strings.Join(m.Partitions, " ")))
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
